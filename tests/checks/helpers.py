"""Helpers shared by the check tests: run a check on a student's answer.

Checks are called the way a notebook calls them, with NumPy's floating-point
warnings silenced (a buggy answer may divide by zero or take log(0) on its
way to the failure under test).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.checks.core import CheckFailure


def notebook_function(source, name):
    """Define `name` from `source` in a fresh namespace, like a notebook cell.

    The namespace holds `np`, `keras` and `tf`, as a notebook that imported
    them would; the function's globals are that namespace, so helpers and
    aliases defined in `source` are found as a notebook's would be.
    """
    namespace = {"np": np, "keras": keras, "tf": tf}
    exec(source, namespace)  # noqa: S102 - test fixtures only
    return namespace[name]


def assert_fails(check, *answers, fragments=()):
    """Require `check(*answers)` to raise `CheckFailure`; return its message.

    Args:
        check: The check function.
        *answers: The student's functions, as the check takes them.
        fragments: Pieces of text the message must contain.
    """
    with pytest.raises(CheckFailure) as failure:
        with np.errstate(all="ignore"):
            check(*answers)
    message = str(failure.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def failing_checks(answer, checks):
    """The subset of `checks` that reject `answer`."""
    failing = set()
    for check in checks:
        try:
            with np.errstate(all="ignore"):
                check(answer)
        except CheckFailure:
            failing.add(check)
    return failing
