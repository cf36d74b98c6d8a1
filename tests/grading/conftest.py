"""A released toy course shared by the grading-core tests (released once)."""

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.grading.course import Course
from autograder.grading.release import release_assignment

TOY_COURSE = Path(__file__).resolve().parents[1] / "files" / "toy_course"


def copy_toy_course(destination):
    """Copy the toy course (sources only) to `destination` and return it."""
    shutil.copytree(TOY_COURSE, destination, dirs_exist_ok=True)
    return Path(destination)


def write_answer(stub_path, body, destination):
    """Write a submission: the released stub with `body` as square's answer."""
    notebook = nbformat.read(str(stub_path), as_version=4)
    for cell in notebook.cells:
        if "raise NotImplementedError()" in cell.source:
            cell.source = cell.source.replace(
                "# YOUR CODE HERE\n    raise NotImplementedError()", body)
    nbformat.write(notebook, str(destination))
    return Path(destination)


@pytest.fixture(name="write_answer", scope="session")
def write_answer_fixture():
    """Function writing a submission from the stub and an answer body."""
    return write_answer


@pytest.fixture(scope="session")
def toy_course_copy():
    """Function making a fresh, unreleased copy of the toy course."""
    return copy_toy_course


@pytest.fixture(scope="session")
def released_toy(tmp_path_factory):
    """A toy course folder with assignments/toy released and verified."""
    root = copy_toy_course(tmp_path_factory.mktemp("toy_course"))
    report = release_assignment("toy", course=Course(root))
    return root, report


@pytest.fixture(scope="session")
def toy_submissions(released_toy, tmp_path_factory):
    """Full, partial and empty submissions of the toy assignment."""
    root, _ = released_toy
    stub = root / "assignments" / "toy" / "toy.ipynb"
    folder = tmp_path_factory.mktemp("submissions")
    return {
        "full": write_answer(stub, "return x ** 2", folder / "full.ipynb"),
        # Right for positive x only: passes the visible test, fails the other.
        "partial": write_answer(stub, "return x * abs(x)", folder / "partial.ipynb"),
        "empty": stub,
    }


# Real PostgreSQL server and per-test gradebook databases (see postgres.py).
from tests.grading.postgres import postgres_gradebook_url, postgres_server_url  # noqa: E402,F401


@pytest.fixture(scope="session")
def sequential_toy_class(tmp_path_factory):
    """The toy class collected and graded one submission at a time (SQLite).

    The baseline other grading runs are compared with.

    Returns:
        `(root, result, zip_path, roster, classmates)`: the course folder,
        the autograde command's result, the class's Canvas zip and roster,
        and the fabricated classmates.
    """
    from tests.grading.toy_class import collect_and_grade, copy_course, write_toy_class

    base = tmp_path_factory.mktemp("toy_class")
    zip_path, roster, classmates = write_toy_class(base)
    root = copy_course(base / "sequential")
    result = collect_and_grade(root, zip_path, roster, "--workers", 1)
    return root, result, zip_path, roster, classmates
