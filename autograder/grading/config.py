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


def cell_timeout_from_environment():
    """The per-cell timeout in seconds: `COURSE_CELL_TIMEOUT`, else 300.

    Raises:
        ValueError: when the variable is set but is not a positive number.
    """
    import os

    text = os.environ.get("COURSE_CELL_TIMEOUT", "").strip()
    if not text:
        return CELL_TIMEOUT_SECONDS
    try:
        seconds = int(float(text))
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise ValueError(
            f"COURSE_CELL_TIMEOUT={text!r} is not a positive number of seconds; "
            "set it to e.g. 300 or unset it.")
    return seconds


def repository_root():
    """The folder holding `solutions/` when installed from a clone, else None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / SOURCE_DIRECTORY).is_dir() else None


def autograde_preprocessors():
    """nbgrader's autograde pipeline with this course's additions.

    `GuardedExecute` replaces nbgrader's `Execute`: it runs the kernel in
    the sandbox, survives timeouts and kernel deaths, and gives a test cell
    its points only for a genuine verdict (see `preprocessors.py`).
    `StderrIsNotFailure` runs right after execution, before scores are saved.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata,
                                        IgnorePattern, LimitOutput, SaveAutoGrades)

    from autograder.grading.preprocessors import GuardedExecute, StderrIsNotFailure

    return [GuardedExecute, StderrIsNotFailure, IgnorePattern, ClearMetadataPreprocessor,
            LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]


def sanitize_preprocessors():
    """nbgrader's sanitize step with `SanitizeSubmission` put first.

    It repairs renamed, repeated and deleted test cells so that nbgrader's
    own `OverwriteCells` can restore them (see `preprocessors.py`).
    """
    from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds,
                                        OverwriteCells, OverwriteKernelspec)

    from autograder.grading.preprocessors import SanitizeSubmission

    return [ClearOutput, SanitizeSubmission, DeduplicateIds, OverwriteKernelspec,
            OverwriteCells, CheckCellMetadata]


def make_config(course_root, database_url=None, cell_timeout=None, memory_limit_mb=None,
                protected_paths=()):
    """Build the nbgrader `Config` for a course directory.

    Args:
        course_root: Folder holding the course (`solutions/`, `submitted/`, ...).
        database_url: SQLAlchemy URL of the gradebook; defaults to a SQLite file
            `gradebook.db` in `course_root`.
        cell_timeout: Seconds one cell may run while grading; defaults to
            `$COURSE_CELL_TIMEOUT`, else 300.
        memory_limit_mb: Writable-memory limit (`RLIMIT_DATA`) of the grading
            kernel in MiB;
            defaults to `$COURSE_KERNEL_MEMORY_MB`, else 8192.
        protected_paths: More files or folders the grading kernel must not
            see (besides this course's sources, gradebook and submissions),
            e.g. the instructor sources a temporary course was copied from.

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
    from autograder.grading.sandbox import isolation_wanted, memory_limit_from_environment

    if cell_timeout is not None and (not isinstance(cell_timeout, (int, float))
                                     or cell_timeout <= 0):
        raise ValueError(f"cell_timeout={cell_timeout!r} must be a positive number "
                         "of seconds.")
    if memory_limit_mb is not None and (not isinstance(memory_limit_mb, int)
                                        or memory_limit_mb <= 0):
        raise ValueError(f"memory_limit_mb={memory_limit_mb!r} must be a positive "
                         "whole number of MiB.")
    config.ExecutePreprocessor.timeout = int(cell_timeout or cell_timeout_from_environment())
    config.SandboxKernelManager.memory_limit_mb = (
        memory_limit_mb or memory_limit_from_environment())
    config.SandboxKernelManager.isolate_network = isolation_wanted()
    # What a student's kernel must not read: instructor sources (solutions
    # and hidden tests), the gradebook and every submission, its own included
    # (it gets a private copy of its folder).
    hidden = [course_root / name for name in
              (SOURCE_DIRECTORY, "source", "submitted", "autograded", "feedback",
               "feedback_generated", "gradebook.db")]
    if database_url and database_url.startswith("sqlite:///"):
        hidden.append(Path(database_url[len("sqlite:///"):]))
    hidden.extend(Path(path) for path in protected_paths)
    repository = repository_root()
    if repository is not None:
        hidden.append(repository / SOURCE_DIRECTORY)
    config.SandboxKernelManager.hidden_paths = sorted({str(path) for path in hidden})
    config.ExecutePreprocessor.kernel_name = "python3"
    config.GuardedExecute.enabled = True
    # nbgrader scores a test cell zero when it writes anything to stderr.
    # TensorFlow's C++ start-up lines go to the process's stderr, so the
    # kernel is told not to forward C-level output into the notebook.
    config.ExecutePreprocessor.extra_arguments = [
        "--IPKernelApp.capture_fd_output=False"]
    config.Autograde.autograde_preprocessors = autograde_preprocessors()
    config.Autograde.sanitize_preprocessors = sanitize_preprocessors()
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
