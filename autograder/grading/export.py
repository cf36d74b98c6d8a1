"""Write the assignment's scores as a Canvas gradebook import CSV.

The CSV holds the roster's identity columns and ONE grade column whose header
is copied from the instructor's gradebook export (`Title (id)`), so Canvas
updates that assignment instead of creating a new one. Scores come from
nbgrader's gradebook; a submission that could not be graded (see
`course autograde`) scores 0 and is listed; a student with no submission
gets a blank cell (Canvas leaves the grade alone) or 0 with `missing="zero"`.
Before returning, the file is read back with Canvas' import rules
(`canvas.preview_gradebook_import`) and compared with what was meant.

nbgrader's own `nbgrader export` (all assignments, nbgrader's columns) stays
available for other uses.
"""

from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import MissingEntry

from autograder import canvas
from autograder.grading.course import CourseSetupError
from autograder.grading.records import autograde_record, collected_students

MISSING_POLICIES = ("blank", "zero")


@dataclass
class ExportRow:
    """One roster student in the export."""

    name: str
    canvas_id: str
    section: str
    score: float = None
    status: str = "no submission"
    late: bool = False


@dataclass
class ExportReport:
    """What `export_grades` wrote.

    Args:
        assignment: The nbgrader assignment id.
        column: The Canvas `AssignmentColumn` written.
        points_possible: nbgrader's maximum score (the Points Possible row).
        rows: `ExportRow`s in roster order.
        output: The CSV path.
        warnings: Things the TA should look at.
    """

    assignment: str
    column: object
    points_possible: float
    rows: list
    output: Path
    warnings: list = field(default_factory=list)


def gradebook_scores(course):
    """Student id -> score for every submission of the assignment, and the max score."""
    with course.gradebook() as gradebook:
        try:
            assignment = gradebook.find_assignment(course.assignment)
        except MissingEntry:
            raise CourseSetupError(
                f"the gradebook has no {course.assignment!r}. Run `course collect` and "
                f"`course autograde {course.assignment}` first.") from None
        max_score = float(assignment.max_score)
        scores = {submission.student_id: float(submission.score)
                  for submission in gradebook.assignment_submissions(course.assignment)}
    return scores, max_score


def export_grades(course, roster_path, output, column=None, missing="blank"):
    """Write a Canvas gradebook import CSV for one assignment.

    Args:
        course: The `Course` seen through the assignment.
        roster_path: The instructor's Canvas gradebook export (CSV).
        output: The CSV to write.
        column: Exact `Title (id)` header to use instead of matching the
            assignment id against the roster's column titles.
        missing: "blank" (Canvas leaves the grade alone) or "zero" for
            roster students without a submission.

    Returns:
        An `ExportReport`.

    Raises:
        canvas.CanvasFormatError: the roster is not a Canvas export, or the
            column is missing/ambiguous.
        CourseSetupError: a submission's student is not on the roster, a
            collected submission has not been autograded, or the written file
            does not read back as intended.

    Example:

    The roster must be the instructor's Canvas export:

    >>> from autograder.grading.course import open_course
    >>> export_grades(open_course("tests/files/toy_course", "toy"), "no_export.csv",
    ...               "canvas_import.csv")
    Traceback (most recent call last):
    ...
    autograder.canvas.CanvasFormatError: no_export.csv does not exist. Pass the CSV from Canvas' Grades > Export > Export Entire Gradebook (the roster).
    """
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}.")
    roster = canvas.read_roster(roster_path)
    target = canvas.find_assignment_column(roster, course.assignment, column)
    scores, max_score = gradebook_scores(course)
    verdicts = autograde_record(course)
    collected = collected_students(course)
    submitted = set(course.submitted_students()) | set(scores)
    on_roster = roster.by_id()
    strangers = sorted(student for student in submitted if student not in on_roster)
    if strangers:
        anonymous = [student for student in strangers if student.startswith("anon_")]
        hint = (" Anonymous submissions (anon_...) cannot be matched: download the zip "
                "again after Canvas reveals student names." if anonymous else
                " Export the gradebook from Canvas again (it may predate a late enrolment).")
        raise CourseSetupError(
            f"{len(strangers)} submission(s) belong to students not on the roster "
            f"{roster_path}: {', '.join(strangers)}.{hint} Nothing was written.")
    not_graded = sorted(student for student in submitted
                        if student not in scores and student not in verdicts)
    if not_graded:
        raise CourseSetupError(
            f"{len(not_graded)} collected submission(s) are not autograded yet: "
            f"{', '.join(not_graded)}. Run `course autograde {course.assignment}` first. "
            "Nothing was written.")
    rows, to_write = [], {}
    for student in roster.students:
        row = ExportRow(student.name, student.canvas_id, student.section,
                        late=bool(collected.get(student.canvas_id, {}).get("late")))
        verdict = verdicts.get(student.canvas_id, {})
        if verdict.get("status") == "failed":
            row.score, row.status = 0.0, f"failed: {verdict.get('reason', '')}"
        elif student.canvas_id in scores:
            row.score, row.status = scores[student.canvas_id], "graded"
        elif student.canvas_id in submitted:
            row.score, row.status = 0.0, "failed: no score in the gradebook"
        else:
            if student.canvas_id in collected:
                row.status = "no notebook handed in (see `course collect`)"
            if missing == "zero":
                row.score = 0.0
                row.status += " (0)"
        rows.append(row)
        to_write[student.canvas_id] = row.score
    output = canvas.write_gradebook_import(output, roster, target, max_score, to_write)
    report = ExportReport(course.assignment, target, max_score, rows, Path(output))
    if target.points_possible:
        try:
            canvas_points = float(target.points_possible)
        except ValueError:
            canvas_points = None
        if canvas_points is not None and abs(canvas_points - max_score) > 1e-9:
            report.warnings.append(
                f'Canvas has {target.points_possible} points possible for "{target.header}" '
                f"but nbgrader's maximum is {canvas.format_score(max_score)}; the import will set "
                "points possible to nbgrader's maximum.")
    failed = [row for row in rows if row.status.startswith("failed")]
    if failed:
        report.warnings.append(
            f"{len(failed)} submission(s) could not be graded and score 0: "
            + ", ".join(f"{row.name} ({row.canvas_id})" for row in failed)
            + ". Review them before importing.")
    verify_export(report, roster)
    return report


def verify_export(report, roster):
    """Read the written CSV with Canvas' rules and check it says what we meant."""
    preview = canvas.preview_gradebook_import(report.output, roster)
    problems = []
    if preview.new_assignments:
        problems.append(f"it would create new assignments {preview.new_assignments}")
    if [column.header for column in preview.columns] != [report.column.header]:
        problems.append("its grade column is not the roster's column")
    if preview.unmatched:
        problems.append(f"students {preview.unmatched} match nobody")
    for row in report.rows:
        written = preview.grades.get(row.canvas_id, {}).get(report.column.header)
        expected = canvas.format_score(row.score) or None
        if written != expected:
            problems.append(f"{row.name}: wrote {written!r}, meant {expected!r}")
    if problems:
        raise CourseSetupError(f"{report.output} does not read back correctly: "
                               + "; ".join(problems))
