"""nbgrader configuration for a course directory.

The repository itself is a course directory: nbgrader's source folder is
`solutions/` and its release folder is `assignments/`. A TA's working copy and
the temporary course directories that `course grade` builds use the same
settings, produced here, so every step grades the same way.
"""

from pathlib import Path

from traitlets.config import Config

from autograder.grading.course import (AUTOGRADED, FEEDBACK, RELEASE_DIRECTORY,
                                       SOURCE_DIRECTORY, SUBMITTED, repository_root)
from autograder.grading.settings import current_settings


def autograde_preprocessors():
    """nbgrader's autograde pipeline with this course's additions.

    `GuardedExecute` replaces nbgrader's `Execute`: it runs the kernel in
    the sandbox, survives timeouts and kernel deaths, and gives a test cell
    its points only for a genuine verdict (see `preprocessors/`).
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
    own `OverwriteCells` can restore them (see `preprocessors/`).
    """
    from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds,
                                        OverwriteCells, OverwriteKernelspec)

    from autograder.grading.preprocessors import SanitizeSubmission

    return [ClearOutput, SanitizeSubmission, DeduplicateIds, OverwriteKernelspec,
            OverwriteCells, CheckCellMetadata]


def make_config(course_root, database_url=None, cell_timeout=None, memory_limit_mb=None,
                protected_paths=(), settings=None):
    """Build the nbgrader `Config` for a course directory.

    Args:
        course_root: Folder holding the course (`solutions/`, `submitted/`, ...).
        database_url: SQLAlchemy URL of the gradebook; defaults to a SQLite file
            `gradebook.db` in `course_root`.
        cell_timeout: Seconds one cell may run while grading; defaults to
            the settings' (`COURSE_CELL_TIMEOUT`, else 300).
        memory_limit_mb: Writable-memory limit (`RLIMIT_DATA`) of the grading
            kernel in MiB; defaults to the settings'
            (`COURSE_KERNEL_MEMORY_MB`, else 8192).
        protected_paths: More files or folders the grading kernel must not
            see (besides this course's sources, gradebook and submissions),
            e.g. the instructor sources a temporary course was copied from.
        settings: The `Settings` to follow (default: `current_settings()`).

    Returns:
        A `traitlets.config.Config` for `nbgrader.apps.NbGraderAPI`.

    Example:

    >>> config = make_config("/tmp/course")
    >>> config.CourseDirectory.source_directory
    'solutions'
    """
    settings = settings or current_settings()
    course_root = Path(course_root).resolve()
    config = Config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.course_id = settings.course_id
    config.CourseDirectory.source_directory = SOURCE_DIRECTORY
    config.CourseDirectory.release_directory = RELEASE_DIRECTORY
    config.CourseDirectory.db_url = (
        database_url or f"sqlite:///{course_root / 'gradebook.db'}")
    if cell_timeout is not None and (not isinstance(cell_timeout, (int, float))
                                     or cell_timeout <= 0):
        raise ValueError(f"cell_timeout={cell_timeout!r} must be a positive number "
                         "of seconds.")
    if memory_limit_mb is not None and (not isinstance(memory_limit_mb, int)
                                        or memory_limit_mb <= 0):
        raise ValueError(f"memory_limit_mb={memory_limit_mb!r} must be a positive "
                         "whole number of MiB.")
    config.ExecutePreprocessor.timeout = int(cell_timeout or settings.cell_timeout)
    config.SandboxKernelManager.memory_limit_mb = memory_limit_mb or settings.kernel_memory_mb
    config.SandboxKernelManager.isolate_network = settings.kernel_isolation
    config.SandboxKernelManager.warm_start = settings.kernel_warm_start
    # What a student's kernel must not read: instructor sources (solutions
    # and hidden tests), the gradebook and every submission, its own included
    # (it gets a private copy of its folder).
    hidden = [course_root / name for name in
              (SOURCE_DIRECTORY, "source", SUBMITTED, AUTOGRADED, FEEDBACK,
               "feedback_generated", "gradebook.db")]
    if database_url and database_url.startswith("sqlite:///"):
        hidden.append(Path(database_url[len("sqlite:///"):]))
    hidden.extend(Path(path) for path in protected_paths)
    repository = repository_root()
    if repository is not None:
        hidden.append(repository / SOURCE_DIRECTORY)
    config.SandboxKernelManager.hidden_paths = sorted({str(path) for path in hidden})
    # Nothing of the course or the repository is visible to the kernel but
    # the course packages and the Python installation: not `downloaded/`
    # (every student's zip), not `.git` (the solutions' history).
    config.SandboxKernelManager.covered_paths = sorted(
        {str(course_root), *([str(repository)] if repository is not None else [])})
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

