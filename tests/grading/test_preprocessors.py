"""The course's additions to nbgrader's autograde pipeline."""

import nbformat

from autograder.grading.config import autograde_preprocessors
from autograder.grading.preprocessors import GuardedExecute, StderrIsNotFailure
from nbgrader.preprocessors import Execute, SaveAutoGrades
from nbgrader.utils import determine_grade


def graded_cell(outputs):
    cell = nbformat.v4.new_code_cell("check()")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "locked": True, "points": 2,
                                 "schema_version": 3, "solution": False, "task": False}
    cell.outputs = [nbformat.from_dict(output) for output in outputs]
    return cell


def run(cell):
    processed, _ = StderrIsNotFailure().preprocess_cell(cell, {}, 0)
    return determine_grade(processed)


def test_stderr_text_alone_keeps_the_points():
    stderr = {"output_type": "stream", "name": "stderr", "text": "WARNING:tensorflow: retracing"}
    assert determine_grade(graded_cell([stderr])) == (0, 2.0)  # stock nbgrader
    assert run(graded_cell([stderr])) == (2.0, 2.0)


def test_an_error_still_scores_zero():
    error = {"output_type": "error", "ename": "CheckFailure", "evalue": "wrong", "traceback": []}
    stderr = {"output_type": "stream", "name": "stderr", "text": "noise"}
    assert run(graded_cell([stderr, error])) == (0, 2.0)


def test_preprocessor_runs_between_execution_and_saving_grades():
    pipeline = autograde_preprocessors()
    assert pipeline.index(GuardedExecute) < pipeline.index(StderrIsNotFailure) < pipeline.index(SaveAutoGrades)
    # The guarded execution replaces nbgrader's own, which must not run twice.
    assert Execute not in pipeline
