"""The `course` command: one small function per subcommand.

Each subcommand only parses its arguments, calls one step of
`autograder.grading` (the work) and hands the step's report to
`autograder.grading.views` (the display). The `COURSE_*` settings are read
and checked once, as the command starts (`autograder.grading.settings`).
"""

import contextlib
import json
import os
from pathlib import Path

import click


class CourseError(click.ClickException):
    """A usage or setup problem, reported as one clear line and exit code 2."""

    exit_code = 2


@contextlib.contextmanager
def quiet_grading_output():
    """Keep nbgrader's and the kernels' log chatter off the terminal.

    Grading starts Jupyter kernels that inherit this process's stderr, and
    TensorFlow prints start-up lines there from C++; they say nothing a user
    needs, so stderr is sent to /dev/null while grading runs. Errors that
    matter come back through the results instead. `COURSE_VERBOSE=on`
    leaves stderr alone.
    """
    from autograder.grading.logs import stderr_to
    from autograder.grading.settings import current_settings

    if current_settings().verbose:
        yield
        return
    with stderr_to(Path(os.devnull)):
        yield


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dl-course")
@click.pass_context
def main(context):
    """Run the deep-learning course: release, grade, collect and export."""
    from autograder.grading.settings import Settings, SettingsError, settings_in_use

    try:
        settings = Settings.from_environment()
    except SettingsError as error:
        raise CourseError(str(error)) from None
    context.with_resource(settings_in_use(settings))


@main.command()
@click.argument("assignment", required=False)
@click.option("--check", is_flag=True,
              help="Only verify that assignments/ matches solutions/ (no execution).")
@click.option("--zip-dir", type=click.Path(file_okay=False),
              help="Where to write the Canvas zip (default: release_zips/).")
@click.option("--no-verify", is_flag=True,
              help="Skip executing the notebooks (full marks / clean zeros).")
def release(assignment, check, zip_dir, no_verify):
    """Generate student stubs for ASSIGNMENT and a zip for Canvas.

    Runs nbgrader generate_assignment on solutions/ASSIGNMENT, verifies that
    the solutions score full marks, that the stubs fail every test cleanly and
    that nothing secret leaks, then writes assignments/ASSIGNMENT and the zip.
    With --check, compares assignments/ with a fresh generation instead.
    """
    from autograder.grading.course import CourseSetupError
    from autograder.grading.release import ReleaseError, check_releases, release_assignment

    try:
        with quiet_grading_output():
            if check:
                drift = check_releases(assignments=[assignment] if assignment else None)
            else:
                if not assignment:
                    raise CourseError("name the assignment to release, e.g. "
                                      "`course release project1` (or use --check).")
                report = release_assignment(assignment, zip_directory=zip_dir,
                                            verify=not no_verify)
    except (CourseSetupError, ReleaseError) as error:
        raise CourseError(str(error)) from None
    if check:
        stale = {name: problems for name, problems in drift.items() if problems}
        for name, problems in drift.items():
            click.echo(f"{name}: {'up to date' if not problems else 'OUT OF DATE'}")
            for problem in problems:
                click.echo(f"  {problem}")
        if stale:
            raise CourseError("assignments/ does not match solutions/. Regenerate with "
                              "`course release <assignment>`; never edit assignments/ by hand.")
        if not drift:
            click.echo("no assignments with sources in solutions/ yet")
        return
    click.echo(f"released {report.assignment}: {', '.join(report.notebooks)}")
    for name, rows in report.solution_scores.items():
        total = sum(row["max_score"] for row in rows)
        click.echo(f"  {name}: solution {total:g}/{total:g}, stub 0/{total:g} "
                   f"({len(rows)} tests)")
    click.echo(f"  stubs: assignments/{report.assignment}/")
    click.echo(f"  Canvas zip: {report.zip_path}")


@main.command()
@click.argument("notebook")
@click.option("--assignment", help="Assignment id (inferred when omitted).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON results.")
def grade(notebook, assignment, as_json):
    """Grade one NOTEBOOK the way the TA's autograder does.

    Runs nbgrader's autograde on a copy of the notebook in a temporary course
    directory (hidden tests included where the instructor sources exist) and
    prints a per-test table, or JSON with --json. Exits 0 whenever grading ran.
    """
    from autograder.grading.course import CourseSetupError
    from autograder.grading.grade import grade_notebook
    from autograder.grading.views import print_grade_report

    try:
        with quiet_grading_output():
            report = grade_notebook(notebook, assignment=assignment)
    except CourseSetupError as error:
        raise CourseError(str(error)) from None
    if as_json:
        keys = ("assignment", "score", "max_score", "unchecked_points", "written_points",
                "tests")
        payload = {key: report[key] for key in keys}
        payload["hidden_tests_included"] = report["hidden_tests_included"]
        if report["error"]:
            payload["error"] = report["error"]
        click.echo(json.dumps(payload, indent=2))
    else:
        print_grade_report(report)


def course_dir_option(function):
    """The `--course-dir` and `--database-url` options shared by the TA commands.

    Unset, they take the settings' `COURSE_DIR` (else the current folder)
    and `COURSE_DATABASE_URL` (else gradebook.db in the course directory).
    """
    function = click.option(
        "--database-url", default=None, metavar="URL",
        help="SQLAlchemy URL of the gradebook, e.g. postgresql://user:pass@host/course "
             "(default: $COURSE_DATABASE_URL, else gradebook.db in the course "
             "directory).")(function)
    return click.option(
        "--course-dir", default=None, type=click.Path(file_okay=False),
        help="Course directory (holds assignments/, solutions/, submitted/; default: "
             "$COURSE_DIR, else the current folder).")(function)


def open_ta_course(course_dir, assignment, database_url):
    """The course a TA command works on, its options filled from the settings."""
    from autograder.grading.course import open_course
    from autograder.grading.settings import current_settings

    settings = current_settings()
    return open_course(course_dir or settings.course_dir or ".", assignment,
                       database_url or settings.database_url)


@contextlib.contextmanager
def workflow_errors():
    """Turn the workflow's setup and Canvas-format errors into exit code 2."""
    from autograder.canvas import CanvasFormatError
    from autograder.grading.course import CourseSetupError

    try:
        yield
    except (CourseSetupError, CanvasFormatError) as error:
        raise CourseError(str(error)) from None


def rich_console():
    from rich.console import Console

    return Console(highlight=False)


@main.command()
@click.argument("assignment")
@click.argument("submissions_zip", type=click.Path(dir_okay=False))
@click.option("--roster", type=click.Path(dir_okay=False),
              help="Canvas gradebook export (CSV), for names and sections.")
@click.option("--include-test-student", is_flag=True,
              help="Collect Canvas' Test Student (Student View) too.")
@course_dir_option
def collect(assignment, submissions_zip, roster, include_test_student, course_dir,
            database_url):
    """Unpack a Canvas submissions zip into nbgrader's submitted/ folder.

    SUBMISSIONS_ZIP is the zip from Canvas' "Download Submissions". Each
    student's notebooks land in submitted/<canvas user id>/ASSIGNMENT/ through
    nbgrader's zip_collect; renamed copies and resubmissions (hw-1.ipynb) are
    saved under the released name (so are Project1.IPYNB, Safari's .ipynb.txt
    and notebooks inside an uploaded zip), other files are listed and
    skipped, and Canvas' LATE marks are kept in downloaded/ASSIGNMENT/collect.json.
    A later zip (late uploads) adds or replaces only the students it holds.
    A zip of another assignment is refused before anything is written.
    """
    from autograder.grading.collect import collect_submissions
    from autograder.grading.views import show_collect_report

    with workflow_errors():
        course = open_ta_course(course_dir, assignment, database_url)
        report = collect_submissions(course, submissions_zip, roster,
                                     include_test_student=include_test_student)
    show_collect_report(report, rich_console())


@main.command()
@click.argument("assignment")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once, each in its own kernel and scratch "
                   "folder (default: the number of CPU cores, or the Dask cluster's "
                   "threads; 1 grades one at a time).")
@click.option("--engine", type=click.Choice(["processes", "dask"]), default=None,
              help="Where the kernels run: worker processes on this machine "
                   "(default), or a Dask cluster (a local one unless --scheduler).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler address (tcp://host:8786) or scheduler file; "
                   "implies --engine dask (default: $COURSE_DASK_SCHEDULER).")
@click.option("--student", "students", multiple=True, metavar="ID",
              help="Regrade only this student (Canvas user id; repeat for several), "
                   "e.g. after a late upload or a fixed check; the others are untouched.")
@course_dir_option
def autograde(assignment, workers, engine, scheduler, students, course_dir, database_url):
    """Autograde every collected submission of ASSIGNMENT.

    Runs nbgrader autograde once per student, so a broken notebook is reported
    with its reason and the batch goes on. With several workers, or on a Dask
    cluster, the notebooks run side by side in scratch course folders and this
    process alone writes the grades into the gradebook. Ends with: submitted =
    graded + failed. With --student, only those students are graded again.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from autograder.grading.autograde import autograde_assignment
    from autograder.grading.records import names_by_id
    from autograder.grading.settings import current_settings
    from autograder.grading.views import show_autograde_report

    scheduler = scheduler or current_settings().dask_scheduler
    if scheduler and engine == "processes":
        raise CourseError("--scheduler needs --engine dask (or leave out --engine).")
    engine = engine or ("dask" if scheduler else "processes")
    console = rich_console()
    with workflow_errors():
        course = open_ta_course(course_dir, assignment, database_url)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task(f"autograding {assignment}", total=None)

            def on_start(student_id, index, total):
                progress.update(task, total=total,
                                description=f"autograding {assignment}: {student_id}")

            report = autograde_assignment(course, on_start=on_start,
                                          on_done=lambda result: progress.advance(task),
                                          workers=workers, engine=engine,
                                          scheduler=scheduler, only=students or None)
    show_autograde_report(report, names_by_id(course), console)


@main.command()
@click.argument("assignment")
@course_dir_option
def feedback(assignment, course_dir, database_url):
    """Write one HTML feedback file per student.

    nbgrader generate_feedback, with hidden-test source replaced by a note:
    students see their plots, each test's score and its failure message,
    never the hidden tests. Pages go to feedback/<canvas id>/ASSIGNMENT/.
    """
    from autograder.grading.feedback import generate_feedback
    from autograder.grading.records import names_by_id
    from autograder.grading.views import show_feedback_report

    with workflow_errors():
        course = open_ta_course(course_dir, assignment, database_url)
        report = generate_feedback(course)
    show_feedback_report(report, names_by_id(course), course.root, rich_console())


@main.command()
@click.option("--port", type=click.IntRange(min=1, max=65535), default=8890, show_default=True,
              help="TCP port of the Jupyter server.")
@click.option("--ip", default="127.0.0.1", show_default=True,
              help="Address to listen on (the default serves this machine only).")
@course_dir_option
def formgrader(port, ip, course_dir, database_url):
    """Serve nbgrader's formgrader to grade written answers by hand.

    Starts a Jupyter server on the course directory with nbgrader's
    formgrader and the course's gradebook. Open the printed address, choose
    Manual Grading, and give each written answer its points and a comment.
    `course export` then adds the points and `course feedback` shows the
    comments. Stop the server with Ctrl-C.
    """
    from autograder.grading.course import Course, check_database_url
    from autograder.grading.formgrader import formgrader_server
    from autograder.grading.settings import current_settings

    settings = current_settings()
    root = Path(course_dir or settings.course_dir or ".").resolve()
    database_url = database_url or settings.database_url
    with workflow_errors():
        if not root.is_dir():
            raise CourseError(f"course directory {root} does not exist. Pass --course-dir.")
        if database_url:
            check_database_url(database_url)
        server = formgrader_server(Course(root, gradebook_url=database_url or None), port, ip)
    click.echo(f"formgrader: {server.url} (the token is in the server's log line below, or "
               "$JUPYTER_TOKEN); Ctrl-C stops it.")
    server.start()


@main.command()
@click.argument("assignment")
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="Folder for the page and figures (default: reports/ASSIGNMENT/).")
@course_dir_option
def report(assignment, output, course_dir, database_url):
    """Write the class report of ASSIGNMENT: one HTML page and PNG figures.

    The class's score histogram, the pass rate of every test and, per test,
    the failure messages grouped by what they say, most common first: which
    topic to teach again. Reads the gradebook and the autograded notebooks;
    needs no display.
    """
    from autograder.grading.report import write_class_report
    from autograder.grading.views import show_class_report

    with workflow_errors():
        course = open_ta_course(course_dir, assignment, database_url)
        written = write_class_report(course, output)
    show_class_report(written, rich_console())


@main.command()
@click.argument("assignment")
@click.option("--roster", required=True, type=click.Path(dir_okay=False),
              help="Canvas gradebook export (CSV) from Grades > Export.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="CSV file to write (import it in Canvas: Grades > Import).")
@click.option("--column", help='Exact roster column "Title (id)" to fill (default: the '
                               "one whose title contains ASSIGNMENT).")
@click.option("--missing", type=click.Choice(["blank", "zero"]), default="blank",
              show_default=True,
              help="Cell for students without a submission: blank (Canvas keeps its "
                   "grade) or 0.")
@click.option("--raw-points", is_flag=True,
              help="Write nbgrader's points instead of scaling them to the column's "
                   "Points Possible in Canvas (Canvas keeps its points possible on import).")
@click.option("--replace-existing", is_flag=True,
              help="Overwrite grades Canvas already holds (EX, a TA's regrade) with ours; "
                   "by default they are kept and listed.")
@click.option("--groups", type=click.Path(dir_okay=False),
              help="Group set CSV (Canvas' group export, or group_name + canvas_user_id): "
                   "every member gets the score of the group's submission.")
@click.option("--include-test-student", is_flag=True,
              help="Export Canvas' Test Student (Student View) too.")
@click.option("--awaiting", type=click.Choice(["blank", "partial"]), default="blank",
              show_default=True,
              help="Cell for submissions whose written answers no TA has graded yet "
                   "(`course formgrader`): blank (Canvas keeps its grade) or the points so far.")
@course_dir_option
def export(assignment, roster, output, column, missing, raw_points, replace_existing, groups,
           include_test_student, awaiting, course_dir, database_url):
    """Write a Canvas gradebook import CSV for ASSIGNMENT.

    The CSV has the roster's identity columns and one grade column reusing the
    roster's exact "Title (id)" header, so Canvas updates that assignment; it
    is written in the roster's own dialect (comma or semicolon, decimal point
    or comma). Scores are scaled to the column's Points Possible in Canvas.
    Submissions that failed to grade score 0 and are listed; grades already in
    Canvas that differ are kept and listed; submissions of students not on the
    roster go to a side file. Written answers count once a TA has graded them
    in `course formgrader`; until then the cell is blank and the student listed. For nbgrader's own CSV of every assignment,
    `nbgrader export` still works in the course directory.
    """
    from autograder.grading.export import export_grades
    from autograder.grading.views import show_export_report

    with workflow_errors():
        course = open_ta_course(course_dir, assignment, database_url)
        report = export_grades(course, roster, output, column=column, missing=missing,
                               points="raw" if raw_points else "canvas",
                               replace_existing=replace_existing, groups_path=groups,
                               include_test_student=include_test_student,
                               awaiting=awaiting)
    show_export_report(report, rich_console())


@main.command()
@click.argument("assignment")
@click.argument("import_csv", type=click.Path(dir_okay=False))
@click.option("--roster", required=True, type=click.Path(dir_okay=False),
              help="The Canvas gradebook export IMPORT_CSV was written for.")
@click.option("--groups", type=click.Path(dir_okay=False),
              help="Group set CSV: every member gets the feedback of the group's submission.")
@click.option("--no-feedback", is_flag=True, help="Send the grades only.")
@click.option("--canvas-url", metavar="URL",
              help="Canvas address, e.g. https://school.instructure.com "
                   "(default: $CANVAS_API_URL).")
@click.option("--course-id", metavar="ID",
              help="Canvas course id, the number in the course's URL "
                   "(default: $CANVAS_COURSE_ID).")
@click.option("--send", is_flag=True,
              help="Really send; without it nothing leaves this machine (dry run).")
@course_dir_option
def push(assignment, import_csv, roster, groups, no_feedback, canvas_url, course_id, send,
         course_dir, database_url):
    """Send ASSIGNMENT's grades and feedback pages to Canvas (dry run by default).

    IMPORT_CSV is the file `course export` wrote: its grades go to Canvas in
    one bulk update, and each student's feedback page from `course feedback`
    is attached as a comment to their submission. The access token is read
    from $CANVAS_API_TOKEN only and never printed.
    """
    from autograder.grading.push import canvas_credentials, plan_push, send_push
    from autograder.grading.views import show_push_report

    with workflow_errors():
        course = open_ta_course(course_dir, assignment, database_url)
        report = plan_push(course, import_csv, roster, groups_path=groups,
                           feedback=not no_feedback)
        if send:
            url, canvas_course, token = canvas_credentials(canvas_url, course_id)
            send_push(report, url, canvas_course, token)
    show_push_report(report, rich_console())
    if report.problems:
        raise SystemExit(1)


@main.command()
@click.option("--directory", type=click.Path(file_okay=False),
              help="Where to build the demo course (default: ./course_demo; a folder "
                   "from an earlier demo is rebuilt, any other non-empty one refused).")
@click.option("--assignment", help="Assignment to demo (default: the one in solutions/ with "
                                   "the fewest notebooks).")
@click.option("--solutions", type=click.Path(file_okay=False),
              help="A solutions/ folder to take the assignment from.")
def demo(directory, assignment, solutions):
    """Run the whole course workflow on a fabricated class.

    Releases an assignment into a scratch course, fabricates a class as a
    Canvas submissions zip and gradebook export, then runs collect,
    autograde, feedback and export, and prints what every student got.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from autograder.grading.demo import run_demo
    from autograder.grading.views import show_demo_summary

    console = rich_console()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        console=console, transient=True)
    task = progress.add_task("autograding", total=None)

    def on_start(student_id, index, total):
        if index == 0:
            progress.start()
        progress.update(task, total=total, description=f"autograding {student_id}")

    def on_done(result):
        progress.advance(task)
        if progress.finished:
            progress.stop()

    with workflow_errors():
        try:
            run = run_demo(directory, assignment, solutions, console=console,
                           on_start=on_start, on_done=on_done)
        finally:
            progress.stop()
    console.rule("[bold]What happened")
    show_demo_summary(run, console)


if __name__ == "__main__":
    main()
