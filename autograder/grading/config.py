"""nbgrader configuration for a course directory.

The repository itself is a course directory: nbgrader's source folder is
`solutions/` and its release folder is `assignments/`. A TA's working copy and
the temporary course directories that `course grade` builds use the same
settings, produced here, so every step grades the same way.
"""

from pathlib import Path

from traitlets.config import Config

COURSE_ID = "biof510"
SOURCE_DIRECTORY = "solutions"
RELEASE_DIRECTORY = "assignments"
# Seconds one notebook cell may run during grading. Project cells train small
# models on CPU for well under a minute; anything far beyond is a runaway.
CELL_TIMEOUT_SECONDS = 300


def repository_root():
    """The folder holding `solutions/` when installed from a clone, else None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / SOURCE_DIRECTORY).is_dir() else None


def autograde_preprocessors():
    """nbgrader's autograde pipeline with this course's additions.

    `StderrIsNotFailure` runs right after execution, before scores are saved.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata,
                                        Execute, IgnorePattern, LimitOutput,
                                        SaveAutoGrades)

    from autograder.grading.preprocessors import StderrIsNotFailure

    return [Execute, StderrIsNotFailure, IgnorePattern, ClearMetadataPreprocessor,
            LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]


def make_config(course_root, database_url=None):
    """Build the nbgrader `Config` for a course directory.

    Args:
        course_root: Folder holding the course (`solutions/`, `submitted/`, ...).
        database_url: SQLAlchemy URL of the gradebook; defaults to a SQLite file
            `gradebook.db` in `course_root`.

    Returns:
        A `traitlets.config.Config` for `nbgrader.apps.NbGraderAPI`.

    Example:

    >>> config = make_config("/tmp/course")
    >>> config.CourseDirectory.source_directory
    'solutions'
    """
    course_root = Path(course_root).resolve()
    config = Config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.source_directory = SOURCE_DIRECTORY
    config.CourseDirectory.release_directory = RELEASE_DIRECTORY
    config.CourseDirectory.db_url = (
        database_url or f"sqlite:///{course_root / 'gradebook.db'}")
    config.ExecutePreprocessor.timeout = CELL_TIMEOUT_SECONDS
    config.ExecutePreprocessor.kernel_name = "python3"
    # nbgrader scores a test cell zero when it writes anything to stderr.
    # TensorFlow's C++ start-up lines go to the process's stderr, so the
    # kernel is told not to forward C-level output into the notebook.
    config.ExecutePreprocessor.extra_arguments = [
        "--IPKernelApp.capture_fd_output=False"]
    config.Autograde.autograde_preprocessors = autograde_preprocessors()
    # Notebooks are committed without outputs; released stubs carry none.
    config.ClearOutput.enabled = True
    return config


def ensure_environment():
    """Make nbgrader's helper programs and quiet TensorFlow logs available.

    nbgrader runs the `alembic` program of its own environment when it opens a
    gradebook; when `course` is called as `.venv/bin/course` without the
    environment activated, that folder is not on PATH, so it is added here.
    """
    import os
    import sys

    tools = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if tools not in path.split(os.pathsep):
        os.environ["PATH"] = tools + os.pathsep + path
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Python warnings also land on stderr, which nbgrader counts as a failed
    # test; a deprecation notice in a student's library must not cost points.
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
