"""Grade one notebook exactly as the TA's autograder does.

`grade_notebook` builds a throw-away nbgrader course directory, generates the
assignment from its source (so the gradebook knows every test cell, hidden
ones included), submits the notebook as a single student and runs nbgrader's
own autograde. Where the instructor sources are absent (a student's copy of
the course), the released stub is the source: visible tests only.
"""

import ast
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.grading.course import (AUTOGRADED, SUBMITTED, Course, CourseSetupError,
                                       find_course, infer_assignment)
from autograder.grading.notebooks import test_cells
from autograder.grading.results import (read_notebook_results, unscored_results,
                                        written_answer_points)
from autograder.grading.warm_kernels import prestart

STUDENT_ID = "self_check"


def read_submission(path):
    """Read a notebook file, or raise `CourseSetupError` saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise CourseSetupError(f"{path} does not exist. Check the path and try again.")
    if not path.is_file():
        raise CourseSetupError(f"{path} is a folder, not a notebook file.")
    if path.stat().st_size == 0:
        raise CourseSetupError(f"{path} is empty (0 bytes). Save the notebook in "
                               "Jupyter and submit the .ipynb file again.")
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:  # noqa: BLE001 - any parse failure means "not a notebook"
        raise CourseSetupError(
            f"{path} is not a readable Jupyter notebook ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}). Submit the "
            ".ipynb file saved from Jupyter, not a copy of its text.") from None
    if not notebook.cells:
        raise CourseSetupError(f"{path} has no cells. Submit the notebook with your "
                               "work in it.")
    return notebook


def run_autograde(scratch, source_folder, notebook_path, notebook_name):
    """Generate the assignment in a scratch course and autograde one submission.

    Args:
        scratch: The scratch `Course`, seen through the assignment, whose
            kernels must not see `source_folder`'s course either.
        source_folder: The assignment's source (or released) folder.
        notebook_path: The notebook to grade.
        notebook_name: The course notebook it is, without ".ipynb".

    Returns:
        `(api_result, autograded_notebook_path)`.
    """
    api = scratch.api()
    prestart(scratch.settings.kernel_warm_start)  # imports overlap nbgrader's work
    shutil.copytree(source_folder, scratch.source_folder)
    generated = api.generate_assignment(scratch.assignment)
    if not generated["success"]:
        raise CourseSetupError(
            f"nbgrader could not generate {scratch.assignment!r} from its source:\n"
            f"{generated.get('error', '')}")
    submission = scratch.submission_folder(STUDENT_ID, SUBMITTED)
    submission.mkdir(parents=True)
    shutil.copyfile(notebook_path, submission / f"{notebook_name}.ipynb")
    result = api.autograde(scratch.assignment, STUDENT_ID)
    return result, scratch.submission_folder(STUDENT_ID, AUTOGRADED) / f"{notebook_name}.ipynb"


def grade_notebook(notebook_path, assignment=None, course=None):
    """Grade one notebook through nbgrader's autograde pipeline.

    Args:
        notebook_path: The notebook to grade.
        assignment: Assignment id; inferred from the notebook when None.
        course: A `Course`; found from the notebook's location when None.

    Returns:
        A dict `{"assignment", "notebook", "score", "max_score",
        "unchecked_points", "written_points", "tests", "hidden_tests_included",
        "error"}` where
        `tests` lists `{"id", "score", "max_score", "passed", "checked",
        "message"}` and `error` is None unless nbgrader itself stopped (e.g.
        the kernel died). In a student's copy (no hidden tests) a test cell
        made only of hidden tests is `checked: False`, scores 0 and is left
        out of `score` and `max_score`; its points are `unchecked_points`.
        Written answers are graded by the TAs by hand, never here: their
        points are `written_points`, outside `score` and `max_score`.

    Raises:
        CourseSetupError: missing file, not a notebook, unknown assignment.

    Example:

    A path that is no notebook is told apart before anything runs:

    >>> grade_notebook("solutions")
    Traceback (most recent call last):
    ...
    autograder.grading.course.CourseSetupError: .../solutions is a folder, not a notebook file.

    `grade_notebook("solutions/project1/project1.ipynb")` grades the
    instructor's solution: its `score` equals its `max_score`.
    """
    notebook_path = Path(notebook_path).resolve()
    notebook = read_submission(notebook_path)
    course = course or find_course(notebook_path.parent)
    assignment, notebook_name = infer_assignment(
        course, notebook, notebook_path.name, assignment)
    full = course.has_sources(assignment)
    source_folder = (course.source_directory if full else course.release_directory) / assignment
    with tempfile.TemporaryDirectory(prefix="course-grade-") as temporary:
        scratch = Course(Path(temporary), assignment, settings=course.settings,
                         protected_paths=(str(source_folder.parent),))
        result, autograded = run_autograde(scratch, source_folder, notebook_path, notebook_name)
        database_url = scratch.database_url
        written = written_answer_points(database_url, assignment, notebook_name)
        tests = read_notebook_results(
            database_url, assignment, STUDENT_ID, notebook_name, autograded)
        error = None
        if not result["success"]:
            error = last_error_line(result.get("error", "")) or "nbgrader autograde failed"
            for row in tests:
                if not row["passed"] and row["message"].startswith("no score"):
                    row["message"] = f"grading stopped: {error}"
            if not tests:
                tests = unscored_results(database_url, assignment, notebook_name,
                                         f"grading stopped: {error}")
    unchecked = set() if full else hidden_only_tests(source_folder / f"{notebook_name}.ipynb")
    for row in tests:
        row["checked"] = row["id"] not in unchecked
        if not row["checked"]:
            row["score"], row["passed"] = 0.0, False
            row["message"] = NOT_CHECKED
    counted = [row for row in tests if row["checked"]]
    return {
        "assignment": assignment,
        "notebook": notebook_name,
        "score": sum(row["score"] for row in counted),
        "max_score": sum(row["max_score"] for row in counted),
        "unchecked_points": sum(row["max_score"] for row in tests if not row["checked"]),
        "written_points": written,
        "tests": tests,
        "hidden_tests_included": full,
        "error": error,
    }


NOT_CHECKED = ("not checked in your copy: this test is hidden and runs only when the TAs "
               "grade (its points are left out of the score above)")


def hidden_only_tests(released_path):
    """grade_ids of released test cells that check nothing in a student's copy.

    A test cell made only of hidden tests is released as comments (or
    `pass`): run in the student's copy it cannot fail, so its "pass" would
    claim points nobody checked.
    """
    try:
        released = nbformat.read(str(released_path), as_version=4)
    except Exception:  # noqa: BLE001 - no released copy: nothing to leave out
        return set()
    return {grade_id for grade_id, cell in test_cells(released).items()
            if not checks_anything(cell.source)}


def checks_anything(source):
    """Whether test code holds a statement besides `pass` and bare strings.

    Example:

    >>> checks_anything("# hidden tests run when graded\\npass"), checks_anything("check(f)")
    (False, True)
    """
    try:
        statements = ast.parse(source).body
    except SyntaxError:
        return True  # it runs, and fails: that is a check
    return any(not isinstance(statement, ast.Pass)
               and not (isinstance(statement, ast.Expr)
                        and isinstance(statement.value, ast.Constant))
               for statement in statements)


def last_error_line(traceback_text):
    """The last non-empty line of a traceback (the exception itself)."""
    lines = [line.strip() for line in traceback_text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
