"""What the `course` commands show on the terminal, apart from the work.

Each step of the workflow (`collect`, `autograde`, `feedback`, `export`,
`grade`, `demo`) returns its report as data; the functions here turn a report
into rich tables and lines on a console, and do nothing else.
"""

from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.canvas import format_score
from autograder.grading.autograde import GRADED


def print_grade_report(report, console=None):
    """Print one notebook's per-test table and total.

    Args:
        report: The dict returned by `autograder.grading.grade.grade_notebook`.
        console: A `rich.console.Console` (a new one on stdout by default).
    """
    console = console or Console(highlight=False)
    title = f"{report['assignment']} / {report['notebook']}"
    table = Table(title=title, show_lines=False)
    table.add_column("test")
    table.add_column("points", justify="right")
    table.add_column("result")
    table.add_column("message", overflow="fold")
    for row in report["tests"]:
        if not row.get("checked", True):
            table.add_row(row["id"], f"- / {row['max_score']:g}", "[yellow]not checked[/]",
                          row["message"])
            continue
        table.add_row(row["id"], f"{row['score']:g} / {row['max_score']:g}",
                      "[green]pass[/]" if row["passed"] else "[red]fail[/]",
                      row["message"])
    console.print(table)
    console.print(f"[bold]Score: {report['score']:g} / {report['max_score']:g}[/]")
    if report.get("unchecked_points"):
        console.print(f"{report['unchecked_points']:g} more points are in tests your copy "
                      "cannot check (hidden tests); they count only when the TAs grade.")
    if report.get("written_points"):
        console.print(f"{report['written_points']:g} more points are written answers; your TA "
                      "grades them by hand after the deadline.")
    if not report["hidden_tests_included"]:
        console.print("Visible tests only: the hidden tests are not part of this "
                      "copy of the course, so the final grade may be lower.")
    if report.get("error"):
        console.print(f"[red]Grading stopped early:[/] {report['error']}")


def show_collect_report(report, console):
    """Print who was collected and what was skipped, as rich tables."""
    table = Table(title=f"Collected {report.assignment}: {len(report.collected)} of "
                        f"{len(report.students)} students")
    for column in ("Student", "Canvas id", "Section", "Late", "Files", "Notes"):
        table.add_column(column)
    for student in report.students.values():
        files = ", ".join(sorted(set(student.saved.values()))) or "[red]nothing to grade[/red]"
        notes = list(student.notes)
        table.add_row(student.name or student.sortable_name or "(anonymous)",
                      student.student_id, student.section,
                      "[yellow]LATE[/yellow]" if student.late else "",
                      files, "; ".join(notes))
    console.print(table)
    skipped = [(entry_name, reason) for student in report.students.values()
               for entry_name, reason in student.skipped.items()] + list(report.unreadable)
    if skipped:
        table = Table(title="Skipped files")
        table.add_column("Zip entry")
        table.add_column("Why")
        for entry_name, reason in skipped:
            table.add_row(entry_name, reason)
        console.print(table)
    if report.students and not report.released_found:
        console.print(f"[red]No student handed in {', '.join(report.released)}[/red].")
    off_roster = [student.student_id for student in report.students.values()
                  if not student.on_roster]
    if off_roster:
        console.print(f"[yellow]Not on the roster:[/yellow] {', '.join(off_roster)} "
                      "(`course export` leaves them out of the import and lists them).")
    groups = sorted({student.group_name for student in report.students.values()
                     if student.group_name})
    if groups:
        console.print(f"[yellow]Named after groups, not students:[/yellow] {', '.join(groups)}: "
                      "for a group assignment pass the group set to `course export --groups` "
                      "so every member gets the group's score.")
    console.print(f"Notebooks are in submitted/<canvas id>/{report.assignment}/; "
                  f"collection record: {report.record_path}")


def show_autograde_report(report, names, console):
    """Print the verdict per student and the reconciliation line.

    Args:
        report: The `AutogradeReport`.
        names: Student id -> display name (`records.names_by_id`).
        console: The `rich.console.Console` to print on.
    """
    table = Table(title=f"Autograded {report.assignment}")
    for column in ("Student", "Canvas id", "Late", "Score", "Result"):
        table.add_column(column)
    for result in report.results:
        verdict = ("[green]graded[/green]" if result.status == GRADED
                   else f"[red]failed[/red]: {result.reason}")
        if result.notes:
            verdict += " (" + "; ".join(result.notes) + ")"
        if result.awaiting:
            verdict += f"; {format_score(result.awaiting)} points of written answers to grade"
        table.add_row(names.get(result.student_id, ""), result.student_id,
                      "[yellow]LATE[/yellow]" if result.late else "",
                      f"{format_score(result.score)} / {format_score(result.max_score)}",
                      verdict)
    console.print(table)
    console.print(f"submitted {len(report.results)} = graded {len(report.graded)} + "
                  f"failed {len(report.failed)}")
    waiting = [result for result in report.results if result.awaiting]
    if waiting:
        console.print(f"{len(waiting)} submission(s) have written answers to grade by hand: "
                      "run `course formgrader` and use Manual Grading; `course export` adds "
                      "their points once graded.")
    console.print(f"record: {report.record_path}; nbgrader and kernel messages: {report.log_path}")


def show_feedback_report(report, names, root, console):
    """Print where each student's page is, and who has none.

    Args:
        report: The `FeedbackReport`.
        names: Student id -> display name (`records.names_by_id`).
        root: The course directory (pages are shown relative to it).
        console: The `rich.console.Console` to print on.
    """
    table = Table(title=f"Feedback for {report.assignment}")
    for column in ("Student", "Canvas id", "Feedback"):
        table.add_column(column)
    for student_id, pages in sorted(report.pages.items()):
        table.add_row(names.get(student_id, ""), student_id,
                      ", ".join(str(Path(page).relative_to(root)) for page in pages))
    for student_id, reason in sorted(report.missing.items()):
        table.add_row(names.get(student_id, ""), student_id, f"[red]none[/red]: {reason}")
    console.print(table)
    console.print(f"{len(report.pages)} pages under {root / 'feedback'}; hidden-test "
                  "source replaced by a note, check messages kept.")
    if report.awaiting:
        console.print(
            f"[yellow]written answers not graded yet[/yellow] (their pages show them without "
            f"points): " + ", ".join(f"{names.get(student_id, '') or student_id} "
                                     f"({format_score(points)} points)"
                                     for student_id, points in sorted(report.awaiting.items()))
            + ". Grade them in `course formgrader` and run `course feedback` again.")
    for student_id, reason in sorted(report.not_in_zip.items()):
        console.print(f"[yellow]not in the Canvas zip:[/yellow] {student_id}: {reason}")
    if report.upload_zip:
        console.print(f"For Canvas: {report.upload_zip}. Upload it with Re-Upload Submissions "
                      "on the assignment's page; Canvas attaches each page as a comment to that "
                      "student's submission (to every member of a group). Or send the pages "
                      "with `course push`.")


def show_export_report(report, console):
    """Print the score per roster student, what goes to Canvas, and where the CSV is."""
    shown = format_score
    table = Table(title=f'{report.assignment} -> "{report.column.header}"')
    for column in ("Student", "ID", "Section", "Points", "Canvas", "Late", "Status"):
        table.add_column(column)
    for row in report.rows:
        score = "" if row.score is None else (
            f"{shown(row.score)} / {shown(report.points_possible)}")
        written = ("" if row.canvas_score is None else
                   f"{shown(row.canvas_score)} / {shown(report.canvas_points)}")
        if row.kept:
            written = f"[yellow]kept {row.existing}[/yellow]"
        status = row.status if not row.status.startswith("failed") else f"[red]{row.status}[/red]"
        table.add_row(row.name, row.canvas_id, row.section, score, written,
                      "[yellow]LATE[/yellow]" if row.late else "", status)
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(f"Wrote {report.output}: import it in Canvas (Grades > Import). "
                  "Blank cells leave Canvas' grade unchanged; Canvas applies its own late policy.")


def show_push_report(report, console):
    """Print what `course push` sends (or sent) per student."""
    verb = "Sent to" if report.sent else "Would send to"
    table = Table(title=f'{verb} Canvas: {report.assignment} -> "{report.column.header}"')
    for column in ("Student", "ID", "Grade", "Feedback", "Outcome"):
        table.add_column(column)
    for item in report.items:
        table.add_row(item.name, item.canvas_id, item.grade or "",
                      ", ".join(Path(page).name for page in item.pages),
                      "; ".join(item.outcome))
    console.print(table)
    grades, pages = len(report.grades), sum(len(item.pages) for item in report.items)
    if not report.sent:
        console.print(f"Dry run: nothing sent ({grades} grade(s), {pages} feedback page(s) "
                      "planned). Add --send to send them.")
        return
    console.print(f"Canvas applied the grades: {report.progress or 'no grades sent'}.")
    for student_id, what, why in report.problems:
        console.print(f"[red]failed:[/red] {student_id or 'all'} {what}: {why}")


def show_class(classmates, console):
    """List the fabricated students and what each one uploads."""
    table = Table(title="The fabricated class")
    for column in ("Student", "Canvas id", "Uploads", "Story"):
        table.add_column(column)
    for classmate in classmates:
        uploads = ", ".join(name for name, _ in classmate.uploads) or "(nothing)"
        late = " [yellow](LATE)[/yellow]" if classmate.late else ""
        table.add_row(classmate.name, classmate.canvas_id, uploads, classmate.story + late)
    console.print(table)


def show_demo_summary(run, console):
    """The closing table: each fabricated student, their story and their result."""
    results = {result.student_id: result for result in run.autograde.results}
    table = Table(title=f"Demo class for {run.assignment}", show_lines=True)
    table.add_column("Student")
    table.add_column("What they handed in")
    table.add_column("Score", justify="right")
    table.add_column("Tests (hidden ones included)")
    for classmate in run.classmates:
        result = results.get(classmate.canvas_id)
        story = classmate.story + (" [yellow](LATE)[/yellow]" if classmate.late else "")
        if result is None:
            table.add_row(classmate.name, story, "blank", "no submission: cell left blank")
            continue
        score = f"{format_score(result.score)} / {format_score(result.max_score)}"
        if result.awaiting:
            score += f"\n{format_score(result.awaiting)} to grade by hand"
        if result.status == "failed":
            tests = f"[red]not graded[/red]: {result.reason}"
        else:
            tests = "\n".join(
                f"{'[green]pass[/green]' if row['passed'] else '[red]fail[/red]'} {row['id']}"
                for row in result.tests)
        table.add_row(classmate.name, story, score, tests)
    console.print(table)
    console.print(f"Course directory:    {run.root}")
    console.print(f"Canvas zip (in):     {run.zip_path}")
    console.print(f"Canvas roster (in):  {run.roster_path}")
    console.print(f"Canvas import (out): {run.import_path}")
    console.print(f"Feedback pages:      {run.root / 'feedback'}/<canvas id>/"
                  f"{run.assignment}/*.html ({len(run.feedback.pages)} written)")
    console.print("Scores stay in nbgrader's gradebook "
                  f"({run.root / 'gradebook.db'}), where `nbgrader export` works too.")


def show_class_report(report, console):
    """Print the hardest tests and where the class report's page is."""
    table = Table(title=f"{report.assignment}: {len(report.scores)} graded submissions")
    for column in ("Test", "Passed", "Most common failure"):
        table.add_column(column)
    for test in report.hardest:
        common = ""
        if test.failures:
            _, count, example = test.failures[0]
            common = f"{count}x {example[:120]}"
        table.add_row(test.test_id, f"{test.passed} / {test.graded}", common)
    console.print(table)
    console.print(f"Wrote {report.page} (open it in a browser) with "
                  f"{', '.join(path.name for path in report.figures)} beside it.")
