"""What the workflow calls each kind of nbgrader cell, written once.

nbgrader marks cells in their metadata; its own helpers (`nbgrader.utils.
is_grade`, `is_solution`) read the marks, and its preprocessors' settings
hold the region delimiters. Every step of the workflow asks the questions
below through this module, so "a graded test cell" means one thing
everywhere:

- a *test cell* is a graded code cell that is not an answer cell: its
  points are decided by running it (autograded);
- an *answer cell* is a solution cell: the student's code or, when it is
  also graded, a written answer a TA grades by hand;
- a notebook's *cell ids* are the grade ids of all its nbgrader cells,
  which identify the notebook even when a student renames the file.
"""

import json

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
from nbgrader.utils import is_grade, is_solution


def delimiter(preprocessor, name):
    return preprocessor.class_traits()[name].default_value


# nbgrader's defaults; this course does not change them.
SOLUTION_REGION = (delimiter(ClearSolutions, "begin_solution_delimeter"),
                   delimiter(ClearSolutions, "end_solution_delimeter"))
HIDDEN_TESTS_REGION = (delimiter(ClearHiddenTests, "begin_test_delimeter"),
                       delimiter(ClearHiddenTests, "end_test_delimeter"))


def as_node(cell):
    """A cell as a `NotebookNode` (nbgrader's helpers read `cell.metadata`)."""
    return cell if isinstance(cell, nbformat.NotebookNode) else nbformat.from_dict(cell)


def nbgrader_metadata(cell):
    """The cell's nbgrader metadata, or {} for an ordinary cell."""
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell):
    """True for an autograded test cell: graded code that is no answer.

    Example:

    >>> cell = nbformat.v4.new_code_cell("check(relu)")
    >>> cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t"}
    >>> is_test_cell(cell), is_answer_cell(cell)
    (True, False)
    """
    cell = as_node(cell)
    return cell.get("cell_type") == "code" and bool(is_grade(cell)) and not is_solution(cell)


def is_answer_cell(cell):
    """True for a solution cell (code the student writes, or a written answer)."""
    return bool(is_solution(as_node(cell)))


def test_cells(notebook):
    """grade_id -> cell of every test cell, in notebook order."""
    return {nbgrader_metadata(cell)["grade_id"]: cell for cell in notebook["cells"]
            if is_test_cell(cell) and nbgrader_metadata(cell).get("grade_id")}


def answer_cells(notebook):
    """grade_id -> cell of every answer cell, in notebook order."""
    return {nbgrader_metadata(cell)["grade_id"]: cell for cell in notebook["cells"]
            if is_answer_cell(cell) and nbgrader_metadata(cell).get("grade_id")}


def cell_ids(notebook):
    """The grade ids of every nbgrader cell of a notebook node."""
    return {nbgrader_metadata(cell)["grade_id"] for cell in notebook["cells"]
            if isinstance(cell, dict) and nbgrader_metadata(cell).get("grade_id")}


def cell_ids_in_text(text):
    """`cell_ids` of a notebook given as JSON text, or None when it is not one.

    Example:

    >>> cell_ids_in_text('{"cells": [{"metadata": {"nbgrader": {"grade_id": "a"}}}]}')
    {'a'}
    >>> cell_ids_in_text("not a notebook") is None
    True
    """
    try:
        notebook = json.loads(text)
        return cell_ids({"cells": list(notebook.get("cells", []))})
    except (ValueError, AttributeError, TypeError, KeyError):
        return None


def region_lines(source, region):
    """Lines strictly inside a `(begin, end)` region of a cell's source.

    Example:

    >>> region_lines("a\\n### BEGIN SOLUTION\\nb\\n### END SOLUTION", SOLUTION_REGION)
    ['b']
    """
    begin, end = region
    inside, lines = False, []
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line.strip())
    return lines


def without_region_markers(source, region=SOLUTION_REGION):
    """A cell's source with the region's marker lines removed (content kept)."""
    return "\n".join(line for line in source.split("\n")
                     if region[0] not in line and region[1] not in line)


def without_region(source, region=HIDDEN_TESTS_REGION):
    """A cell's source with a region removed, markers and content.

    Example:

    >>> without_region("check(f)\\n### BEGIN HIDDEN TESTS\\nsecret(f)\\n### END HIDDEN TESTS")
    'check(f)'
    """
    begin, end = region
    kept, inside = [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def error_output(name, message):
    """An nbformat `error` output, which nbgrader scores as a failed test.

    Example:

    >>> error_output("CellTimeout", "cell 3 timed out").traceback
    ['CellTimeout: cell 3 timed out']
    """
    return nbformat.NotebookNode(output_type="error", ename=name, evalue=message,
                                 traceback=[f"{name}: {message}"])

