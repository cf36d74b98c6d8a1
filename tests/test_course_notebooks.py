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


PROJECTS = [name for name in ASSIGNMENTS if name.startswith("project")]


@pytest.mark.parametrize("project", PROJECTS)
def test_projects_end_with_written_answers_for_the_tas(project):
    """Every question of a project's Questions section is followed by a
    manually graded markdown answer cell with points, whose model answer and
    rubric sit in the solution region, so the released stub holds only
    nbgrader's "YOUR ANSWER HERE"."""
    source = nbformat.read(str(ROOT / "solutions" / project / f"{project}.ipynb"), as_version=4)
    released = nbformat.read(str(ROOT / "assignments" / project / f"{project}.ipynb"),
                             as_version=4)
    start = next(index for index, cell in enumerate(source.cells)
                 if cell.source.startswith("## Questions"))
    after = source.cells[start + 1:]
    questions = [cell for cell in after if cell.source.startswith("**Question")]
    answers = [cell for cell in after if cell.metadata.get("nbgrader", {}).get("solution")]
    assert questions and len(answers) == len(questions)
    for question, answer in zip(questions, answers):
        assert after.index(answer) == after.index(question) + 1, question.source[:80]
        nbgrader = answer.metadata["nbgrader"]
        assert answer.cell_type == "markdown" and nbgrader["grade"] and nbgrader["points"] > 0
        assert answer.source.startswith("### BEGIN SOLUTION")
        assert "**Model answer.**" in answer.source and "**Rubric" in answer.source
    stubs = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in released.cells
             if cell.metadata.get("nbgrader", {}).get("solution")
             and cell.cell_type == "markdown"}
    assert sorted(stubs) == sorted(cell.metadata["nbgrader"]["grade_id"] for cell in answers)
    assert set(stubs.values()) == {"YOUR ANSWER HERE"}
