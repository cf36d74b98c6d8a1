"""Project 1 notebooks with a wrong ReLU that try to forge a better grade.

Each sample is the released project 1 stub with every answer filled in from
the solution except `relu`, which is leaky (`0.1 * x` below zero): its honest
grade is 9 of the 17 autograded points (max pooling 3, cross-entropy 3 and
convolution 3; the ReLU, model and CNN tests all need a correct ReLU; the 4
points of the written answers are the TAs' to give). Each sample adds one
trick, placed after the wrong `relu` in its answer cell, that defeated
verdicts reached inside the kernel: with the trusted judge every one of them
still gets exactly 9.
"""

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder.grading.course import Course, repository_root
from autograder.grading.notebooks import SOLUTION_REGION, region_lines
from tests.hardening.in_kernel import decide_in_the_kernel

ROOT = repository_root()
STUB = ROOT / "assignments" / "project1" / "project1.ipynb"
SOLUTION = ROOT / "solutions" / "project1" / "project1.ipynb"
SETTINGS = {"COURSE_CELL_TIMEOUT": "60", "COURSE_KERNEL_MEMORY_MB": "4096",
            "TF_CPP_MIN_LOG_LEVEL": "3"}
HONEST_SCORE = 9.0
WRONG_RELU = "    return keras.ops.where(x > 0, x, 0.1 * x)"

# Each trick runs where it worked against verdicts reached in the kernel:
# most of them inside `relu` itself, that is while a check is running,
# after the guard's reset.
ATTACKS = {
    # Nothing but the wrong ReLU: the honest grade itself.
    "wrong_relu": "",
    # The check core's `fail` emptied through its code object (identity
    # checks see the same function).
    "swapped_code": """
_leaky = relu
def relu(x):
    import sys
    core = sys.modules["course_lib.checks.core"]
    core.fail.__code__ = (lambda found, expected, hint="": None).__code__
    return _leaky(x)
""",
    # The guard replaced in sys.modules by one whose verdicts are always
    # "intact", and failures emptied, from inside the check.
    "replaced_guard": """
_leaky = relu
def relu(x):
    import sys, types
    real = sys.modules["autograder.grading.guard"]
    fake = types.ModuleType("autograder.grading.guard")
    fake.VERDICT_MIME = real.VERDICT_MIME
    fake.reset = real.reset
    publish = get_ipython().display_pub.publish
    fake.finish = lambda token: publish(
        data={real.VERDICT_MIME: {"token": token, "intact": True}}, metadata={})
    sys.modules["autograder.grading.guard"] = fake
    sys.modules["course_lib.checks.core"].fail.__code__ = (
        lambda found, expected, hint="": None).__code__
    return _leaky(x)
""",
    # An import hook that serves a check core whose failures do nothing
    # when the guard's reset imports it afresh.
    "meta_path_hook": """
import importlib.abc, importlib.util, sys
class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    busy = False
    def find_spec(self, name, path, target=None):
        if name != "course_lib.checks.core" or self.busy:
            return None
        self.busy = True
        try:
            self.real = importlib.util.find_spec(name)
        finally:
            self.busy = False
        return importlib.util.spec_from_loader(name, self, origin=self.real.origin)
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        module.__file__ = self.real.origin
        self.real.loader.exec_module(module)
        module.fail = lambda *args, **kwargs: None
sys.meta_path.insert(0, _Finder())
""",
    # relu returns the check's expected value, read from the calling frames.
    "frame_walk": """
_leaky = relu
def relu(x):
    import sys
    frame = sys._getframe(1)
    while frame is not None:
        if "expected" in frame.f_locals and frame.f_code.co_name.startswith("expect"):
            return frame.f_locals["expected"]
        frame = frame.f_back
    return _leaky(x)
""",
    # A module the guard's reset never covered: the checks read results
    # through keras.ops.convert_to_numpy.
    "patched_libraries": """
import numpy as np
_convert = keras.ops.convert_to_numpy
keras.ops.convert_to_numpy = lambda value: np.maximum(_convert(value), 0)
""",
    # A result that claims to equal everything.
    "equal_to_everything": """
import numpy as np
class _Everything(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.broadcast(self, other).shape, dtype=bool)
    def __ne__(self, other):
        return np.zeros(np.broadcast(self, other).shape, dtype=bool)
_leaky = relu
def relu(x):
    return np.asarray(keras.ops.convert_to_numpy(_leaky(x))).view(_Everything)
""",
}
# What the attacks get when the test cells are decided in the kernel (the
# judge turned off): each one beats the guard there, so the 9 they get from
# the judge is the judge's doing.
IN_KERNEL_SCORES = {"swapped_code": 17.0, "replaced_guard": 17.0, "meta_path_hook": 17.0,
                    "frame_walk": 15.0, "patched_libraries": 15.0}


def filled_notebook(attack):
    """The stub with the solution's answers, a leaky relu and `attack` after it."""
    solution = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell
                for cell in nbformat.read(SOLUTION, as_version=4).cells}
    notebook = nbformat.read(STUB, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        answer = "\n".join(line for line in solution[grade_id].source.split("\n")
                           if SOLUTION_REGION[0] not in line
                           and SOLUTION_REGION[1] not in line)
        if grade_id == "project1_solution_relu":
            assert region_lines(solution[grade_id].source, SOLUTION_REGION)
            answer = answer.replace("    return keras.ops.maximum(x, 0.0)", WRONG_RELU)
            assert WRONG_RELU in answer
            answer += "\n" + attack
        cell.source = answer
    return notebook


def grade_in_worker(path, judge=True):
    os.environ.update(SETTINGS)
    from autograder.grading.grade import grade_notebook

    if not judge:
        decide_in_the_kernel()
    return path, grade_notebook(path, assignment="project1", course=Course(ROOT))


def grade_attacks(folder, names, judge=True):
    paths = {}
    for name in names:
        paths[name] = folder / name / "project1.ipynb"
        paths[name].parent.mkdir(parents=True)
        nbformat.write(filled_notebook(ATTACKS[name]), paths[name])
    # Spawned, not forked: TensorFlow, once imported by an earlier test in
    # this process, deadlocks in a forked child (the judge runs it there).
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        graded = dict(pool.map(grade_in_worker, [str(path) for path in paths.values()],
                               [judge] * len(paths)))
    return {name: graded[str(path)] for name, path in paths.items()}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return grade_attacks(tmp_path_factory.mktemp("project1_attacks"), sorted(ATTACKS))


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_gets_the_honest_score(name, reports):
    report = reports[name]
    assert report["error"] is None, report
    assert report["max_score"] == 17.0
    assert report["written_points"] == 4.0  # the Questions, graded by hand later
    scores = {row["id"]: row["score"] for row in report["tests"]}
    assert report["score"] == HONEST_SCORE, json.dumps(report["tests"], indent=1)[:3000]
    assert scores == {"test_project1_relu": 0.0, "test_project1_max_pool": 3.0,
                      "test_project1_cross_entropy": 3.0,
                      "test_project1_convolution": 3.0,
                      "test_project1_inside_a_model": 0.0,
                      "test_project1_cnn_accuracy": 0.0}


def test_the_relu_failure_names_the_leak(reports):
    """The honest message: what relu returned on a negative input."""
    rows = {row["id"]: row for row in reports["wrong_relu"]["tests"]}
    assert "relu(" in rows["test_project1_relu"]["message"]
    assert "-0.3" in rows["test_project1_relu"]["message"]


def test_the_attacks_beat_verdicts_reached_in_the_kernel(tmp_path):
    """The samples are real attacks: decided in the kernel, they gain points."""
    graded = grade_attacks(tmp_path, sorted(IN_KERNEL_SCORES), judge=False)
    assert {name: report["score"] for name, report in graded.items()} == IN_KERNEL_SCORES
