"""Every real assignment releases cleanly: solutions score full marks, stubs
score zero without crashing the grader, nothing secret leaks (CI executes
every notebook through nbgrader here)."""

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.grading.course import Course
from autograder.grading.release import check_releases, release_assignment

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(folder.name for folder in (ROOT / "solutions").iterdir()
                     if folder.is_dir() and any(folder.glob("*.ipynb")))


def test_course_has_assignments():
    assert ASSIGNMENTS, "solutions/ holds no assignment"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_assignment_releases_with_full_marks_and_clean_zeros(assignment, tmp_path):
    shutil.copytree(ROOT / "solutions" / assignment, tmp_path / "solutions" / assignment)
    report = release_assignment(assignment, course=Course(tmp_path),
                                zip_directory=tmp_path / "zips")
    for name, rows in report.solution_scores.items():
        assert rows and all(row["passed"] for row in rows), (name, rows)
    for name, rows in report.stub_scores.items():
        assert all(row["score"] == 0 and row["message"] for row in rows), (name, rows)
    assert report.zip_path.is_file()


def test_released_stubs_match_the_sources():
    assert check_releases(Course(ROOT)) == {name: [] for name in ASSIGNMENTS}


def test_committed_notebooks_carry_no_outputs():
    offenders = []
    for folder in ("solutions", "assignments"):
        for path in sorted((ROOT / folder).rglob("*.ipynb")):
            notebook = nbformat.read(str(path), as_version=4)
            if any(cell.get("outputs") or cell.get("execution_count")
                   for cell in notebook.cells if cell.cell_type == "code"):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_stub_text_never_points_at_a_solution_students_do_not_have():
    """The stubs' prose is read next to empty answer cells: it may not say that
    "the solution" below or above does something."""
    for path in sorted((ROOT / "assignments").glob("*/*.ipynb")):
        notebook = nbformat.read(str(path), as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                text = " ".join(cell.source.lower().split())
                assert "solution below" not in text and "solution above" not in text, (
                    path.name, cell.source[:200])
