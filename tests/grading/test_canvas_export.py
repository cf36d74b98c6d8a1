"""`course export` against gradebook exports written the way Canvas writes them.

Every roster here is literal text in the shape of Canvas' `GradebookExporter`
(instructure/canvas-lms `lib/gradebook_exporter.rb`): the header
`Student, ID, SIS User ID, SIS Login ID, Section, <Title (id)>..., <totals>`
(`LastName, FirstName` in place of `Student` with the split-names option), an
optional `Manual Posting` row, the `    Points Possible` row with
`format_numbers` (two decimals in the user's locale), student rows with `EX`
for excused, and the Test Student (Student View) last. The separator and
decimal mark follow `lib/csv_with_i18n.rb` (`determine_column_separator`).
The written import is read back with Canvas' importer rules
(`canvas.preview_gradebook_import`, after `lib/gradebook_importer.rb`), which
keep an existing assignment's points possible.

The class is the demo's, graded once: 40101 and 40104 full marks (3 of 3),
40102, 40103 and 40106 0, 40105 failed to grade, 40107 handed nothing in.
"""

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import canvas
from autograder.cli import main

TOY_SOLUTIONS = Path(__file__).resolve().parents[1] / "files" / "toy_course" / "solutions"
COLUMN = "Toy (90001)"
STUDENTS = [("Lovelace, Ada", "40101", "Section A"), ("Babbage, Charles", "40102", "Section A"),
            ("Curie, Marie", "40103", "Section B"), ("Darwin, Charles", "40104", "Section B"),
            ("Euler, Leonhard", "40105", "Section A"), ("Franklin, Rosalind", "40106", "Section B"),
            ("Galois, Evariste", "40107", "Section A")]


def run(*args):
    runner = CliRunner(env={"COLUMNS": "200"})
    return runner.invoke(main, [str(arg) for arg in args], terminal_width=200)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("export") / "course_demo"
    result = run("demo", "--directory", root, "--solutions", TOY_SOLUTIONS, "--assignment", "toy")
    assert result.exit_code == 0, result.output
    return root


def comma_roster(points="100.00", cells=None, skip=(), extra=""):
    """Canvas' default export (comma-separated, decimal point, totals columns)."""
    cells = cells or {}
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section,Toy (90001),Current Score,"
             "Unposted Current Score,Final Score,Unposted Final Score",
             f"    Points Possible,,,,,{points},(read only),(read only),(read only),(read only)"]
    for name, canvas_id, section in STUDENTS:
        if canvas_id not in skip:
            lines.append(f'"{name}",{canvas_id},S{canvas_id},{canvas_id}@uni.edu,{section},'
                         f'{cells.get(canvas_id, "")},,,,')
    return "\n".join(lines) + "\n" + extra


def export(graded, tmp_path, roster_text, *options, encoding="utf-8"):
    roster = tmp_path / "gradebook_export.csv"
    roster.write_text(roster_text, encoding=encoding)
    output = tmp_path / "import.csv"
    result = run("export", "toy", "--roster", roster, "-o", output, *options,
                 "--course-dir", graded)
    assert result.exit_code == 0, result.output
    preview = canvas.preview_gradebook_import(output, canvas.read_roster(roster))
    grades = {canvas_id: cells[COLUMN] for canvas_id, cells in preview.grades.items()}
    return result.output, output, preview, grades


def test_full_marks_import_as_full_marks_on_canvas_scale(graded, tmp_path):
    output, _, preview, grades = export(graded, tmp_path, comma_roster())
    assert [(column.header, column.points) for column in preview.columns] == [(COLUMN, 100.0)]
    assert grades == {"40101": "100", "40102": "0", "40103": "0", "40104": "100",
                      "40105": "0", "40106": "0"}
    assert "scaled from nbgrader's 3 points to Canvas' 100.00 points possible" in output


def test_raw_points_write_nbgraders_points_and_warn(graded, tmp_path):
    output, _, _, grades = export(graded, tmp_path, comma_roster(), "--raw-points")
    assert grades["40101"] == "3"
    assert "full marks read 3/100.00 there" in output


def test_scaled_scores_keep_two_decimals(graded, tmp_path):
    _, _, _, grades = export(graded, tmp_path, comma_roster(points="7.00"))
    assert grades["40101"] == "7"
    _, _, _, grades = export(graded, tmp_path, comma_roster(points="0.50"))
    assert grades["40101"] == "0.5"


def test_semicolon_roster_with_decimal_commas_gets_an_import_in_its_own_dialect(graded, tmp_path):
    """`CsvWithI18n`: with autodetect on and a locale whose decimal mark is a comma,
    Canvas writes `;` between fields and `format_numbers` writes `12,50`."""
    lines = ["Student;ID;SIS User ID;SIS Login ID;Section;Toy (90001);Current Score;"
             "Unposted Current Score;Final Score;Unposted Final Score",
             "    Points Possible;;;;;12,50;(read only);(read only);(read only);(read only)"]
    lines += [f"{name};{canvas_id};S{canvas_id};{canvas_id}@uni.edu;{section};;;;;"
              for name, canvas_id, section in STUDENTS]
    text = "\n".join(lines) + "\n"
    _, output, preview, grades = export(graded, tmp_path, text, encoding="utf-8-sig")
    written = output.read_text(encoding="utf-8-sig").splitlines()
    assert written[0] == "Student;ID;SIS User ID;SIS Login ID;Section;Toy (90001)"
    assert written[1] == "    Points Possible;;;;;12,50"
    assert "Lovelace, Ada;40101;S40101;40101@uni.edu;Section A;12,5" in written
    assert output.read_bytes().startswith(b"\xef\xbb\xbf")
    assert preview.dialect == canvas.CsvDialect(";", ",", True)
    assert grades["40101"] == "12.5" and grades["40102"] == "0"


def test_comma_roster_with_quoted_decimal_commas(graded, tmp_path):
    """`CsvWithI18n` without autodetect keeps commas between fields, so a locale's
    decimal comma is quoted: `,"8,50",`."""
    _, output, _, grades = export(graded, tmp_path, comma_roster(points='"8,50"'))
    assert '"8,5"' in output.read_text()
    assert grades["40101"] == "8.5"


def test_split_name_columns_are_kept_in_the_import(graded, tmp_path):
    """`show_student_first_last_name`: `LastName, FirstName` replace `Student`."""
    lines = ["LastName,FirstName,ID,SIS User ID,SIS Login ID,Section,Toy (90001),Current Score",
             "    Points Possible,,,,,,100.00,(read only)"]
    for name, canvas_id, section in STUDENTS:
        last, first = name.split(", ")
        lines.append(f"{last},{first},{canvas_id},S{canvas_id},{canvas_id}@uni.edu,{section},,")
    _, output, preview, grades = export(graded, tmp_path, "\n".join(lines) + "\n")
    written = output.read_text().splitlines()
    assert written[0] == "LastName,FirstName,ID,SIS User ID,SIS Login ID,Section,Toy (90001)"
    assert written[1] == "    Points Possible,,,,,,100.00"
    assert "Lovelace,Ada,40101,S40101,40101@uni.edu,Section A,100" in written
    assert preview.unmatched == [] and grades["40104"] == "100"


def test_students_not_on_the_roster_are_listed_in_a_side_file(graded, tmp_path):
    output, path, _, grades = export(graded, tmp_path, comma_roster(skip={"40104"}))
    assert "40104" not in grades and grades["40101"] == "100"
    side_file = path.with_name("import_not_on_roster.csv")
    with side_file.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["Student id"], row["Name"], row["nbgrader points"], row["Canvas score"])
            for row in rows] == [("40104", "Darwin, Charles", "3", "100")]
    assert "1 submission(s) belong to students not on the roster" in output
    assert "40104" in output


def test_grades_already_in_canvas_are_kept_unless_replaced(graded, tmp_path):
    """Canvas exports an excused score as `EX`; a TA's hand regrade is a number."""
    text = comma_roster(cells={"40101": "EX", "40102": "85.00", "40103": "0.00"})
    output, _, _, grades = export(graded, tmp_path, text)
    assert "40101" not in grades and "40102" not in grades  # blank: Canvas keeps its grade
    assert grades["40103"] == "0"  # the same score is written again
    assert "2 grade(s) already in Canvas were kept" in output
    assert "Lovelace, Ada (EX)" in output and "Babbage, Charles (85.00)" in output
    output, _, _, grades = export(graded, tmp_path, text, "--replace-existing")
    assert grades["40101"] == "100" and grades["40102"] == "0"
    assert "replaced: excused (EX) in Canvas" in output


def test_the_test_student_is_left_out_by_default(graded, tmp_path):
    """`enrollments_for_csv` puts the Student View enrolment ("Student, Test") last."""
    text = comma_roster(extra='"Student, Test",40199,,,Section A,,,,,\n')
    output, path, _, grades = export(graded, tmp_path, text, "--missing", "zero")
    assert "40199" not in path.read_text() and "40199" not in grades
    assert grades["40107"] == "0"
    assert "left out Canvas' Test Student" in output
    _, path, _, grades = export(graded, tmp_path, text, "--missing", "zero",
                                "--include-test-student")
    assert grades["40199"] == "0"


def test_every_group_member_gets_the_group_score(graded, tmp_path):
    """Canvas zips one submission per group, under one member's id; the group set
    export has the columns of Canvas' Group Categories CSV format
    (`doc/api/group_category_csv.md`)."""
    groups = tmp_path / "groups.csv"
    groups.write_text(
        "name,canvas_user_id,user_id,login_id,sections,group_name,canvas_group_id,group_id\n"
        '"Lovelace, Ada",40101,S40101,40101@uni.edu,Section A,Team 1,7001,\n'
        '"Galois, Evariste",,S40107,40107@uni.edu,Section A,Team 1,7001,\n'
        '"Curie, Marie",40103,S40103,40103@uni.edu,Section B,Team 2,7002,\n')
    output, _, _, grades = export(graded, tmp_path, comma_roster(), "--groups", groups)
    assert grades["40107"] == "100"  # found by SIS User ID, given Lovelace's score
    assert grades["40101"] == "100" and grades["40103"] == "0"
    assert "group Team 1: submission of 40101" in output
    groups.write_text("group_name,canvas_user_id\nTeam 9,99999\n")
    result = run("export", "toy", "--roster", tmp_path / "gradebook_export.csv", "-o",
                 tmp_path / "x.csv", "--groups", groups, "--course-dir", graded)
    assert result.exit_code == 2 and "is not on the roster" in result.output
    assert not (tmp_path / "x.csv").exists()
