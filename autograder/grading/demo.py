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

from autograder.grading import classroom, views
from autograder.grading.autograde import autograde_assignment
from autograder.grading.collect import collect_submissions
from autograder.grading.course import (SOURCE_DIRECTORY, Course, CourseSetupError,
                                       assignment_folders, ensure_assignment_ready,
                                       open_course, repository_root)
from autograder.grading.export import export_grades
from autograder.grading.feedback import generate_feedback
from autograder.grading.logs import stderr_to
from autograder.grading.records import names_by_id
from autograder.grading.report import write_class_report

MARKER = ".course-demo"
DEFAULT_DIRECTORY = "course_demo"
CANVAS_POINTS_POSSIBLE = 100


@dataclass
class DemoRun:
    """Everything the demo produced.

    Args:
        root: The demo course directory.
        assignment: The assignment used.
        classmates: The fabricated `Classmate`s.
        zip_path, roster_path, import_path: The Canvas files.
        collect, autograde, feedback, export, report: The reports of each step.
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
    report: object = None


def choose_source(solutions=None, assignment=None):
    """Pick the solutions folder and assignment the demo runs on.

    Args:
        solutions: A `solutions/` folder; default: the one of the course
            directory the command runs in, else of the clone the package
            was installed from.
        assignment: The assignment id; default: the one with the fewest
            notebooks (the quickest demo).

    Returns:
        `(solutions_folder, assignment)`.

    Raises:
        CourseSetupError: no source found, or an unknown assignment.
    """
    if solutions is None:
        here = Path.cwd() / SOURCE_DIRECTORY
        installed = repository_root()
        candidates = [here] + ([installed / SOURCE_DIRECTORY] if installed else [])
        found = [folder for folder in candidates if assignment_folders(folder)]
        if not found:
            raise CourseSetupError(
                "no instructor sources to demo: looked in "
                f"{', '.join(str(folder) for folder in candidates)}. Run the demo in the "
                "course repository or pass --solutions.")
        solutions = found[0]
    solutions = Path(solutions).resolve()
    available = assignment_folders(solutions)
    if not available:
        raise CourseSetupError(f"{solutions} holds no assignment folders with notebooks.")
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
            course repository's).
        console: A `rich.console.Console` to narrate each step on (quiet
            when None).
        on_start, on_done: Progress callbacks passed to autograde.

    Returns:
        A `DemoRun`.

    Example:

    The demo builds its own folder and never empties one it did not make:

    >>> run_demo("tests")
    Traceback (most recent call last):
    ...
    autograder.grading.course.CourseSetupError: .../tests is not empty and was not made by `course demo`; choose another --directory (nothing was changed).

    A finished run's `run.import_path` is `<directory>/canvas/canvas_import.csv`.
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
    show(views.show_class, run.classmates)
    canvas_folder = root / "canvas"
    run.zip_path = classroom.write_submissions_zip(
        canvas_folder / f"{assignment}_submissions.zip", run.classmates)
    # Canvas gives a new assignment 100 points possible; the export scales to it.
    run.roster_path, _ = classroom.write_class_roster(
        canvas_folder / "gradebook_export.csv", run.classmates, assignment,
        CANVAS_POINTS_POSSIBLE)
    announce(f"course collect {assignment} {run.zip_path.name} --roster {run.roster_path.name}")
    run.collect = collect_submissions(course, run.zip_path, run.roster_path)
    show(views.show_collect_report, run.collect)
    announce(f"course autograde {assignment}")
    run.autograde = autograde_assignment(course, on_start=on_start, on_done=on_done)
    show(views.show_autograde_report, run.autograde, names_by_id(course))
    announce(f"course feedback {assignment}")
    run.feedback = generate_feedback(course)
    show(views.show_feedback_report, run.feedback, names_by_id(course), course.root)
    announce(f"course export {assignment} --roster {run.roster_path.name} -o canvas_import.csv")
    run.import_path = canvas_folder / "canvas_import.csv"
    run.export = export_grades(course, run.roster_path, run.import_path)
    show(views.show_export_report, run.export)
    announce(f"course report {assignment}")
    run.report = write_class_report(course)
    show(views.show_class_report, run.report)
    return run
