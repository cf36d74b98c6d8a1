"""One pytest test per graded test cell of the submitted notebook.

Test cells run in notebook order in one shared namespace holding the
student's definitions, as they do when nbgrader executes the notebook (a
later test cell may use a name an earlier one imported).
"""

from autograder.suites.loader import execute_cell


def test_graded_cell(test_cell, student_namespace):
    """Run the course's test cell `test_cell.grade_id` on the student's code."""
    namespace, errors = student_namespace
    try:
        execute_cell(test_cell.source, namespace, f"<test {test_cell.grade_id}>")
    except NameError as error:
        details = "; ".join(message for _, message in errors)
        raise AssertionError(
            f"{error}. The notebook does not define it"
            + (f" (cells that failed to run: {details})" if details else "")
            + ".") from None
