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
scores stay, and so do the points and comment a TA gave a written answer in
the formgrader (`course formgrader`). A page written before a student's
written answers were graded shows them without points; such students are
listed (`FeedbackReport.awaiting`) so the TA can grade them and run the
feedback again. As a last guard every written page is searched for the hidden
markers and withheld if one slipped through.

The pages also go into one zip for Canvas' "Re-Upload Submissions"
(`canvas_upload/<assignment>_feedback.zip`), which attaches each file as a
comment to the submission its name points at: Canvas reads the first two
all-digit parts of a name as the student's user id and the id of a file that
student handed in (`infer_comment_context_from_filename`), and gives a group
submission's comment to every member of the group. So each page is named
like the notebook it grades was named in the download:
`<name>_<user id>_<attachment id>_<page>.html`.
"""

import zipfile
from dataclasses import dataclass, field

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades
from traitlets.config import Config

from autograder.grading.course import AUTOGRADED, FEEDBACK, CourseSetupError
from autograder.grading.logs import stderr_to
from autograder.grading.notebooks import HIDDEN_TESTS_REGION
from autograder.grading.preprocessors import HideHiddenTestSource
from autograder import canvas
from autograder.grading.records import autograde_record, collected_students
from autograder.grading.results import awaiting_manual_grade

UPLOAD_FOLDER = "canvas_upload"


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
        upload_zip: The zip for Canvas' "Re-Upload Submissions" (None when
            no page could be tied to a Canvas submission).
        not_in_zip: Student id -> why their pages are not in the zip.
        awaiting: Student id -> points of written answers not graded yet
            when their pages were written.
    """

    assignment: str
    pages: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)
    upload_zip: object = None
    not_in_zip: dict = field(default_factory=dict)
    awaiting: dict = field(default_factory=dict)


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
    with course.gradebook() as gradebook:
        waiting = awaiting_manual_grade(gradebook, course.assignment)
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
            if student_id in waiting:
                report.awaiting[student_id] = waiting[student_id]
    write_upload_zip(course, report)
    return report


def submitted_attachments(entry):
    """Saved notebook name -> Canvas attachment id, from one collection record entry."""
    attachments = {}
    for entry_name, saved in entry.get("saved", {}).items():
        decoded = canvas.parse_entry_name(entry_name.split("/", 1)[0])
        if decoded is not None and decoded.attachment_id:
            attachments[saved] = decoded.attachment_id
    return attachments


def write_upload_zip(course, report):
    """Write the feedback pages as a zip for Canvas' "Re-Upload Submissions".

    A page is tied to the attachment of the notebook it grades (same stem), or
    else to the student's first collected notebook; a student collected
    without any Canvas attachment id (or not collected through a Canvas zip)
    is listed in `report.not_in_zip`.
    """
    collected = collected_students(course)
    files = []
    for student_id, pages in sorted(report.pages.items()):
        entry = collected.get(student_id)
        attachments = submitted_attachments(entry or {})
        if not attachments:
            report.not_in_zip[student_id] = ("not collected from a Canvas zip: no Canvas file "
                                             "to attach the feedback to")
            continue
        fallback = attachments[sorted(attachments)[0]]
        for page in pages:
            attachment_id = attachments.get(page.with_suffix(".ipynb").name, fallback)
            name = canvas.entry_name_for(entry.get("sortable_name") or "student", student_id,
                                         attachment_id, f"{page.stem}_feedback.html",
                                         late=bool(entry.get("late")))
            files.append((name, page))
    if not files:
        return
    folder = course.root / UPLOAD_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    report.upload_zip = folder / f"{course.assignment}_feedback.zip"
    with zipfile.ZipFile(report.upload_zip, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, page in files:
            archive.write(page, name)
