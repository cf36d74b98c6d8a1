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
    # Notebooks are committed without outputs; released stubs carry none.
    config.ClearOutput.enabled = True
    return config
