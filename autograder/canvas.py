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
* A gradebook export ("Export Entire Gradebook", Canvas' `GradebookExporter`):
  a header row `Student, ID, [SIS User ID,] SIS Login ID, [Integration ID,]
  [Root Account,] Section, <Title (id)>...` (with the split-names option the
  first column is replaced by `LastName, FirstName`), then sometimes a
  `Manual Posting` marker row, a `    Points Possible` row, then one row per
  student, the Test Student (Student View) last. Its dialect depends on the
  user's settings (Canvas' `CsvWithI18n`): comma-separated with a decimal
  point by default; semicolon-separated when the user asks for it or when
  the locale writes decimal commas ("8,5"); a byte order mark on request.
  An excused score reads `EX`.
* A gradebook import (`GradebookImporter`): the same shape with only the
  columns to change. Canvas picks the separator (`;` or `,`) that splits the
  first lines into the most and equally many fields, reads "8,5" as 8.5,
  matches students by ID first (then SIS User ID, then SIS Login ID), treats
  a blank score as "no change", `EX` as excused, and creates a NEW
  assignment for any column it does not recognise, which is why an export
  must reuse the exact `Title (id)` header from the instructor's export. For
  an existing assignment the `Points Possible` row changes nothing: Canvas
  keeps its own points possible and stores the number imported, so a score
  must be on Canvas' scale.
"""

import csv
import io
import re
import unicodedata
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
LAST_NAME = "LastName"
FIRST_NAME = "FirstName"
CANVAS_ID = "ID"
SIS_USER_ID = "SIS User ID"
SIS_LOGIN_ID = "SIS Login ID"
INTEGRATION_ID = "Integration ID"
ROOT_ACCOUNT = "Root Account"
SECTION = "Section"
IDENTITY_COLUMNS = (STUDENT, LAST_NAME, FIRST_NAME, CANVAS_ID, SIS_USER_ID, SIS_LOGIN_ID,
                    INTEGRATION_ID, ROOT_ACCOUNT, SECTION)
NAME_COLUMNS = (STUDENT, LAST_NAME)
POINTS_POSSIBLE = "Points Possible"
POINTS_POSSIBLE_CELL = "    Points Possible"
EXCUSED = "EX"
# Canvas' Student View user, exported last under this sortable name.
TEST_STUDENT_NAME = "Student, Test"
# Calculated columns Canvas exports and ignores on import: its importer drops
# every header that contains one of these words (so "Unposted Final Score"
# and "Homework Current Points" too).
CALCULATED_COLUMN_WORDS = ("Current Score", "Current Points", "Current Grade", "Final Score",
                           "Final Points", "Final Grade", "Override Score", "Override Grade",
                           "Override Status")
NOTEBOOK_SUFFIX = ".ipynb"
# Safari saves a notebook opened in the browser as "name.ipynb.txt".
SAFARI_SUFFIX = ".ipynb.txt"
ZIP_SUFFIX = ".zip"
# What Canvas' importer reads as a number ("8,50", "1.234,5", "-3"), before it
# turns the last separator into a decimal point.
CANVAS_NUMBER = re.compile(r"^-?[0-9.,]+%?$")


class CanvasFormatError(ValueError):
    """A file is not in the Canvas format it should be in (message says how to fix)."""


# --------------------------------------------------------------------------
# CSV dialects and numbers
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class CsvDialect:
    """How a Canvas gradebook CSV is written: separator, decimal mark, BOM.

    Args:
        delimiter: "," or ";".
        decimal_separator: "." or ",".
        byte_order_mark: Whether the file starts with a UTF-8 byte order mark.
    """

    delimiter: str = ","
    decimal_separator: str = "."
    byte_order_mark: bool = False

    def format_number(self, score):
        """A score in this dialect (see `format_score`); "" for None.

        Example:

        >>> CsvDialect(";", ",").format_number(8.5), CsvDialect().format_number(8.5)
        ('8,5', '8.5')
        """
        return format_score(score).replace(".", self.decimal_separator)

    def describe(self):
        names = {",": "comma", ";": "semicolon"}
        return (f"{names[self.delimiter]}-separated, decimal "
                f"{'comma' if self.decimal_separator == ',' else 'point'}")


def _field_count(lines, delimiter):
    """Fields per line when every line splits into equally many, else 0.

    A separator the header does not use at all counts 0 too (a short hand
    edited row must not make a comma file read as one column of `;`).
    """
    try:
        rows = list(csv.reader(lines, delimiter=delimiter))
    except csv.Error:
        return 0
    counts = {len(row) for row in rows}
    if not rows or len(rows[0]) < 2:
        return 0
    return counts.pop() if len(counts) == 1 else 0


def detect_dialect(text):
    """The dialect of a gradebook CSV, decided the way Canvas' importer decides.

    The separator is the one of `;` and `,` that splits the first three lines
    into more fields, equally many on each line (Canvas' `identify_delimiter`);
    ties go to the comma. The decimal mark is a comma when a number cell is
    written with one ("8,5"), or when the file is semicolon-separated and no
    number shows a decimal point (Canvas only picks the semicolon by itself
    for locales that write decimal commas).

    Args:
        text: The whole file as text (a leading BOM is noticed and ignored).

    Returns:
        A `CsvDialect`.

    Example:

    >>> detect_dialect('Student;ID;Section;HW (1)\\n    Points Possible;;;12,5\\n')
    CsvDialect(delimiter=';', decimal_separator=',', byte_order_mark=False)
    """
    byte_order_mark = text.startswith("\ufeff")
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    # Canvas looks at the first three lines; a file with a line of its own
    # above the header (a spreadsheet title) is judged from the header on.
    start = next((index for index, line in enumerate(lines)
                  if line.lstrip('"').startswith(NAME_COLUMNS)), 0)
    first = lines[start:start + 3]
    delimiter = ";" if _field_count(first, ";") > _field_count(first, ",") else ","
    commas = points = 0
    for row in csv.reader(text.splitlines(), delimiter=delimiter):
        for cell in row:
            cell = cell.strip()
            if CANVAS_NUMBER.match(cell) and re.search(r"\d", cell):
                commas += bool(re.fullmatch(r"-?\d+,\d{1,2}%?", cell))
                points += bool(re.fullmatch(r"-?\d+\.\d{1,2}%?", cell))
    decimal = "," if commas > points or (delimiter == ";" and not points) else "."
    return CsvDialect(delimiter, decimal, byte_order_mark)


def parse_number(text):
    """A number cell read as Canvas' importer reads it, or None if it is not one.

    Canvas treats the last "," or "." as the decimal mark and drops the
    others ("1.234,5" is 1234.5, "8,50" is 8.5).

    Example:

    >>> parse_number("8,50"), parse_number("1.234,5"), parse_number("14"), parse_number("EX")
    (8.5, 1234.5, 14.0, None)
    """
    text = (text or "").strip().rstrip("%")
    if not text or not CANVAS_NUMBER.match(text) or not re.search(r"\d", text):
        return None
    parts = re.split(r"[,.]", text)
    if len(parts) > 1:
        text = "".join(parts[:-1]) + "." + parts[-1]
    try:
        return float(text)
    except ValueError:
        return None


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
        zip_path: The entry's full name in the zip (folders included, as
            stored); "" when made by hand.
        unpacked_from: For a notebook taken out of an uploaded zip, that
            zip's file name.
    """

    entry_name: str
    student_id: str
    sortable_name: str
    attachment_id: str
    late: bool
    filename: str
    zip_path: str = ""
    unpacked_from: str = ""

    @property
    def anonymous(self):
        return self.student_id.startswith("anon_")

    @property
    def is_notebook(self):
        return notebook_name(self.filename) is not None

    @property
    def is_zip(self):
        return self.filename.lower().endswith(ZIP_SUFFIX)


def notebook_name(filename):
    """The notebook a file name stands for, with a lower-case `.ipynb`; None if none.

    `Project1.IPYNB` is `Project1.ipynb`; Safari's `project1.ipynb.txt` is
    `project1.ipynb`.

    Example:

    >>> notebook_name("Project1.IPYNB"), notebook_name("project1.ipynb.txt"), notebook_name("a.py")
    ('Project1.ipynb', 'project1.ipynb', None)
    """
    lowered = filename.lower()
    for suffix in (NOTEBOOK_SUFFIX, SAFARI_SUFFIX):
        if lowered.endswith(suffix) and len(filename) > len(suffix):
            return filename[:-len(suffix)] + NOTEBOOK_SUFFIX
    return None


def parse_entry_name(entry_name):
    """Decode a Canvas submissions-zip entry name.

    Folders in front of the name are ignored (a re-zipped download keeps
    them). The name is read in Unicode's composed form (NFC): a zip made
    again on a Mac spells "ü" as "u" plus a combining mark. Anonymous entries are recognised when the anonymous id holds a
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
    name = unicodedata.normalize("NFC", entry_name.replace("\\", "/").rsplit("/", 1)[-1])
    match = ANONYMOUS_ENTRY.match(name)
    if match and (match["late"] or not match["anonymous_id"].isdigit()):
        return SubmissionEntry(name, f"anon_{match['anonymous_id']}", "",
                               match["attachment_id"], bool(match["late"]),
                               match["filename"], entry_name)
    match = NAMED_ENTRY.match(name)
    if match:
        return SubmissionEntry(name, match["user_id"], match["name"],
                               match["attachment_id"], bool(match["late"]),
                               match["filename"], entry_name)
    match = TEXT_ENTRY.match(name)
    if match:
        return SubmissionEntry(name, match["user_id"], match["name"] or "", "",
                               bool(match["late"]), f"{match['kind']}.html", entry_name)
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
    squeezed = re.sub(r"_(\d+)_", r"\1", unicodedata.normalize("NFC", sortable_name))
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
        name: The "Student" cell, normally "Last, First" (with split names,
            "LastName, FirstName" joined that way).
        canvas_id: Canvas user id (the "ID" column).
        sis_user_id, sis_login_id, integration_id, root_account: Identity
            cells ("" if absent).
        section: The "Section" cell.
    """

    name: str
    canvas_id: str
    sis_user_id: str = ""
    sis_login_id: str = ""
    integration_id: str = ""
    section: str = ""
    root_account: str = ""

    @property
    def last_name(self):
        return self.name.split(",", 1)[0].strip() if "," in self.name else self.name.strip()

    @property
    def first_name(self):
        return self.name.split(",", 1)[1].strip() if "," in self.name else ""

    @property
    def is_test_student(self):
        """Canvas' Student View user: "Student, Test" without any SIS identity."""
        return (self.name.strip() == TEST_STUDENT_NAME
                and not self.sis_user_id and not self.sis_login_id)

    def identity_cells(self):
        """Cell values keyed by identity column name."""
        return {STUDENT: self.name, LAST_NAME: self.last_name, FIRST_NAME: self.first_name,
                CANVAS_ID: self.canvas_id, SIS_USER_ID: self.sis_user_id,
                SIS_LOGIN_ID: self.sis_login_id, INTEGRATION_ID: self.integration_id,
                ROOT_ACCOUNT: self.root_account, SECTION: self.section}


@dataclass(frozen=True)
class AssignmentColumn:
    """An assignment column of a gradebook export: `Title (id)`."""

    header: str
    title: str
    assignment_id: str
    points_possible: str = ""

    @property
    def points(self):
        """Points possible as a number (None when the row is missing or not a number)."""
        return parse_number(self.points_possible)


@dataclass
class Roster:
    """A parsed Canvas gradebook export.

    Args:
        header: The header row as written.
        students: `RosterStudent` rows in file order (the Test Student too;
            see `RosterStudent.is_test_student`).
        assignment_columns: Every `Title (id)` column.
        dialect: The file's `CsvDialect` (an import is written in it).
        cells: Canvas ID -> {assignment header: cell text} (the grades Canvas
            holds now: "", a number in the file's dialect, "EX" or "N/A").
    """

    header: list
    students: list
    assignment_columns: list = field(default_factory=list)
    dialect: CsvDialect = field(default_factory=CsvDialect)
    cells: dict = field(default_factory=dict)

    @property
    def identity_columns(self):
        """The identity columns present, in the file's order."""
        return [column for column in self.header if column in IDENTITY_COLUMNS]

    def by_id(self):
        return {student.canvas_id: student for student in self.students}


def _read_text(path, what):
    path = Path(path)
    if not path.is_file():
        raise CanvasFormatError(f"{path} does not exist. Pass the CSV from Canvas' "
                                f"Grades > Export > Export Entire Gradebook ({what}).")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_rows(path, what):
    """(rows, dialect) of a gradebook CSV, split the way Canvas splits it."""
    text = _read_text(path, what)
    dialect = detect_dialect(text)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=dialect.delimiter))
    return rows, dialect


def _find_header(rows, path):
    for index, row in enumerate(rows):
        cells = [cell.strip() for cell in row]
        if cells and cells[0] in NAME_COLUMNS and CANVAS_ID in cells:
            if cells[0] == LAST_NAME and (len(cells) < 2 or cells[1] != FIRST_NAME):
                raise CanvasFormatError(
                    f"{path}: a header starting with '{LAST_NAME}' must have "
                    f"'{FIRST_NAME}' second, as Canvas writes it. Export the gradebook "
                    "again without editing its header.")
            return index, cells
    raise CanvasFormatError(
        f"{path} is not a Canvas gradebook export: no header row starting with "
        f"'{STUDENT}' (or '{LAST_NAME}, {FIRST_NAME}') and holding an '{CANVAS_ID}' "
        "column. Export it from Canvas (Grades > Export > Export Entire Gradebook) and "
        "pass that file unchanged.")


def is_points_possible_row(row):
    return bool(row) and POINTS_POSSIBLE in row[0]


def _row_name(values):
    if LAST_NAME in values:
        last, first = values.get(LAST_NAME, ""), values.get(FIRST_NAME, "")
        return f"{last}, {first}" if first else last
    return values.get(STUDENT, "")


def is_calculated_column(header):
    return any(word in header for word in CALCULATED_COLUMN_WORDS)


def read_roster(path):
    """Read a Canvas gradebook export (the class roster with its columns).

    Rows after the header that do not hold a numeric Canvas ID (the
    `Points Possible` row, manual-posting or muted markers, read-only rows)
    are not students; the points-possible cells are kept on the assignment
    columns, the students' current cells in `Roster.cells`. Comma- and
    semicolon-separated files, decimal commas, a byte order mark and the
    `LastName, FirstName` name columns are all read (see `detect_dialect`).

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
    rows, dialect = _read_rows(path, "the roster")
    header_index, header = _find_header(rows, path)
    if SECTION not in header:
        raise CanvasFormatError(
            f"{path} has no '{SECTION}' column. Export the entire gradebook from Canvas "
            "without removing columns.")
    assignment_columns = [name for name in header
                          if name not in IDENTITY_COLUMNS and ASSIGNMENT_HEADER.match(name)
                          and not is_calculated_column(name)]
    points, students, cells, seen = {}, [], {}, set()
    for row in rows[header_index + 1:]:
        if not any(cell_text.strip() for cell_text in row):
            continue
        values = dict(zip(header, (cell_text.strip() for cell_text in row)))
        if is_points_possible_row(row):
            points = values
            continue
        canvas_id = values.get(CANVAS_ID, "")
        if not canvas_id.isdigit():
            continue  # muted / manual posting / read-only marker rows
        if canvas_id in seen:
            raise CanvasFormatError(f"{path} lists Canvas ID {canvas_id} twice. "
                                    "Export the gradebook again from Canvas.")
        seen.add(canvas_id)
        students.append(RosterStudent(
            name=_row_name(values), canvas_id=canvas_id,
            sis_user_id=values.get(SIS_USER_ID, ""), sis_login_id=values.get(SIS_LOGIN_ID, ""),
            integration_id=values.get(INTEGRATION_ID, ""), section=values.get(SECTION, ""),
            root_account=values.get(ROOT_ACCOUNT, "")))
        cells[canvas_id] = {name: values.get(name, "") for name in assignment_columns}
    if not students:
        raise CanvasFormatError(f"{path} has a header but no student rows. Export the "
                                "gradebook again from Canvas after students have enrolled.")
    columns = []
    for name in assignment_columns:
        match = ASSIGNMENT_HEADER.match(name)
        columns.append(AssignmentColumn(name, match["title"], match["assignment_id"],
                                        points.get(name, "")))
    return Roster(header=header, students=students, assignment_columns=columns,
                  dialect=dialect, cells=cells)


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


def _write_csv(path, dialect, rows):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = "utf-8-sig" if dialect.byte_order_mark else "utf-8"
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=dialect.delimiter)
        writer.writerows(rows)
    return path


def write_gradebook_import(path, roster, column, scores, students=None):
    """Write a CSV Canvas' gradebook import accepts, for one assignment column.

    The file has the roster's identity columns in the roster's order (Canvas
    finds the SIS columns by position), the `Points Possible` row with
    Canvas' own points possible for the column, and is written in the
    roster's dialect (separator, decimal mark, byte order mark).

    Args:
        path: Where to write.
        roster: The `Roster` the identity cells and the dialect come from.
        column: The `AssignmentColumn` (its exact header is reused, so Canvas
            updates that assignment instead of creating a new one).
        scores: Canvas ID -> score on Canvas' scale (a number, or None for a
            blank cell, which Canvas reads as "leave unchanged"). Students
            missing from the mapping get a blank cell.
        students: The `RosterStudent` rows to write (default: all).

    Returns:
        The path written.
    """
    identity = roster.identity_columns
    dialect = roster.dialect
    rows = [[*identity, column.header],
            [POINTS_POSSIBLE_CELL, *[""] * (len(identity) - 1), column.points_possible]]
    for student in roster.students if students is None else students:
        cells = student.identity_cells()
        rows.append([*(cells[name] for name in identity),
                     dialect.format_number(scores.get(student.canvas_id))])
    return _write_csv(path, dialect, rows)


@dataclass
class ImportPreview:
    """What Canvas would do with a gradebook import CSV.

    Args:
        columns: Assignment columns that update an existing assignment
            (`AssignmentColumn` with the points possible Canvas keeps: the
            roster's, whatever the file's `Points Possible` row says).
        new_assignments: Headers Canvas would turn into NEW assignments.
        grades: Canvas ID -> {column header: score} for non-blank cells, the
            score as Canvas records it (`format_score` text, or "EX").
        unmatched: Rows whose student matched nobody on the roster.
        dialect: The `CsvDialect` Canvas reads the file in.
    """

    columns: list
    new_assignments: list
    grades: dict
    unmatched: list
    dialect: CsvDialect = field(default_factory=CsvDialect)


def preview_gradebook_import(path, roster):
    """Read an import CSV the way Canvas' gradebook importer does.

    Canvas picks the separator, finds the header row, ignores identity and
    calculated columns, matches each student by ID, then SIS User ID, then
    SIS Login ID, treats blank cells (and "-") as "no change" and accepts
    numbers (decimal commas too) or "EX" (excused). Columns it does not know
    become new assignments; for a known one, points possible stay Canvas'
    own (the roster's) whatever the file's `Points Possible` row says.

    Args:
        path: The CSV to check.
        roster: The `Roster` of the course (stands for Canvas' enrolments).

    Returns:
        An `ImportPreview`.

    Raises:
        CanvasFormatError: a required column is missing or a score is not a
            number.
    """
    rows, dialect = _read_rows(path, "the import file")
    header_index, header = _find_header(rows, path)
    missing = [name for name in (CANVAS_ID, SECTION) if name not in header]
    if missing:
        raise CanvasFormatError(f"{path} lacks the column(s) {', '.join(missing)} "
                                "that Canvas needs to match students.")
    by_canvas_id = roster.by_id()
    by_sis = {student.sis_user_id: student for student in roster.students if student.sis_user_id}
    by_login = {student.sis_login_id: student for student in roster.students
                if student.sis_login_id}
    known = {column.header: column for column in roster.assignment_columns}
    grade_columns = [name for name in header
                     if name not in IDENTITY_COLUMNS and name and not is_calculated_column(name)]
    grades, unmatched = {}, []
    for row in rows[header_index + 1:]:
        if not any(cell.strip() for cell in row) or is_points_possible_row(row):
            continue
        values = dict(zip(header, (cell.strip() for cell in row)))
        student = (by_canvas_id.get(values.get(CANVAS_ID, ""))
                   or by_sis.get(values.get(SIS_USER_ID, ""))
                   or by_login.get(values.get(SIS_LOGIN_ID, "")))
        if student is None:
            unmatched.append(_row_name(values) or values.get(CANVAS_ID, ""))
            continue
        for name in grade_columns:
            value = values.get(name, "")
            if value in ("", "-"):
                continue
            if value.upper() in (EXCUSED, "EXCUSED"):
                grades.setdefault(student.canvas_id, {})[name] = EXCUSED
                continue
            number = parse_number(value)
            if number is None:
                raise CanvasFormatError(
                    f'{path}: "{value}" for {student.name} in "{name}" is not a '
                    "score; Canvas accepts numbers, EX or a blank cell.")
            grades.setdefault(student.canvas_id, {})[name] = format_score(number)
    columns, new_assignments = [], []
    for name in grade_columns:
        if name in known:
            columns.append(known[name])
        else:
            new_assignments.append(name)
    return ImportPreview(columns=columns, new_assignments=new_assignments,
                         grades=grades, unmatched=unmatched, dialect=dialect)


def write_roster(path, students, assignment_columns, extra_rows=(), dialect=None):
    """Write a CSV shaped like Canvas' gradebook export (for demos only).

    Tests of the format read files written the way Canvas writes them, not
    this function's output.

    Args:
        path: Where to write.
        students: `RosterStudent` rows.
        assignment_columns: `AssignmentColumn`s (their points possible go on
            the `Points Possible` row).
        extra_rows: Rows of cells (without the identity part) placed before
            the points row, like Canvas' manual-posting marker row.
        dialect: The `CsvDialect` (default: Canvas' comma-separated export
            with a byte order mark).

    Returns:
        The path written.
    """
    dialect = dialect or CsvDialect(byte_order_mark=True)
    identity = [STUDENT, CANVAS_ID, SIS_USER_ID, SIS_LOGIN_ID, SECTION]
    calculated = ["Current Score", "Unposted Current Score", "Final Score",
                  "Unposted Final Score"]
    rows = [[*identity, *(column.header for column in assignment_columns), *calculated]]
    width = len(rows[0])
    for extra in extra_rows:  # Canvas writes every row full width
        rows.append((["", "", "", "", "", *extra] + [""] * width)[:width])
    rows.append([POINTS_POSSIBLE_CELL, "", "", "", "",
                 *(column.points_possible for column in assignment_columns),
                 *["(read only)"] * len(calculated)])
    for student in students:
        cells = student.identity_cells()
        rows.append([*(cells[name] for name in identity),
                     *[""] * len(assignment_columns), *[""] * len(calculated)])
    return _write_csv(path, dialect, rows)


# --------------------------------------------------------------------------
# Group sets
# --------------------------------------------------------------------------

GROUP_NAME_COLUMNS = ("group_name", "group", "Group")
GROUP_USER_COLUMNS = ("canvas_user_id", CANVAS_ID, "user_id", "login_id")


@dataclass(frozen=True)
class Group:
    """One group of a Canvas group set.

    Args:
        name: The group's name ("Team 3").
        members: Canvas user ids of its members, in file order.
    """

    name: str
    members: tuple

    @property
    def squeezed_name(self):
        """The name as Canvas writes it in a submissions zip ("team3")."""
        return squeeze_sortable_name(self.name)


def read_groups(path, roster):
    """Read a group set: Canvas' group export CSV or a two-column list.

    Canvas' group set export (People > Groups > the set's menu > Export; the
    columns of its Group Categories CSV format) has `name, canvas_user_id,
    user_id, login_id, sections, group_name, canvas_group_id, group_id`.
    Members are found by `canvas_user_id`, else by `user_id` (SIS User ID)
    or `login_id` (SIS Login ID) on the roster. A hand-made CSV needs a
    `group_name` (or `group`) column and a `canvas_user_id` (or `ID`) column.
    Rows without a group (students not in any group) are skipped.

    Args:
        path: The CSV.
        roster: The `Roster`, to resolve SIS ids.

    Returns:
        `Group`s in file order.

    Raises:
        CanvasFormatError: missing file, no group or user column, a member
            that is not on the roster, a student in two groups.
    """
    rows = [row for row in _read_rows(path, "the group set")[0] if any(row)]
    header = [cell.strip() for cell in rows[0]] if rows else []
    group_column = next((name for name in GROUP_NAME_COLUMNS if name in header), None)
    user_columns = [name for name in GROUP_USER_COLUMNS if name in header]
    if group_column is None or not user_columns:
        raise CanvasFormatError(
            f"{path} is not a group set: it needs a 'group_name' column and a "
            "'canvas_user_id' (or 'user_id' / 'login_id') column, as in the CSV Canvas "
            f"exports from People > Groups (found columns: {', '.join(header) or 'none'}).")
    by_sis = {student.sis_user_id: student.canvas_id for student in roster.students
              if student.sis_user_id}
    by_login = {student.sis_login_id: student.canvas_id for student in roster.students
                if student.sis_login_id}
    known = {student.canvas_id for student in roster.students}
    members, group_of = {}, {}
    for line, row in enumerate(rows[1:], start=2):
        values = dict(zip(header, (cell.strip() for cell in row)))
        group = values.get(group_column, "")
        if not group:
            continue
        canvas_id = (values.get("canvas_user_id") or values.get(CANVAS_ID)
                     or by_sis.get(values.get("user_id", ""))
                     or by_login.get(values.get("login_id", "")))
        if not canvas_id or canvas_id not in known:
            who = values.get("name") or canvas_id or values.get("user_id") or "a member"
            raise CanvasFormatError(
                f"{path} line {line}: {who} of group {group!r} is not on the roster. "
                "Export the group set and the gradebook again so they list the same "
                "students.")
        if canvas_id in group_of and group_of[canvas_id] != group:
            raise CanvasFormatError(
                f"{path}: student {canvas_id} is in groups {group_of[canvas_id]!r} and "
                f"{group!r}; a group assignment needs one group per student.")
        group_of[canvas_id] = group
        members.setdefault(group, [])
        if canvas_id not in members[group]:
            members[group].append(canvas_id)
    return [Group(name, tuple(ids)) for name, ids in members.items()]
