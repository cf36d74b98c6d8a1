"""Write one HTML feedback file per student, hidden tests kept hidden.

nbgrader's `generate_feedback` renders the autograded notebook, whose test
cells hold the full source, hidden tests included. One extra preprocessor,
`HideHiddenTestSource`, runs in that pipeline (between `GetGrades` and the
HTML styling) and

* replaces each `### BEGIN HIDDEN TESTS` ... `### END HIDDEN TESTS` region of
  a cell with one line saying hidden tests ran there;
* cuts the traceback of a graded test cell down to its last line
  (`CheckFailure: found ...; expected ... hint`), because a traceback quotes
  the failing source line and walks through the hidden check modules.

Plots, printed output and the check messages stay; nbgrader's per-cell
scores stay. As a last guard every written page is searched for the hidden
markers and withheld if one slipped through.
"""

from dataclasses import dataclass, field

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades
from traitlets.config import Config

from autograder.grading.course import AUTOGRADED, FEEDBACK, CourseSetupError
from autograder.grading.logs import stderr_to
from autograder.grading.notebooks import HIDDEN_TESTS_REGION
from autograder.grading.preprocessors import HideHiddenTestSource
from autograder.grading.records import autograde_record


def feedback_config():
    """nbgrader config adding `HideHiddenTestSource` to the feedback pipeline."""
    config = Config()
    config.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTestSource,
                                             CSSHTMLHeaderPreprocessor]
    return config


@dataclass
class FeedbackReport:
    """Feedback pages written for an assignment.

    Args:
        assignment: The assignment id.
        pages: Student id -> list of HTML paths.
        missing: Student id -> why there is no page (failed autograde, ...).
    """

    assignment: str
    pages: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)


def leaks_hidden_tests(html):
    return any(marker in html for marker in HIDDEN_TESTS_REGION)


def generate_feedback(course):
    """Run nbgrader `generate_feedback` for every autograded student.

    Args:
        course: The `Course` seen through the assignment.

    Returns:
        A `FeedbackReport`; pages are `feedback/<student>/<assignment>/<notebook>.html`.

    Raises:
        CourseSetupError: nothing has been autograded yet.

    Example:

    >>> from autograder.grading.course import open_course
    >>> generate_feedback(open_course("tests/files/toy_course", "toy"))
    Traceback (most recent call last):
    ...
    autograder.grading.course.CourseSetupError: nothing autograded for 'toy' yet. Run `course autograde toy` first.
    """
    students = course.students_in(AUTOGRADED)
    record = autograde_record(course)
    if not students and not record:
        raise CourseSetupError(f"nothing autograded for {course.assignment!r} yet. Run "
                               f"`course autograde {course.assignment}` first.")
    api = course.api(feedback_config())
    report = FeedbackReport(course.assignment)
    for student_id, result in record.items():
        if result.get("status") == "failed" and student_id not in students:
            report.missing[student_id] = f"autograde failed: {result.get('reason', '')}"
    for student_id in students:
        if record.get(student_id, {}).get("status") == "failed":
            report.missing[student_id] = (
                f"autograde failed: {record[student_id].get('reason', '')}")
            continue
        with stderr_to(course.working_folder / "feedback.log"):
            outcome = api.generate_feedback(course.assignment, student_id, force=True)
        folder = course.submission_folder(student_id, FEEDBACK)
        pages = sorted(folder.glob("*.html"))
        if not outcome["success"] or not pages:
            report.missing[student_id] = "nbgrader generate_feedback failed: " + (
                (outcome.get("error") or "").strip().splitlines() or ["no page written"])[-1]
            continue
        for page in pages:
            if leaks_hidden_tests(page.read_text(encoding="utf-8")):
                page.unlink()
                report.missing[student_id] = f"{page.name} withheld: hidden tests were visible"
        pages = [page for page in pages if page.exists()]
        if pages:
            report.pages[student_id] = pages
    return report
