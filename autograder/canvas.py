"""Canvas file formats: the submissions zip and the gradebook CSV.

Pure functions over names, rows and files; nothing here knows about nbgrader.

Three formats meet here:

* A "Download Submissions" zip. Canvas names every entry
  `{sortablename}[_LATE]_{user_id}_{attachment_id}_{filename}`: the sortable
  name ("Bitdiddle, Ben") lowercased with every non-word character removed
  ("bitdiddleben"). Under anonymous grading the name is left out and the id is
  `anon_{anonymous_id}`, so entries read `[LATE_]anon_{id}_{attachment_id}_{filename}`.
  Canvas renames a file uploaded twice under one name `hw-1.ipynb`, `hw-2.ipynb`.
  Older Canvas versions wrote the late marker in lower case.
* A gradebook export ("Export Entire Gradebook"): a header row
  `Student, ID, SIS User ID, SIS Login ID, [Integration ID,] Section, <Title (id)>...`,
  then a `    Points Possible` row and sometimes further rows without a student
  (manual posting / muted / read-only markers), then one row per student.
* A gradebook import: the same shape with only the columns to change. Canvas
  matches students by ID first (then SIS User ID, then SIS Login ID), treats a
  blank score as "no change" and creates a NEW assignment for any column it
  does not recognise, which is why an export must reuse the exact
  `Title (id)` header from the instructor's export.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

LATE_MARKERS = ("LATE", "late")
NAMED_ENTRY = re.compile(
    r"^(?P<name>\w+?)(?:_(?P<late>LATE|late))?_(?P<user_id>\d+)"
    r"_(?P<attachment_id>\d+)_(?P<filename>.+)$")
ANONYMOUS_ENTRY = re.compile(
    r"^(?:(?P<late>LATE|late)_)?anon_(?P<anonymous_id>[A-Za-z0-9]+)"
    r"_(?P<attachment_id>\d+)_(?P<filename>.+)$")
# Text and URL submissions carry no attachment id: `name_123_text.html`.
TEXT_ENTRY = re.compile(
    r"^(?:(?P<name>\w+?)_)?(?:(?P<late>LATE|late)_)?(?P<user_id>\d+|anon_[A-Za-z0-9]+)"
    r"_(?P<kind>text|link)\.html$")
RESUBMISSION_SUFFIX = re.compile(r"^(?P<stem>.+?)(?:-\d+| \(\d+\))(?P<ext>\.[^.]+)$")
ASSIGNMENT_HEADER = re.compile(r"^(?P<title>.*\S)\s*\((?P<assignment_id>\d+)\)$")

STUDENT = "Student"
CANVAS_ID = "ID"
SIS_USER_ID = "SIS User ID"
SIS_LOGIN_ID = "SIS Login ID"
INTEGRATION_ID = "Integration ID"
SECTION = "Section"
IDENTITY_COLUMNS = (STUDENT, CANVAS_ID, SIS_USER_ID, SIS_LOGIN_ID, INTEGRATION_ID, SECTION)
REQUIRED_IMPORT_COLUMNS = (STUDENT, CANVAS_ID, SECTION)
POINTS_POSSIBLE = "Points Possible"
POINTS_POSSIBLE_CELL = "    Points Possible"
# Calculated columns Canvas exports and ignores on import.
READ_ONLY_SUFFIXES = ("Current Score", "Unposted Current Score", "Final Score",
                      "Unposted Final Score", "Current Points", "Unposted Current Points",
                      "Final Points", "Unposted Final Points", "Current Grade",
                      "Unposted Current Grade", "Final Grade", "Unposted Final Grade",
                      "Override Score", "Override Grade")
NOTEBOOK_SUFFIX = ".ipynb"


class CanvasFormatError(ValueError):
    """A file is not in the Canvas format it should be in (message says how to fix)."""


# --------------------------------------------------------------------------
# Submissions zip
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class SubmissionEntry:
    """One file of a Canvas submissions zip, decoded from its name.

    Args:
        entry_name: The name inside the zip (without folders).
        student_id: The Canvas user id ("4821"), or "anon_<id>" under
            anonymous grading.
        sortable_name: The squeezed sortable name ("bitdiddleben"); empty
            under anonymous grading.
        attachment_id: Canvas' id of the uploaded file ("" for text entries).
        late: Whether Canvas marked the submission late.
        filename: The file name as uploaded (after Canvas' own renaming, so
            possibly "hw-1.ipynb").
    """

    entry_name: str
    student_id: str
    sortable_name: str
    attachment_id: str
    late: bool
    filename: str

    @property
    def anonymous(self):
        return self.student_id.startswith("anon_")

    @property
    def is_notebook(self):
        return self.filename.lower().endswith(NOTEBOOK_SUFFIX)


def parse_entry_name(entry_name):
    """Decode a Canvas submissions-zip entry name.

    Folders in front of the name are ignored (a re-zipped download keeps
    them). Anonymous entries are recognised when the anonymous id holds a
    letter or the entry starts with the late marker; an all-digit id after
    `anon_` is read as a student whose sortable name is "anon".

    Args:
        entry_name: e.g. "bitdiddleben_LATE_4821_99120_project1-1.ipynb".

    Returns:
        A `SubmissionEntry`, or None when the name is not in Canvas' format.

    Example:

    >>> entry = parse_entry_name("bitdiddleben_LATE_4821_99120_project1-1.ipynb")
    >>> entry.student_id, entry.late, entry.filename
    ('4821', True, 'project1-1.ipynb')
    """
    name = entry_name.replace("\\", "/").rsplit("/", 1)[-1]
    match = ANONYMOUS_ENTRY.match(name)
    if match and (match["late"] or not match["anonymous_id"].isdigit()):
        return SubmissionEntry(name, f"anon_{match['anonymous_id']}", "",
                               match["attachment_id"], bool(match["late"]),
                               match["filename"])
    match = NAMED_ENTRY.match(name)
    if match:
        return SubmissionEntry(name, match["user_id"], match["name"],
                               match["attachment_id"], bool(match["late"]),
                               match["filename"])
    match = TEXT_ENTRY.match(name)
    if match:
        return SubmissionEntry(name, match["user_id"], match["name"] or "", "",
                               bool(match["late"]), f"{match['kind']}.html")
    return None


def original_filename(filename):
    """Strip the counter Canvas or a browser adds to a repeated file name.

    Example:

    >>> original_filename("project1-2.ipynb"), original_filename("project1 (1).ipynb")
    ('project1.ipynb', 'project1.ipynb')
    """
    match = RESUBMISSION_SUFFIX.match(filename)
    return f"{match['stem']}{match['ext']}" if match else filename


def squeeze_sortable_name(sortable_name):
    """Canvas' zip spelling of a sortable name: lower case, word characters only.

    Example:

    >>> squeeze_sortable_name("O'Neil, Ana-Maria")
    'oneilanamaria'
    """
    squeezed = re.sub(r"_(\d+)_", r"\1", sortable_name)
    return re.sub(r"[^\w]", "", squeezed).lower()


def entry_name_for(sortable_name, student_id, attachment_id, filename, late=False):
    """The zip entry name Canvas writes for one uploaded file (inverse of `parse_entry_name`).

    Args:
        sortable_name: "Last, First" (ignored for anonymous ids).
        student_id: Canvas user id, or "anon_<id>".
        attachment_id: Canvas' file id.
        filename: The uploaded file's name.
        late: Whether the submission is late.

    Example:

    >>> entry_name_for("Bitdiddle, Ben", "4821", "99120", "project1.ipynb", late=True)
    'bitdiddleben_LATE_4821_99120_project1.ipynb'
    """
    anonymous = str(student_id).startswith("anon_")
    parts = [] if anonymous else [squeeze_sortable_name(sortable_name)]
    if late:
        parts.append("LATE")
    parts.append(str(student_id))
    prefix = re.sub(r"[^\w]", "", "_".join(parts))
    safe_filename = re.sub(r'[\x00/\\:*?"<>|]+', "_", filename)
    return f"{prefix}_{attachment_id}_{safe_filename}"


def read_submissions_zip(zip_path):
    """List and decode the entries of a Canvas submissions zip.

    Args:
        zip_path: The downloaded zip.

    Returns:
        `(entries, unreadable)`: the decoded `SubmissionEntry` list and the
        entry names that are not in Canvas' format (folders and macOS
        `__MACOSX` metadata are dropped silently).

    Raises:
        CanvasFormatError: the file is missing, not a zip, empty, or none of
            its entries is named the way Canvas names submissions.
    """
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        raise CanvasFormatError(f"{zip_path} does not exist. Pass the zip that Canvas' "
                                "'Download Submissions' produced.")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile:
        raise CanvasFormatError(
            f"{zip_path} is not a zip file. Download the submissions from Canvas "
            "(Assignment > Download Submissions) and pass that zip.") from None
    names = [name for name in names
             if not name.startswith("__MACOSX/") and not name.rsplit("/", 1)[-1].startswith(".")]
    if not names:
        raise CanvasFormatError(f"{zip_path} is empty: there are no submissions to collect.")
    entries, unreadable = [], []
    for name in names:
        entry = parse_entry_name(name)
        if entry is None:
            unreadable.append(name)
        else:
            entries.append(entry)
    if not entries:
        examples = ", ".join(unreadable[:3])
        raise CanvasFormatError(
            f"{zip_path} is not a Canvas submissions zip: none of its {len(names)} "
            f"files is named like 'lastfirst_<user id>_<file id>_<name>' "
            f"(found {examples}). Use the zip from Canvas' 'Download Submissions'.")
    return entries, unreadable


# --------------------------------------------------------------------------
# Gradebook export (the roster) and import
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class RosterStudent:
    """One student row of a Canvas gradebook export.

    Args:
        name: The "Student" cell, normally "Last, First".
        canvas_id: Canvas user id (the "ID" column).
        sis_user_id, sis_login_id, integration_id: Identity cells ("" if absent).
        section: The "Section" cell.
    """

    name: str
    canvas_id: str
    sis_user_id: str = ""
    sis_login_id: str = ""
    integration_id: str = ""
    section: str = ""

    @property
    def last_name(self):
        return self.name.split(",", 1)[0].strip() if "," in self.name else self.name.strip()

    @property
    def first_name(self):
        return self.name.split(",", 1)[1].strip() if "," in self.name else ""

    def identity_cells(self):
        """Cell values keyed by identity column name."""
        return {STUDENT: self.name, CANVAS_ID: self.canvas_id,
                SIS_USER_ID: self.sis_user_id, SIS_LOGIN_ID: self.sis_login_id,
                INTEGRATION_ID: self.integration_id, SECTION: self.section}


@dataclass(frozen=True)
class AssignmentColumn:
    """An assignment column of a gradebook export: `Title (id)`."""

    header: str
    title: str
    assignment_id: str
    points_possible: str = ""


@dataclass
class Roster:
    """A parsed Canvas gradebook export.

    Args:
        header: The header row as written.
        students: `RosterStudent` rows in file order.
        assignment_columns: Every `Title (id)` column.
    """

    header: list
    students: list
    assignment_columns: list = field(default_factory=list)

    @property
    def identity_columns(self):
        """The identity columns present, in the file's order."""
        return [column for column in self.header if column in IDENTITY_COLUMNS]

    def by_id(self):
        return {student.canvas_id: student for student in self.students}


def _read_rows(path, what):
    path = Path(path)
    if not path.is_file():
        raise CanvasFormatError(f"{path} does not exist. Pass the CSV from Canvas' "
                                f"Grades > Export > Export Entire Gradebook ({what}).")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    return list(csv.reader(io.StringIO(text)))


def _find_header(rows, path):
    for index, row in enumerate(rows):
        cells = [cell.strip() for cell in row]
        if cells and cells[0] == STUDENT and CANVAS_ID in cells:
            return index, cells
    raise CanvasFormatError(
        f"{path} is not a Canvas gradebook export: no header row starting with "
        f"'{STUDENT}' and holding an '{CANVAS_ID}' column. Export it from Canvas "
        "(Grades > Export > Export Entire Gradebook) and pass that file unchanged.")


def is_points_possible_row(row):
    return bool(row) and row[0].strip() == POINTS_POSSIBLE


def read_roster(path):
    """Read a Canvas gradebook export (the class roster with its columns).

    Rows after the header that do not hold a numeric Canvas ID (the
    `Points Possible` row, manual-posting or muted markers, read-only rows)
    are not students; the points-possible cells are kept on the assignment
    columns.

    Args:
        path: The exported CSV.

    Returns:
        A `Roster`.

    Raises:
        CanvasFormatError: missing file, no header, missing Section column,
            no student rows, duplicate IDs.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "canvas_export.csv"
    >>> _ = path.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Project1 (901)\\n"
    ...                     "    Points Possible,,,,,14\\n"
    ...                     '"Bitdiddle, Ben",4821,S1,ben,A,\\n')
    >>> roster = read_roster(path)
    >>> [column.header for column in roster.assignment_columns]
    ['Project1 (901)']
    >>> roster.students[0].name, roster.assignment_columns[0].points_possible
    ('Bitdiddle, Ben', '14')
    """
    rows = _read_rows(path, "the roster")
    header_index, header = _find_header(rows, path)
    column = {name: position for position, name in enumerate(header)}
    if SECTION not in column:
        raise CanvasFormatError(
            f"{path} has no '{SECTION}' column. Export the entire gradebook from Canvas "
            "without removing columns.")
    points = {}
    students = []
    seen = set()

    def cell(row, name):
        position = column.get(name)
        return row[position].strip() if position is not None and position < len(row) else ""

    for row in rows[header_index + 1:]:
        if not any(cell_text.strip() for cell_text in row):
            continue
        if is_points_possible_row(row):
            points = {name: row[position].strip() for name, position in column.items()
                      if position < len(row)}
            continue
        canvas_id = cell(row, CANVAS_ID)
        if not canvas_id.isdigit():
            continue  # muted / manual posting / read-only marker rows
        if canvas_id in seen:
            raise CanvasFormatError(f"{path} lists Canvas ID {canvas_id} twice. "
                                    "Export the gradebook again from Canvas.")
        seen.add(canvas_id)
        students.append(RosterStudent(
            name=cell(row, STUDENT), canvas_id=canvas_id,
            sis_user_id=cell(row, SIS_USER_ID), sis_login_id=cell(row, SIS_LOGIN_ID),
            integration_id=cell(row, INTEGRATION_ID), section=cell(row, SECTION)))
    if not students:
        raise CanvasFormatError(f"{path} has a header but no student rows. Export the "
                                "gradebook again from Canvas after students have enrolled.")
    assignment_columns = []
    for name in header:
        match = ASSIGNMENT_HEADER.match(name)
        if match and name not in IDENTITY_COLUMNS:
            assignment_columns.append(AssignmentColumn(
                name, match["title"], match["assignment_id"], points.get(name, "")))
    return Roster(header=header, students=students, assignment_columns=assignment_columns)


def _squeeze(text):
    return re.sub(r"[\W_]+", "", text).lower()


def find_assignment_column(roster, assignment, column=None):
    """Pick the roster column that holds an nbgrader assignment's grades.

    Args:
        roster: A `Roster`.
        assignment: The nbgrader assignment id, e.g. "project1"; matched
            against the column titles ignoring case, spaces and punctuation
            ("project1" matches "Project 1: Neural nets (48213)").
        column: An exact `Title (id)` header that overrides the matching.

    Returns:
        The `AssignmentColumn`.

    Raises:
        CanvasFormatError: no column or several columns match; the message
            lists the candidates and how to choose with `--column`.
    """
    columns = roster.assignment_columns
    listing = "; ".join(f'"{item.header}"' for item in columns) or "none"
    if column is not None:
        for item in columns:
            if item.header == column.strip():
                return item
        raise CanvasFormatError(
            f'the roster has no column "{column}". Assignment columns: {listing}. '
            "Copy the header exactly, including the (id).")
    wanted = _squeeze(assignment)
    matches = [item for item in columns if wanted and wanted in _squeeze(item.title)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CanvasFormatError(
            f'no roster column title contains "{assignment}". Assignment columns: '
            f'{listing}. Choose one with --column "Title (id)" (create the assignment '
            "in Canvas first if it is missing).")
    candidates = "; ".join(f'"{item.header}"' for item in matches)
    raise CanvasFormatError(
        f'several roster columns match "{assignment}": {candidates}. Choose one with '
        '--column "Title (id)".')


def format_score(score):
    """A score as Canvas shows it: at most two decimals, no trailing zeros.

    Example:

    >>> format_score(2.5), format_score(3.0), format_score(None)
    ('2.5', '3', '')
    """
    if score is None:
        return ""
    text = f"{float(score):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def write_gradebook_import(path, roster, column, points_possible, scores):
    """Write a CSV Canvas' gradebook import accepts, for one assignment column.

    Args:
        path: Where to write.
        roster: The `Roster` the identity cells come from.
        column: The `AssignmentColumn` (its exact header is reused, so Canvas
            updates that assignment instead of creating a new one).
        points_possible: Points possible written on the `Points Possible` row.
        scores: Canvas ID -> score (a number, or None for a blank cell, which
            Canvas reads as "leave unchanged"). Students missing from the
            mapping get a blank cell.

    Returns:
        The path written.
    """
    identity = [name for name in (STUDENT, CANVAS_ID, SIS_USER_ID, SIS_LOGIN_ID,
                                  INTEGRATION_ID, SECTION)
                if name != INTEGRATION_ID or name in roster.header]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*identity, column.header])
        writer.writerow([POINTS_POSSIBLE_CELL, *[""] * (len(identity) - 1),
                         format_score(points_possible)])
        for student in roster.students:
            cells = student.identity_cells()
            writer.writerow([*(cells[name] for name in identity),
                             format_score(scores.get(student.canvas_id))])
    return path


@dataclass
class ImportPreview:
    """What Canvas would do with a gradebook import CSV.

    Args:
        columns: Assignment columns that update an existing assignment
            (`AssignmentColumn` with its points possible).
        new_assignments: Headers Canvas would turn into NEW assignments.
        grades: Canvas ID -> {column header: score text} for non-blank cells.
        unmatched: Rows whose student matched nobody on the roster.
    """

    columns: list
    new_assignments: list
    grades: dict
    unmatched: list


def preview_gradebook_import(path, roster):
    """Read an import CSV the way Canvas' gradebook importer does.

    Canvas finds the header row, ignores identity and calculated columns,
    reads the `Points Possible` row, matches each student by ID, then SIS User
    ID, then SIS Login ID, treats blank cells as "no change" and accepts
    numbers or "EX" (excused). Columns it does not know become new
    assignments.

    Args:
        path: The CSV to check.
        roster: The `Roster` of the course (stands for Canvas' enrolments).

    Returns:
        An `ImportPreview`.

    Raises:
        CanvasFormatError: a required column is missing or a score is not a
            number.
    """
    rows = _read_rows(path, "the import file")
    header_index, header = _find_header(rows, path)
    missing = [name for name in REQUIRED_IMPORT_COLUMNS if name not in header]
    if missing:
        raise CanvasFormatError(f"{path} lacks the column(s) {', '.join(missing)} "
                                "that Canvas needs to match students.")
    by_canvas_id = roster.by_id()
    by_sis = {student.sis_user_id: student for student in roster.students if student.sis_user_id}
    by_login = {student.sis_login_id: student for student in roster.students
                if student.sis_login_id}
    grade_columns = [name for name in header
                     if name not in IDENTITY_COLUMNS and name
                     and not name.endswith(READ_ONLY_SUFFIXES)]
    points = {}
    grades, unmatched = {}, []
    for row in rows[header_index + 1:]:
        if not any(cell.strip() for cell in row):
            continue
        values = dict(zip(header, (cell.strip() for cell in row)))
        if is_points_possible_row(row):
            points = values
            continue
        student = (by_canvas_id.get(values.get(CANVAS_ID, ""))
                   or by_sis.get(values.get(SIS_USER_ID, ""))
                   or by_login.get(values.get(SIS_LOGIN_ID, "")))
        if student is None:
            unmatched.append(values.get(STUDENT, "") or values.get(CANVAS_ID, ""))
            continue
        for name in grade_columns:
            value = values.get(name, "")
            if value == "":
                continue
            if value.upper() != "EX":
                try:
                    float(value)
                except ValueError:
                    raise CanvasFormatError(
                        f'{path}: "{value}" for {student.name} in "{name}" is not a '
                        "score; Canvas accepts numbers, EX or a blank cell.") from None
            grades.setdefault(student.canvas_id, {})[name] = value
    columns, new_assignments = [], []
    for name in grade_columns:
        match = ASSIGNMENT_HEADER.match(name)
        if match:
            columns.append(AssignmentColumn(name, match["title"], match["assignment_id"],
                                            points.get(name, "")))
        else:
            new_assignments.append(name)
    return ImportPreview(columns=columns, new_assignments=new_assignments,
                         grades=grades, unmatched=unmatched)


def write_roster(path, students, assignment_columns, extra_rows=()):
    """Write a CSV shaped like Canvas' gradebook export (for demos and tests).

    Args:
        path: Where to write.
        students: `RosterStudent` rows.
        assignment_columns: `AssignmentColumn`s (their points possible go on
            the `Points Possible` row).
        extra_rows: Rows of cells (without the identity part) placed after
            the points row, like Canvas' manual-posting marker row.

    Returns:
        The path written.
    """
    identity = [STUDENT, CANVAS_ID, SIS_USER_ID, SIS_LOGIN_ID, SECTION]
    calculated = ["Current Score", "Unposted Current Score", "Final Score",
                  "Unposted Final Score"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow([*identity, *(column.header for column in assignment_columns),
                         *calculated])
        writer.writerow([POINTS_POSSIBLE_CELL, "", "", "", "",
                         *(column.points_possible for column in assignment_columns),
                         *["(read only)"] * len(calculated)])
        for extra in extra_rows:
            writer.writerow(["", "", "", "", "", *extra])
        for student in students:
            cells = student.identity_cells()
            writer.writerow([*(cells[name] for name in identity),
                             *[""] * len(assignment_columns), *[""] * len(calculated)])
    return path
