"""Test-wide settings: quiet TensorFlow, the TensorFlow backend, headless plots."""

import os
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def absl_writes_to_the_real_stderr():
    """Keep pytest's own capture file open whatever a test imports.

    Importing TensorFlow inside a test creates absl's log handler on the
    `sys.stderr` of that moment, which is pytest's capture file. A later
    nbgrader (traitlets) application reconfigures logging, and
    `logging.config` closes every existing handler; absl's handler then
    closes its stream unless it is one of the process's standard streams,
    so pytest's capture file is closed under it and the run ends with
    "lost sys.stderr". Pointing the handler at `sys.__stderr__` (which absl
    never closes) before and after each test avoids that; a real `course`
    command is not affected (there the handler's stream is the real stderr).
    """
    def repoint():
        absl_logging = sys.modules.get("absl.logging")
        if absl_logging is not None:
            absl_logging.get_absl_handler().python_handler.stream = sys.__stderr__

    repoint()
    yield
    repoint()
