"""One pytest result per graded test cell of the submitted notebook.

The verdicts are `course grade`'s: the notebook ran in a sandboxed kernel
under the grader's guard, never in this process.
"""

import pytest


def test_graded_cell(test_cell, graded):
    """Pass when the test cell `test_cell.grade_id` earned its points."""
    rows, report = graded
    row = rows.get(test_cell.grade_id)
    if row is None:
        pytest.fail(f"{test_cell.grade_id} was not graded"
                    + (f": {report['error']}" if report.get("error") else ""))
    if not row.get("checked", True):
        pytest.skip(row["message"])
    if not row["passed"]:
        pytest.fail(f"{row['score']:g} / {row['max_score']:g} points: {row['message']}",
                    pytrace=False)
