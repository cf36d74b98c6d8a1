"""`course release`: nbgrader stubs, the Canvas zip, verification, drift check."""

import zipfile

import nbformat
import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.grading.course import Course, CourseSetupError
from autograder.grading.release import (ReleaseError, check_releases, find_leaks,
                                        release_assignment, secret_lines)

SOLUTION_LINE = "return x * x  # toy-solution-marker"
HIDDEN_LINE = '_ = expect_close(square(1.5), 2.25, "square(1.5)", "toy-hidden-marker")'


def zip_texts(zip_path):
    with zipfile.ZipFile(zip_path) as archive:
        return {name: archive.read(name).decode("utf-8", "replace") for name in archive.namelist()}


def test_release_writes_stub_and_zip_without_secrets(released_toy):
    root, report = released_toy
    stub = nbformat.read(str(root / "assignments" / "toy" / "toy.ipynb"), as_version=4)
    sources = "\n".join(cell.source for cell in stub.cells)
    assert "raise NotImplementedError()" in sources
    assert "toy-solution-marker" not in sources and "toy-hidden-marker" not in sources
    assert all(not cell.get("outputs") for cell in stub.cells)
    texts = zip_texts(report.zip_path)
    assert "toy/assignments/toy/toy.ipynb" in texts
    assert "toy/README.md" in texts and "course grade" in texts["toy/README.md"]
    assert "toy/course_package/course_lib/checks/core.py" in texts
    assert "toy/course_package/setup.cfg" in texts
    hidden_modules = [name for name in texts if "/autograder/checks/" in name
                      and not name.endswith("/autograder/checks/__init__.py")]
    assert hidden_modules == []
    assert not any("toy-solution-marker" in text or "toy-hidden-marker" in text
                   for text in texts.values())


def test_release_report_shows_full_marks_and_clean_zeros(released_toy):
    _, report = released_toy
    solution = report.solution_scores["toy"]
    stub = report.stub_scores["toy"]
    assert [row["passed"] for row in solution] == [True, True]
    assert [row["score"] for row in stub] == [0.0, 0.0]
    assert all(row["message"] for row in stub)


def test_secret_lines_are_found_in_leaky_files():
    secrets = {SOLUTION_LINE: "solution", HIDDEN_LINE: "hidden test"}
    leaks = find_leaks(secrets, [("notes.md", f"see:\n    {SOLUTION_LINE}\n"),
                                 ("clean.md", "nothing here")])
    assert leaks == [("notes.md", "solution", SOLUTION_LINE)]


def test_secret_lines_skip_short_and_public_lines(released_toy):
    root, _ = released_toy
    secrets = secret_lines([root / "solutions" / "toy" / "toy.ipynb"])
    assert secrets == {SOLUTION_LINE: "solution", HIDDEN_LINE: "hidden test"}


def edit_source(root, edit):
    path = root / "solutions" / "toy" / "toy.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    edit(notebook)
    nbformat.write(notebook, str(path))


def test_release_refuses_a_notebook_that_leaks_its_solution(toy_course_copy, tmp_path):
    root = toy_course_copy(tmp_path / "course")
    edit_source(root, lambda nb: nb.cells.append(nbformat.v4.new_markdown_cell(
        f"Spoiler:\n\n    {SOLUTION_LINE}")))
    with pytest.raises(ReleaseError, match="would leak"):
        release_assignment("toy", course=Course(root), verify=False)
    assert not (root / "assignments" / "toy").exists()


def test_release_refuses_a_solution_that_fails_its_tests(toy_course_copy, tmp_path):
    root = toy_course_copy(tmp_path / "course")

    def break_solution(notebook):
        notebook.cells[1].source = notebook.cells[1].source.replace("return x * x", "return x + x")
    edit_source(root, break_solution)
    with pytest.raises(ReleaseError, match="solution fails toy_test_visible"):
        release_assignment("toy", course=Course(root))
    assert not (root / "assignments" / "toy").exists()


def test_release_refuses_a_test_the_stub_passes(toy_course_copy, tmp_path):
    root = toy_course_copy(tmp_path / "course")

    def add_free_points(notebook):
        cell = nbformat.v4.new_code_cell("x_checked = True")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": "toy_free", "locked": True,
                                     "points": 1, "schema_version": 3, "solution": False,
                                     "task": False}
        notebook.cells.append(cell)
    edit_source(root, add_free_points)
    with pytest.raises(ReleaseError, match="stub earns 1 points on toy_free"):
        release_assignment("toy", course=Course(root))


def test_release_of_unknown_assignment_is_a_setup_error(toy_course_copy, tmp_path):
    root = toy_course_copy(tmp_path / "course")
    with pytest.raises(CourseSetupError, match="no source notebooks"):
        release_assignment("nope", course=Course(root))


def test_check_is_clean_after_release_and_catches_an_edited_stub(released_toy, tmp_path, monkeypatch):
    import shutil
    root, _ = released_toy
    copy = tmp_path / "course"
    shutil.copytree(root, copy)
    assert check_releases(Course(copy)) == {"toy": []}
    stub = copy / "assignments" / "toy" / "toy.ipynb"
    stub.write_text(stub.read_text().replace("YOUR CODE HERE", "YOUR ANSWER HERE"))
    (copy / "assignments" / "old_homework").mkdir()
    (copy / "assignments" / "old_homework" / "old.ipynb").write_text("{}")
    drift = check_releases(Course(copy))
    assert drift["toy"] == ["edited toy.ipynb"]
    assert "no source" in drift["old_homework"][0]
    monkeypatch.setenv("COURSE_DIR", str(copy))
    result = CliRunner().invoke(main, ["release", "--check"])
    assert result.exit_code == 2
    assert "OUT OF DATE" in result.output and "never edit assignments/ by hand" in result.output


def test_check_reports_a_missing_release(toy_course_copy, tmp_path):
    root = toy_course_copy(tmp_path / "course")
    assert check_releases(Course(root)) == {"toy": ["missing toy.ipynb"]}


def test_library_code_leaks_need_a_long_line_or_two_in_a_row():
    secrets = {"return history": "solution",
               "strides = pool_size if strides is None else strides": "solution",
               "pooled = np.empty(shape)": "solution",
               "return pooled.max(axis=-1)": "solution"}
    generic = "def plot(history):\n    return history\n"
    long_line = "    strides = pool_size if strides is None else strides\n"
    copied = "    pooled = np.empty(shape)\n\n    return pooled.max(axis=-1)\n"
    assert find_leaks(secrets, [("course_lib/plots.py", generic)]) == []
    assert find_leaks(secrets, [("course_lib/a.py", long_line)]) == [
        ("course_lib/a.py", "solution", "strides = pool_size if strides is None else strides")]
    assert [line for _, _, line in find_leaks(secrets, [("course_lib/b.py", copied)])] == [
        "pooled = np.empty(shape)", "return pooled.max(axis=-1)"]
    # The same generic line in a released notebook or text is a leak.
    assert find_leaks(secrets, [("README.md", "return history")]) == [
        ("README.md", "solution", "return history")]
