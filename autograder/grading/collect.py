"""Collect a Canvas submissions zip into nbgrader's `submitted/` folder.

The work is nbgrader's own `zip_collect`: `ZipCollectApp` extracts the zip
under `downloaded/<assignment>/` and hands every file name to a collector
plugin, which says whose file it is and what to call it. nbgrader ships no
Canvas plugin; `CanvasFileNameCollector` is one (usable on its own with
`nbgrader zip_collect --collector=autograder.grading.collect.CanvasFileNameCollector`).

Before nbgrader touches the disk, `plan_collection` decides, per student,
which uploaded file becomes which released notebook:

* a file with the released name, or that name plus Canvas' resubmission
  counter (`project1-1.ipynb`), is that notebook; of several, the newest
  upload (highest Canvas attachment id) wins;
* a notebook saved under another name is renamed when its graded cells
  identify the released notebook, or when the assignment has one notebook
  and the student uploaded one notebook;
* other notebooks are kept under their own names (nbgrader ignores them when
  grading); files that are not notebooks are skipped and listed.

Late submissions. Canvas' zip says *whether* a submission was late, not when
it arrived, so no submission time is invented for nbgrader: the late flag is
kept in the collection record `downloaded/<assignment>/collect.json`, shown by
`course autograde` and `course export`. Canvas knows the real submission time
and applies its own late policy to the imported score.
"""

import contextlib
import json
import os
import shutil
import sys
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.zipcollect import FileNameCollectorPlugin
from nbgrader.utils import capture_log
from traitlets import Dict

from autograder import canvas
from autograder.grading.config import (RELEASE_DIRECTORY, SOURCE_DIRECTORY,
                                       ensure_environment, make_config)
from autograder.grading.course import CourseSetupError

DOWNLOADED_DIRECTORY = "downloaded"
COLLECT_RECORD = "collect.json"
AUTOGRADE_RECORD = "autograde.json"


# --------------------------------------------------------------------------
# The course directory a TA works in
# --------------------------------------------------------------------------

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


def ensure_tools_on_path():
    """Prepare nbgrader: its `alembic` program on PATH, its schema lookup in-process."""
    ensure_environment()
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


@dataclass(frozen=True)
class GradingCourse:
    """One assignment of a course directory, as the TA's commands see it.

    Args:
        root: The course directory (holds `assignments/`, `submitted/`, ...).
        assignment: The nbgrader assignment id.
        gradebook_url: SQLAlchemy URL of the gradebook, e.g.
            `postgresql://user:password@host/course`; None keeps nbgrader's
            SQLite file `gradebook.db` in `root`.
    """

    root: Path
    assignment: str
    gradebook_url: str = None

    @property
    def config(self):
        return make_config(self.root, database_url=self.gradebook_url)

    @property
    def database_url(self):
        return self.config.CourseDirectory.db_url

    @property
    def release_folder(self):
        return self.root / RELEASE_DIRECTORY / self.assignment

    @property
    def source_folder(self):
        return self.root / SOURCE_DIRECTORY / self.assignment

    @property
    def working_folder(self):
        """`downloaded/<assignment>/`: nbgrader's zip-collect area and our records."""
        return self.root / DOWNLOADED_DIRECTORY / self.assignment

    def api(self, config=None):
        """An `NbGraderAPI` for this course (optionally with extra config merged)."""
        ensure_tools_on_path()
        merged = self.config
        if config is not None:
            merged.merge(config)
        return NbGraderAPI(config=merged)

    def released_notebooks(self):
        """Released notebook file names, e.g. ["project1.ipynb"]."""
        return sorted(path.name for path in self.release_folder.glob("*.ipynb"))

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
        return self.students_in("submitted")

    def read_record(self, name):
        path = self.working_folder / name
        return json.loads(path.read_text()) if path.is_file() else {}

    def write_record(self, name, data):
        self.working_folder.mkdir(parents=True, exist_ok=True)
        path = self.working_folder / name
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        return path


def known_assignments(root):
    names = set()
    for folder in (root / SOURCE_DIRECTORY, root / RELEASE_DIRECTORY):
        if folder.is_dir():
            names.update(child.name for child in folder.iterdir()
                         if child.is_dir() and any(child.glob("*.ipynb")))
    return sorted(names)


def open_course(course_dir, assignment, database_url=None):
    """Check a course directory and assignment id and return a `GradingCourse`.

    Args:
        course_dir: The course directory.
        assignment: The assignment id; it must have sources in `solutions/`
            or a release in `assignments/`.
        database_url: Optional SQLAlchemy URL of the gradebook (default: the
            SQLite file `gradebook.db` in the course directory); it is
            checked by connecting once.

    Raises:
        CourseSetupError: missing folder, unknown assignment (message lists
            the assignments the course has) or a gradebook database that
            cannot be reached.
    """
    root = Path(course_dir).resolve()
    if not root.is_dir():
        raise CourseSetupError(f"course directory {root} does not exist. Pass --course-dir "
                               "pointing at the folder holding assignments/ and solutions/.")
    known = known_assignments(root)
    if assignment not in known:
        listing = ", ".join(known) or (
            f"no assignments (no {SOURCE_DIRECTORY}/ or {RELEASE_DIRECTORY}/)")
        raise CourseSetupError(f"unknown assignment {assignment!r} in {root}; it has "
                               f"{listing}. Check the spelling or pass --course-dir.")
    if database_url:
        check_database_url(database_url)
    return GradingCourse(root, assignment, database_url or None)


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


def gradebook_knows(course):
    """True when the gradebook holds the assignment and all its notebooks."""
    ensure_tools_on_path()
    with Gradebook(course.database_url) as gradebook:
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

    Raises:
        CourseSetupError: no sources to register, or nbgrader failed.
    """
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


@contextlib.contextmanager
def stderr_to(log_path):
    """Send this process's (and its kernels') stderr to a file for the block.

    nbgrader, SQLAlchemy and Jupyter kernels write warnings straight to file
    descriptor 2, where they would tear through the tables and the progress
    bar; they are kept in a log next to the collection record instead.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    with open(log_path, "a") as log, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved = os.dup(2)
        try:
            os.dup2(log.fileno(), 2)
            yield log
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


# --------------------------------------------------------------------------
# The nbgrader plugin
# --------------------------------------------------------------------------

class CanvasFileNameCollector(FileNameCollectorPlugin):
    """nbgrader zip-collect plugin for Canvas' "Download Submissions" zips.

    The student id is the Canvas user id (or `anon_<id>` under anonymous
    grading). The file keeps its uploaded name minus Canvas' resubmission
    counter, unless `saved_names` maps the zip entry to another name (that is
    how `course collect` applies its renames); with `saved_names` set,
    entries it does not list are skipped.
    """

    saved_names = Dict(
        default_value=None, allow_none=True,
        help="Zip entry name -> file name to save it as; unlisted entries are skipped.",
    ).tag(config=True)

    def collect(self, submitted_file):
        entry = canvas.parse_entry_name(os.path.basename(submitted_file))
        if entry is None:
            return None
        if self.saved_names is not None:
            saved = self.saved_names.get(entry.entry_name)
            if saved is None:
                return None
        else:
            if os.path.splitext(entry.filename)[1] not in self.valid_ext:
                return None
            saved = canvas.original_filename(entry.filename)
        return {"student_id": entry.student_id, "file_id": saved}


# --------------------------------------------------------------------------
# Planning: which file becomes which notebook
# --------------------------------------------------------------------------

@dataclass
class StudentCollection:
    """What collect does with one student's files.

    Args:
        student_id: Canvas user id or `anon_<id>`.
        sortable_name: The squeezed name from the zip.
        late: Canvas' late flag.
        saved: Zip entry name -> file name in `submitted/` (notebooks only).
        skipped: Zip entry name -> why it was not collected.
        notes: Remarks for the table (renames, missing notebooks, ...).
        name: "Last, First" from the roster, when known.
        section: Section from the roster, when known.
        on_roster: False when a roster was given and lacks this student.
    """

    student_id: str
    sortable_name: str = ""
    late: bool = False
    saved: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    name: str = ""
    section: str = ""
    on_roster: bool = True

    @property
    def collected(self):
        return bool(self.saved)


@dataclass
class CollectReport:
    """Result of `collect_submissions` (also what the table shows).

    Args:
        assignment: The assignment id.
        students: `StudentCollection`s by student id, in zip order.
        unreadable: Zip entries whose names are not Canvas submissions.
        released: The released notebook names.
        record_path: Where the collection record was written.
    """

    assignment: str
    students: dict
    unreadable: list
    released: list
    record_path: Path = None

    @property
    def collected(self):
        return [student for student in self.students.values() if student.collected]

    @property
    def nothing_to_grade(self):
        return [student for student in self.students.values() if not student.collected]

    @property
    def released_found(self):
        """How many students handed in at least one released notebook."""
        return sum(1 for student in self.students.values()
                   if set(student.saved.values()) & set(self.released))


def notebook_grade_ids(text):
    """Grade ids of a notebook's nbgrader cells, or None when it is not readable JSON."""
    try:
        notebook = json.loads(text)
        cells = notebook.get("cells", [])
        return {cell["metadata"]["nbgrader"]["grade_id"] for cell in cells
                if isinstance(cell, dict)
                and cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")}
    except (ValueError, AttributeError, TypeError, KeyError):
        return None


def _attachment_order(entry):
    return int(entry.attachment_id) if entry.attachment_id.isdigit() else -1


def plan_student(student, entries, released, released_ids, grade_ids_of):
    """Decide what each of one student's files becomes (fills `student` in place).

    Args:
        student: The `StudentCollection` to fill.
        entries: That student's `SubmissionEntry` list.
        released: Released notebook names, e.g. ["project1.ipynb"].
        released_ids: Released name -> set of grade ids.
        grade_ids_of: Function entry -> grade ids (None if unreadable).
    """
    notebooks = []
    for entry in entries:
        if entry.is_notebook:
            notebooks.append(entry)
        else:
            student.skipped[entry.entry_name] = f"not a notebook ({entry.filename}): ignored"
    # The released name, with or without Canvas' resubmission counter; of
    # several such uploads the newest (highest attachment id) wins.
    matched = {}
    for name in released:
        candidates = [entry for entry in notebooks if entry not in matched.values()
                      and name in (entry.filename, canvas.original_filename(entry.filename))]
        if candidates:
            matched[name] = max(candidates, key=_attachment_order)
            for older in candidates:
                if older is not matched[name]:
                    student.skipped[older.entry_name] = (
                        f"older upload of {name} ({older.filename}): newest kept")
                    notebooks.remove(older)
    for name, entry in matched.items():
        student.saved[entry.entry_name] = name
        if entry.filename != name:
            student.notes.append(f"{entry.filename} saved as {name}")
    leftovers = [entry for entry in notebooks if entry not in matched.values()]
    missing = [name for name in released if name not in matched]
    # Renamed copies: graded cells tell which notebook a file is.
    pairs = []
    for entry in leftovers:
        found = grade_ids_of(entry) or set()
        for name in missing:
            overlap = len(found & released_ids.get(name, set()))
            if overlap:
                pairs.append((overlap, _attachment_order(entry), entry, name))
    for _, _, entry, name in sorted(pairs, key=lambda item: (item[0], item[1]), reverse=True):
        if name in missing and entry in leftovers:
            student.saved[entry.entry_name] = name
            student.notes.append(f"{entry.filename} saved as {name}")
            missing.remove(name)
            leftovers.remove(entry)
    # The only notebook of a one-notebook assignment is that notebook, unless
    # its graded cells show it belongs to another assignment.
    if len(released) == 1 and len(missing) == 1 and len(leftovers) == 1:
        entry = leftovers[0]
        found = grade_ids_of(entry)
        if found:
            student.notes.append(f"{entry.filename} has none of {released[0]}'s graded "
                                 "cells: another assignment?")
        else:
            leftovers.remove(entry)
            student.saved[entry.entry_name] = missing.pop()
            student.notes.append(f"{entry.filename} saved as {released[0]} (the only notebook)")
    used = set(student.saved.values())
    for entry in sorted(leftovers, key=_attachment_order, reverse=True):
        keep_as = canvas.original_filename(entry.filename)
        if keep_as in used:
            keep_as = entry.filename
        if keep_as in used:
            student.skipped[entry.entry_name] = f"older upload of {keep_as}: newest kept"
            continue
        used.add(keep_as)
        student.saved[entry.entry_name] = keep_as
        student.notes.append(f"extra notebook {entry.filename} kept (not graded)")
    for name in missing:
        student.notes.append(f"no {name} submitted")


def plan_collection(entries, released, released_ids, grade_ids_of, roster=None):
    """Plan a whole zip: per-student saved names, skips and notes.

    Args:
        entries: Every decoded `SubmissionEntry` of the zip.
        released: Released notebook names.
        released_ids: Released name -> grade ids.
        grade_ids_of: Function entry -> grade ids of that notebook (or None).
        roster: Optional `canvas.Roster` for names and sections.

    Returns:
        Student id -> `StudentCollection`, in zip order.
    """
    by_student = {}
    for entry in entries:
        by_student.setdefault(entry.student_id, []).append(entry)
    people = roster.by_id() if roster is not None else {}
    students = {}
    for student_id, own in by_student.items():
        student = StudentCollection(student_id, own[0].sortable_name,
                                    late=any(entry.late for entry in own))
        if roster is not None:
            person = people.get(student_id)
            if person is None:
                student.on_roster = False
                student.notes.append("anonymous submission: not on the roster"
                                     if own[0].anonymous else "not on the roster")
            else:
                student.name, student.section = person.name, person.section
        plan_student(student, own, released, released_ids, grade_ids_of)
        students[student_id] = student
    return students


# --------------------------------------------------------------------------
# Running nbgrader's zip_collect
# --------------------------------------------------------------------------

def run_zip_collect(course, zip_path, saved_names):
    """Run nbgrader's `ZipCollectApp` with the Canvas plugin over one zip.

    The zip is copied to `downloaded/<assignment>/archive/` (replacing any
    earlier download) and extracted next to it; each planned file lands in
    `submitted/<student>/<assignment>/`.

    Returns:
        nbgrader's result dict (`success`, `log`, `error`).
    """
    archive = course.working_folder / "archive"
    if archive.exists():
        shutil.rmtree(archive)
    archive.mkdir(parents=True)
    shutil.copyfile(zip_path, archive / "canvas_submissions.zip")
    config = course.config
    config.CourseDirectory.assignment_id = course.assignment
    config.ZipCollectApp.force = True
    config.ZipCollectApp.collector_plugin = CanvasFileNameCollector
    config.ExtractorPlugin.force = True
    config.CanvasFileNameCollector.saved_names = saved_names
    ensure_tools_on_path()
    app = ZipCollectApp(config=config)
    app.coursedir = CourseDirectory(config=config)
    for handler in list(app.log.handlers):  # the log is captured, not printed
        app.log.removeHandler(handler)
    app.log.propagate = False
    with stderr_to(course.working_folder / "collect.log") as log:
        result = capture_log(app)
        log.write(result.get("log", "") + result.get("error", ""))
    return result


def register_students(course, students):
    """Add collected students to the gradebook, named from the roster when known."""
    ensure_tools_on_path()
    with Gradebook(course.database_url) as gradebook:
        for student in students:
            details = {}
            if student.name:
                person = canvas.RosterStudent(student.name, student.student_id)
                details = {"first_name": person.first_name, "last_name": person.last_name}
            if not student.student_id.startswith("anon_"):
                details["lms_user_id"] = student.student_id
            gradebook.update_or_create_student(student.student_id, **details)


def collect_submissions(course, zip_path, roster_path=None):
    """Turn a Canvas submissions zip into nbgrader's `submitted/` folders.

    Everything is checked before anything is written: the zip must be a
    Canvas download, the roster (when given) a Canvas gradebook export, the
    assignment released.

    Args:
        course: A `GradingCourse` (see `open_course`).
        zip_path: The "Download Submissions" zip.
        roster_path: Optional Canvas gradebook export, for names and sections.

    Returns:
        A `CollectReport`; its record is also written to
        `downloaded/<assignment>/collect.json` (merged with earlier
        collections, so a partial download never forgets anyone).

    Raises:
        canvas.CanvasFormatError: the zip or roster is not in Canvas' format.
        CourseSetupError: the assignment is not released or nbgrader failed.

    Example:

    >>> course = open_course(".", "project1")  # doctest: +SKIP
    >>> report = collect_submissions(course, "submissions.zip")  # doctest: +SKIP
    """
    entries, unreadable = canvas.read_submissions_zip(zip_path)
    roster = canvas.read_roster(roster_path) if roster_path else None
    if not course.released_notebooks():
        ensure_assignment_ready(course)
    released = course.released_notebooks()
    released_ids = {}
    for name in released:
        released_ids[name] = notebook_grade_ids((course.release_folder / name).read_text()) or set()
    with zipfile.ZipFile(zip_path) as archive:
        by_name = {}
        for info in archive.infolist():
            by_name.setdefault(info.filename.rsplit("/", 1)[-1], info.filename)

        def grade_ids_of(entry):
            try:
                return notebook_grade_ids(archive.read(by_name[entry.entry_name]).decode("utf-8"))
            except (KeyError, UnicodeDecodeError):
                return None

        students = plan_collection(entries, released, released_ids, grade_ids_of, roster)
    saved_names = {entry_name: saved for student in students.values()
                   for entry_name, saved in student.saved.items()}
    report = CollectReport(course.assignment, students,
                           [(name, "not named like a Canvas submission") for name in unreadable],
                           released)
    if saved_names:
        result = run_zip_collect(course, zip_path, saved_names)
        if not result["success"]:
            raise CourseSetupError("nbgrader zip_collect failed:\n"
                                   + (result.get("log") or result.get("error", "")))
        for student in report.collected:
            folder = course.root / "submitted" / student.student_id / course.assignment
            lost = [name for name in student.saved.values() if not (folder / name).is_file()]
            if lost:
                raise CourseSetupError(f"nbgrader did not collect {', '.join(lost)} for "
                                       f"{student.student_id}; log:\n{result.get('log', '')}")
        register_students(course, report.collected)
    record = course.read_record(COLLECT_RECORD)
    record.setdefault("students", {})
    for student in students.values():
        record["students"][student.student_id] = asdict(student)
    record["assignment"] = course.assignment
    report.record_path = course.write_record(COLLECT_RECORD, record)
    return report


def collected_students(course):
    """The collection record: student id -> dict of `StudentCollection` fields."""
    return course.read_record(COLLECT_RECORD).get("students", {})


def show_collect_report(report, console):
    """Print who was collected and what was skipped, as rich tables."""
    from rich.table import Table

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
        console.print(f"[red]No student handed in {', '.join(report.released)}[/red]: is "
                      f"this the zip of another assignment?")
    off_roster = [student.student_id for student in report.students.values()
                  if not student.on_roster]
    if off_roster:
        console.print(f"[yellow]Not on the roster:[/yellow] {', '.join(off_roster)} "
                      "(`course export` will refuse until the roster lists them).")
    console.print(f"Notebooks are in submitted/<canvas id>/{report.assignment}/; "
                  f"collection record: {report.record_path}")
