"""Load a student's notebook into a namespace and list the tests to run on it.

The pytest suites run the very same test-cell code that nbgrader runs, taken
from the course's source notebook, so a check passes or fails the same way in
both places. Only the student's own cells are executed from the submission;
its test cells are ignored (they could have been edited).
"""

import linecache
from dataclasses import dataclass

import nbformat

from autograder.grading.course import find_course, infer_assignment


@dataclass(frozen=True)
class TestCell:
    """One graded test cell: its grade_id, points and code."""

    grade_id: str
    points: float
    source: str


def is_test_cell(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def runnable_source(source):
    """Cell code with IPython magics and shell escapes commented out."""
    lines = []
    for line in source.splitlines():
        if line.lstrip().startswith(("%", "!")):
            line = "# " + line
        lines.append(line)
    return "\n".join(lines)


def execute_cell(source, namespace, name):
    """Run cell code in `namespace`; its lines stay visible to `inspect`."""
    code = runnable_source(source)
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    exec(compile(code, name, "exec"), namespace)  # noqa: S102 - grading runs student code


def load_submission(path):
    """Execute the student's non-test code cells; return namespace and errors.

    A failing cell does not stop the others (as in nbgrader, which runs every
    cell); its error is recorded so a test can report it.

    Returns:
        `(namespace, errors)` where errors is a list of
        `(cell index, "Type: message")`.
    """
    notebook = nbformat.read(str(path), as_version=4)
    namespace = {"__name__": "__main__"}
    errors = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        try:
            execute_cell(cell.source, namespace, f"<submission cell {index}>")
        except Exception as error:  # noqa: BLE001 - student code may fail anyhow
            errors.append((index, f"{type(error).__name__}: {error}"))
    return namespace, errors


def course_test_cells(path, assignment=None):
    """The graded test cells of the course notebook matching a submission.

    Returns:
        `(assignment, notebook_name, hidden_tests_included, [TestCell, ...])`.
    """
    submission = nbformat.read(str(path), as_version=4)
    course = find_course(path.parent if hasattr(path, "parent") else None)
    assignment, notebook_name = infer_assignment(course, submission, path.name, assignment)
    full = course.has_sources(assignment)
    folder = (course.source_directory if full else course.release_directory) / assignment
    source = nbformat.read(str(folder / f"{notebook_name}.ipynb"), as_version=4)
    cells = [TestCell(cell.metadata.nbgrader["grade_id"],
                      float(cell.metadata.nbgrader.get("points", 0)), cell.source)
             for cell in source.cells if is_test_cell(cell)]
    return assignment, notebook_name, full, cells
