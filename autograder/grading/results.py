"""Read grading results back out of an nbgrader gradebook.

nbgrader stores one score per graded cell; the failure message a student needs
lives in the autograded notebook's error output. This module joins the two
into the rows `course grade --json` prints:
`{"id", "score", "max_score", "passed", "message"}`.
"""

from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from autograder.grading.course import CourseSetupError, prepare_tools
from autograder.grading.notebooks import test_cells

MAX_MESSAGE_CHARS = 2000


def failure_message(cell):
    """The error a graded test cell raised, as `Name: message`, or ''."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
            return text.strip()[:MAX_MESSAGE_CHARS]
    return ""


def find_graded_assignment(gradebook, assignment):
    """The gradebook's `Assignment` row, or a `CourseSetupError` saying what to run."""
    try:
        return gradebook.find_assignment(assignment)
    except MissingEntry:
        raise CourseSetupError(
            f"the gradebook has no {assignment!r}. Run `course collect` and "
            f"`course autograde {assignment}` first.") from None


def awaiting_manual_grade(gradebook, assignment):
    """Student id -> points still to grade by hand, for each submission that has any.

    A written answer (a markdown answer cell with points) is left "needs
    manual grade" by autograde unless the student left it as the stub (which
    nbgrader scores 0); it is graded in the formgrader (`course formgrader`).

    Example:

    >>> from autograder.grading.course import prepare_tools
    >>> import tempfile
    >>> prepare_tools()
    >>> with Gradebook(f"sqlite:///{tempfile.mkdtemp()}/gradebook.db") as gradebook:
    ...     _ = gradebook.add_assignment("project1")
    ...     awaiting_manual_grade(gradebook, "project1")
    {}
    """
    return {submission.student_id: sum(float(grade.max_score)
                                       for notebook in submission.notebooks
                                       for grade in notebook.grades if grade.needs_manual_grade)
            for submission in gradebook.assignment_submissions(assignment)
            if submission.needs_manual_grade}


def read_notebook_results(gradebook_url, assignment, student, notebook,
                          autograded_path=None):
    """Per-test results of one autograded notebook.

    Args:
        gradebook_url: SQLAlchemy URL of the nbgrader gradebook.
        assignment: Assignment id, e.g. "project1".
        student: Student id in the gradebook.
        notebook: Notebook name without ".ipynb".
        autograded_path: The autograded notebook file, for failure messages
            (optional).

    Returns:
        A list of dicts `{"id", "score", "max_score", "passed", "message"}` in
        notebook order: every autograded test cell the gradebook knows, each
        failed one with a reason. Empty when the gradebook holds no such
        submission.

    Example:

    A gradebook without that submission gives no rows:

    >>> import tempfile
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/gradebook.db"
    >>> read_notebook_results(url, "project1", "student", "project1")
    []
    """
    cells, order = autograded_test_cells(autograded_path)
    prepare_tools()
    with Gradebook(gradebook_url) as gradebook:
        return notebook_results(gradebook, assignment, student, notebook, cells, order)


def autograded_test_cells(autograded_path):
    """`(cells, order)`: grade id -> test cell of an autograded notebook, and their
    order; empty when the file is missing or unreadable (messages are a bonus,
    scores are not)."""
    if not autograded_path or not Path(autograded_path).is_file():
        return {}, []
    try:  # nbgrader wrote and validated it just now
        cells = test_cells(nbformat.v4.reads(Path(autograded_path).read_text(encoding="utf-8")))
    except Exception:  # noqa: BLE001 - see above
        return {}, []
    return cells, list(cells)


def notebook_results(gradebook, assignment, student, notebook, cells, order):
    """`read_notebook_results` on an open gradebook, with the notebook's test
    cells (grade id -> cell, for failure messages) and their order given."""
    rows = []
    try:
        submitted = gradebook.find_submission_notebook(notebook, assignment, student)
    except MissingEntry:
        return []
    answers = {cell.name for cell in submitted.notebook.solution_cells}
    for grade in submitted.grades:
        if grade.cell_type != "code" or grade.name in answers:
            continue  # markdown or a manually graded answer cell, not a test
        score = grade.score if grade.score is not None else 0.0
        max_score = float(grade.max_score)
        passed = score >= max_score
        cell = cells.get(grade.name)
        message = "" if passed or cell is None else failure_message(cell)
        if not passed and not message:
            message = "no score: the cell did not run (see the notebook)"
        rows.append({
            "id": grade.name,
            "score": float(score),
            "max_score": max_score,
            "passed": bool(passed),
            "message": message,
        })
    position = {name: index for index, name in enumerate(order)}
    rows.sort(key=lambda row: position.get(row["id"], len(position)))
    return rows


def written_answer_points(gradebook_url, assignment, notebook):
    """Points of a notebook's answer cells that a TA grades by hand (written answers).

    Example:

    >>> import tempfile
    >>> written_answer_points(f"sqlite:///{tempfile.mkdtemp()}/gradebook.db", "project1",
    ...                       "project1")
    0.0
    """
    prepare_tools()
    with Gradebook(gradebook_url) as gradebook:
        try:
            source = gradebook.find_notebook(notebook, assignment)
        except MissingEntry:
            return 0.0
        answers = {cell.name for cell in source.solution_cells}
        return float(sum(cell.max_score for cell in source.grade_cells if cell.name in answers))


def unscored_results(gradebook_url, assignment, notebook, message):
    """Zero-score rows for every test cell of a notebook that was never graded.

    Used when nbgrader could not grade a submission at all, so the report
    still lists every test and its points.
    """
    with Gradebook(gradebook_url) as gradebook:
        try:
            source = gradebook.find_notebook(notebook, assignment)
        except MissingEntry:
            return []
        return [{"id": cell.name, "score": 0.0, "max_score": float(cell.max_score),
                 "passed": False, "message": message}
                for cell in source.grade_cells if cell.cell_type == "code"]
