"""Visible checks students can run from their notebooks.

`core` holds the machinery shared with the hidden checks in
`autograder.checks`; one module per topic holds that topic's visible checks.
"""

from course_lib.checks.core import CheckFailure

__all__ = ["CheckFailure"]
