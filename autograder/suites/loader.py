"""The graded test cells a submission is checked against, and its grading.

The suite lists the test cells of the course notebook that matches the
submission (so pytest names each result by grade_id before anything runs),
then grades the submission once with `course grade`'s machinery.
"""

from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.grading.course import find_course, infer_assignment
from autograder.grading.notebooks import test_cells


@dataclass(frozen=True)
class TestCell:
    """One graded test cell: its grade_id and points."""

    grade_id: str
    points: float


def course_test_cells(path, assignment=None):
    """The graded test cells of the course notebook matching a submission.

    Args:
        path: The submitted notebook.
        assignment: The assignment id, or None to infer it from the notebook.

    Returns:
        `(assignment, notebook_name, hidden_tests_included, [TestCell, ...])`.
    """
    path = Path(path)
    submission = nbformat.read(str(path), as_version=4)
    course = find_course(path.parent)
    assignment, notebook_name = infer_assignment(course, submission, path.name, assignment)
    full = course.has_sources(assignment)
    folder = (course.source_directory if full else course.release_directory) / assignment
    source = nbformat.read(str(folder / f"{notebook_name}.ipynb"), as_version=4)
    cells = [TestCell(grade_id, float(cell.metadata.nbgrader.get("points", 0)))
             for grade_id, cell in test_cells(source).items()]
    return assignment, notebook_name, full, cells
