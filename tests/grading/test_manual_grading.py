"""Written answers graded by hand in nbgrader's real formgrader.

The fixture course `tests/files/written_course` has one autograded function
(1 point) and one written answer (2 points, a markdown answer cell). Its
class is collected and autograded with the `course` command; then a real
Jupyter server with nbgrader's formgrader (`course formgrader`, started
here as its own process) is driven through the HTTP API its web page uses:
list the submissions, read their grades and comments, PUT a score and a
comment. Export and feedback must then show them.
"""

import csv
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.grading import classroom
from autograder.grading.course import ensure_assignment_ready, open_course
from autograder.grading.grade import grade_notebook
from autograder.grading.notebooks import answer_cells
from tests.grading.toy_class import run

WRITTEN_COURSE = Path(__file__).resolve().parents[1] / "files" / "written_course"
ASSIGNMENT = "written"
ANSWER = "written_answer"
TOKEN = "formgrader-test-token"
CANVAS_POINTS = 9  # the roster's Points Possible; nbgrader's total is 3


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Formgrader:
    """A `course formgrader` process and its HTTP API (as the web page calls it)."""

    def __init__(self, root):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/formgrader/api"
        environment = dict(os.environ, JUPYTER_TOKEN=TOKEN, COURSE_DIR=str(root))
        self.log = open(root / "formgrader.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.cli", "formgrader", "--port", str(self.port)],
            cwd=root, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                if self.call("GET", "/status") == {"status": True}:
                    return
            except (urllib.error.URLError, ConnectionError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("the formgrader did not start:\n"
                                     + (root / "formgrader.log").read_text())
            time.sleep(0.5)

    def call(self, method, path, body=None):
        request = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def submission(self, student_id):
        listing = self.call("GET", f"/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}")
        return next(entry for entry in listing if entry["student"] == student_id)

    def answer_grade(self, submission_id):
        grades = self.call("GET", f"/grades?submission_id={submission_id}")
        return next(grade for grade in grades if grade["name"] == ANSWER)

    def answer_comment(self, submission_id):
        comments = self.call("GET", f"/comments?submission_id={submission_id}")
        return next(comment for comment in comments if comment["name"] == ANSWER)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The written course with the demo's class collected and autograded."""
    base = tmp_path_factory.mktemp("written")
    root = base / "course"
    shutil.copytree(WRITTEN_COURSE, root)
    ensure_assignment_ready(open_course(root, ASSIGNMENT))
    classmates = [classmate for classmate in classroom.standard_class(
        root / "solutions" / ASSIGNMENT, root / "assignments" / ASSIGNMENT) if classmate.uploads]
    classmates.append(classroom.Classmate(
        "Hopper, Grace", "40108", "Section B", "written answer turned into a code cell",
        [("written.ipynb", classroom.as_bytes(answer_as_code(root)))]))
    zip_path = classroom.write_submissions_zip(base / "submissions.zip", classmates)
    roster, _ = classroom.write_class_roster(base / "roster.csv", classmates, ASSIGNMENT,
                                             CANVAS_POINTS)
    collected = run("collect", ASSIGNMENT, zip_path, "--roster", roster, "--course-dir", root)
    assert collected.exit_code == 0, collected.output
    graded = run("autograde", ASSIGNMENT, "--course-dir", root)
    assert graded.exit_code == 0, graded.output
    return root, roster, graded.output


def answer_as_code(root):
    """The full answer with the written answer cell turned into code that runs cleanly:
    nbgrader would score such a code cell full marks, were it taken as a test."""
    stub = nbformat.read(str(root / "assignments" / ASSIGNMENT / "written.ipynb"), as_version=4)
    solution = nbformat.read(str(root / "solutions" / ASSIGNMENT / "written.ipynb"),
                             as_version=4)
    notebook = classroom.fill_stub(stub, solution)
    cell = answer_cells(notebook)[ANSWER]
    cell.cell_type, cell.source = "code", "print('full marks, please')"
    cell.outputs, cell.execution_count = [], None
    return notebook


def exported(root, roster, *options):
    output = root / "canvas_import.csv"
    result = run("export", ASSIGNMENT, "--roster", roster, "-o", output, "--course-dir", root,
                 *options)
    assert result.exit_code == 0, result.output
    with output.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    return {row[1]: row[-1] for row in rows[2:]}, " ".join(result.output.split())


def page_text(path):
    return html.unescape(re.sub(r"<[^>]+>", " ", Path(path).read_text(encoding="utf-8")))


def test_autograde_leaves_written_answers_to_the_ta(graded_class):
    root, _, output = graded_class
    record = json.loads((root / "downloaded" / ASSIGNMENT / "autograde.json").read_text())
    students = record["students"]
    # Answered (Lovelace, Darwin): 2 points wait for a TA. Left as the stub
    # (Babbage did the code only; Curie and Franklin handed in the stub):
    # nbgrader scores an untouched answer 0, so nothing waits. Hopper's answer
    # turned into code is a written answer again, left to the TA.
    assert {student: (entry["score"], entry["max_score"], entry["awaiting"])
            for student, entry in students.items() if entry["status"] == "graded"} == {
        "40101": (1.0, 3.0, 2.0), "40104": (1.0, 3.0, 2.0), "40102": (1.0, 3.0, 0.0),
        "40103": (0.0, 3.0, 0.0), "40106": (0.0, 3.0, 0.0), "40108": (1.0, 3.0, 2.0)}
    # The written answer is no test: no row, no failure message.
    assert [row["id"] for row in students["40101"]["tests"]] == ["written_test_double"]
    assert "3 submission(s) have written answers to grade by hand" in " ".join(output.split())
    autograded = nbformat.read(str(root / "autograded" / "40108" / ASSIGNMENT / "written.ipynb"),
                               as_version=4)
    assert answer_cells(autograded)[ANSWER].cell_type == "markdown"


def test_self_check_counts_only_autograded_points(graded_class, tmp_path):
    root, _, _ = graded_class
    stub = nbformat.read(str(root / "assignments" / ASSIGNMENT / "written.ipynb"), as_version=4)
    solution = nbformat.read(str(root / "solutions" / ASSIGNMENT / "written.ipynb"),
                             as_version=4)
    path = tmp_path / "written.ipynb"
    nbformat.write(classroom.fill_stub(stub, solution), str(path))
    report = grade_notebook(path, ASSIGNMENT, course=open_course(root, ASSIGNMENT))
    assert (report["score"], report["max_score"], report["written_points"]) == (1.0, 1.0, 2.0)
    assert [row["id"] for row in report["tests"]] == ["written_test_double"]


def test_the_rubric_stays_out_of_the_release(graded_class):
    root, _, _ = graded_class
    released = nbformat.read(str(root / "assignments" / ASSIGNMENT / "written.ipynb"),
                             as_version=4)
    answer = answer_cells(released)[ANSWER]
    assert (answer.cell_type, answer.source.strip()) == ("markdown", "YOUR ANSWER HERE")
    assert "Rubric" not in json.dumps(released)


def test_formgrader_grades_reach_export_and_feedback(graded_class):
    root, roster, _ = graded_class
    cells, text = exported(root, roster)
    # Before manual grading: the answered submissions are left blank and listed.
    assert cells == {"40101": "", "40102": "3", "40103": "0", "40104": "", "40105": "0",
                     "40106": "0", "40108": ""}
    assert ("3 submission(s) await manual grading of written answers (left blank): "
            "Lovelace, Ada (2 points), Darwin, Charles (2 points), Hopper, Grace (2 points)"
            ) in text
    partial, _ = exported(root, roster, "--awaiting", "partial")
    assert (partial["40101"], partial["40104"]) == ("3", "3")

    server = Formgrader(root)
    try:
        submission = server.submission("40101")
        assert submission["needs_manual_grade"] is True
        grade = server.answer_grade(submission["id"])
        assert (grade["max_score"], grade["needs_manual_grade"]) == (2.0, True)
        graded = server.call("PUT", f"/grade/{grade['id']}",
                             {"manual_score": 1.5, "extra_credit": None})
        assert (graded["manual_score"], graded["needs_manual_grade"]) == (1.5, False)
        comment = server.answer_comment(submission["id"])
        server.call("PUT", f"/comment/{comment['id']}",
                    {"manual_comment": "Names broadcasting; say where the loop runs."})
        assert server.submission("40101")["score"] == 2.5
    finally:
        server.stop()

    cells, text = exported(root, roster)
    # (1 + 1.5) of 3 points on Canvas' 9: 7.5; Darwin still waits.
    assert (cells["40101"], cells["40104"]) == ("7.5", "")
    assert ("2 submission(s) await manual grading of written answers (left blank): "
            "Darwin, Charles (2 points), Hopper, Grace (2 points)") in text

    result = run("feedback", ASSIGNMENT, "--course-dir", root)
    assert result.exit_code == 0, result.output
    page = page_text(root / "feedback" / "40101" / ASSIGNMENT / "written.html")
    assert "Names broadcasting; say where the loop runs." in page
    assert re.search(r"1\.5\s*/\s*2", page)
    output = " ".join(result.output.split())
    assert "written answers not graded yet" in output and "Darwin, Charles (2 points)" in output
    assert "Lovelace, Ada (" not in output.split("written answers not graded yet")[1]
