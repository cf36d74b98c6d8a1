"""Visible checks students can run from their notebooks.

`core` holds the machinery shared with the hidden checks in
`autograder.checks`, `library_calls` the scanner that rejects calling the
library routine a task asks to write; one module per topic holds that
topic's visible checks. Visible checks compare with Keras itself, with
numerical gradients or with worked examples, never with a reference
implementation of the task.
"""

from course_lib.checks.core import CheckFailure

__all__ = ["CheckFailure"]
