"""Parallel autograde writes the same gradebook as grading one at a time.

One fabricated class of the toy course is collected into two copies of the
course; one copy is graded with `--workers 1`, the other with `--workers 2`.
Every student must be present once, with the same score per test cell, the
same verdicts and reasons, in both gradebooks.
"""

import nbformat
import pytest

from autograder.grading import classroom
from autograder.grading.autograde import autograde_assignment, split_pipeline
from autograder.grading.course import CourseSetupError, open_course
from autograder.grading.records import autograde_record
from tests.grading.toy_class import (collect_and_grade, copy_course, gradebook_rows, run,
                                     sqlite_url)

# Rows nbgrader writes while autograding, with the columns that identify them.
GRADEBOOK_TABLES = ("student", "submitted_assignment", "submitted_notebook", "grade",
                    "comment")


@pytest.fixture(scope="module")
def graded_twice(tmp_path_factory, sequential_toy_class):
    """The same class graded with one worker and with two, in two course copies."""
    sequential, sequential_result, zip_path, roster, classmates = sequential_toy_class
    parallel = copy_course(tmp_path_factory.mktemp("parallel") / "course_2")
    courses = {1: sequential, 2: parallel}
    outputs = {1: sequential_result,
               2: collect_and_grade(parallel, zip_path, roster, "--workers", 2)}
    return courses, outputs, classmates


def table_rows(root, table):
    """Rows of a gradebook table keyed by names, not by random row ids."""
    return gradebook_rows(sqlite_url(root), table)


def test_both_runs_reconcile_every_submission(graded_twice):
    _, outputs, classmates = graded_twice
    for result in outputs.values():
        assert result.exit_code == 0, result.output
        assert f"submitted {len(classmates)} = graded {len(classmates) - 1} + failed 1" \
            in result.output
        assert "not a readable notebook" in result.output


def test_gradebooks_hold_the_same_rows_once_each(graded_twice):
    courses, _, classmates = graded_twice
    for table in GRADEBOOK_TABLES:
        sequential, parallel = table_rows(courses[1], table), table_rows(courses[2], table)
        assert parallel == sequential, table
        assert len(set(parallel)) == len(parallel), f"duplicate rows in {table}"
    submitted = {row[1] for row in table_rows(courses[2], "submitted_assignment")}
    assert submitted == {classmate.canvas_id for classmate in classmates}


def test_every_student_gets_the_same_score_per_test(graded_twice):
    courses, _, _ = graded_twice
    sequential = autograde_record(open_course(courses[1], "toy"))
    parallel = autograde_record(open_course(courses[2], "toy"))
    assert set(parallel) == set(sequential)
    for student_id, entry in sequential.items():
        other = parallel[student_id]
        assert (other["status"], other["score"], other["max_score"], other["reason"],
                other["late"]) == (entry["status"], entry["score"], entry["max_score"],
                                   entry["reason"], entry["late"]), student_id
        assert [(row["id"], row["score"], row["passed"]) for row in other["tests"]] == [
            (row["id"], row["score"], row["passed"]) for row in entry["tests"]], student_id
    scores = {student_id: entry["score"] for student_id, entry in parallel.items()}
    assert scores == {"40101": 3.0, "40102": 0.0, "40103": 0.0, "40104": 3.0,
                      "40105": 0.0, "40106": 0.0, "40108": 1.0}


def test_parallel_run_writes_the_autograded_notebooks_and_a_clean_log(graded_twice):
    courses, _, _ = graded_twice
    for root in courses.values():
        folders = sorted(path.parts[-3] for path in
                         (root / "autograded").glob("*/toy/toy.ipynb"))
        assert folders == ["40101", "40102", "40103", "40104", "40106", "40108"]
    log = (courses[2] / "downloaded" / "toy" / "autograde.log").read_text()
    assert "database is locked" not in log
    assert log.count("=== 40101 ===") == 1
    executed = nbformat.read(str(courses[2] / "autograded" / "40108" / "toy" / "toy.ipynb"),
                             as_version=4)
    assert any(output.get("output_type") == "error"
               for cell in executed.cells for output in cell.get("outputs", []))


def test_workers_must_be_a_positive_whole_number(tmp_path):
    root = copy_course(tmp_path / "course")
    course = open_course(root, "toy")
    for workers in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="at least 1"):
            autograde_assignment(course, workers=workers)
    result = run("autograde", "toy", "--workers", 0, "--course-dir", root)
    assert result.exit_code == 2 and "--workers" in result.output


def test_a_pipeline_without_execution_is_refused():
    with pytest.raises(CourseSetupError, match="no execution step"):
        split_pipeline([classroom.Classmate])


def test_adopting_refuses_a_missing_or_different_executed_notebook(tmp_path):
    from autograder.grading.preprocessors import AdoptExecutedNotebook, KeepExecutedCopy

    resources = {"nbgrader": {"student": "40101", "notebook": "toy", "assignment": "toy"}}
    submission = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    adopt = AdoptExecutedNotebook(folder=str(tmp_path))
    with pytest.raises(RuntimeError, match="was not executed"):
        adopt.preprocess(submission, resources)
    executed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    executed.cells[0].outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    KeepExecutedCopy(folder=str(tmp_path)).preprocess(executed, resources)
    adopted, _ = adopt.preprocess(submission, resources)
    assert adopted.cells[0].outputs[0]["text"] == "ran\n"
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 2")])
    with pytest.raises(RuntimeError, match="does not match"):
        adopt.preprocess(other, resources)
    # The writer skips nbgrader's metadata check because the worker checked the
    # same cells, so cells whose nbgrader metadata differ do not match either.
    retagged = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    retagged.cells[0].metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 9}
    with pytest.raises(RuntimeError, match="does not match"):
        adopt.preprocess(retagged, resources)
