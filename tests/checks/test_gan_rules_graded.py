"""Exercise 2.3 graded for real: a `train_gan` that breaks one stated rule
loses exactly the points of the test cell for that rule.

Each sample is the released 03_gan stub with every answer filled in from the
solution, then one edit to `train_gan` that a student could make: an
unseeded random generator, optimizers without the `learning_rate`, the last
step's loss instead of the phase's mean, the accuracy measured before the
phase's last update, a strict `<` in the stopping rule. The notebooks run
through `grade_notebook` (the whole nbgrader pipeline, hidden tests
included), two at a time in spawned workers as in the hardening tests. The
worked example's training runs after the last test cell are left out: no
test depends on them.
"""

import nbformat
import pytest

from autograder.grading.classroom import fill_stub
from autograder.grading.course import repository_root
from autograder.grading.notebooks import answer_cells
from tests.hardening.graded_samples import grade_samples, scores_of

ROOT = repository_root()
STUB = ROOT / "assignments" / "exercises2" / "03_gan.ipynb"
SOLUTION = ROOT / "solutions" / "exercises2" / "03_gan.ipynb"
SETTINGS = {"COURSE_CELL_TIMEOUT": "300", "COURSE_KERNEL_MEMORY_MB": "4096",
            "TF_CPP_MIN_LOG_LEVEL": "3"}

FULL_SCORES = {"test_gan_dropout": 2.0, "test_gan_history_format": 1.0, "test_gan_phase_order": 2.0,
               "test_gan_settings": 2.0, "test_gan_freezing": 3.0,
               "test_gan_stopping_rule": 2.0, "test_gan_labels": 2.0}

# name: (edits to the solution's train_gan as (old, new) pairs, the test
# cell that must score zero).
BROKEN_RULES = {
    "unseeded_generator": (
        [("rng = np.random.default_rng(seed)", "rng = np.random.default_rng()")],
        "test_gan_settings"),
    "adam_default_rate": (
        [("keras.optimizers.Adam(learning_rate)", "keras.optimizers.Adam()")],
        "test_gan_settings"),
    "last_step_loss": (
        [('"loss": float(np.mean(losses)),', '"loss": losses[-1],')],
        "test_gan_settings"),
    "accuracy_before_last_update": (
        [("            for step in range(steps_per_phase):\n"
          "                losses.append(float(updates[phase]()))\n",
          "            for step in range(steps_per_phase):\n"
          "                if step == steps_per_phase - 1:\n"
          "                    current_accuracy = float(accuracy(draw_noise(), draw_real()))\n"
          "                losses.append(float(updates[phase]()))\n"),
         ("            current_accuracy = float(accuracy(draw_noise(), draw_real()))\n"
          "            history.append(",
          "            history.append(")],
        "test_gan_settings"),
    "strict_stopping_bound": (
        [("if abs(current_accuracy - 0.5) <= tolerance:",
          "if abs(current_accuracy - 0.5) < tolerance:")],
        "test_gan_stopping_rule"),
}


def filled_notebook(edits):
    """The stub with the solution's answers, `train_gan` changed by `edits`."""
    notebook = fill_stub(nbformat.read(STUB, as_version=4),
                         nbformat.read(SOLUTION, as_version=4))
    cell = answer_cells(notebook)["gan_train_gan"]
    for old, new in edits:
        assert cell.source.count(old) >= 1, old
        cell.source = cell.source.replace(old, new)
    # The worked example's training runs come after the last test cell and
    # no test reads them; they are left out to keep the grading short.
    last_test = max(index for index, cell in enumerate(notebook.cells)
                    if cell.get("metadata", {}).get("nbgrader", {}).get("grade"))
    notebook.cells = [cell for index, cell in enumerate(notebook.cells)
                      if index <= last_test or cell.cell_type == "markdown"]
    return notebook


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    notebooks = {name: filled_notebook(edits) for name, (edits, _) in BROKEN_RULES.items()}
    reports = grade_samples(tmp_path_factory.mktemp("gan_rules"), "03_gan.ipynb", notebooks,
                            [(name, True) for name in BROKEN_RULES], SETTINGS, "exercises2")
    for (name, _), report in reports.items():
        assert report["error"] is None, (name, report)
    return {name: (scores_of(report), report) for (name, _), report in reports.items()}


@pytest.mark.parametrize("name", sorted(BROKEN_RULES))
def test_a_broken_rule_loses_exactly_its_cell(name, scores):
    found, report = scores[name]
    _, lost_cell = BROKEN_RULES[name]
    expected = dict(FULL_SCORES, **{lost_cell: 0.0})
    messages = {row["id"]: row["message"] for row in report["tests"] if row["message"]}
    assert found == expected, messages
    assert report["score"] == sum(FULL_SCORES.values()) - FULL_SCORES[lost_cell]
