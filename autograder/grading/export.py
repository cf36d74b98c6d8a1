"""Write the assignment's scores as a Canvas gradebook import CSV.

The CSV holds the roster's identity columns and ONE grade column whose header
is copied from the instructor's gradebook export (`Title (id)`), so Canvas
updates that assignment instead of creating a new one. It is written in the
roster's own dialect (comma or semicolon, decimal point or comma).

What lands in each cell:

* Scores are put on Canvas' scale. Canvas never changes an existing
  assignment's points possible on import, so 14 of nbgrader's 14 points
  written into a 100-point assignment would read 14/100. By default a score
  is scaled to the roster's `Points Possible` (`points="raw"` writes
  nbgrader's points, for an assignment set up with the same total).
* A submission that could not be graded (see `course autograde`) scores 0
  and is listed; a student with no submission gets a blank cell (Canvas
  leaves the grade alone) or 0 with `missing="zero"`.
* A grade Canvas already holds is kept, not overwritten: an excused `EX`
  and a score that differs from ours (a TA's hand regrade) get a blank cell
  and are reported; `replace_existing=True` writes our score over them.
* Group assignments: Canvas' zip holds one submission per group, under one
  member's id; with a group set every member gets that submission's score.
* Written answers are graded by hand in nbgrader's formgrader
  (`course formgrader`); their points count once a TA has graded them. A
  submission still waiting for that gets a blank cell by default (Canvas
  keeps its grade until the answers are graded; `awaiting="partial"` writes
  the points so far) and is listed with the points still to grade.
* The Test Student (Canvas' Student View) is left out unless asked for.
* Submissions of students who are not on the roster (dropped, concluded, or
  a section-filtered export) cannot be imported: they are listed in the
  report and in a side file next to the CSV, nothing is dropped silently.

Before returning, the file is read back with Canvas' import rules
(`canvas.preview_gradebook_import`) and compared with what was meant.

nbgrader's own `nbgrader export` (all assignments, nbgrader's columns) stays
available for other uses.
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

from autograder import canvas
from autograder.grading.course import CourseSetupError
from autograder.grading.records import autograde_record, collected_students, names_by_id
from autograder.grading.results import awaiting_manual_grade, find_graded_assignment

MISSING_POLICIES = ("blank", "zero")
AWAITING_POLICIES = ("blank", "partial")
POINTS_POLICIES = ("canvas", "raw")
NOT_ON_ROSTER_SUFFIX = "_not_on_roster.csv"


@dataclass
class ExportRow:
    """One roster student in the export.

    Args:
        name, canvas_id, section: From the roster.
        score: nbgrader's points (None: nothing to grade).
        canvas_score: What the CSV holds, on Canvas' scale (None: blank).
        status: What happened ("graded", "failed: ...", "no submission").
        late: Canvas' late flag from the zip.
        existing: The cell Canvas holds now ("" when blank).
        kept: True when Canvas' existing grade is kept instead of ours.
        awaiting: Points of written answers not yet graded by hand (0 when
            none are waiting).
    """

    name: str
    canvas_id: str
    section: str
    score: float = None
    status: str = "no submission"
    late: bool = False
    canvas_score: float = None
    existing: str = ""
    kept: bool = False
    awaiting: float = 0.0


@dataclass
class ExportReport:
    """What `export_grades` wrote.

    Args:
        assignment: The nbgrader assignment id.
        column: The Canvas `AssignmentColumn` written.
        points_possible: nbgrader's maximum score.
        canvas_points: The points possible the CSV's scores are out of
            (Canvas' own when scaled; nbgrader's maximum with raw points).
        scaled: Whether scores were scaled to Canvas' points possible.
        rows: `ExportRow`s in roster order.
        output: The CSV path.
        not_on_roster: (student id, name, score, status) of submissions whose
            student is not on the roster.
        not_on_roster_file: The side file listing them (None when none).
        warnings: Things the TA should look at.
        notes: Plain facts about the export (scaling, dialect, left-out rows).
    """

    assignment: str
    column: object
    points_possible: float
    rows: list
    output: Path
    canvas_points: float = None
    scaled: bool = False
    not_on_roster: list = field(default_factory=list)
    not_on_roster_file: Path = None
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def gradebook_scores(course):
    """`(scores, awaiting, max_score)` of the assignment's submissions.

    `scores` maps student id -> nbgrader's score (manual grades included);
    `awaiting` maps the id of each submission with cells still marked "needs
    manual grade" -> the points of those cells.
    """
    with course.gradebook() as gradebook:
        max_score = float(find_graded_assignment(gradebook, course.assignment).max_score)
        scores = {submission.student_id: float(submission.score)
                  for submission in gradebook.assignment_submissions(course.assignment)}
        awaiting = awaiting_manual_grade(gradebook, course.assignment)
    return scores, awaiting, max_score


def canvas_scale(target, max_score, points, report):
    """The factor from nbgrader's points to the CSV's (notes and warnings go on `report`)."""
    canvas_points = target.points
    shown = canvas.format_score
    if points == "raw":
        report.canvas_points = max_score
        if canvas_points is not None and abs(canvas_points - max_score) > 1e-9:
            report.warnings.append(
                f'raw points: Canvas has {target.points_possible} points possible for '
                f'"{target.header}" and keeps them on import, so full marks read '
                f"{shown(max_score)}/{target.points_possible} there. Leave out --raw-points "
                "to scale, or set the assignment's points to "
                f"{shown(max_score)} in Canvas first.")
        return 1.0
    if canvas_points is None or canvas_points <= 0:
        report.canvas_points = max_score
        report.warnings.append(
            f'the roster has no usable Points Possible for "{target.header}" '
            f"({target.points_possible or 'blank'}): scores are written as nbgrader's points "
            f"out of {shown(max_score)}. Export the gradebook again with that row.")
        return 1.0
    report.canvas_points = canvas_points
    if max_score <= 0:
        report.warnings.append(f"nbgrader's maximum for {report.assignment} is 0: every "
                               "score is written as 0.")
        return 0.0
    report.scaled = abs(canvas_points - max_score) > 1e-9
    if report.scaled:
        report.notes.append(
            f"scores scaled from nbgrader's {shown(max_score)} points to Canvas' "
            f'{target.points_possible} points possible for "{target.header}" (Canvas keeps its '
            "points possible on import); --raw-points writes nbgrader's points.")
    return canvas_points / max_score


def export_grades(course, roster_path, output, column=None, missing="blank", points="canvas",
                  replace_existing=False, groups_path=None, include_test_student=False,
                  awaiting="blank"):
    """Write a Canvas gradebook import CSV for one assignment.

    Args:
        course: The `Course` seen through the assignment.
        roster_path: The instructor's Canvas gradebook export (CSV).
        output: The CSV to write.
        column: Exact `Title (id)` header to use instead of matching the
            assignment id against the roster's column titles.
        missing: "blank" (Canvas leaves the grade alone) or "zero" for
            roster students without a submission.
        points: "canvas" scales scores to the roster's points possible;
            "raw" writes nbgrader's points.
        replace_existing: Overwrite grades Canvas already holds (EX or a
            different score) instead of keeping them.
        groups_path: A group set CSV (see `canvas.read_groups`): every member
            of a group gets the score of the group's submission.
        include_test_student: Export Canvas' Test Student too.
        awaiting: "blank" (Canvas keeps its grade) or "partial" (the points
            so far) for submissions whose written answers are not graded yet.

    Returns:
        An `ExportReport`.

    Raises:
        canvas.CanvasFormatError: the roster or group set is not in Canvas'
            format, or the column is missing/ambiguous.
        CourseSetupError: a collected submission has not been autograded,
            or the written file does not read back as intended.

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
    if points not in POINTS_POLICIES:
        raise ValueError(f"points must be one of {POINTS_POLICIES}, got {points!r}.")
    if awaiting not in AWAITING_POLICIES:
        raise ValueError(f"awaiting must be one of {AWAITING_POLICIES}, got {awaiting!r}.")
    roster = canvas.read_roster(roster_path)
    target = canvas.find_assignment_column(roster, course.assignment, column)
    groups = canvas.read_groups(groups_path, roster) if groups_path else []
    scores, ungraded, max_score = gradebook_scores(course)
    verdicts = autograde_record(course)
    collected = collected_students(course)
    submitted = set(course.submitted_students()) | set(scores)
    not_graded = sorted(student for student in submitted
                        if student not in scores and student not in verdicts)
    if not_graded:
        raise CourseSetupError(
            f"{len(not_graded)} collected submission(s) are not autograded yet: "
            f"{', '.join(not_graded)}. Run `course autograde {course.assignment}` first. "
            "Nothing was written.")
    report = ExportReport(course.assignment, target, max_score, [], Path(output))
    factor = canvas_scale(target, max_score, points, report)
    own = {student: own_result(student, scores, verdicts, submitted) for student in submitted}
    # Whose submission a roster row's score comes from (a group member's may
    # be another student's), for the written answers still to grade.
    source = {student: student for student in own}
    students = [student for student in roster.students
                if include_test_student or not student.is_test_student]
    left_out = [student for student in roster.students if student not in students]
    if left_out:
        report.notes.append("left out Canvas' Test Student (Student View); "
                            "--include-test-student exports it.")
    group_results = group_scores(groups, own, report, source)
    to_write = {}
    for student in students:
        row = ExportRow(student.name, student.canvas_id, student.section,
                        late=bool(collected.get(student.canvas_id, {}).get("late")),
                        existing=roster.cells.get(student.canvas_id, {}).get(target.header, ""))
        if student.canvas_id in own:
            row.score, row.status = own[student.canvas_id]
        elif student.canvas_id in group_results:
            row.score, row.status = group_results[student.canvas_id]
        else:
            if student.canvas_id in collected:
                row.status = "no notebook handed in (see `course collect`)"
            if missing == "zero":
                row.score = 0.0
                row.status += " (0)"
        if row.score is not None:
            row.canvas_score = round(row.score * factor, 2)
        mark_awaiting(row, ungraded.get(source.get(student.canvas_id), 0.0), awaiting)
        keep_existing(row, roster.dialect, replace_existing)
        report.rows.append(row)
        to_write[student.canvas_id] = row.canvas_score
    canvas.write_gradebook_import(output, roster, target, to_write, students=students)
    on_roster = roster.by_id()
    names = names_by_id(course)
    report.not_on_roster = [(student, names.get(student, ""), *own[student])
                            for student in sorted(submitted) if student not in on_roster]
    if report.not_on_roster:
        write_not_on_roster(report, factor, roster_path)
    add_warnings(report)
    verify_export(report, roster)
    return report


def own_result(student_id, scores, verdicts, submitted):
    """(score, status) of a student's own submission."""
    verdict = verdicts.get(student_id, {})
    if verdict.get("status") == "failed":
        return 0.0, f"failed: {verdict.get('reason', '')}"
    if student_id in scores:
        return scores[student_id], "graded"
    return 0.0, "failed: no score in the gradebook"


def mark_awaiting(row, points, policy):
    """Note written answers still to grade by hand (changes `row`); with the
    "blank" policy the row's Canvas cell is left blank until they are graded."""
    if not points or row.status.startswith("failed"):
        return
    row.awaiting = points
    row.status += (f"; awaiting manual grading: {canvas.format_score(points)} points of "
                   "written answers (`course formgrader`)")
    if policy == "blank":
        row.canvas_score = None
        row.status += ", left blank"


def group_scores(groups, own, report, source):
    """Member id -> (score, status) for members of a group whose submission was graded;
    `source` gets member id -> id of the submission their score comes from."""
    results = {}
    for group in groups:
        handed_in = [member for member in group.members if member in own]
        if not handed_in:
            continue
        if len(handed_in) > 1:
            report.warnings.append(
                f"group {group.name!r} has {len(handed_in)} submissions "
                f"({', '.join(handed_in)}): each keeps its own score; members without one "
                f"get the score of {handed_in[-1]}.")
        score, status = own[handed_in[-1]]
        for member in group.members:
            if member not in own:
                results[member] = (score, f"{status} (group {group.name}: submission of "
                                          f"{handed_in[-1]})")
                source[member] = handed_in[-1]
    return results


def keep_existing(row, dialect, replace_existing):
    """Keep a grade Canvas already holds unless told to replace it (changes `row`)."""
    existing = row.existing.strip()
    if row.canvas_score is None or existing in ("", "-", "N/A"):
        return
    if existing.upper() in (canvas.EXCUSED, "EXCUSED"):
        described = "excused (EX) in Canvas"
    else:
        number = canvas.parse_number(existing)
        if number is not None and abs(number - row.canvas_score) < 0.005:
            return
        described = f"Canvas has {existing}"
    if replace_existing:
        row.status += f"; replaced: {described}"
        return
    row.status += (f"; kept: {described}, ours {dialect.format_number(row.canvas_score)} "
                   "(--replace-existing writes ours)")
    row.kept = True
    row.canvas_score = None


def write_not_on_roster(report, factor, roster_path):
    """The side file listing submissions whose student is not on the roster."""
    path = report.output.with_name(report.output.stem + NOT_ON_ROSTER_SUFFIX)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student id", "Name", "nbgrader points", "Canvas score", "Status",
                         "Why"])
        for student, name, score, status in report.not_on_roster:
            why = ("anonymous submission: download the zip again after Canvas reveals names"
                   if student.startswith("anon_") else
                   f"not on the roster {roster_path} (dropped, concluded, another section, "
                   "or enrolled after the export)")
            writer.writerow([student, name, canvas.format_score(score),
                             canvas.format_score(round(score * factor, 2)), status, why])
    report.not_on_roster_file = path


def add_warnings(report):
    failed = [row for row in report.rows if row.status.startswith("failed")]
    if failed:
        report.warnings.append(
            f"{len(failed)} submission(s) could not be graded and score 0: "
            + ", ".join(f"{row.name} ({row.canvas_id})" for row in failed)
            + ". Review them before importing.")
    waiting = [row for row in report.rows if row.awaiting]
    if waiting:
        written = ("left blank" if any(row.canvas_score is None for row in waiting)
                   else "written with the points so far")
        report.warnings.append(
            f"{len(waiting)} submission(s) await manual grading of written answers "
            f"({written}): " + ", ".join(f"{row.name} ({canvas.format_score(row.awaiting)} "
                                         "points)" for row in waiting)
            + ". Grade them in `course formgrader`, then export again.")
    kept = [row for row in report.rows if row.kept]
    if kept:
        report.warnings.append(
            f"{len(kept)} grade(s) already in Canvas were kept (blank cells): "
            + ", ".join(f"{row.name} ({row.existing})" for row in kept)
            + ". Check them; --replace-existing writes our scores over them.")
    if report.not_on_roster:
        report.warnings.append(
            f"{len(report.not_on_roster)} submission(s) belong to students not on the "
            f"roster and are not in the import: "
            + ", ".join(student for student, *_ in report.not_on_roster)
            + f". They are listed in {report.not_on_roster_file}; export the gradebook "
            "again (or grade them by hand) if they should be in Canvas.")


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
        expected = canvas.format_score(row.canvas_score) or None
        if written != expected:
            problems.append(f"{row.name}: wrote {written!r}, meant {expected!r}")
    if problems:
        raise CourseSetupError(f"{report.output} does not read back correctly: "
                               + "; ".join(problems))
