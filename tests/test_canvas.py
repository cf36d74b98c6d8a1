"""Canvas file formats: zip entry names, the gradebook export and the import CSV."""

import zipfile

import pytest

from autograder import canvas
from autograder.canvas import (AssignmentColumn, CanvasFormatError, RosterStudent,
                               entry_name_for, find_assignment_column, format_score,
                               original_filename, parse_entry_name,
                               preview_gradebook_import, read_roster,
                               read_submissions_zip, write_gradebook_import)

EXPORT_HEADER = ("Student,ID,SIS User ID,SIS Login ID,Integration ID,Section,"
                 "Project 1: Neural nets (48213),Reading quiz 1 (48214),"
                 "Assignments Current Score,Current Score,Final Score\n")


def write_export(path, body, header=EXPORT_HEADER, bom=True):
    path.write_text(("\ufeff" if bom else "") + header + body, encoding="utf-8")
    return path


@pytest.fixture
def export_csv(tmp_path):
    """A Canvas gradebook export with every kind of non-student row."""
    body = (
        "    Points Possible,,,,,,10.00,5.00,(read only),(read only),(read only)\n"
        ",,,,,,Manual Posting,,,,\n"
        "Student, , , , , ,Muted,,,,\n"
        '"Bitdiddle, Ben",4821,S4821,ben@uni.edu,,Section A,7,4,,,\n'
        '"O\'Neil, Ana-Maria",4822,S4822,ana@uni.edu,,Section B,,5,,,\n'
        '"Student, Test",4899,,,,Section A,,,,,\n'
    )
    return write_export(tmp_path / "export.csv", body)


# ---------------------------------------------------------------- zip names

@pytest.mark.parametrize("name, expected", [
    ("bitdiddleben_4821_99120_project1.ipynb",
     ("4821", "bitdiddleben", "99120", False, "project1.ipynb")),
    ("bitdiddleben_LATE_4821_99120_project1-1.ipynb",
     ("4821", "bitdiddleben", "99120", True, "project1-1.ipynb")),
    ("bitdiddleben_late_4821_99120_project1.ipynb",
     ("4821", "bitdiddleben", "99120", True, "project1.ipynb")),
    ("anon_g8Bwa_99120_project1.ipynb", ("anon_g8Bwa", "", "99120", False, "project1.ipynb")),
    ("LATE_anon_g8Bwa_99120_project1.ipynb", ("anon_g8Bwa", "", "99120", True, "project1.ipynb")),
    ("o_brienpat_4823_99121_my_hw_1_2.ipynb",
     ("4823", "o_brienpat", "99121", False, "my_hw_1_2.ipynb")),
    ("submissions/bitdiddleben_4821_99120_Copy of project1.ipynb",
     ("4821", "bitdiddleben", "99120", False, "Copy of project1.ipynb")),
])
def test_parse_entry_name_decodes_canvas_names(name, expected):
    entry = parse_entry_name(name)
    assert (entry.student_id, entry.sortable_name, entry.attachment_id, entry.late,
            entry.filename) == expected


def test_parse_entry_name_marks_anonymous_entries():
    assert parse_entry_name("anon_g8Bwa_99120_p.ipynb").anonymous
    assert not parse_entry_name("bitdiddleben_4821_99120_p.ipynb").anonymous


def test_parse_entry_name_reads_text_submissions():
    entry = parse_entry_name("bitdiddleben_4821_text.html")
    assert (entry.student_id, entry.filename, entry.is_notebook) == ("4821", "text.html", False)


@pytest.mark.parametrize("name", ["project1.ipynb", "README.md", "ben_project1.ipynb",
                                  "bitdiddleben_48x21_99120_p.ipynb"])
def test_parse_entry_name_rejects_other_names(name):
    assert parse_entry_name(name) is None


@pytest.mark.parametrize("filename, original", [
    ("project1-1.ipynb", "project1.ipynb"), ("project1-12.ipynb", "project1.ipynb"),
    ("project1 (2).ipynb", "project1.ipynb"), ("project1.ipynb", "project1.ipynb"),
    ("notes.txt", "notes.txt")])
def test_original_filename_strips_resubmission_counters(filename, original):
    assert original_filename(filename) == original


def test_entry_name_for_round_trips_through_parse():
    name = entry_name_for("O'Neil, Ana-Maria", "4822", "99130", "hw:1.ipynb", late=True)
    assert name == "oneilanamaria_LATE_4822_99130_hw_1.ipynb"
    entry = parse_entry_name(name)
    assert (entry.student_id, entry.late, entry.filename) == ("4822", True, "hw_1.ipynb")
    anonymous = parse_entry_name(entry_name_for("", "anon_Zq3x9", "1", "a.ipynb"))
    assert anonymous.student_id == "anon_Zq3x9"


def test_read_submissions_zip_splits_canvas_and_other_entries(tmp_path):
    path = tmp_path / "subs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bitdiddleben_4821_99120_p.ipynb", "{}")
        archive.writestr("readme.txt", "hello")
        archive.writestr("__MACOSX/._bitdiddleben_4821_99120_p.ipynb", "x")
    entries, unreadable = read_submissions_zip(path)
    assert [entry.student_id for entry in entries] == ["4821"]
    assert unreadable == ["readme.txt"]


@pytest.mark.parametrize("contents, message", [
    ({}, "empty"),
    ({"project1.ipynb": "{}", "data.csv": "1,2"}, "not a Canvas submissions zip"),
])
def test_read_submissions_zip_rejects_empty_and_foreign_zips(tmp_path, contents, message):
    path = tmp_path / "subs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in contents.items():
            archive.writestr(name, text)
    with pytest.raises(CanvasFormatError, match=message):
        read_submissions_zip(path)


def test_read_submissions_zip_rejects_a_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "subs.zip"
    path.write_text("not a zip")
    with pytest.raises(CanvasFormatError, match="not a zip file"):
        read_submissions_zip(path)
    with pytest.raises(CanvasFormatError, match="does not exist"):
        read_submissions_zip(tmp_path / "missing.zip")


# ---------------------------------------------------------------- roster

def test_read_roster_skips_points_and_marker_rows(export_csv):
    roster = read_roster(export_csv)
    assert [student.canvas_id for student in roster.students] == ["4821", "4822", "4899"]
    ben = roster.students[0]
    assert (ben.first_name, ben.last_name, ben.section, ben.sis_login_id) == (
        "Ben", "Bitdiddle", "Section A", "ben@uni.edu")
    assert [(column.header, column.assignment_id, column.points_possible)
            for column in roster.assignment_columns] == [
        ("Project 1: Neural nets (48213)", "48213", "10.00"),
        ("Reading quiz 1 (48214)", "48214", "5.00")]
    assert roster.identity_columns == ["Student", "ID", "SIS User ID", "SIS Login ID",
                                       "Integration ID", "Section"]


def test_read_roster_finds_the_header_below_a_title_line(tmp_path):
    path = write_export(tmp_path / "e.csv", '"Bitdiddle, Ben",4821,,,,A,,,,,\n',
                        header="Gradebook for BIOF510\n" + EXPORT_HEADER, bom=False)
    assert [student.name for student in read_roster(path).students] == ["Bitdiddle, Ben"]


@pytest.mark.parametrize("header, body, message", [
    ("Name,Score\n", "Ben,3\n", "no header row"),
    ("Student,ID,Project 1 (1)\n", '"B, B",1,3\n', "no 'Section' column"),
    (EXPORT_HEADER, "    Points Possible,,,,,,10,5,,,\n", "no student rows"),
    (EXPORT_HEADER, '"B, B",1,,,,A,,,,,\n"C, C",1,,,,A,,,,,\n', "twice"),
])
def test_read_roster_rejects_broken_exports(tmp_path, header, body, message):
    path = write_export(tmp_path / "e.csv", body, header=header)
    with pytest.raises(CanvasFormatError, match=message):
        read_roster(path)


@pytest.mark.parametrize("assignment, header", [
    ("project1", "Project 1: Neural nets (48213)"),
    ("PROJECT_1", "Project 1: Neural nets (48213)"),
    ("reading-quiz-1", "Reading quiz 1 (48214)"),
])
def test_find_assignment_column_matches_titles_loosely(export_csv, assignment, header):
    assert find_assignment_column(read_roster(export_csv), assignment).header == header


def test_find_assignment_column_reports_missing_and_ambiguous_columns(export_csv, tmp_path):
    roster = read_roster(export_csv)
    with pytest.raises(CanvasFormatError,
                       match=r"no roster column.*Project 1: Neural nets \(48213\)"):
        find_assignment_column(roster, "project9")
    with pytest.raises(CanvasFormatError, match="several roster columns"):
        find_assignment_column(roster, "1")
    assert find_assignment_column(roster, "anything",
                                  column="Reading quiz 1 (48214)").assignment_id == "48214"
    with pytest.raises(CanvasFormatError, match="has no column"):
        find_assignment_column(roster, "project1", column="Project 1 (1)")


# ---------------------------------------------------------------- import CSV

def test_written_import_reads_back_under_canvas_rules(export_csv, tmp_path):
    roster = read_roster(export_csv)
    column = find_assignment_column(roster, "project1")
    path = write_gradebook_import(tmp_path / "import.csv", roster, column,
                                  {"4821": 7.5, "4822": 0.0})
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # the roster's own dialect
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ("Student,ID,SIS User ID,SIS Login ID,Integration ID,Section,"
                        "Project 1: Neural nets (48213)")
    assert lines[1] == "    Points Possible,,,,,,10.00"
    preview = preview_gradebook_import(path, roster)
    assert [(item.header, item.points_possible) for item in preview.columns] == [
        ("Project 1: Neural nets (48213)", "10.00")]
    assert preview.new_assignments == [] and preview.unmatched == []
    assert preview.grades == {"4821": {"Project 1: Neural nets (48213)": "7.5"},
                              "4822": {"Project 1: Neural nets (48213)": "0"}}


def test_preview_flags_new_columns_unknown_students_and_bad_scores(export_csv, tmp_path):
    roster = read_roster(export_csv)
    path = tmp_path / "import.csv"
    path.write_text("Student,ID,Section,Project 1,Current Score\n"
                    '"Bitdiddle, Ben",4821,A,3,99\n"Nobody, N",1,A,2,\n')
    preview = preview_gradebook_import(path, roster)
    assert preview.new_assignments == ["Project 1"]
    assert preview.unmatched == ["Nobody, N"]
    path.write_text('Student,ID,Section,Project 1 (48213)\n"Bitdiddle, Ben",4821,A,three\n')
    with pytest.raises(CanvasFormatError, match="not a score"):
        preview_gradebook_import(path, roster)
    path.write_text('Student,ID,Project 1 (48213)\n"Bitdiddle, Ben",4821,3\n')
    with pytest.raises(CanvasFormatError, match="Section"):
        preview_gradebook_import(path, roster)


def test_preview_matches_by_sis_ids_when_the_canvas_id_is_missing(export_csv, tmp_path):
    roster = read_roster(export_csv)
    path = tmp_path / "import.csv"
    path.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Project 1 (48213)\n"
                    '"B",,S4821,,A,4\n"A",,,ana@uni.edu,B,EX\n')
    assert preview_gradebook_import(path, roster).grades == {
        "4821": {"Project 1 (48213)": "4"}, "4822": {"Project 1 (48213)": "EX"}}


@pytest.mark.parametrize("score, text", [(3, "3"), (2.5, "2.5"), (1 / 3, "0.33"),
                                         (0, "0"), (-0.0, "0"), (None, "")])
def test_format_score(score, text):
    assert format_score(score) == text


def test_write_roster_produces_a_readable_export(tmp_path):
    students = [RosterStudent("Lovelace, Ada", "40101", section="A")]
    column = AssignmentColumn("Toy (90001)", "Toy", "90001", "3")
    path = canvas.write_roster(tmp_path / "r.csv", students, [column],
                               extra_rows=[["Manual Posting"]])
    roster = read_roster(path)
    assert [s.name for s in roster.students] == ["Lovelace, Ada"]
    assert roster.assignment_columns[0].points_possible == "3"


# ---------------------------------------------------------------- dialects

@pytest.mark.parametrize("text, dialect", [
    # lib/csv_with_i18n.rb: ',' by default; ';' by user choice or when the
    # locale's decimal mark is a comma; a BOM on request.
    ("Student,ID,Section,HW (1)\n    Points Possible,,,10.00\n", (",", ".", False)),
    ('\ufeffStudent,ID,Section,HW (1)\n    Points Possible,,,"8,50"\n', (",", ",", True)),
    ("Student;ID;Section;HW (1)\n    Points Possible;;;8,50\n", (";", ",", False)),
    ("Student;ID;Section;HW (1)\n    Points Possible;;;8.50\n", (";", ".", False)),
    ("Student;ID;Section;HW (1)\n    Points Possible;;;10\n", (";", ",", False)),
    ('Student,ID,Section,HW (1)\n"Bitdiddle, Ben",1,A,3\n', (",", ".", False)),
])
def test_detect_dialect_follows_canvas_importer(text, dialect):
    assert canvas.detect_dialect(text) == canvas.CsvDialect(*dialect)


@pytest.mark.parametrize("text, number", [
    # lib/gradebook_importer.rb, CSV converter decimal_comma_to_period: the
    # last separator is the decimal mark.
    ("8,50", 8.5), ("8.50", 8.5), ("1.234,5", 1234.5), ("-2", -2.0), ("14", 14.0),
    ("EX", None), ("", None), ("N/A", None), ("(read only)", None),
])
def test_parse_number_reads_numbers_as_canvas_does(text, number):
    assert canvas.parse_number(text) == number


def test_roster_keeps_integration_id_and_root_account_in_canvas_order(tmp_path):
    """gradebook_exporter.rb: Integration ID and Root Account sit between SIS Login ID
    and Section; the importer finds them by position, so the import keeps the order."""
    path = write_export(tmp_path / "e.csv",
                        "    Points Possible,,,,,,,10.00\n"
                        '"Bitdiddle, Ben",4821,S1,ben,I-9,uni.instructure.com,A,EX\n',
                        header="Student,ID,SIS User ID,SIS Login ID,Integration ID,"
                               "Root Account,Section,HW 1 (77)\n")
    roster = read_roster(path)
    assert roster.identity_columns == ["Student", "ID", "SIS User ID", "SIS Login ID",
                                       "Integration ID", "Root Account", "Section"]
    assert roster.cells == {"4821": {"HW 1 (77)": "EX"}}
    column = roster.assignment_columns[0]
    written = write_gradebook_import(tmp_path / "i.csv", roster, column, {"4821": 9.5})
    lines = written.read_text(encoding="utf-8-sig").splitlines()
    assert lines[2] == '"Bitdiddle, Ben",4821,S1,ben,I-9,uni.instructure.com,A,9.5'
    assert preview_gradebook_import(written, roster).grades == {"4821": {"HW 1 (77)": "9.5"}}


def test_split_names_header_must_be_canvas_own(tmp_path):
    path = write_export(tmp_path / "e.csv", "B,Ben,1,A\n", header="LastName,ID,Section,X\n")
    with pytest.raises(CanvasFormatError, match="'FirstName' second"):
        read_roster(path)


def test_test_student_is_recognised_only_without_sis_ids(export_csv):
    roster = read_roster(export_csv)
    assert [student.canvas_id for student in roster.students if student.is_test_student] == [
        "4899"]
    assert not RosterStudent("Student, Test", "5", sis_user_id="S5").is_test_student


def test_read_groups_rejects_files_that_are_not_group_sets(export_csv, tmp_path):
    roster = read_roster(export_csv)
    path = tmp_path / "groups.csv"
    path.write_text("team,student\nA,4821\n")
    with pytest.raises(CanvasFormatError, match="needs a 'group_name' column"):
        canvas.read_groups(path, roster)
    path.write_text("group_name,canvas_user_id\nA,4821\nB,4821\n")
    with pytest.raises(CanvasFormatError, match="in groups 'A' and 'B'"):
        canvas.read_groups(path, roster)
    path.write_text("group_name;login_id\nTeam 1;ana@uni.edu\n;ben@uni.edu\n")
    assert canvas.read_groups(path, roster) == [canvas.Group("Team 1", ("4822",))]
