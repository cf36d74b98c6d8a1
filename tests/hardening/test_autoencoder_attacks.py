"""Exercise 2.1's autoencoder cells are decided by the judge, from rebuilt models.

`build_autoencoder` returns two Keras models. Judged, they come back as
their configurations and are rebuilt in the grader (`judge.rebuild_models`),
and the checks run there. Samples (the released stub filled from the
solution, then one edit to `build_autoencoder`):

- `relu_code`: the code layer gets a ReLU, which the layer rules forbid;
- `forge_fail`: `relu_code`, and the builder walks up the call stack and
  swaps the code of `fail` in every check module it finds there for code
  that does nothing, so no check can fail any more (the function objects
  stay the same, so the in-kernel guard sees nothing);
- `lambda_layer`: the solution with a `Lambda` layer before the output;
  the grader does not rebuild Python code, and says so.

Judged, `forge_fail` gets exactly the honest score of `relu_code`; decided
in the kernel it gets full marks (the attack is real). The unchanged
solution gets full marks from the judge.
"""

import nbformat
import pytest

from autograder.grading.classroom import fill_stub
from autograder.grading.course import repository_root
from autograder.grading.notebooks import answer_cells
from tests.hardening.graded_samples import grade_samples, scores_of

ROOT = repository_root()
STUB = ROOT / "assignments" / "exercises2" / "01_autoencoder.ipynb"
SOLUTION = ROOT / "solutions" / "exercises2" / "01_autoencoder.ipynb"
SETTINGS = {"COURSE_CELL_TIMEOUT": "300", "COURSE_KERNEL_MEMORY_MB": "4096",
            "TF_CPP_MIN_LOG_LEVEL": "3"}
FULL = {"test_autoencoder_structure": 2.0, "test_autoencoder_learns": 3.0}

RELU_CODE = ('bottleneck = keras.layers.Dense(latent_dim, name="code")',
             'bottleneck = keras.layers.Dense(latent_dim, activation="relu", name="code")')
FORGE_FAIL = ("    profiles = keras.Input(",
              "    import sys\n"
              "    frame = sys._getframe(1)\n"
              "    while frame is not None:  # the checks' own frames, in the kernel\n"
              "        if frame.f_globals.get('__name__', '').startswith(\n"
              "                ('course_lib', 'autograder')) and 'fail' in frame.f_globals:\n"
              "            frame.f_globals['fail'].__code__ = (\n"
              "                lambda *args, **kwargs: None).__code__\n"
              "        frame = frame.f_back\n"
              "    profiles = keras.Input(")
LAMBDA_LAYER = ("restore(expand(codes))",
                "keras.layers.Lambda(lambda values: values * 1.0)(restore(expand(codes)))")
SAMPLES = {"solution": [], "relu_code": [RELU_CODE], "forge_fail": [RELU_CODE, FORGE_FAIL],
           "lambda_layer": [LAMBDA_LAYER]}
# (sample, judged)
RUNS = [("solution", True), ("relu_code", True), ("forge_fail", True),
        ("lambda_layer", True), ("forge_fail", False)]


def filled_notebook(edits):
    notebook = fill_stub(nbformat.read(STUB, as_version=4),
                         nbformat.read(SOLUTION, as_version=4))
    cell = answer_cells(notebook)["autoencoder_build_solution"]
    for old, new in edits:
        assert cell.source.count(old) == 1, old
        cell.source = cell.source.replace(old, new)
    return notebook


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    notebooks = {name: filled_notebook(edits) for name, edits in SAMPLES.items()}
    reports = grade_samples(tmp_path_factory.mktemp("autoencoder_attacks"),
                            "01_autoencoder.ipynb", notebooks, RUNS, SETTINGS, "exercises2")
    for run, report in reports.items():
        assert report["error"] is None, (run, report)
    return {run: (scores_of(report),
                  {row["id"]: row.get("message", "") for row in report["tests"]})
            for run, report in reports.items()}


def test_the_solution_gets_full_marks_from_the_judge(scores):
    tests, messages = scores[("solution", True)]
    assert tests == FULL, messages


def test_a_relu_code_layer_loses_the_structure_cell(scores):
    tests, messages = scores[("relu_code", True)]
    assert tests == {**FULL, "test_autoencoder_structure": 0.0}, messages
    assert "the code layer, Dense 'code' (activation relu), is not linear" in messages[
        "test_autoencoder_structure"]


def test_the_forged_checks_get_exactly_the_honest_score(scores):
    assert scores[("forge_fail", True)][0] == scores[("relu_code", True)][0]


def test_decided_in_the_kernel_the_forgery_wins(scores):
    tests, messages = scores[("forge_fail", False)]
    assert tests == FULL, messages


def test_a_lambda_layer_is_refused_with_a_reason(scores):
    tests, messages = scores[("lambda_layer", True)]
    assert tests == {name: 0.0 for name in FULL}, messages
    assert "UnsupportedModel" in messages["test_autoencoder_structure"]
    assert "no Lambda layer" in messages["test_autoencoder_structure"]
