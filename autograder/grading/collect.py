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

import os
import shutil
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.zipcollect import FileNameCollectorPlugin
from nbgrader.utils import capture_log
from traitlets import Dict
from traitlets.config import Config

from autograder import canvas
from autograder.grading.course import CourseSetupError, ensure_assignment_ready, prepare_tools
from autograder.grading.logs import stderr_to
from autograder.grading.notebooks import cell_ids_in_text
from autograder.grading.records import COLLECT_RECORD, read_record, write_record


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
    config = Config()
    config.merge(course.config)
    config.CourseDirectory.assignment_id = course.assignment
    config.ZipCollectApp.force = True
    config.ZipCollectApp.collector_plugin = CanvasFileNameCollector
    config.ExtractorPlugin.force = True
    config.CanvasFileNameCollector.saved_names = saved_names
    prepare_tools()
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
    with course.gradebook() as gradebook:
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
        course: The `Course` seen through the assignment (see `open_course`).
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

    A zip that is not Canvas' download is refused before anything is written:

    >>> import pathlib, tempfile, zipfile
    >>> from autograder.grading.course import open_course
    >>> zip_path = pathlib.Path(tempfile.mkdtemp()) / "photos.zip"
    >>> with zipfile.ZipFile(zip_path, "w") as archive:
    ...     archive.writestr("holiday.jpg", b"")
    >>> collect_submissions(open_course("tests/files/toy_course", "toy"), zip_path)
    Traceback (most recent call last):
    ...
    autograder.canvas.CanvasFormatError: ...
    """
    entries, unreadable = canvas.read_submissions_zip(zip_path)
    roster = canvas.read_roster(roster_path) if roster_path else None
    if not course.released_notebooks():
        ensure_assignment_ready(course)
    released = course.released_notebooks()
    released_ids = course.released_cell_ids()
    with zipfile.ZipFile(zip_path) as archive:
        by_name = {}
        for info in archive.infolist():
            by_name.setdefault(info.filename.rsplit("/", 1)[-1], info.filename)

        def grade_ids_of(entry):
            try:
                return cell_ids_in_text(archive.read(by_name[entry.entry_name]).decode("utf-8"))
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
            folder = course.submission_folder(student.student_id)
            lost = [name for name in student.saved.values() if not (folder / name).is_file()]
            if lost:
                raise CourseSetupError(f"nbgrader did not collect {', '.join(lost)} for "
                                       f"{student.student_id}; log:\n{result.get('log', '')}")
        register_students(course, report.collected)
    record = read_record(course, COLLECT_RECORD)
    record.setdefault("students", {})
    for student in students.values():
        record["students"][student.student_id] = asdict(student)
    record["assignment"] = course.assignment
    report.record_path = write_record(course, COLLECT_RECORD, record)
    return report
