"""Keep nbgrader's, SQLAlchemy's and the kernels' messages in log files.

They write warnings straight to file descriptor 2, where they would tear
through the tables and the progress bar of a TA command; each step keeps
them in a log beside the assignment's records instead.
"""

import contextlib
import os
import sys
import warnings


@contextlib.contextmanager
def stderr_to(log_path):
    """Send this process's (and its kernels') stderr to a file for the block.

    Args:
        log_path: The log file; appended to, its folder created.

    Yields:
        The open log file, for the step's own notes.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    with open(log_path, "a") as log, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved = os.dup(2)
        try:
            os.dup2(log.fileno(), 2)
            yield log
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
