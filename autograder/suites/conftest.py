"""pytest wiring for `pytest autograder/suites --submission NOTEBOOK`."""

from pathlib import Path

import pytest

from autograder.suites.loader import course_test_cells


def pytest_addoption(parser):
    parser.addoption("--submission", action="store", default=None,
                     help="Student notebook (.ipynb) to grade.")
    parser.addoption("--assignment", action="store", default=None,
                     help="Assignment id (inferred from the notebook when omitted).")


def submission_path(config):
    value = config.getoption("--submission")
    if not value:
        raise pytest.UsageError("pass the notebook to grade: "
                                "pytest autograder/suites --submission my.ipynb")
    path = Path(value).resolve()
    if not path.is_file():
        raise pytest.UsageError(f"--submission {path} is not a file")
    return path


def pytest_configure(config):
    """Fail fast, before collection, when no usable notebook was given."""
    submission_path(config)


def pytest_generate_tests(metafunc):
    if "test_cell" in metafunc.fixturenames:
        path = submission_path(metafunc.config)
        _, _, _, cells = course_test_cells(path, metafunc.config.getoption("--assignment"))
        metafunc.parametrize("test_cell", cells, ids=[cell.grade_id for cell in cells])


@pytest.fixture(scope="session")
def graded(request):
    """The submission graded once by `course grade`'s machinery, for every test."""
    from autograder.grading.grade import grade_notebook

    report = grade_notebook(submission_path(request.config),
                            assignment=request.config.getoption("--assignment"))
    return {row["id"]: row for row in report["tests"]}, report
