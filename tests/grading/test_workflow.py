"""The TA workflow on real nbgrader: collect -> autograde -> feedback -> export.

Two classes run through it, both on the toy fixture course (one kernel start
per submission): the demo's fabricated class through `course demo`, and a
two-student class through the individual commands.
"""

import html
import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from autograder import canvas
from autograder.cli import main
from autograder.grading import classroom
from autograder.grading.autograde import failure_reason
from autograder.grading.course import ensure_assignment_ready, open_course
from autograder.grading.notebooks import answer_cells
from autograder.grading.preprocessors import HideHiddenTestSource
from autograder.grading.preprocessors.hide_hidden_test_source import HIDDEN_NOTE

TOY_COURSE = Path(__file__).resolve().parents[1] / "files" / "toy_course"
TOY_SOLUTIONS = TOY_COURSE / "solutions"
# The toy has one task, so the demo's "partial" student hands in the stub.
DEMO_SCORES = {"40101": "100", "40102": "0", "40103": "0", "40104": "100", "40105": "0",
               "40106": "0"}
TINY_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
            "hKmMIQAAAABJRU5ErkJggg==")
HIDDEN_SOURCE = '_ = expect_close(square(1.5), 2.25, "square(1.5)", "toy-hidden-marker")'


def run(*args):
    runner = CliRunner(env={"COLUMNS": "200"})  # rich wraps tables at this width
    return runner.invoke(main, [str(arg) for arg in args], terminal_width=200)


def page_text(path):
    """The visible text of an HTML page (tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", Path(path).read_text(encoding="utf-8")))


def import_grades(csv_path, roster_path):
    preview = canvas.preview_gradebook_import(csv_path, canvas.read_roster(roster_path))
    return preview, {canvas_id: cells for canvas_id, cells in preview.grades.items()}


# ----------------------------------------------------------------- the demo

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "course_demo"
    result = run("demo", "--directory", root, "--solutions", TOY_SOLUTIONS,
                 "--assignment", "toy")
    assert result.exit_code == 0, result.output
    return root, result.output


def test_demo_narrates_every_step_and_reconciles(demo):
    root, output = demo
    for step in ("Release toy", "Fabricate a class", "course collect toy",
                 "course autograde toy", "course feedback toy", "course export toy",
                 "course report toy", "What happened"):
        assert step in output, step
    assert (root / "reports" / "toy" / "index.html").is_file()
    assert "submitted 6 = graded 5 + failed 1" in output
    assert str(root / "canvas" / "canvas_import.csv") in output
    assert "not a readable notebook" in output


def test_every_student_in_the_zip_gets_the_right_score(demo):
    root, _ = demo
    csv_path = root / "canvas" / "canvas_import.csv"
    roster_path = root / "canvas" / "gradebook_export.csv"
    preview, grades = import_grades(csv_path, roster_path)
    assert [(column.header, column.points_possible) for column in preview.columns] == [
        ("Toy (90001)", "100")]
    assert preview.new_assignments == [] and preview.unmatched == []
    entries, _ = canvas.read_submissions_zip(root / "canvas" / "toy_submissions.zip")
    assert {entry.student_id for entry in entries} == set(DEMO_SCORES)
    assert {canvas_id: cells["Toy (90001)"] for canvas_id, cells in grades.items()} == DEMO_SCORES
    rows = {row.canvas_id: row for row in canvas.read_roster(roster_path).students}
    assert "40107" in rows and "40107" not in grades  # never submitted: blank cell


def test_late_flags_survive_collect_autograde_and_export(demo):
    root, _ = demo
    collected = json.loads((root / "downloaded" / "toy" / "collect.json").read_text())
    graded = json.loads((root / "downloaded" / "toy" / "autograde.json").read_text())
    late = {student for student, entry in collected["students"].items() if entry["late"]}
    assert late == {"40104"}
    assert {student for student, entry in graded["students"].items() if entry["late"]} == late
    result = run("export", "toy", "--roster", root / "canvas" / "gradebook_export.csv",
                 "-o", root / "again.csv", "--course-dir", root)
    assert result.exit_code == 0, result.output
    darwin = next(line for line in result.output.splitlines() if "Darwin" in line)
    assert "LATE" in darwin
    assert not any("LATE" in line for line in result.output.splitlines() if "Lovelace" in line)


def test_feedback_shows_scores_but_not_hidden_test_source(demo):
    root, _ = demo
    pages = sorted((root / "feedback").glob("*/toy/toy.html"))
    assert [page.parts[-3] for page in pages] == ["40101", "40102", "40103", "40104", "40106"]
    for page in pages:
        text = page_text(page)
        assert "BEGIN HIDDEN TESTS" not in text and HIDDEN_SOURCE not in text
        assert HIDDEN_NOTE in text
        assert "square(3.0)" in text  # visible tests stay visible
    assert "Score: 0.0 / 2.0" in page_text(root / "feedback" / "40102" / "toy" / "toy.html")


def test_export_missing_zero_and_explicit_column(demo, tmp_path):
    root, _ = demo
    roster = root / "canvas" / "gradebook_export.csv"
    result = run("export", "toy", "--roster", roster, "-o", tmp_path / "zero.csv",
                 "--missing", "zero", "--course-dir", root)
    assert result.exit_code == 0, result.output
    _, grades = import_grades(tmp_path / "zero.csv", roster)
    assert grades["40107"] == {"Toy (90001)": "0"}
    result = run("export", "toy", "--roster", roster, "-o", tmp_path / "quiz.csv",
                 "--column", "Reading quiz 1 (90009)", "--course-dir", root)
    assert result.exit_code == 0, result.output
    preview, _ = import_grades(tmp_path / "quiz.csv", roster)
    assert [column.header for column in preview.columns] == ["Reading quiz 1 (90009)"]
    assert "points possible" in result.output  # 5 on Canvas, 3 in nbgrader


def rewrite_roster(source, destination, rename):
    text = Path(source).read_text(encoding="utf-8-sig")
    for old, new in rename.items():
        text = text.replace(old, new)
    Path(destination).write_text(text)
    return destination


@pytest.mark.parametrize("change, message", [
    ({"rename": {"Toy (90001)": "Homework (90001)"}}, "no roster column title contains"),
    ({"rename": {"Reading quiz 1 (90009)": "Toy bonus (90009)"}}, "several roster columns"),
])
def test_export_refuses_bad_rosters_and_writes_nothing(demo, tmp_path, change, message):
    root, _ = demo
    roster = rewrite_roster(root / "canvas" / "gradebook_export.csv", tmp_path / "r.csv",
                            **change)
    output = tmp_path / "import.csv"
    result = run("export", "toy", "--roster", roster, "-o", output, "--course-dir", root)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not output.exists()


def test_export_of_an_unknown_assignment_is_a_usage_error(demo, tmp_path):
    root, _ = demo
    result = run("export", "project9", "--roster", root / "canvas" / "gradebook_export.csv",
                 "-o", tmp_path / "x.csv", "--course-dir", root)
    assert result.exit_code == 2 and "unknown assignment 'project9'" in result.output


def test_demo_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    result = run("demo", "--directory", tmp_path, "--solutions", TOY_SOLUTIONS)
    assert result.exit_code == 2 and "not made by `course demo`" in result.output
    assert [path.name for path in tmp_path.iterdir()] == ["thesis.tex"]


# ----------------------------------------------- the commands one by one

@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    """Two students through autograde (too early), collect, export (too early),
    feedback (too early), autograde, feedback and export, all through the CLI."""
    scratch = tmp_path_factory.mktemp("stub") / "course"
    shutil.copytree(TOY_COURSE, scratch)
    ensure_assignment_ready(open_course(scratch, "toy"))
    stub = nbformat.read(str(scratch / "assignments" / "toy" / "toy.ipynb"), as_version=4)
    answer_cells(stub)["toy_square"].source = (
        "def square(x):\n    return round(x) ** 2  # right for whole numbers only")
    stub.cells.append(nbformat.v4.new_code_cell(  # a plot of her own, as a tiny PNG
        "import base64\nfrom IPython.display import Image, display\n"
        f"display(Image(data=base64.b64decode('{TINY_PNG}')))"))
    root = tmp_path_factory.mktemp("small") / "course"
    shutil.copytree(TOY_COURSE, root)  # sources only: collect releases toy itself
    canvas_folder = root.parent / "canvas"
    canvas_folder.mkdir()
    roster, _ = classroom.write_class_roster(
        canvas_folder / "export.csv",
        [classroom.Classmate("Round, Ronda", "501", "A", ""),
         classroom.Classmate("Broken, Bea", "502", "B", "")], "toy", 3)
    zip_path = canvas_folder / "subs.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr(canvas.entry_name_for("Round, Ronda", "501", "11", "toy.ipynb"),
                         classroom.as_bytes(stub))
        archive.writestr(canvas.entry_name_for("Broken, Bea", "502", "12", "toy.ipynb",
                                               late=True), b'{"cells": [')
    steps = {"autograde_early": run("autograde", "toy", "--course-dir", root)}
    steps["collect"] = run("collect", "toy", zip_path, "--roster", roster, "--course-dir", root)
    steps["export_early"] = run("export", "toy", "--roster", roster, "-o",
                                canvas_folder / "early.csv", "--course-dir", root)
    steps["feedback_early"] = run("feedback", "toy", "--course-dir", root)
    steps["autograde"] = run("autograde", "toy", "--course-dir", root)
    steps["feedback"] = run("feedback", "toy", "--course-dir", root)
    steps["export"] = run("export", "toy", "--roster", roster, "-o",
                          canvas_folder / "import.csv", "--course-dir", root)
    return root, canvas_folder, roster, steps


def test_steps_out_of_order_are_clear_errors(small_class):
    root, canvas_folder, _, steps = small_class
    assert steps["autograde_early"].exit_code == 2
    assert "Run `course collect toy" in steps["autograde_early"].output
    assert steps["collect"].exit_code == 0, steps["collect"].output
    assert (root / "assignments" / "toy" / "toy.ipynb").is_file()  # released on the way
    assert steps["export_early"].exit_code == 2
    assert "not autograded yet" in steps["export_early"].output
    assert not (canvas_folder / "early.csv").exists()
    assert steps["feedback_early"].exit_code == 2
    assert "Run `course autograde toy` first" in steps["feedback_early"].output


def test_autograde_reports_every_submission(small_class):
    _, _, _, steps = small_class
    result = steps["autograde"]
    assert result.exit_code == 0, result.output
    assert "submitted 2 = graded 1 + failed 1" in result.output
    assert "toy.ipynb is not a readable notebook" in result.output
    assert "1 / 3" in result.output, result.output


def test_feedback_keeps_the_hidden_check_message_not_its_source(small_class):
    root, _, _, steps = small_class
    assert steps["feedback"].exit_code == 0, steps["feedback"].output
    text = page_text(root / "feedback" / "501" / "toy" / "toy.html")
    assert "square(1.5) returned" in text and "expected 2.25" in text
    assert "toy-hidden-marker" in text  # the hidden check's hint reaches the student
    assert HIDDEN_SOURCE not in text and "BEGIN HIDDEN TESTS" not in text
    assert "Score: 1.0 / 1.0" in text and "Score: 0.0 / 2.0" in text
    assert "data:image/png;base64," in (root / "feedback" / "501" / "toy" / "toy.html").read_text()
    assert not (root / "feedback" / "502").exists()
    assert "autograde failed" in steps["feedback"].output


def test_failed_submission_still_exported_with_zero(small_class):
    _, canvas_folder, roster, steps = small_class
    assert steps["export"].exit_code == 0, steps["export"].output
    _, grades = import_grades(canvas_folder / "import.csv", roster)
    assert grades == {"501": {"Toy (90001)": "1"}, "502": {"Toy (90001)": "0"}}
    assert "could not be graded" in steps["export"].output


def test_a_late_upload_is_collected_and_regraded_alone(small_class, tmp_path):
    """A second Canvas zip holding one student replaces only that student's files;
    `autograde --student` regrades only them: the classmate's autograded notebook,
    gradebook score and record stay as they were."""
    source_root, canvas_folder, roster, _ = small_class
    root = tmp_path / "course"
    shutil.copytree(source_root, root)
    ronda_graded = root / "autograded" / "501" / "toy" / "toy.ipynb"
    ronda_before = (ronda_graded.stat().st_mtime_ns, ronda_graded.read_bytes())
    ronda_submitted = (root / "submitted" / "501" / "toy" / "toy.ipynb").read_bytes()
    solution = nbformat.read(str(root / "solutions" / "toy" / "toy.ipynb"), as_version=4)
    stub = nbformat.read(str(root / "assignments" / "toy" / "toy.ipynb"), as_version=4)
    late_zip = tmp_path / "late.zip"
    with zipfile.ZipFile(late_zip, "w") as archive:
        archive.writestr(canvas.entry_name_for("Broken, Bea", "502", "13", "toy-1.ipynb",
                                               late=True),
                         classroom.as_bytes(classroom.fill_stub(stub, solution)))
    result = run("collect", "toy", late_zip, "--roster", roster, "--course-dir", root)
    assert result.exit_code == 0, result.output
    assert (root / "submitted" / "501" / "toy" / "toy.ipynb").read_bytes() == ronda_submitted
    result = run("autograde", "toy", "--student", "502", "--course-dir", root)
    assert result.exit_code == 0, result.output
    assert "submitted 1 = graded 1 + failed 0" in result.output
    assert (ronda_graded.stat().st_mtime_ns, ronda_graded.read_bytes()) == ronda_before
    record = json.loads((root / "downloaded" / "toy" / "autograde.json").read_text())
    assert {student: (entry["status"], entry["score"])
            for student, entry in record["students"].items()} == {
        "501": ("graded", 1.0), "502": ("graded", 3.0)}
    result = run("export", "toy", "--roster", roster, "-o", tmp_path / "import.csv",
                 "--raw-points", "--course-dir", root)
    assert result.exit_code == 0, result.output
    _, grades = import_grades(tmp_path / "import.csv", roster)
    assert grades == {"501": {"Toy (90001)": "1"}, "502": {"Toy (90001)": "3"}}
    result = run("autograde", "toy", "--student", "999", "--course-dir", root)
    assert result.exit_code == 2
    assert "no collected submission of 'toy' for 999" in result.output
    assert "collected: 501, 502" in result.output


def test_hide_hidden_test_source_keeps_outputs_and_shortens_test_tracebacks():
    cell = nbformat.v4.new_code_cell(
        "check(f)\n    ### BEGIN HIDDEN TESTS\n    secret(f)\n    ### END HIDDEN TESTS\nmore(f)")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t"}
    cell.outputs = [nbformat.v4.new_output("stream", text="printed\n"),
                    nbformat.v4.new_output("error", ename="CheckFailure", evalue="found x",
                                           traceback=["Cell In[3]", "----> 3 secret(f)"])]
    answer = nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\n")
    answer.outputs = [nbformat.v4.new_output("error", ename="E", evalue="v",
                                             traceback=["frame 1", "E: v"])]
    notebook = nbformat.v4.new_notebook(cells=[cell, answer])
    HideHiddenTestSource().preprocess(notebook, {})
    assert cell.source == f"check(f)\n    {HIDDEN_NOTE}\nmore(f)"
    assert cell.outputs[0]["text"] == "printed\n"
    assert cell.outputs[1]["traceback"] == ["CheckFailure: found x"]
    assert answer.source == f"x = 1\n{HIDDEN_NOTE}"  # unclosed region: hidden to the end
    assert answer.outputs[0]["traceback"] == ["frame 1", "E: v"]  # not a test cell


def test_failure_reason_picks_the_exception_not_nbgraders_wrapper():
    log = ("[ERROR] Traceback (most recent call last):\n"
           "    nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{'\n"
           "[ERROR] There was an error processing assignment 'toy' for student '2'\n")
    error = "nbgrader.converters.base.NbGraderException: Please see the above traceback\n"
    assert failure_reason(log, error) == "NotJSONError: Notebook does not appear to be JSON: '{'"
    assert failure_reason("", "") == "nbgrader autograde failed"
    timeout = ("    nbclient.exceptions.CellTimeoutError: A cell timed out while it was "
               "being executed\n")
    assert failure_reason(timeout).startswith("CellTimeoutError: A cell timed out")


def test_demo_without_instructor_sources_says_where_it_looked(tmp_path, monkeypatch):
    from autograder.grading import demo
    from autograder.grading.course import CourseSetupError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, "repository_root", lambda: None)
    with pytest.raises(CourseSetupError, match="no instructor sources to demo") as error:
        demo.choose_source()
    assert str(tmp_path / "solutions") in str(error.value)
    assert "toy_course" not in str(error.value)
