"""`course collect`: a Canvas submissions zip into nbgrader's submitted/ folder."""

import json
import shutil
import unicodedata
import zipfile
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbgrader.api import Gradebook

from autograder import canvas
from autograder.cli import main
from autograder.grading import classroom
from autograder.grading.collect import (CanvasFileNameCollector, collect_submissions,
                                        run_zip_collect)
from autograder.grading.course import CourseSetupError, ensure_assignment_ready, open_course
from autograder.grading.records import COLLECT_RECORD

TOY_COURSE = Path(__file__).resolve().parents[1] / "files" / "toy_course"


@pytest.fixture(scope="module")
def released_template(tmp_path_factory):
    """The toy course, released once with nbgrader; tests work on copies."""
    root = tmp_path_factory.mktemp("released") / "course"
    shutil.copytree(TOY_COURSE, root)
    ensure_assignment_ready(open_course(root, "toy"))
    return root


@pytest.fixture
def course(released_template, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(released_template, root)
    return open_course(root, "toy")


@pytest.fixture
def notebooks(course):
    """Bytes of a filled toy notebook, the stub, and an unrelated notebook."""
    stub = nbformat.read(str(course.release_folder / "toy.ipynb"), as_version=4)
    solution = nbformat.read(str(course.source_folder / "toy.ipynb"), as_version=4)
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('scratch')")])
    return {"full": classroom.as_bytes(classroom.fill_stub(stub, solution)),
            "stub": classroom.as_bytes(stub), "other": classroom.as_bytes(other)}


def make_zip(path, files):
    """files: (sortable name, canvas id, attachment id, filename, bytes, late)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, canvas_id, attachment, filename, data, late in files:
            archive.writestr(canvas.entry_name_for(name, canvas_id, attachment, filename,
                                                   late=late), data)
    return path


def make_roster(path, people):
    students = [canvas.RosterStudent(name, canvas_id, section=section)
                for name, canvas_id, section in people]
    column = canvas.AssignmentColumn("Toy (90001)", "Toy", "90001", "3")
    return canvas.write_roster(path, students, [column])


def files_under(root):
    return sorted(str(path.relative_to(root)) for path in Path(root).rglob("*"))


def submitted(course, student, name="toy.ipynb"):
    return course.root / "submitted" / student / "toy" / name


def test_collect_places_files_and_applies_renames(course, notebooks, tmp_path):
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "toy.ipynb", notebooks["full"], False),
        ("Babbage, Charles", "102", "2", "toy-1.ipynb", notebooks["full"], False),
        ("Curie, Marie", "103", "3", "Copy of toy.ipynb", notebooks["stub"], False),
        ("Curie, Marie", "103", "4", "scratch.ipynb", notebooks["other"], False),
        ("Darwin, Charles", "104", "5", "toy.ipynb", notebooks["full"], True),
        ("Darwin, Charles", "104", "6", "plot.png", b"\x89PNG", True),
        ("Euler, Leonhard", "105", "7", "mine.ipynb", b"{not json", False),
    ])
    report = collect_submissions(course, zip_path)
    for student in ("101", "102", "103", "104", "105"):
        assert submitted(course, student).is_file(), student
    assert submitted(course, "102").read_bytes() == notebooks["full"]
    assert submitted(course, "103").read_bytes() == notebooks["stub"]
    assert submitted(course, "103", "scratch.ipynb").is_file()  # extra notebook kept
    assert submitted(course, "105").read_bytes() == b"{not json"  # only notebook: renamed
    assert not submitted(course, "104", "plot.png").exists()
    students = report.students
    assert students["104"].late and not students["101"].late
    assert "toy-1.ipynb saved as toy.ipynb" in students["102"].notes
    assert any("Copy of toy.ipynb saved as toy.ipynb" in note for note in students["103"].notes)
    assert list(students["104"].skipped.values()) == ["not a notebook (plot.png): ignored"]
    record = json.loads((course.working_folder / COLLECT_RECORD).read_text())
    assert record["students"]["104"]["late"] is True
    assert record["students"]["101"]["late"] is False


def test_newest_of_two_uploads_wins(course, notebooks, tmp_path):
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "10", "toy.ipynb", notebooks["stub"], False),
        ("Lovelace, Ada", "101", "11", "toy-1.ipynb", notebooks["full"], False),
    ])
    report = collect_submissions(course, zip_path)
    assert submitted(course, "101").read_bytes() == notebooks["full"]
    assert report.students["101"].skipped  # the older upload is listed


def test_anonymous_submissions_are_collected_under_their_anon_id(course, notebooks, tmp_path):
    zip_path = tmp_path / "subs.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("anon_Zq3x9_555_toy.ipynb", notebooks["full"])
        archive.writestr("LATE_anon_Pk2w7_556_toy.ipynb", notebooks["full"])
    report = collect_submissions(course, zip_path)
    assert submitted(course, "anon_Zq3x9").is_file()
    assert report.students["anon_Pk2w7"].late


def test_roster_names_students_in_the_gradebook(course, notebooks, tmp_path):
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "toy.ipynb", notebooks["full"], False),
        ("Stranger, Sam", "999", "2", "toy.ipynb", notebooks["full"], False)])
    roster = make_roster(tmp_path / "roster.csv", [("Lovelace, Ada", "101", "Section A")])
    report = collect_submissions(course, zip_path, roster)
    assert report.students["101"].section == "Section A"
    assert not report.students["999"].on_roster  # still collected: nothing is lost
    assert submitted(course, "999").is_file()
    with Gradebook(course.database_url) as gradebook:
        ada = gradebook.find_student("101")
        assert (ada.first_name, ada.last_name, ada.lms_user_id) == ("Ada", "Lovelace", "101")


def test_a_second_download_keeps_earlier_students(course, notebooks, tmp_path):
    first = make_zip(tmp_path / "a.zip", [
        ("Lovelace, Ada", "101", "1", "toy.ipynb", notebooks["full"], False)])
    second = make_zip(tmp_path / "b.zip", [
        ("Babbage, Charles", "102", "2", "toy.ipynb", notebooks["stub"], True)])
    collect_submissions(course, first)
    collect_submissions(course, second)
    assert submitted(course, "101").is_file() and submitted(course, "102").is_file()
    record = json.loads((course.working_folder / COLLECT_RECORD).read_text())
    assert set(record["students"]) == {"101", "102"}


def test_a_zip_that_is_not_from_canvas_writes_nothing(course, tmp_path):
    zip_path = tmp_path / "subs.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("toy.ipynb", "{}")
        archive.writestr("ada/toy.ipynb", "{}")
    before = files_under(course.root)
    result = CliRunner().invoke(main, ["collect", "toy", str(zip_path),
                                       "--course-dir", str(course.root)])
    assert result.exit_code == 2
    assert "not a Canvas submissions zip" in result.output
    assert files_under(course.root) == before


@pytest.mark.parametrize("contents, message", [({}, "is empty"), (None, "not a zip file")])
def test_empty_or_corrupt_zip_is_a_clear_error(course, tmp_path, contents, message):
    zip_path = tmp_path / "subs.zip"
    if contents is None:
        zip_path.write_bytes(b"PK\x03\x04 truncated")
    else:
        zipfile.ZipFile(zip_path, "w").close()
    before = files_under(course.root)
    result = CliRunner().invoke(main, ["collect", "toy", str(zip_path),
                                       "--course-dir", str(course.root)])
    assert result.exit_code == 2 and message in result.output
    assert files_under(course.root) == before


def test_unknown_assignment_lists_the_known_ones(course, tmp_path, notebooks):
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "toy.ipynb", notebooks["full"], False)])
    result = CliRunner().invoke(main, ["collect", "project9", str(zip_path),
                                       "--course-dir", str(course.root)])
    assert result.exit_code == 2
    assert "unknown assignment 'project9'" in result.output and "toy" in result.output
    with pytest.raises(CourseSetupError):
        open_course(course.root / "nowhere", "toy")


def test_a_roster_that_is_not_a_canvas_export_writes_nothing(course, tmp_path, notebooks):
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "toy.ipynb", notebooks["full"], False)])
    roster = tmp_path / "roster.csv"
    roster.write_text("name,score\nada,3\n")
    before = files_under(course.root)
    result = CliRunner().invoke(main, ["collect", "toy", str(zip_path), "--roster", str(roster),
                                       "--course-dir", str(course.root)])
    assert result.exit_code == 2 and "not a Canvas gradebook export" in result.output
    assert files_under(course.root) == before


def test_cli_prints_who_was_collected_and_what_was_skipped(course, notebooks, tmp_path):
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "toy.ipynb", notebooks["full"], True),
        ("Lovelace, Ada", "101", "2", "notes.pdf", b"%PDF", True)])
    with zipfile.ZipFile(zip_path, "a") as archive:
        archive.writestr("instructions.txt", "not a submission")
    roster = make_roster(tmp_path / "roster.csv", [("Lovelace, Ada", "101", "Section A")])
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        main, ["collect", "toy", str(zip_path), "--roster", str(roster),
               "--course-dir", str(course.root)])
    assert result.exit_code == 0, result.output
    for text in ("Lovelace, Ada", "Section A", "LATE", "notes.pdf", "not a notebook",
                 "instructions.txt", "not named like a Canvas submission"):
        assert text in result.output, text


def test_plugin_works_with_plain_nbgrader_zip_collect(course, notebooks, tmp_path):
    """Without a plan, the plugin alone maps Canvas names (minus -N) to notebooks."""
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "toy-2.ipynb", notebooks["full"], False),
        ("Lovelace, Ada", "101", "2", "notes.txt", b"x", False)])
    result = run_zip_collect(course, zip_path, saved_names=None)
    assert result["success"], result
    assert submitted(course, "101").read_bytes() == notebooks["full"]
    assert not submitted(course, "101", "notes.txt").exists()
    plugin = CanvasFileNameCollector()
    assert plugin.collect("/x/lovelaceada_101_1_toy.ipynb") == {"student_id": "101",
                                                               "file_id": "toy.ipynb"}
    assert plugin.collect("/x/readme.ipynb") is None


def test_a_zip_of_another_assignment_is_refused_and_nothing_written(course, tmp_path):
    foreign = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    foreign.cells[0].metadata["nbgrader"] = {"grade_id": "project2_answer", "solution": True,
                                             "grade": False, "locked": False,
                                             "schema_version": 3, "task": False}
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "project2.ipynb", classroom.as_bytes(foreign), False),
        ("Babbage, Charles", "102", "2", "project2-1.ipynb", classroom.as_bytes(foreign),
         False)])
    before = files_under(course.root)
    with pytest.raises(CourseSetupError, match="this zip holds no toy.ipynb from any student"):
        collect_submissions(course, zip_path)
    assert files_under(course.root) == before
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        main, ["collect", "toy", str(zip_path), "--course-dir", str(course.root)])
    assert result.exit_code == 2
    assert "not the download of 'toy'" in result.output and "project2.ipynb" in result.output


def test_a_zip_of_another_assignment_of_the_course_is_named(course, notebooks, tmp_path):
    """The toy's own notebook collected as a second assignment 'quiz' points back to toy."""
    (course.root / "solutions" / "quiz").mkdir()
    stub = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("quiz")])
    stub.cells[0].metadata["nbgrader"] = {"grade_id": "quiz_text", "solution": False,
                                          "grade": False, "locked": True,
                                          "schema_version": 3, "task": False}
    nbformat.write(stub, str(course.root / "solutions" / "quiz" / "quiz.ipynb"))
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "toy.ipynb", notebooks["full"], False)])
    with pytest.raises(CourseSetupError, match="They look like 'toy'"):
        collect_submissions(open_course(course.root, "quiz"), zip_path)
    assert not (course.root / "submitted").exists()


def test_upper_case_safari_and_zipped_notebooks_are_collected(course, notebooks, tmp_path):
    """content_zipper.rb keeps the uploaded display name (only `[\\x00/\\:*?"<>|]`
    replaced), so a student's `Toy.IPYNB`, Safari's `toy.ipynb.txt` and an uploaded
    `toy.zip` reach the zip as they were uploaded."""
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("hw/toy.ipynb", notebooks["full"])
        archive.writestr("__MACOSX/hw/._toy.ipynb", b"junk")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", b"x")
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "Toy.IPYNB", notebooks["full"], False),
        ("Babbage, Charles", "102", "2", "toy.ipynb.txt", notebooks["full"], False),
        ("Curie, Marie", "103", "3", "toy.zip", inner.read_bytes(), True),
        ("Darwin, Charles", "104", "4", "work.zip", empty.read_bytes(), False),
        ("Darwin, Charles", "104", "5", "broken.zip", b"not a zip", False)])
    report = collect_submissions(course, zip_path)
    for student in ("101", "102", "103"):
        assert submitted(course, student).read_bytes() == notebooks["full"], student
    assert "Toy.IPYNB saved as toy.ipynb" in report.students["101"].notes
    assert "toy.ipynb.txt saved as toy.ipynb" in report.students["102"].notes
    assert "toy.ipynb unpacked from toy.zip" in report.students["103"].notes
    assert report.students["103"].late
    assert not (course.root / "submitted" / "104").exists()
    assert sorted(report.students["104"].skipped.values()) == [
        "broken.zip is not a readable zip: ignored", "work.zip holds no notebook: ignored"]
    assert not (course.working_folder / "staging").exists()


def test_names_in_decomposed_unicode_are_collected(course, notebooks, tmp_path):
    """content_zipper.rb keeps Unicode letters in the squeezed name ("müllerjörg");
    a zip made again on a Mac stores them decomposed (NFD)."""
    roster = make_roster(tmp_path / "roster.csv", [("Müller, Jörg", "101", "A")])
    zip_path = tmp_path / "subs.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr(unicodedata.normalize("NFD", "müllerjörg_101_1_toy.ipynb"),
                         notebooks["full"])
    report = collect_submissions(course, zip_path, roster)
    assert submitted(course, "101").read_bytes() == notebooks["full"]
    assert report.unreadable == [] and report.students["101"].notes == []
    assert report.students["101"].name == "Müller, Jörg"


def test_the_test_student_is_not_collected_by_default(course, notebooks, tmp_path):
    """content_zipper.rb names Student View's user after its sortable name "Student, Test"."""
    roster = make_roster(tmp_path / "roster.csv", [("Lovelace, Ada", "101", "A"),
                                                   ("Student, Test", "199", "A")])
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "toy.ipynb", notebooks["full"], False),
        ("Student, Test", "199", "2", "toy.ipynb", notebooks["full"], False)])
    report = collect_submissions(course, zip_path, roster)
    assert not (course.root / "submitted" / "199").exists()
    assert report.students["199"].test_student and not report.students["199"].collected
    collect_submissions(course, zip_path, roster, include_test_student=True)
    assert submitted(course, "199").is_file()


def test_a_zip_named_after_groups_is_flagged(course, notebooks, tmp_path):
    """For a group assignment `representatives` gives each group one member whose
    sortable name is the group's: entries read `team1_<member id>_...`."""
    roster = make_roster(tmp_path / "roster.csv", [("Lovelace, Ada", "101", "A"),
                                                   ("Babbage, Charles", "102", "A")])
    zip_path = tmp_path / "subs.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("team1_101_1_toy.ipynb", notebooks["full"])
    report = collect_submissions(course, zip_path, roster)
    assert report.students["101"].group_name == "team1"
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        main, ["collect", "toy", str(zip_path), "--roster", str(roster),
               "--course-dir", str(course.root)])
    assert "Named after groups, not students: team1" in result.output
    assert "course export --groups" in result.output


def test_a_student_with_only_other_files_is_listed_with_nothing_to_grade(course, tmp_path):
    zip_path = make_zip(tmp_path / "subs.zip", [
        ("Lovelace, Ada", "101", "1", "answers.pdf", b"%PDF", False)])
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        main, ["collect", "toy", str(zip_path), "--course-dir", str(course.root)])
    assert result.exit_code == 0, result.output
    assert "nothing to grade" in result.output and "answers.pdf" in result.output
    assert not (course.root / "submitted" / "101").exists()
