"""The Canvas zip is what a student installs: unzipped into an empty folder,
its package installed into a fresh virtual environment, `course grade` runs
there on the released stub and on a finished notebook (visible tests only).

The fresh environment gets its third-party packages (TensorFlow, nbgrader,
...) from this test run's own environment through a `.pth` line, and the
course package is installed with `--no-deps --no-index`: the tests download
nothing. `pip check` then proves that every requirement the package declares
is met by what is there, and the imports come from the fresh environment,
not from the repository.
"""

import json
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.grading import classroom
from autograder.grading.course import Course, repository_root
from autograder.grading.release import release_assignment

ROOT = repository_root()
ASSIGNMENT = "exercises1"
NOTEBOOK = "02_relu"


def run(command, cwd, environment):
    return subprocess.run([str(part) for part in command], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """`(folder, environment)`: the unzipped assignment and the student's env vars."""
    base = tmp_path_factory.mktemp("student_zip")
    course_root = base / "course"
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course_root / "solutions" / ASSIGNMENT)
    report = release_assignment(ASSIGNMENT, course=Course(course_root),
                                zip_directory=base / "zips", verify=False)
    unzipped = base / "empty"
    unzipped.mkdir()
    with zipfile.ZipFile(report.zip_path) as archive:
        archive.extractall(unzipped)
    environment_folder = base / "env"
    subprocess.run([sys.executable, "-m", "venv", environment_folder], check=True)
    python = environment_folder / "bin" / "python"
    site_packages = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    (site_packages / "test_run_packages.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n")
    environment = {"PATH": f"{environment_folder / 'bin'}:/usr/bin:/bin",
                   "HOME": str(base / "home"), "LANG": "C.UTF-8",
                   "TF_CPP_MIN_LOG_LEVEL": "3"}
    folder = unzipped / ASSIGNMENT
    installed = run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                     "--no-build-isolation", "./course_package"], folder, environment)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return folder, environment, python


def test_the_zip_holds_the_stubs_and_the_package_but_no_hidden_checks(student):
    folder, _, _ = student
    assert (folder / "assignments" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").is_file()
    assert (folder / "course_package" / "setup.cfg").is_file()
    assert sorted(path.name for path in (folder / "course_package" / "autograder" / "checks")
                  .iterdir()) == ["__init__.py"]
    assert not (folder / "solutions").exists()


def test_every_declared_requirement_is_met(student):
    folder, environment, python = student
    checked = run([python, "-m", "pip", "check"], folder, environment)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_package_is_imported_from_the_fresh_environment(student):
    folder, environment, python = student
    imported = run([python, "-c", "import course_lib, autograder; "
                                  "print(course_lib.__file__); print(autograder.__file__)"],
                   folder, environment)
    assert imported.returncode == 0, imported.stderr
    prefix = str(Path(python).parent.parent)
    assert all(line.startswith(prefix) for line in imported.stdout.split()), imported.stdout


def test_course_grade_runs_the_visible_tests_of_the_stub_and_a_finished_notebook(student):
    folder, environment, _ = student
    stub_path = folder / "assignments" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    finished = classroom.fill_stub(nbformat.read(stub_path, as_version=4),
                                   nbformat.read(ROOT / "solutions" / ASSIGNMENT
                                                 / f"{NOTEBOOK}.ipynb", as_version=4))
    finished_path = folder / "mine" / f"{NOTEBOOK}.ipynb"
    finished_path.parent.mkdir()
    nbformat.write(finished, finished_path)
    course = Path(environment["PATH"].split(":")[0]) / "course"
    results = {}
    for name, path in (("stub", stub_path), ("finished", finished_path)):
        graded = run([course, "grade", path, "--assignment", ASSIGNMENT, "--json"],
                     folder, environment)
        assert graded.stdout.strip(), graded.stderr
        results[name] = json.loads(graded.stdout)
    for result in results.values():
        assert result["hidden_tests_included"] is False
        assert [row["id"] for row in result["tests"]] == ["test_relu_basic",
                                                         "test_relu_shape_and_input"]
    assert results["stub"]["score"] == 0
    assert all("raise NotImplementedError()" in row["message"]
               for row in results["stub"]["tests"]), results["stub"]["tests"]
    assert results["finished"]["score"] == results["finished"]["max_score"] == 4.0


def test_the_student_readme_has_the_colab_lines_for_this_zip(student):
    folder, _, _ = student
    readme = (folder / "README.md").read_text()
    assert f"!unzip -q -o /content/{ASSIGNMENT}.zip -d /content" in readme
    assert f"%pip install -q /content/{ASSIGNMENT}/course_package" in readme
