"""Write one HTML feedback file per student, hidden tests kept hidden.

nbgrader's `generate_feedback` renders the autograded notebook, whose test
cells hold the full source, hidden tests included. One extra preprocessor,
`HideHiddenTestSource`, runs in that pipeline (between `GetGrades` and the
HTML styling) and

* replaces each `### BEGIN HIDDEN TESTS` ... `### END HIDDEN TESTS` region of
  a cell with one line saying hidden tests ran there;
* cuts the traceback of a graded test cell down to its last line
  (`CheckFailure: found ...; expected ... hint`), because a traceback quotes
  the failing source line and walks through the hidden check modules.

Plots, printed output and the check messages stay; nbgrader's per-cell
scores stay. As a last guard every written page is searched for the hidden
markers and withheld if one slipped through.
"""

from dataclasses import dataclass, field
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbgrader.preprocessors import GetGrades
from traitlets import Bool, Unicode
from traitlets.config import Config

from autograder.grading.autograde import autograde_record, names_by_id
from autograder.grading.collect import stderr_to
from autograder.grading.course import CourseSetupError

HIDDEN_NOTE = "# hidden tests ran here (source not shown)"


class HideHiddenTestSource(Preprocessor):
    """Remove hidden-test source (and tracebacks quoting it) from a notebook.

    Example:

    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell(
    ...     "check(f)\\n### BEGIN HIDDEN TESTS\\nsecret(f)\\n### END HIDDEN TESTS")
    >>> notebook = nbformat.v4.new_notebook(cells=[cell])
    >>> HideHiddenTestSource().preprocess(notebook, {})[0].cells[0].source
    'check(f)\\n# hidden tests ran here (source not shown)'
    """

    # nbconvert runs a preprocessor only when it is enabled.
    enabled = Bool(True).tag(config=True)
    begin_delimiter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_delimiter = Unicode("END HIDDEN TESTS").tag(config=True)
    note = Unicode(HIDDEN_NOTE).tag(config=True)

    def hide_source(self, source):
        lines, hiding, changed = [], False, False
        for line in source.split("\n"):
            if self.begin_delimiter in line:
                hiding, changed = True, True
                indent = line[:len(line) - len(line.lstrip())]
                lines.append(indent + self.note)
            elif self.end_delimiter in line and hiding:
                hiding = False
            elif not hiding:
                lines.append(line)
        if hiding:  # an unclosed region: hide everything after it
            changed = True
        return "\n".join(lines), changed

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        cell.source, _ = self.hide_source(cell.source)
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: "
                                           f"{output.get('evalue', '')}"]
        return cell, resources


def feedback_config():
    """nbgrader config adding `HideHiddenTestSource` to the feedback pipeline."""
    config = Config()
    config.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTestSource,
                                             CSSHTMLHeaderPreprocessor]
    return config


@dataclass
class FeedbackReport:
    """Feedback pages written for an assignment.

    Args:
        assignment: The assignment id.
        pages: Student id -> list of HTML paths.
        missing: Student id -> why there is no page (failed autograde, ...).
    """

    assignment: str
    pages: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)


def leaks_hidden_tests(html):
    return "BEGIN HIDDEN TESTS" in html or "END HIDDEN TESTS" in html


def generate_feedback(course):
    """Run nbgrader `generate_feedback` for every autograded student.

    Args:
        course: A `GradingCourse`.

    Returns:
        A `FeedbackReport`; pages are `feedback/<student>/<assignment>/<notebook>.html`.

    Raises:
        CourseSetupError: nothing has been autograded yet.

    Example:

    >>> report = generate_feedback(open_course(".", "project1"))  # doctest: +SKIP
    """
    students = course.students_in("autograded")
    record = autograde_record(course)
    if not students and not record:
        raise CourseSetupError(f"nothing autograded for {course.assignment!r} yet. Run "
                               f"`course autograde {course.assignment}` first.")
    api = course.api(feedback_config())
    report = FeedbackReport(course.assignment)
    for student_id, result in record.items():
        if result.get("status") == "failed" and student_id not in students:
            report.missing[student_id] = f"autograde failed: {result.get('reason', '')}"
    for student_id in students:
        if record.get(student_id, {}).get("status") == "failed":
            report.missing[student_id] = (
                f"autograde failed: {record[student_id].get('reason', '')}")
            continue
        with stderr_to(course.working_folder / "feedback.log"):
            outcome = api.generate_feedback(course.assignment, student_id, force=True)
        folder = course.root / "feedback" / student_id / course.assignment
        pages = sorted(folder.glob("*.html"))
        if not outcome["success"] or not pages:
            report.missing[student_id] = "nbgrader generate_feedback failed: " + (
                (outcome.get("error") or "").strip().splitlines() or ["no page written"])[-1]
            continue
        for page in pages:
            if leaks_hidden_tests(page.read_text(encoding="utf-8")):
                page.unlink()
                report.missing[student_id] = f"{page.name} withheld: hidden tests were visible"
        pages = [page for page in pages if page.exists()]
        if pages:
            report.pages[student_id] = pages
    return report


def show_feedback_report(report, course, console):
    """Print where each student's page is, and who has none."""
    from rich.table import Table

    names = names_by_id(course)
    table = Table(title=f"Feedback for {report.assignment}")
    for column in ("Student", "Canvas id", "Feedback"):
        table.add_column(column)
    for student_id, pages in sorted(report.pages.items()):
        table.add_row(names.get(student_id, ""), student_id,
                      ", ".join(str(Path(page).relative_to(course.root)) for page in pages))
    for student_id, reason in sorted(report.missing.items()):
        table.add_row(names.get(student_id, ""), student_id, f"[red]none[/red]: {reason}")
    console.print(table)
    console.print(f"{len(report.pages)} pages under {course.root / 'feedback'}; hidden-test "
                  "source replaced by a note, check messages kept.")
