"""Autograde every collected submission of an assignment with nbgrader.

Each student is graded by its own `NbGraderAPI.autograde` call, so one
broken notebook (not JSON, a kernel that dies, a cell that never ends) is
reported with its reason and never stops the batch. Every submitted student
ends up either graded or failed-with-reason; the record
`downloaded/<assignment>/autograde.json` keeps the verdicts, per-test
results and reasons for `course export` and `course feedback`.
"""

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from autograder.grading.collect import (AUTOGRADE_RECORD, collected_students,
                                        ensure_assignment_ready, stderr_to)
from autograder.grading.course import CourseSetupError

GRADED = "graded"
FAILED = "failed"
EXCEPTION_LINE = re.compile(
    r"^\s*(?:[\w.]+\.)?(?P<name>[A-Z]\w*(?:Error|Exception|Exit|Timeout)\w*)"
    r":\s*(?P<message>.+)$")


@dataclass
class StudentResult:
    """One student's autograde verdict.

    Args:
        student_id: The nbgrader student id (Canvas user id).
        status: "graded" or "failed".
        score: Points earned (0 when failed).
        max_score: Points possible.
        reason: Why grading failed ("" when graded).
        late: Canvas' late flag from the collection record.
        tests: Per-test rows `{"id", "score", "max_score", "passed", "message"}`.
        notes: Remarks (e.g. a notebook that was not submitted).
    """

    student_id: str
    status: str
    score: float = 0.0
    max_score: float = 0.0
    reason: str = ""
    late: bool = False
    tests: list = field(default_factory=list)
    notes: list = field(default_factory=list)


@dataclass
class AutogradeReport:
    """Outcome of autograding a whole assignment.

    Args:
        assignment: The assignment id.
        results: `StudentResult`s in student-id order.
        record_path: The JSON record written.
        log_path: nbgrader's and the kernels' messages.
    """

    assignment: str
    results: list
    record_path: Path = None
    log_path: Path = None

    @property
    def graded(self):
        return [result for result in self.results if result.status == GRADED]

    @property
    def failed(self):
        return [result for result in self.results if result.status == FAILED]


def failure_reason(log_text, error_text=""):
    """The most telling exception line of an nbgrader log, as one short sentence."""
    found = ""
    for line in (log_text + "\n" + error_text).splitlines():
        match = EXCEPTION_LINE.match(line)
        if match and match["name"] != "NbGraderException":
            found = f"{match['name']}: {match['message'].strip()}"
    if not found:
        lines = [line.strip() for line in (error_text or log_text).splitlines() if line.strip()]
        found = lines[-1] if lines else "nbgrader autograde failed"
    return found[:300]


def precheck(folder, released):
    """Reasons a submission cannot be graded, found before running nbgrader.

    Returns:
        `(reason, notes)`: reason is "" when every present notebook parses;
        notes lists released notebooks the student did not submit.
    """
    notes = []
    for name in released:
        path = folder / name
        if not path.is_file():
            notes.append(f"no {name} submitted (scored 0)")
            continue
        try:
            nbformat.read(str(path), as_version=4)
        except Exception as error:  # noqa: BLE001 - any parse failure is the reason
            summary = str(error).splitlines()[0].split(":")[0] if str(error) else ""
            return (f"{name} is not a readable notebook ({type(error).__name__}"
                    f"{': ' + summary[:80] if summary else ''})"), notes
    return "", notes


def gradebook_score(course, student_id):
    """`(score, max_score)` of a submission in the gradebook, or (None, None)."""
    with Gradebook(course.database_url) as gradebook:
        try:
            submission = gradebook.find_submission(course.assignment, student_id)
        except MissingEntry:
            return None, None
        return float(submission.score), float(submission.max_score)


def assignment_max_score(course):
    with Gradebook(course.database_url) as gradebook:
        return float(gradebook.find_assignment(course.assignment).max_score)


def test_rows(course, student_id):
    """Per-test results of every released notebook of one student."""
    from autograder.grading.results import read_notebook_results

    rows = []
    for name in course.released_notebooks():
        stem = Path(name).stem
        autograded = course.root / "autograded" / student_id / course.assignment / name
        rows.extend(read_notebook_results(course.database_url, course.assignment,
                                          student_id, stem, autograded))
    return rows


def grade_one(course, api, student_id, late=False):
    """Autograde one student's submission; never raises for a bad notebook."""
    folder = course.root / "submitted" / student_id / course.assignment
    reason, notes = precheck(folder, course.released_notebooks())
    outcome = api.autograde(course.assignment, student_id, force=True, create=True)
    _, max_score = gradebook_score(course, student_id)
    max_score = max_score if max_score is not None else assignment_max_score(course)
    if not outcome["success"]:
        reason = reason or failure_reason(outcome.get("log", ""), outcome.get("error", ""))
        return StudentResult(student_id, FAILED, 0.0, max_score, reason, late, notes=notes)
    score, max_score = gradebook_score(course, student_id)
    tests = test_rows(course, student_id)
    return StudentResult(student_id, GRADED, score or 0.0, max_score, "", late, tests, notes)


def autograde_assignment(course, on_start=None, on_done=None):
    """Autograde every submission in `submitted/*/<assignment>/`.

    Args:
        course: A `GradingCourse`.
        on_start: Optional callback `(student_id, index, total)` before each.
        on_done: Optional callback `(StudentResult)` after each.

    Returns:
        An `AutogradeReport` (graded + failed == submitted, always).

    Raises:
        CourseSetupError: nothing collected, or the assignment cannot be set up.

    Example:

    >>> report = autograde_assignment(open_course(".", "project1"))  # doctest: +SKIP
    >>> len(report.graded) + len(report.failed)  # doctest: +SKIP
    12
    """
    students = course.submitted_students()
    if not students:
        raise CourseSetupError(
            f"no submissions of {course.assignment!r} in {course.root / 'submitted'}. "
            f"Run `course collect {course.assignment} <canvas zip>` first.")
    ensure_assignment_ready(course)
    collected = collected_students(course)
    api = course.api()
    log_path = course.working_folder / "autograde.log"
    if log_path.exists():
        log_path.unlink()
    results = []
    for index, student_id in enumerate(students):
        if on_start:
            on_start(student_id, index, len(students))
        late = bool(collected.get(student_id, {}).get("late", False))
        with stderr_to(log_path) as log:
            log.write(f"\n=== {student_id} ===\n")
            log.flush()
            try:
                result = grade_one(course, api, student_id, late)
            except Exception as error:  # noqa: BLE001 - one student never stops the batch
                result = StudentResult(student_id, FAILED, 0.0, 0.0,
                                       f"{type(error).__name__}: {error}"[:300], late)
        results.append(result)
        if on_done:
            on_done(result)
    if len(results) != len(students):  # pragma: no cover - guarded by construction
        raise CourseSetupError("autograde lost track of a submission; see " + str(log_path))
    report = AutogradeReport(course.assignment, results, log_path=log_path)
    record = {"assignment": course.assignment,
              "students": {result.student_id: asdict(result) for result in results}}
    report.record_path = course.write_record(AUTOGRADE_RECORD, record)
    return report


def autograde_record(course):
    """The autograde record: student id -> dict of `StudentResult` fields."""
    return course.read_record(AUTOGRADE_RECORD).get("students", {})


def names_by_id(course):
    """Student id -> display name from the collection record (roster names)."""
    return {student_id: (entry.get("name") or entry.get("sortable_name") or "")
            for student_id, entry in collected_students(course).items()}


def format_points(value):
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def show_autograde_report(report, course, console):
    """Print the verdict per student and the reconciliation line."""
    from rich.table import Table

    names = names_by_id(course)
    table = Table(title=f"Autograded {report.assignment}")
    for column in ("Student", "Canvas id", "Late", "Score", "Result"):
        table.add_column(column)
    for result in report.results:
        verdict = ("[green]graded[/green]" if result.status == GRADED
                   else f"[red]failed[/red]: {result.reason}")
        if result.notes:
            verdict += " (" + "; ".join(result.notes) + ")"
        table.add_row(names.get(result.student_id, ""), result.student_id,
                      "[yellow]LATE[/yellow]" if result.late else "",
                      f"{format_points(result.score)} / {format_points(result.max_score)}",
                      verdict)
    console.print(table)
    console.print(f"submitted {len(report.results)} = graded {len(report.graded)} + "
                  f"failed {len(report.failed)}")
    console.print(f"record: {report.record_path}; nbgrader and kernel messages: {report.log_path}")
