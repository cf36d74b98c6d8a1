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

import io
import os
import shutil
import zipfile
from dataclasses import asdict, dataclass, field, replace
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
        group_name: The squeezed name the zip gives instead of the student's
            (a group submission), when a roster shows the difference.
        test_student: True for Canvas' Test Student (not collected).
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
    group_name: str = ""
    test_student: bool = False

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


def names_of(entry):
    """The lower-case names an uploaded notebook may stand for (with and without -N)."""
    name = canvas.notebook_name(entry.filename).lower()
    return {name, canvas.original_filename(name)}


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
    # The released name (in any letter case, Safari's .txt removed), with or
    # without Canvas' resubmission counter; of several such uploads the
    # newest (highest attachment id) wins.
    matched = {}
    for name in released:
        candidates = [entry for entry in notebooks if entry not in matched.values()
                      and name.lower() in names_of(entry)]
        if candidates:
            matched[name] = max(candidates, key=_attachment_order)
            for older in candidates:
                if older is not matched[name]:
                    student.skipped[older.entry_name] = (
                        f"older upload of {name} ({older.filename}): newest kept")
                    notebooks.remove(older)
    for entry in entries:
        if entry.unpacked_from:
            student.notes.append(f"{entry.filename} unpacked from {entry.unpacked_from}")
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
        keep_as = canvas.original_filename(canvas.notebook_name(entry.filename))
        if keep_as in used:
            keep_as = canvas.notebook_name(entry.filename)
        if keep_as in used:
            student.skipped[entry.entry_name] = f"older upload of {keep_as}: newest kept"
            continue
        used.add(keep_as)
        student.saved[entry.entry_name] = keep_as
        student.notes.append(f"extra notebook {entry.filename} kept (not graded)")
    for name in missing:
        student.notes.append(f"no {name} submitted")


def plan_collection(entries, released, released_ids, grade_ids_of, roster=None,
                    include_test_student=False):
    """Plan a whole zip: per-student saved names, skips and notes.

    Args:
        entries: Every decoded `SubmissionEntry` of the zip.
        released: Released notebook names.
        released_ids: Released name -> grade ids.
        grade_ids_of: Function entry -> grade ids of that notebook (or None).
        roster: Optional `canvas.Roster` for names and sections.
        include_test_student: Collect Canvas' Test Student too.

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
        person = people.get(student_id)
        if roster is not None:
            if person is None:
                student.on_roster = False
                student.notes.append("anonymous submission: not on the roster"
                                     if own[0].anonymous else "not on the roster")
            else:
                student.name, student.section = person.name, person.section
                if (own[0].sortable_name
                        and own[0].sortable_name != canvas.squeeze_sortable_name(person.name)):
                    student.group_name = own[0].sortable_name
                    student.notes.append(
                        f"named {own[0].sortable_name!r} in the zip, not after the student: "
                        "a group submission? `course export --groups` gives every member "
                        "its score")
        if not include_test_student and is_test_student(own[0], person, roster):
            student.test_student = True
            for entry in own:
                student.skipped[entry.entry_name] = (
                    "Canvas' Test Student (Student View): not collected "
                    "(--include-test-student collects it)")
        else:
            plan_student(student, own, released, released_ids, grade_ids_of)
        students[student_id] = student
    return students


def is_test_student(entry, person, roster):
    """Canvas' Student View user: "studenttest" in the zip, and so on the roster if given."""
    if entry.sortable_name != canvas.squeeze_sortable_name(canvas.TEST_STUDENT_NAME):
        return False
    return roster is None or (person is not None and person.is_test_student)


# --------------------------------------------------------------------------
# Running nbgrader's zip_collect
# --------------------------------------------------------------------------

def run_zip_collect(course, zip_path, saved_names):
    """Run nbgrader's `ZipCollectApp` with the Canvas plugin over one zip.

    The zip is copied to `downloaded/<assignment>/archive/` (replacing any
    earlier one) and extracted next to it; each planned file lands in
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


def staged_zip(path, students, read_entry):
    """Write the zip nbgrader collects: each planned notebook under a clean name.

    nbgrader keeps the extension of the extracted file and cannot look into a
    zip inside the zip, so `Project1.IPYNB`, Safari's `.ipynb.txt`, names in
    decomposed Unicode and zipped notebooks would be lost or mis-named. The
    staged zip holds every planned file once, named the way Canvas names
    entries but with the name it is saved under.

    Args:
        path: The zip to write.
        students: The planned `StudentCollection`s.
        read_entry: Function entry name -> bytes.

    Returns:
        Staged entry name -> file name in `submitted/`, for the plugin.
    """
    saved_names = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for student in students:
            for index, (entry_name, saved) in enumerate(sorted(student.saved.items())):
                staged = canvas.entry_name_for(student.sortable_name or "student",
                                               student.student_id, str(index), saved)
                archive.writestr(staged, read_entry(entry_name))
                saved_names[staged] = saved
    return saved_names


def unpack_zipped_notebooks(archive, entries):
    """Replace each uploaded zip by the notebooks inside it.

    Returns:
        `(entries, contents, skipped)`: the entry list with inner notebooks in
        place of their zip (named `<zip entry>/<inner name>`; a zip without
        any stays), inner entry name -> bytes, and zip entry -> why it gave
        nothing.
    """
    expanded, contents, skipped = [], {}, {}
    for entry in entries:
        if not entry.is_zip:
            expanded.append(entry)
            continue
        try:
            with zipfile.ZipFile(io.BytesIO(archive.read(entry.zip_path))) as inner:
                names = [info.filename for info in inner.infolist() if not info.is_dir()
                         and not info.filename.startswith("__MACOSX/")
                         and canvas.notebook_name(info.filename.rsplit("/", 1)[-1])]
                for name in names:
                    inner_entry = replace(entry, entry_name=f"{entry.entry_name}/{name}",
                                          filename=name.rsplit("/", 1)[-1],
                                          unpacked_from=entry.filename)
                    contents[inner_entry.entry_name] = inner.read(name)
                    expanded.append(inner_entry)
        except zipfile.BadZipFile:
            skipped[entry.entry_name] = f"{entry.filename} is not a readable zip: ignored"
            expanded.append(entry)
            continue
        if not names:
            skipped[entry.entry_name] = f"{entry.filename} holds no notebook: ignored"
            expanded.append(entry)
    return expanded, contents, skipped


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


def collect_submissions(course, zip_path, roster_path=None, include_test_student=False):
    """Turn a Canvas submissions zip into nbgrader's `submitted/` folders.

    Everything is checked before anything is written: the zip must be a
    Canvas download of this assignment, the roster (when given) a Canvas
    gradebook export, the assignment released. A second zip (a late upload)
    adds its students and replaces only their files.

    Args:
        course: The `Course` seen through the assignment (see `open_course`).
        zip_path: The "Download Submissions" zip.
        roster_path: Optional Canvas gradebook export, for names and sections.
        include_test_student: Collect Canvas' Test Student (Student View) too.

    Returns:
        A `CollectReport`; its record is also written to
        `downloaded/<assignment>/collect.json` (merged with earlier
        collections, so a partial download never forgets anyone).

    Raises:
        canvas.CanvasFormatError: the zip or roster is not in Canvas' format.
        CourseSetupError: the assignment is not released, the zip holds
            another assignment, or nbgrader failed.

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
        entries, inner_contents, bad_zips = unpack_zipped_notebooks(archive, entries)
        by_name = {entry.entry_name: entry.zip_path for entry in entries}

        def read_entry(entry_name):
            if entry_name in inner_contents:
                return inner_contents[entry_name]
            return archive.read(by_name[entry_name])

        def grade_ids_of(entry):
            try:
                return cell_ids_in_text(read_entry(entry.entry_name).decode("utf-8"))
            except (KeyError, UnicodeDecodeError):
                return None

        students = plan_collection(entries, released, released_ids, grade_ids_of, roster,
                                   include_test_student)
        for entry_name, why in bad_zips.items():
            student = students[canvas.parse_entry_name(entry_name).student_id]
            if entry_name in student.skipped:
                student.skipped[entry_name] = why
        refuse_another_assignment(course, students, entries, grade_ids_of)
        report = CollectReport(course.assignment, students,
                               [(name, "not named like a Canvas submission")
                                for name in unreadable], released)
        if report.collected:
            staging = course.working_folder / "staging"
            staging.mkdir(parents=True, exist_ok=True)
            staged = staging / "canvas_submissions.zip"
            saved_names = staged_zip(staged, report.collected, read_entry)
    if report.collected:
        try:
            result = run_zip_collect(course, staged, saved_names)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
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


def refuse_another_assignment(course, students, entries, grade_ids_of):
    """Stop before writing when the zip's notebooks belong to another assignment.

    Raises:
        CourseSetupError: the zip holds notebooks but no student's notebook
            is this assignment's; the message names the assignment whose
            graded cells or file names they carry, when the course has it.
    """
    notebooks = [entry for entry in entries if entry.is_notebook]
    released = set(course.released_notebooks())
    if not notebooks or any(set(student.saved.values()) & released
                            for student in students.values()):
        return
    names = sorted({canvas.original_filename(canvas.notebook_name(entry.filename))
                    for entry in notebooks})
    found_ids = set().union(*(grade_ids_of(entry) or set() for entry in notebooks))
    likely = []
    for other in course.assignments():
        if other == course.assignment:
            continue
        other_names = {path.name for path in course.notebooks(other)}
        other_ids = set().union(*(cell_ids_in_text(path.read_text()) or set()
                                  for path in course.notebooks(other)))
        if other_names & set(names) or other_ids & found_ids:
            likely.append(other)
    guess = (f" They look like {' or '.join(repr(name) for name in likely)}: collect it "
             f"with `course collect {likely[0]} <zip>`." if likely else "")
    raise CourseSetupError(
        f"this zip holds no {', '.join(sorted(released))} from any student (its notebooks: "
        f"{', '.join(names[:5])}{' ...' if len(names) > 5 else ''}), so it is not the "
        f"download of {course.assignment!r}.{guess} Otherwise download the submissions of "
        f"{course.assignment!r} from Canvas. Nothing was written.")
