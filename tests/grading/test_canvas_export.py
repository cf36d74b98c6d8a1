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
import email.policy
import json
import re
import threading
import zipfile
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

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


# ------------------------------------------------------- feedback to Canvas

def canvas_comment_target(filename):
    """(user id, attachment id) Canvas' Re-Upload Submissions reads from a file name.

    After `infer_comment_context_from_filename` (app/models/abstract_assignment.rb):
    split on "_", drop "LATE", then the first two all-digit parts.
    """
    parts = [part for part in filename.split("_") if part != "LATE"]
    digits = [part for part in parts if part.isdigit()]
    return tuple(digits[:2])


def test_feedback_zip_names_each_page_after_the_submitted_file(graded):
    upload = graded / "canvas_upload" / "toy_feedback.zip"
    downloads, _ = canvas.read_submissions_zip(graded / "canvas" / "toy_submissions.zip")
    handed_in = {(entry.student_id, entry.attachment_id) for entry in downloads}
    with zipfile.ZipFile(upload) as archive:
        targets = {}
        for name in archive.namelist():
            user_id, attachment_id = canvas_comment_target(name)
            assert (user_id, attachment_id) in handed_in, name
            page = graded / "feedback" / user_id / "toy" / "toy.html"
            assert archive.read(name) == page.read_bytes()
            targets[user_id] = name
    assert sorted(targets) == ["40101", "40102", "40103", "40104", "40106"]
    assert targets["40104"].startswith("darwincharles_LATE_40104_")


class FakeCanvas(ThreadingHTTPServer):
    """A local server answering the Canvas REST endpoints canvasapi calls for a push.

    Canvas cannot run here; this answers the documented requests (Canvas REST API:
    Courses, Assignments, Submissions `update_grades`, Progress, Submission Comments
    `comments/files` and the file upload steps of `doc/api/file_uploads.md`) and
    records what it received.
    """

    def __init__(self, points_possible=100.0, failing_uploads=()):
        super().__init__(("127.0.0.1", 0), FakeCanvasHandler)
        self.points_possible = points_possible
        self.failing_uploads = set(failing_uploads)
        self.requests = []
        self.uploads = {}
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class FakeCanvasHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        server = self.server
        path = self.path.split("?", 1)[0]
        form = {}
        if self.headers.get("Content-Type", "").startswith("application/x-www-form"):
            form = parse_qs(body.decode())
        server.requests.append((self.command, path, self.headers.get("Authorization"), form))
        base = "/api/v1/courses/77"
        submission = re.fullmatch(base + r"/assignments/90001/submissions/(\d+)", path)
        files = re.fullmatch(base + r"/assignments/90001/submissions/(\d+)/comments/files", path)
        if (self.command, path) == ("GET", base):
            return self.answer(200, {"id": 77, "name": "BIOF510"})
        if (self.command, path) == ("GET", base + "/assignments/90001"):
            return self.answer(200, {"id": 90001, "course_id": 77, "name": "Toy",
                                     "points_possible": server.points_possible})
        if (self.command, path) == ("POST", base + "/assignments/90001/submissions/update_grades"):
            return self.answer(200, {"id": 5, "workflow_state": "queued"})
        if (self.command, path) == ("GET", "/api/v1/progress/5"):
            return self.answer(200, {"id": 5, "workflow_state": "completed"})
        if submission and self.command == "GET":
            return self.answer(200, {"id": 1, "user_id": int(submission[1]),
                                     "assignment_id": 90001})
        if submission and self.command == "PUT":
            return self.answer(200, {"id": 1, "user_id": int(submission[1])})
        if files and self.command == "POST":
            if files[1] in server.failing_uploads:
                return self.answer(500, {"errors": [{"message": "storage unavailable"}]})
            return self.answer(200, {"upload_url": f"{server.url}/upload/{files[1]}",
                                     "upload_params": {"filename": form["name"][0]}})
        if path.startswith("/upload/") and self.command == "POST":
            message = BytesParser(policy=email.policy.default).parsebytes(
                f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body)
            for part in message.iter_parts():
                if part.get_param("name", header="content-disposition") == "file":
                    server.uploads[path.rsplit("/", 1)[1]] = part.get_payload(decode=True)
            file_id = 900 + len(server.uploads)
            return self.answer(201, {"id": file_id, "url": f"{server.url}/files/{file_id}"})
        return self.answer(404, {"errors": [{"message": "not found"}]})

    do_GET = do_POST = do_PUT = handle_any


@pytest.fixture
def exported(graded, tmp_path):
    export(graded, tmp_path, comma_roster())
    return tmp_path / "import.csv", tmp_path / "gradebook_export.csv"


TOKEN = "secret-token-4f9a"


def push(graded, import_csv, roster, *options, token=TOKEN):
    runner = CliRunner(env={"COLUMNS": "200", "CANVAS_API_TOKEN": token,
                            "CANVAS_API_URL": None, "CANVAS_COURSE_ID": None})
    return runner.invoke(main, ["push", "toy", str(import_csv), "--roster", str(roster),
                                *map(str, options), "--course-dir", str(graded)],
                         terminal_width=200)


def test_push_is_a_dry_run_by_default(graded, exported):
    server = FakeCanvas()
    result = push(graded, *exported, "--canvas-url", server.url, "--course-id", "77")
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing sent (6 grade(s), 5 feedback page(s) planned)" in result.output
    assert server.requests == []
    server.shutdown()


@pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly")  # http, not https
def test_push_sends_grades_and_feedback_through_the_documented_api(graded, exported):
    server = FakeCanvas(failing_uploads={"40106"})
    result = push(graded, *exported, "--canvas-url", server.url, "--course-id", "77", "--send")
    server.shutdown()
    assert result.exit_code == 1, result.output  # one upload failed, the rest went through
    assert TOKEN not in result.output
    bulk = [form for method, path, _, form in server.requests if path.endswith("update_grades")]
    assert len(bulk) == 1
    assert {key: value for key, value in bulk[0].items()} == {
        f"grade_data[{student}][posted_grade]": [grade] for student, grade in {
            "40101": "100", "40102": "0", "40103": "0", "40104": "100", "40105": "0",
            "40106": "0"}.items()}
    assert sorted(server.uploads) == ["40101", "40102", "40103", "40104"]
    for student, content in server.uploads.items():
        assert content == (graded / "feedback" / student / "toy" / "toy.html").read_bytes()
    comments = [(path.rsplit("/", 1)[1], form) for method, path, _, form in server.requests
                if method == "PUT"]
    assert [(student, form["comment[file_ids][]"]) for student, form in comments] == [
        ("40101", ["901"]), ("40102", ["902"]), ("40103", ["903"]), ("40104", ["904"])]
    for method, path, authorization, _ in server.requests:
        expected = None if path.startswith("/upload/") else f"Bearer {TOKEN}"
        assert authorization == expected, (method, path)
    assert "Canvas applied the grades: completed" in result.output
    assert "failed: 40106 toy.html" in result.output


@pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly")
def test_push_stops_before_sending_when_canvas_points_changed(graded, exported):
    server = FakeCanvas(points_possible=50.0)
    result = push(graded, *exported, "--canvas-url", server.url, "--course-id", "77", "--send")
    server.shutdown()
    assert result.exit_code == 2
    assert "Canvas now has 50 points possible" in result.output
    assert [path for _, path, _, _ in server.requests] == [
        "/api/v1/courses/77", "/api/v1/courses/77/assignments/90001"]


def test_push_without_a_token_says_where_to_set_it(graded, exported):
    result = push(graded, *exported, "--canvas-url", "http://127.0.0.1:9", "--course-id", "77",
                  "--send", token="")
    assert result.exit_code == 2
    assert "export CANVAS_API_TOKEN=" in result.output


@pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly")
def test_push_gives_group_members_the_group_feedback(graded, exported, tmp_path):
    groups = tmp_path / "groups.csv"
    groups.write_text("group_name,canvas_user_id\nTeam 1,40101\nTeam 1,40107\n")
    server = FakeCanvas()
    result = push(graded, *exported, "--groups", groups, "--canvas-url", server.url,
                  "--course-id", "77", "--send")
    server.shutdown()
    assert result.exit_code == 0, result.output
    page = (graded / "feedback" / "40101" / "toy" / "toy.html").read_bytes()
    assert server.uploads["40107"] == server.uploads["40101"] == page
