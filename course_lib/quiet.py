"""Keep TensorFlow's own log lines out of the notebooks.

TensorFlow writes a dozen lines to the process's standard error while it
loads (oneDNN, CUDA drivers, CPU features, "All log messages before
absl::InitializeLog()"), and later C++ errors such as `node_def_util` type
messages during training. None of them is about the student's code, and in
red under a cell they read as failures. Importing this module, first thing
in a notebook, hides them:

    import course_lib.quiet  # noqa: F401 - before Keras: hides TensorFlow's log

What it does, and why by hand: `TF_CPP_MIN_LOG_LEVEL=3` silences TensorFlow's
C++ log once it runs, but the lines written while its libraries load come
before that setting is read, so the import itself runs with file descriptor 2
pointed at the null device (no TensorFlow or absl setting reaches those
lines). Python exceptions are untouched: an error in a student's code still
shows in full. A value of `TF_CPP_MIN_LOG_LEVEL` set by the user is kept.
"""

import contextlib
import os
import sys

LOG_LEVEL = "3"
"""TensorFlow's C++ log level: 3 keeps only fatal messages."""


@contextlib.contextmanager
def standard_error_discarded():
    """Point file descriptor 2 at the null device for the block.

    Python-level writes to `sys.stderr` are flushed first; where the process
    has no usable descriptor 2 (some embedded interpreters) nothing changes.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def quiet_tensorflow():
    """Load TensorFlow without its start-up lines and lower its log level.

    Safe to call more than once; when TensorFlow is already loaded only the
    Python-side loggers are lowered (its start-up lines are already out).

    Example:

    >>> quiet_tensorflow()
    >>> os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("0", "1", "2", "3")
    True
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", LOG_LEVEL)
    if "tensorflow" not in sys.modules:
        with standard_error_discarded():
            import tensorflow  # noqa: F401 - loaded here, quietly
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl ships with TensorFlow; nothing to lower without it
        pass


quiet_tensorflow()
