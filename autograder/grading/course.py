"""The course directory: its assignments, notebooks, gradebook and nbgrader.

A course directory holds `solutions/` (instructor sources, with hidden tests)
and/or `assignments/` (released stubs), and, once a TA works in it,
nbgrader's `submitted/`, `autograded/`, `feedback/` and gradebook. The
repository is one; so is a TA's working copy, the folder a student unzips
from Canvas (only `assignments/`) and the scratch course `course grade`
builds for one notebook.

`Course` is the one object every command works through. Without an
assignment it answers questions about the whole course (which assignments,
which notebooks); `course.for_assignment("project1")` is the same course
seen through one assignment, as the TA commands use it. Either way
`course.api()` is the one place an `NbGraderAPI` is made, after the tool
set-up nbgrader needs.
"""

import copy
import functools
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from autograder.grading.notebooks import cell_ids_in_text, test_cells
from autograder.grading.settings import current_settings

SOURCE_DIRECTORY = "solutions"
RELEASE_DIRECTORY = "assignments"
# nbgrader's zip-collect area, and where this course keeps its records.
DOWNLOADED_DIRECTORY = "downloaded"
# nbgrader's folders for the stages of grading.
SUBMITTED, AUTOGRADED, FEEDBACK = "submitted", "autograded", "feedback"


class CourseSetupError(Exception):
    """A problem with the course files or the user's input (clear message)."""


def repository_root():
    """The folder holding `solutions/` when installed from a clone, else None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / SOURCE_DIRECTORY).is_dir() else None


def assignment_folders(folder):
    """Names of the sub-folders of `folder` that hold notebooks, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(child.name for child in folder.iterdir()
                  if child.is_dir() and any(child.glob("*.ipynb")))


@dataclass(frozen=True)
class Course:
    """A course directory, optionally seen through one assignment.

    Args:
        root: The folder holding `solutions/` and/or `assignments/`.
        assignment: The nbgrader assignment id the TA commands work on, or
            None for the whole course (see `for_assignment`).
        gradebook_url: SQLAlchemy URL of the gradebook, e.g.
            `postgresql://user:password@host/course`; None keeps nbgrader's
            SQLite file `gradebook.db` in `root`.
        protected_paths: More files or folders grading kernels must not see,
            e.g. the instructor sources a scratch course was copied from.
        settings: The `Settings` in force (default: `current_settings()`).

    Example:

    >>> course = Course(Path("tests/files/toy_course"))
    >>> course.assignments()
    ['toy']
    >>> toy = course.for_assignment("toy")
    >>> [path.name for path in toy.notebooks()], toy.submitted_students()
    (['toy.ipynb'], [])
    """

    root: Path
    assignment: str = None
    gradebook_url: str = None
    protected_paths: tuple = ()
    settings: object = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())
        if self.settings is None:
            object.__setattr__(self, "settings", current_settings())

    # -- the whole course ----------------------------------------------------

    @property
    def source_directory(self):
        return self.root / SOURCE_DIRECTORY

    @property
    def release_directory(self):
        return self.root / RELEASE_DIRECTORY

    def has_sources(self, assignment=None):
        """True when the instructor sources (with hidden tests) are present."""
        return any((self.source_directory / (assignment or self.assignment)).glob("*.ipynb"))

    def assignments(self):
        """Sorted assignment ids found in solutions/ or assignments/."""
        return sorted(set(assignment_folders(self.source_directory))
                      | set(assignment_folders(self.release_directory)))

    def notebooks(self, assignment=None, released=False):
        """Notebook paths of an assignment (sources unless `released`)."""
        assignment = assignment or self.assignment
        if not released and self.has_sources(assignment):
            folder = self.source_directory / assignment
        else:
            folder = self.release_directory / assignment
        return sorted(folder.glob("*.ipynb"))

    def for_assignment(self, assignment):
        """This course seen through `assignment` (no check; see `open_course`)."""
        return replace(self, assignment=assignment)

    # -- nbgrader --------------------------------------------------------------

    @functools.cached_property
    def config(self):
        """The nbgrader `Config` of this course, built once per `Course`."""
        from autograder.grading.config import make_config

        return make_config(self.root, database_url=self.gradebook_url,
                           protected_paths=self.protected_paths, settings=self.settings)

    @property
    def database_url(self):
        return self.config.CourseDirectory.db_url

    def api(self, extra_config=None):
        """An `NbGraderAPI` for this course, with `extra_config` merged in."""
        from nbgrader.apps import NbGraderAPI
        from traitlets.config import Config

        prepare_tools()
        config = Config()
        # A deep copy: `Config.merge` into an empty Config shares the course's
        # own sections, so merging `extra_config` would change the course's.
        config.merge(copy.deepcopy(self.config))
        if extra_config is not None:
            config.merge(extra_config)
        if self.assignment:
            config.CourseDirectory.assignment_id = self.assignment
        return NbGraderAPI(config=config)

    def gradebook(self):
        """nbgrader's `Gradebook` of this course, to use in a `with` block."""
        from nbgrader.api import Gradebook

        prepare_tools()
        return Gradebook(self.database_url)

    # -- one assignment --------------------------------------------------------

    @property
    def release_folder(self):
        return self.release_directory / self.assignment

    @property
    def source_folder(self):
        return self.source_directory / self.assignment

    @property
    def working_folder(self):
        """`downloaded/<assignment>/`: nbgrader's zip-collect area and the records."""
        return self.root / DOWNLOADED_DIRECTORY / self.assignment

    def released_notebooks(self):
        """Released notebook file names, e.g. ["project1.ipynb"]."""
        return sorted(path.name for path in self.release_folder.glob("*.ipynb"))

    def released_cell_ids(self):
        """Released notebook name -> grade ids of its nbgrader cells."""
        return {name: cell_ids_in_text((self.release_folder / name).read_text()) or set()
                for name in self.released_notebooks()}

    def submission_folder(self, student_id, step=SUBMITTED):
        """`<step>/<student>/<assignment>/`, e.g. the submitted notebooks."""
        return self.root / step / student_id / self.assignment

    def students_in(self, step):
        """Student ids with a `<step>/<id>/<assignment>/` folder, sorted.

        Args:
            step: nbgrader's folder for a stage, e.g. "submitted" or "autograded".
        """
        folder = self.root / step
        if not folder.is_dir():
            return []
        return sorted(child.name for child in folder.iterdir()
                      if (child / self.assignment).is_dir())

    def submitted_students(self):
        """Student ids with a `submitted/<id>/<assignment>/` folder, sorted."""
        return self.students_in(SUBMITTED)


def looks_like_course(folder):
    folder = Path(folder)
    return (folder / SOURCE_DIRECTORY).is_dir() or (folder / RELEASE_DIRECTORY).is_dir()


def find_course(start=None):
    """Locate the course directory.

    Looks at `COURSE_DIR`, then `start` and its parents, then the current
    directory and its parents, then the clone the package was installed from.

    Raises:
        CourseSetupError: when no course directory is found.
    """
    settings = current_settings()
    if settings.course_dir:
        root = Path(settings.course_dir).resolve()
        if looks_like_course(root):
            return Course(root, settings=settings)
        raise CourseSetupError(
            f"COURSE_DIR={root} has neither {SOURCE_DIRECTORY}/ nor "
            f"{RELEASE_DIRECTORY}/. Point it at the unzipped course folder.")
    candidates = []
    for base in (start, Path.cwd()):
        if base is not None:
            base = Path(base).resolve()
            candidates.extend([base, *base.parents])
    for folder in candidates:
        if looks_like_course(folder):
            return Course(folder, settings=settings)
    root = repository_root()
    if root is not None:
        return Course(root, settings=settings)
    raise CourseSetupError(
        "no course directory found (a folder with solutions/ or assignments/). "
        "Run the command inside the unzipped course folder or set COURSE_DIR.")


def open_course(course_dir, assignment, database_url=None):
    """Check a course directory and assignment id for the TA commands.

    Args:
        course_dir: The course directory.
        assignment: The assignment id; it must have sources in `solutions/`
            or a release in `assignments/`.
        database_url: Optional SQLAlchemy URL of the gradebook (default: the
            SQLite file `gradebook.db` in the course directory); it is
            checked by connecting once.

    Returns:
        The `Course` seen through `assignment`.

    Raises:
        CourseSetupError: missing folder, unknown assignment (message lists
            the assignments the course has) or a gradebook database that
            cannot be reached.

    Example:

    >>> open_course("tests/files/toy_course", "toy").assignment
    'toy'
    >>> open_course("tests/files/toy_course", "tyo")
    Traceback (most recent call last):
    ...
    autograder.grading.course.CourseSetupError: unknown assignment 'tyo' in ...
    """
    root = Path(course_dir).resolve()
    if not root.is_dir():
        raise CourseSetupError(f"course directory {root} does not exist. Pass --course-dir "
                               "pointing at the folder holding assignments/ and solutions/.")
    course = Course(root, gradebook_url=database_url or None)
    known = course.assignments()
    if assignment not in known:
        listing = ", ".join(known) or (
            f"no assignments (no {SOURCE_DIRECTORY}/ or {RELEASE_DIRECTORY}/)")
        raise CourseSetupError(f"unknown assignment {assignment!r} in {root}; it has "
                               f"{listing}. Check the spelling or pass --course-dir.")
    if database_url:
        check_database_url(database_url)
    return course.for_assignment(assignment)


def check_database_url(database_url):
    """Connect once to a gradebook URL; a clear error when that fails.

    Raises:
        CourseSetupError: the URL is malformed, its driver is missing, or the
            server refuses the connection.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(database_url).render_as_string(hide_password=True)
    except Exception as error:  # noqa: BLE001 - any parse error means a bad URL
        raise CourseSetupError(
            f"--database-url {database_url!r} is not a database URL ({error}). Use e.g. "
            "postgresql://user:password@host:5432/course or sqlite:////path/gradebook.db."
        ) from error
    try:
        engine = create_engine(database_url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - driver missing, refused, bad password
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CourseSetupError(
            f"cannot open the gradebook database {shown} ({type(error).__name__}: "
            f"{first_line[:200]}). Check the host, port, user, password and database "
            "name, and that the database server is running; PostgreSQL needs "
            "pip install 'dl-course[cluster]' for its driver.") from error


# ---------------------------------------------------------------------------
# Tool set-up nbgrader needs before it runs


def alembic_head_in_process():
    """The gradebook schema version nbgrader stamps on a new gradebook.

    nbgrader asks for it by running the `alembic heads` program, a fresh
    Python process that costs seconds on a busy machine; alembic's own
    `ScriptDirectory` gives the same answer from nbgrader's migration scripts
    in milliseconds.
    """
    import nbgrader
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()


def prepare_environment():
    """Put this environment's programs on PATH and quiet library warnings.

    nbgrader runs the `alembic` program of its own environment when it opens a
    gradebook; when `course` is called as `.venv/bin/course` without the
    environment activated, that folder is not on PATH, so it is added here.
    """
    tools = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if tools not in path.split(os.pathsep):
        os.environ["PATH"] = tools + os.pathsep + path
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Python warnings also land on stderr, which nbgrader counts as a failed
    # test; a deprecation notice in a student's library must not cost points.
    os.environ.setdefault("PYTHONWARNINGS", "ignore")


def prepare_tools():
    """Prepare nbgrader: its programs on PATH, its schema lookup in-process."""
    prepare_environment()
    import nbgrader.api

    if getattr(nbgrader.api.get_alembic_version, "in_process", False):
        return
    try:
        head = alembic_head_in_process()
    except Exception:  # noqa: BLE001 - keep nbgrader's own lookup if alembic changes
        return
    if head:
        def get_alembic_version():
            return head

        get_alembic_version.in_process = True
        nbgrader.api.get_alembic_version = get_alembic_version


# ---------------------------------------------------------------------------
# The assignment in the gradebook


def gradebook_knows(course):
    """True when the gradebook holds the assignment and all its notebooks."""
    from nbgrader.api import MissingEntry

    with course.gradebook() as gradebook:
        try:
            stored = gradebook.find_assignment(course.assignment)
        except MissingEntry:
            return False
        names = {notebook.name for notebook in stored.notebooks}
    return bool(names) and names >= {Path(name).stem for name in course.released_notebooks()}


def ensure_assignment_ready(course):
    """Make sure the assignment is released and known to the gradebook.

    A fresh working copy of the course has `solutions/` and `assignments/`
    but no `gradebook.db`; nbgrader needs the sources (hidden tests
    included) in its gradebook to autograde, so they are registered with
    `generate_assignment`, which rewrites `assignments/<id>/` identically.

    Returns:
        True when the assignment had to be generated.

    Raises:
        CourseSetupError: no sources to register, or nbgrader failed.
    """
    from autograder.grading.logs import stderr_to

    if course.released_notebooks() and gradebook_knows(course):
        return False
    if not any(course.source_folder.glob("*.ipynb")):
        raise CourseSetupError(
            f"{course.assignment!r} is not in the gradebook and {course.source_folder} is "
            "missing; grading needs the instructor sources with the hidden tests. Run the "
            "command in a copy of the course repository.")
    with stderr_to(course.working_folder / "generate.log"):
        result = course.api().generate_assignment(course.assignment)
    if not result["success"]:
        raise CourseSetupError(f"nbgrader could not generate {course.assignment!r}:\n"
                               f"{result.get('error', '')}")
    return True


# ---------------------------------------------------------------------------
# Which assignment a submitted notebook belongs to


def infer_assignment(course, notebook, file_name, assignment=None):
    """Decide which assignment and source notebook a submission belongs to.

    The graded cells' ids identify the notebook even when the student renamed
    the file; the file name is the fallback when the ids were stripped.

    Args:
        course: The `Course`.
        notebook: The submitted notebook node.
        file_name: The submitted file's name, e.g. "project1.ipynb".
        assignment: The id the user gave, or None to infer it.

    Returns:
        `(assignment, notebook_name)` with the name without ".ipynb".

    Raises:
        CourseSetupError: unknown assignment or no match.
    """
    known = course.assignments()
    if assignment is not None and assignment not in known:
        raise CourseSetupError(
            f"unknown assignment {assignment!r}; this course has "
            f"{', '.join(known) or 'no assignments'}. Check the spelling or "
            "leave out --assignment to infer it from the notebook.")
    submitted_ids = set(test_cells(notebook))
    best = None
    for name in ([assignment] if assignment else known):
        for path in course.notebooks(name):
            source_ids = set(test_cells(nbformat.read(str(path), as_version=4)))
            overlap = len(submitted_ids & source_ids)
            same_name = path.stem == Path(file_name).stem
            score = (overlap, same_name)
            if (overlap or same_name) and (best is None or score > best[0]):
                best = (score, name, path.stem)
    if best is None:
        if assignment and len(course.notebooks(assignment)) == 1:
            return assignment, course.notebooks(assignment)[0].stem
        raise CourseSetupError(
            f"cannot tell which assignment {file_name} belongs to: none of its "
            "graded cells match a course notebook. Pass --assignment "
            f"(one of: {', '.join(known) or 'none'}).")
    return best[1], best[2]
