"""Send an assignment's grades and feedback pages to Canvas with canvasapi.

`course push` sends what the TA reviewed: the import CSV `course export`
wrote (read back with Canvas' import rules, so blank cells stay "no change"
and `EX` excuses), and the feedback pages `course feedback` wrote. Two kinds
of request go out, through canvasapi (ucfopen/canvasapi):

* grades: one `Assignment.submissions_bulk_update` (Canvas' "Grade or
  comment on multiple submissions", `POST .../submissions/update_grades`
  with `grade_data[<user id>][posted_grade]` or `[excuse]`), then its
  progress is followed until Canvas has applied it;
* feedback: per page, `Submission.upload_comment` (Canvas' three-step file
  upload to `.../submissions/<user id>/comments/files`, then a comment with
  the file on the student's submission). With a group set, every member of a
  group gets the pages of the group's submission.

Nothing is sent unless asked (`send=True`, `--send` on the command line):
the default is a dry run that shows every request it would make. Canvas'
address and course id come from `--canvas-url`/`CANVAS_API_URL` and
`--course-id`/`CANVAS_COURSE_ID`; the access token only from the
environment (`CANVAS_API_TOKEN`), so it is on no command line and in no log,
and it is never printed: messages that could carry it are scrubbed. These
variables are not `COURSE_*` settings on purpose: settings travel to grading
workers, the token must not.

Before any grade is sent, the assignment's points possible in Canvas are
compared with the import's (which the scores were scaled to); a difference
stops the push. One failed upload never stops the others; each outcome is
reported.
"""

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import canvas
from autograder.grading.course import FEEDBACK, CourseSetupError

URL_VARIABLE = "CANVAS_API_URL"
TOKEN_VARIABLE = "CANVAS_API_TOKEN"
COURSE_VARIABLE = "CANVAS_COURSE_ID"
PROGRESS_SECONDS = 120
FINISHED_STATES = ("completed", "failed")


@dataclass
class PushItem:
    """What goes to Canvas for one student.

    Args:
        canvas_id: Canvas user id.
        name: Roster name.
        grade: The grade text to post (None: no grade sent), or "EX".
        pages: Feedback pages to attach as comments.
        outcome: What happened to each request (filled by `send_push`).
    """

    canvas_id: str
    name: str
    grade: str = None
    pages: list = field(default_factory=list)
    outcome: list = field(default_factory=list)


@dataclass
class PushReport:
    """A planned (and maybe sent) push.

    Args:
        assignment: The nbgrader assignment id.
        column: The Canvas `AssignmentColumn` the grades are for.
        items: `PushItem`s in roster order.
        sent: Whether requests were made.
        progress: Canvas' final state of the bulk grade update.
        problems: Requests that failed (student id, what, why).
    """

    assignment: str
    column: object
    items: list
    sent: bool = False
    progress: str = ""
    problems: list = field(default_factory=list)

    @property
    def grades(self):
        return {item.canvas_id: item.grade for item in self.items if item.grade is not None}


def feedback_pages(course, student_id):
    folder = course.submission_folder(student_id, FEEDBACK)
    return sorted(folder.glob("*.html")) if folder.is_dir() else []


def plan_push(course, import_csv, roster_path, groups_path=None, feedback=True):
    """Decide what `course push` sends, from the reviewed import CSV and feedback.

    Args:
        course: The `Course` seen through the assignment.
        import_csv: The CSV `course export` wrote.
        roster_path: The Canvas gradebook export it was written for.
        groups_path: Optional group set (see `canvas.read_groups`).
        feedback: Whether to attach the feedback pages.

    Returns:
        A `PushReport` (nothing sent).

    Raises:
        canvas.CanvasFormatError: a file is not in Canvas' format.
        CourseSetupError: the CSV is not one existing assignment's column.
    """
    roster = canvas.read_roster(roster_path)
    preview = canvas.preview_gradebook_import(import_csv, roster)
    if preview.new_assignments or len(preview.columns) != 1:
        found = [column.header for column in preview.columns] + preview.new_assignments
        raise CourseSetupError(
            f"{import_csv} must hold exactly one column of an existing Canvas assignment "
            f"(found: {', '.join(found) or 'none'}). Push the file `course export "
            f"{course.assignment}` wrote, with the roster it was written for.")
    column = preview.columns[0]
    pages = {}
    if feedback:
        pages = {student.canvas_id: feedback_pages(course, student.canvas_id)
                 for student in roster.students}
        for group in canvas.read_groups(groups_path, roster) if groups_path else []:
            shared = next((pages[member] for member in group.members if pages.get(member)), [])
            for member in group.members:
                pages[member] = pages.get(member) or shared
    items = []
    for student in roster.students:
        grade = preview.grades.get(student.canvas_id, {}).get(column.header)
        item = PushItem(student.canvas_id, student.name, grade, pages.get(student.canvas_id, []))
        if item.grade is not None or item.pages:
            items.append(item)
    return PushReport(course.assignment, column, items)


def scrub(error, token):
    text = f"{type(error).__name__}: {error}"
    return text.replace(token, "<token>") if token else text


def canvas_credentials(url, course_id, environment=None):
    """(url, course id, token) for sending, from the options and the environment.

    Raises:
        CourseSetupError: one of them is missing, with where to set it.
    """
    environment = os.environ if environment is None else environment
    url = (url or environment.get(URL_VARIABLE, "")).strip().rstrip("/")
    course_id = str(course_id or environment.get(COURSE_VARIABLE, "")).strip()
    token = environment.get(TOKEN_VARIABLE, "").strip()
    missing = [what for what, value in ((f"--canvas-url or {URL_VARIABLE}", url),
                                        (f"--course-id or {COURSE_VARIABLE}", course_id),
                                        (TOKEN_VARIABLE, token)) if not value]
    if missing:
        raise CourseSetupError(
            f"cannot send to Canvas without {', '.join(missing)}. The token is a Canvas "
            "access token (Account > Settings > New Access Token), read only from the "
            f"environment: export {TOKEN_VARIABLE}=... before `course push --send`.")
    if url.endswith("/api/v1"):
        url = url[:-len("/api/v1")]
    return url, course_id, token


def send_push(report, url, course_id, token, progress_seconds=PROGRESS_SECONDS):
    """Send a planned push to Canvas (fills `report` in place and returns it).

    Raises:
        CourseSetupError: Canvas cannot be reached, refuses the token, has no
            such course or assignment, or its points possible differ from
            the import's; nothing has been sent then.
    """
    from canvasapi import Canvas
    from canvasapi.exceptions import CanvasException
    from requests.exceptions import RequestException

    try:
        assignment = Canvas(url, token).get_course(course_id).get_assignment(
            report.column.assignment_id)
    except (CanvasException, RequestException) as error:
        raise CourseSetupError(
            f"Canvas at {url} refused course {course_id} / assignment "
            f"{report.column.assignment_id}: {scrub(error, token)}. Check the address, the "
            "course id (the number in the course's URL) and the token. Nothing was "
            "sent.") from None
    canvas_points = getattr(assignment, "points_possible", None)
    if (canvas_points is not None and report.column.points is not None
            and abs(float(canvas_points) - report.column.points) > 1e-9):
        raise CourseSetupError(
            f'Canvas now has {canvas.format_score(canvas_points)} points possible for '
            f'"{report.column.header}", the import was scaled to '
            f"{report.column.points_possible}. Export the gradebook again and run `course "
            f"export {report.assignment}` with it. Nothing was sent.")
    report.sent = True
    grade_data = {canvas_id: ({"excuse": True} if grade == canvas.EXCUSED
                              else {"posted_grade": grade})
                  for canvas_id, grade in report.grades.items()}
    if grade_data:
        try:
            progress = assignment.submissions_bulk_update(grade_data=grade_data)
            report.progress = follow_progress(progress, progress_seconds)
        except (CanvasException, RequestException) as error:
            report.progress = "failed"
            report.problems.append(("", "grades", scrub(error, token)))
        for item in report.items:
            if item.grade is not None:
                item.outcome.append(f"grade {item.grade}: {report.progress}")
    for item in report.items:
        if not item.pages:
            continue
        try:
            submission = assignment.get_submission(item.canvas_id)
        except (CanvasException, RequestException) as error:
            item.outcome.append("feedback: no submission in Canvas")
            report.problems.append((item.canvas_id, "feedback", scrub(error, token)))
            continue
        for page in item.pages:
            try:
                uploaded, answer = submission.upload_comment(str(page))
            except (CanvasException, RequestException, ValueError) as error:
                uploaded, answer = False, scrub(error, token)
            if uploaded:
                item.outcome.append(f"feedback {Path(page).name}: attached")
            else:
                item.outcome.append(f"feedback {Path(page).name}: failed")
                report.problems.append((item.canvas_id, Path(page).name, str(answer)[:200]))
    return report


def follow_progress(progress, seconds):
    """Wait for a Canvas Progress to finish; its final (or last seen) state."""
    deadline = time.monotonic() + seconds
    state = getattr(progress, "workflow_state", "")
    while state not in FINISHED_STATES and time.monotonic() < deadline:
        time.sleep(1)
        progress = progress.query()
        state = getattr(progress, "workflow_state", "")
    return state or "unknown"
