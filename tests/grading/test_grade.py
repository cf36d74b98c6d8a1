"""`course grade`: one notebook through nbgrader's autograde, table or JSON."""

import json
import shutil

import nbformat
import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.grading.course import Course, CourseSetupError
from autograder.grading.grade import grade_notebook
from autograder.grading.release import release_assignment

EXPECTED_SCORES = {"full": 3.0, "partial": 1.0, "empty": 0.0}


def run_cli(*args, course_root=None, monkeypatch=None):
    if course_root is not None:
        monkeypatch.setenv("COURSE_DIR", str(course_root))
    return CliRunner().invoke(main, list(map(str, args)))


@pytest.mark.parametrize("kind", ["full", "partial", "empty"])
def test_grade_json_scores_each_submission(kind, released_toy, toy_submissions, monkeypatch):
    root, _ = released_toy
    result = run_cli("grade", toy_submissions[kind], "--json",
                     course_root=root, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) >= {"assignment", "score", "max_score", "tests"}
    assert report["assignment"] == "toy"
    assert report["score"] == EXPECTED_SCORES[kind]
    assert report["max_score"] == 3.0
    for row in report["tests"]:
        assert set(row) == {"id", "score", "max_score", "passed", "checked", "message"}
        assert row["checked"]  # hidden tests included: every test is checked
        assert row["passed"] == (row["score"] == row["max_score"])
        assert bool(row["message"]) == (not row["passed"])
    assert [row["id"] for row in report["tests"]] == ["toy_test_visible", "toy_test_hidden"]


def test_partial_submission_fails_only_the_hidden_check(released_toy, toy_submissions):
    root, _ = released_toy
    report = grade_notebook(toy_submissions["partial"], course=Course(root))
    verdicts = {row["id"]: row["passed"] for row in report["tests"]}
    assert verdicts == {"toy_test_visible": True, "toy_test_hidden": False}
    message = report["tests"][1]["message"]
    assert "CheckFailure" in message and "square(-2.0)" in message and "expected 4.0" in message


def test_empty_stub_fails_every_test_with_a_reason(released_toy, toy_submissions):
    root, _ = released_toy
    report = grade_notebook(toy_submissions["empty"], course=Course(root))
    assert report["score"] == 0
    assert all("NotImplementedError" in row["message"] or "NameError" in row["message"]
               for row in report["tests"])


def test_table_output_lists_each_test(released_toy, toy_submissions, monkeypatch):
    root, _ = released_toy
    result = run_cli("grade", toy_submissions["partial"], course_root=root,
                     monkeypatch=monkeypatch)
    assert result.exit_code == 0
    assert "toy_test_hidden" in result.output and "Score: 1 / 3" in result.output


def test_assignment_is_inferred_from_cells_when_file_is_renamed(released_toy, toy_submissions, tmp_path):
    root, _ = released_toy
    renamed = tmp_path / "my homework (1).ipynb"
    shutil.copyfile(toy_submissions["full"], renamed)
    report = grade_notebook(renamed, course=Course(root))
    assert (report["assignment"], report["notebook"], report["score"]) == ("toy", "toy", 3.0)


def test_student_copy_without_solutions_runs_visible_tests_only(released_toy, write_answer, tmp_path, monkeypatch):
    root, _ = released_toy
    # Truncating x only shows on the hidden test's non-integer input.
    truncating = write_answer(root / "assignments" / "toy" / "toy.ipynb",
                              "return float(int(x)) ** 2", tmp_path / "truncating.ipynb")
    full_course = grade_notebook(truncating, course=Course(root))
    assert full_course["score"] == 1.0 and full_course["hidden_tests_included"]
    student_copy = tmp_path / "student"
    shutil.copytree(root / "assignments", student_copy / "assignments")
    result = run_cli("grade", truncating, course_root=student_copy, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "Visible tests only" in result.output
    assert "Score: 3 / 3" in result.output  # both cells have visible tests


def test_a_test_cell_of_hidden_tests_only_is_not_checked_in_a_students_copy(
        toy_course_copy, write_answer, tmp_path, monkeypatch):
    """Released, a cell of hidden tests only is empty: it cannot fail in the student's
    copy, so it must not show as a pass with full points."""
    root = toy_course_copy(tmp_path / "course")
    source = root / "solutions" / "toy" / "toy.ipynb"
    notebook = nbformat.read(str(source), as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "toy_test_hidden":
            cell.source = cell.source.split("\n", 1)[1]  # keep only the hidden region
    nbformat.write(notebook, str(source))
    release_assignment("toy", course=Course(root))
    truncating = write_answer(root / "assignments" / "toy" / "toy.ipynb",
                              "return float(int(x)) ** 2", tmp_path / "truncating.ipynb")
    assert grade_notebook(truncating, course=Course(root))["score"] == 1.0  # TAs' grade
    student_copy = tmp_path / "student"
    shutil.copytree(root / "assignments", student_copy / "assignments")
    result = run_cli("grade", truncating, course_root=student_copy, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "Score: 1 / 1" in result.output
    assert "not checked in your copy" in result.output
    assert "2 more points are in tests your copy cannot check" in result.output
    result = run_cli("grade", truncating, "--json", course_root=student_copy,
                     monkeypatch=monkeypatch)
    payload = json.loads(result.output)
    assert (payload["score"], payload["max_score"], payload["unchecked_points"]) == (1, 1, 2)
    assert {row["id"]: row["checked"] for row in payload["tests"]} == {
        "toy_test_visible": True, "toy_test_hidden": False}


@pytest.mark.parametrize("problem, expected", [
    ("missing", "does not exist"),
    ("folder", "is a folder"),
    ("not_json", "not a readable Jupyter notebook"),
    ("unknown_assignment", "unknown assignment 'nope'"),
    ("unmatched", "cannot tell which assignment"),
])
def test_bad_input_exits_nonzero_with_clear_message(problem, expected, released_toy, tmp_path, monkeypatch):
    root, _ = released_toy
    args = []
    if problem == "missing":
        args = [tmp_path / "absent.ipynb"]
    elif problem == "folder":
        args = [tmp_path]
    elif problem == "not_json":
        path = tmp_path / "broken.ipynb"
        path.write_text("this is not json")
        args = [path]
    elif problem == "unknown_assignment":
        args = [root / "assignments" / "toy" / "toy.ipynb", "--assignment", "nope"]
    elif problem == "unmatched":
        path = tmp_path / "other.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), str(path))
        args = [path]
    result = run_cli("grade", *args, course_root=root, monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert expected in result.output


def test_grade_notebook_raises_setup_error_for_missing_file(released_toy, tmp_path):
    root, _ = released_toy
    with pytest.raises(CourseSetupError, match="does not exist"):
        grade_notebook(tmp_path / "nothing.ipynb", course=Course(root))
