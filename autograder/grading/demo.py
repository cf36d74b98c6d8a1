"""`course demo`: the whole TA workflow on a fabricated class, end to end.

In a scratch course directory the demo copies one assignment's source,
releases it, fabricates a class (full marks, half done, untouched stub, late,
a file that is not a notebook, test cells edited to pass, one student who
never submits) as a Canvas submissions zip plus a Canvas gradebook export,
then runs collect -> autograde -> feedback -> export exactly as a TA would,
and prints what each student got and where the files are.
"""

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading import classroom
from autograder.grading.autograde import (autograde_assignment, format_points,
                                          show_autograde_report)
from autograder.grading.collect import (collect_submissions, ensure_assignment_ready,
                                        open_course, show_collect_report, stderr_to)
from autograder.grading.config import SOURCE_DIRECTORY, repository_root
from autograder.grading.course import CourseSetupError
from autograder.grading.export import export_grades, show_export_report
from autograder.grading.feedback import generate_feedback, show_feedback_report

MARKER = ".course-demo"
DEFAULT_DIRECTORY = "course_demo"
TOY_SOLUTIONS = Path("tests") / "files" / "toy_course" / SOURCE_DIRECTORY


@dataclass
class DemoRun:
    """Everything the demo produced.

    Args:
        root: The demo course directory.
        assignment: The assignment used.
        classmates: The fabricated `Classmate`s.
        zip_path, roster_path, import_path: The Canvas files.
        collect, autograde, feedback, export: The reports of each step.
    """

    root: Path
    assignment: str
    classmates: list = field(default_factory=list)
    zip_path: Path = None
    roster_path: Path = None
    import_path: Path = None
    collect: object = None
    autograde: object = None
    feedback: object = None
    export: object = None


def assignments_in(solutions):
    solutions = Path(solutions)
    if not solutions.is_dir():
        return []
    return sorted(child.name for child in solutions.iterdir()
                  if child.is_dir() and any(child.glob("*.ipynb")))


def choose_source(solutions=None, assignment=None):
    """Pick the solutions folder and assignment the demo runs on.

    The repository's `solutions/` is preferred; while it holds no assignment,
    the toy fixture course of the tests stands in.

    Returns:
        `(solutions_folder, assignment)`.

    Raises:
        CourseSetupError: no source found, or an unknown assignment.
    """
    if solutions is None:
        root = repository_root() or Path.cwd()
        candidates = [root / SOURCE_DIRECTORY, root / TOY_SOLUTIONS]
        if assignment:
            found = [folder for folder in candidates if assignment in assignments_in(folder)]
        else:
            found = [folder for folder in candidates if assignments_in(folder)]
        if not found:
            known = sorted({name for folder in candidates for name in assignments_in(folder)})
            raise CourseSetupError(
                f"no assignment {assignment or ''} to demo: looked in "
                f"{', '.join(str(folder) for folder in candidates)}"
                f"{'; available: ' + ', '.join(known) if known else ''}. "
                "Pass --solutions and --assignment.")
        solutions = found[0]
    solutions = Path(solutions).resolve()
    available = assignments_in(solutions)
    if not available:
        raise CourseSetupError(f"{solutions} holds no assignment folders with notebooks.")
    # The quickest demo by default: the assignment with the fewest notebooks.
    assignment = assignment or min(
        available, key=lambda name: (len(list((solutions / name).glob("*.ipynb"))), name))
    if assignment not in available:
        raise CourseSetupError(f"unknown assignment {assignment!r} in {solutions}; "
                               f"it has {', '.join(available)}.")
    return solutions, assignment


def prepare_directory(directory):
    """Create (or safely reuse) the demo course directory.

    A folder is emptied only when an earlier demo made it (it holds the
    `.course-demo` marker); any other non-empty folder is refused.
    """
    root = Path(directory).resolve()
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise CourseSetupError(
                f"{root} is not empty and was not made by `course demo`; choose another "
                "--directory (nothing was changed).")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by `course demo`; safe to delete\n")
    return root


def release(root, assignment):
    """Release the assignment in the demo course (nbgrader generate_assignment)."""
    from autograder.grading.course import Course
    from autograder.grading.release import ReleaseError, release_assignment

    try:
        with stderr_to(root / "release.log"):
            release_assignment(assignment, course=Course(root),
                               zip_directory=root / "release_zips", verify=False)
    except ReleaseError as error:
        raise CourseSetupError(f"`course release {assignment}` refused to release it, so "
                               f"the demo stops here:\n{error}") from None
    course = open_course(root, assignment)
    with stderr_to(root / "release.log"):
        ensure_assignment_ready(course)
    return course


def run_demo(directory=None, assignment=None, solutions=None, console=None,
             on_start=None, on_done=None):
    """Build a demo course and run the TA workflow on a fabricated class.

    Args:
        directory: Where to build it (default `./course_demo`).
        assignment: Assignment id (default: the one with the fewest notebooks).
        solutions: A `solutions/` folder to take it from (default: the
            repository's, else the toy fixture course).
        console: A `rich.console.Console` to narrate each step on (quiet
            when None).
        on_start, on_done: Progress callbacks passed to autograde.

    Returns:
        A `DemoRun`.

    Example:

    >>> run = run_demo("/tmp/course_demo")  # doctest: +SKIP
    >>> run.import_path.name  # doctest: +SKIP
    'canvas_import.csv'
    """
    steps = iter(range(1, 100))

    def announce(title):
        if console is not None:
            console.rule(f"[bold]{next(steps)}. {title}")

    def show(function, *args):
        if console is not None:
            function(*args, console)

    solutions, assignment = choose_source(solutions, assignment)
    root = prepare_directory(directory or DEFAULT_DIRECTORY)
    shutil.copytree(solutions / assignment, root / SOURCE_DIRECTORY / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    run = DemoRun(root, assignment)
    announce(f"Release {assignment} from {solutions / assignment}")
    course = release(root, assignment)
    announce("Fabricate a class: Canvas submissions zip and gradebook export")
    run.classmates = classroom.standard_class(course.source_folder, course.release_folder)
    show(show_class, run.classmates)
    canvas_folder = root / "canvas"
    run.zip_path = classroom.write_submissions_zip(
        canvas_folder / f"{assignment}_submissions.zip", run.classmates)
    run.roster_path, _ = classroom.write_class_roster(
        canvas_folder / "gradebook_export.csv", run.classmates, assignment,
        classroom.points_possible(course.source_folder))
    announce(f"course collect {assignment} {run.zip_path.name} --roster {run.roster_path.name}")
    run.collect = collect_submissions(course, run.zip_path, run.roster_path)
    show(show_collect_report, run.collect)
    announce(f"course autograde {assignment}")
    run.autograde = autograde_assignment(course, on_start=on_start, on_done=on_done)
    show(show_autograde_report, run.autograde, course)
    announce(f"course feedback {assignment}")
    run.feedback = generate_feedback(course)
    show(show_feedback_report, run.feedback, course)
    announce(f"course export {assignment} --roster {run.roster_path.name} -o canvas_import.csv")
    run.import_path = canvas_folder / "canvas_import.csv"
    run.export = export_grades(course, run.roster_path, run.import_path)
    show(show_export_report, run.export)
    return run


def show_class(classmates, console):
    """List the fabricated students and what each one uploads."""
    from rich.table import Table

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
    from rich.table import Table

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
        score = f"{format_points(result.score)} / {format_points(result.max_score)}"
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
