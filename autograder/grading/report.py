"""The class report: what a graded class got right and wrong, on one page.

`course report ASSIGNMENT` reads the gradebook and the autograded notebooks
and writes `reports/ASSIGNMENT/index.html` with two PNG figures beside it:
the class's score histogram, the pass rate of every test, and for every test
the failure messages grouped by what they say, most common first, so the
instructor sees which topic to teach again. The figures are drawn on
matplotlib `Figure` objects without pyplot and saved through the Agg canvas,
so it runs on a server without a display and leaves the caller's backend
alone.

Messages are grouped on their wording with the numbers and array contents
taken out (`_message_pattern`): two students whose `relu` returned different
wrong arrays share the group "relu(x) returned [...]; expected [...]. Negative
values are scaled ...", which is the hint that names the cause.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading.course import AUTOGRADED, CourseSetupError
from autograder.grading.results import (autograded_test_cells, find_graded_assignment,
                                        notebook_results)

DEFAULT_DIRECTORY = "reports"
MAX_GROUPS_PER_TEST = 5
MAX_EXAMPLE_CHARS = 600


@dataclass
class TestSummary:
    """One test cell across the class.

    Args:
        notebook: Notebook name without ".ipynb".
        test_id: The test cell's grade id.
        max_score: Its points.
        passed: Submissions that passed it.
        graded: Submissions that have a score for it.
        failures: `(pattern, count, example)` triples, most common first.
    """

    notebook: str
    test_id: str
    max_score: float
    passed: int = 0
    graded: int = 0
    failures: list = field(default_factory=list)

    @property
    def pass_rate(self):
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class ClassReport:
    """What `write_class_report` wrote and found.

    Args:
        assignment: The assignment id.
        page: The HTML page.
        figures: The PNG files next to it.
        scores: Student id -> total score.
        max_score: The assignment's points.
        tests: `TestSummary`s in notebook order.
    """

    assignment: str
    page: Path = None
    figures: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    max_score: float = 0.0
    tests: list = field(default_factory=list)

    @property
    def hardest(self):
        """The tests, lowest pass rate first (notebook order on ties)."""
        return sorted(self.tests, key=lambda test: test.pass_rate)


_ARRAY = re.compile(r"\[[^\[\]]*\]")
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?")


def _message_pattern(message):
    """A failure message with numbers and array contents replaced.

    Example:

    >>> _message_pattern("relu([-1., 2.]) returned [-0.1, 2.]; expected [0., 2.]. Zero them.")
    'relu([...]) returned [...]; expected [...]. Zero them.'
    >>> _message_pattern("loss 0.712 at step 3")
    'loss # at step #'
    """
    text = " ".join(message.split())
    previous = None
    while previous != text:  # nested brackets, innermost first
        previous, text = text, _ARRAY.sub("[...]", text)
    return _NUMBER.sub("#", text)


def summarize_class(course):
    """Scores and per-test summaries of `course.assignment` from the gradebook.

    Returns:
        `(scores, max_score, tests)` as in `ClassReport`.

    Raises:
        CourseSetupError: When the gradebook has no graded submission of the
            assignment.
    """
    summaries = {}
    patterns = {}
    with course.gradebook() as gradebook:
        assignment = find_graded_assignment(gradebook, course.assignment)
        max_score = float(assignment.max_score)
        notebooks = [notebook.name for notebook in assignment.notebooks]
        scores = {}
        for submission in gradebook.assignment_submissions(course.assignment):
            student = submission.student_id
            scores[student] = float(submission.score)
            for notebook in notebooks:
                path = (course.root / AUTOGRADED / student / course.assignment
                        / f"{notebook}.ipynb")
                cells, order = autograded_test_cells(path)
                rows = notebook_results(gradebook, course.assignment, student, notebook,
                                        cells, order)
                for row in rows:
                    key = (notebook, row["id"])
                    summary = summaries.setdefault(
                        key, TestSummary(notebook, row["id"], row["max_score"]))
                    summary.graded += 1
                    if row["passed"]:
                        summary.passed += 1
                    else:
                        pattern = _message_pattern(row["message"])
                        counted = patterns.setdefault(key, {})
                        count, example = counted.get(pattern, (0, row["message"]))
                        counted[pattern] = (count + 1, example)
    if not scores:
        raise CourseSetupError(
            f"no graded submission of {course.assignment!r} yet. Run "
            f"`course autograde {course.assignment}` first.")
    for key, summary in summaries.items():
        counted = patterns.get(key, {})
        ranked = sorted(counted.items(), key=lambda item: (-item[1][0], item[0]))
        summary.failures = [(pattern, count, example)
                            for pattern, (count, example) in ranked]
    order = {name: index for index, name in enumerate(notebooks)}
    tests = list(summaries.values())  # notebook_results keeps notebook order
    tests.sort(key=lambda summary: order.get(summary.notebook, len(order)))
    return scores, max_score, tests


def _draw_figures(report, folder):
    """The score histogram and the pass-rate chart, as PNG files."""
    from matplotlib.figure import Figure

    figures = []
    figure = Figure(figsize=(6, 3.2))
    axis = figure.subplots()
    values = list(report.scores.values())
    bins = max(1, min(20, int(report.max_score) or 1))
    axis.hist(values, bins=bins, range=(0, report.max_score or 1), color="#4c72b0",
              edgecolor="white")
    axis.set_xlabel(f"score (out of {report.max_score:g})")
    axis.set_ylabel("submissions")
    axis.set_title(f"{report.assignment}: {len(values)} submissions")
    figure.tight_layout()
    path = folder / "score_histogram.png"
    figure.savefig(path, dpi=110)
    figures.append(path)

    figure = Figure(figsize=(6, 0.45 * len(report.tests) + 1.2))
    axis = figure.subplots()
    labels = [summary.test_id for summary in report.tests]
    rates = [100 * summary.pass_rate for summary in report.tests]
    axis.barh(range(len(labels)), rates, color="#55a868")
    axis.set_yticks(range(len(labels)), labels)
    axis.invert_yaxis()
    axis.set_xlim(0, 100)
    axis.set_xlabel("passed (% of graded submissions)")
    axis.set_title("pass rate of every test")
    figure.tight_layout()
    path = folder / "pass_rates.png"
    figure.savefig(path, dpi=110)
    figures.append(path)
    return figures


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ report.assignment }}: class report</title>
<style>
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.number { text-align: right; }
pre { white-space: pre-wrap; margin: 0; font-size: 0.9em; }
</style></head><body>
<h1>{{ report.assignment }}: class report</h1>
<p>{{ report.scores | length }} graded submissions; mean score {{ "%.2f" | format(mean) }}
of {{ "%g" | format(report.max_score) }}, median {{ "%g" | format(median) }}.</p>
<img src="score_histogram.png" alt="histogram of the class's scores">
<h2>Tests, hardest first</h2>
<img src="pass_rates.png" alt="pass rate of every test">
<table><tr><th>notebook</th><th>test</th><th>points</th><th>passed</th><th>pass rate</th></tr>
{% for test in hardest %}<tr><td>{{ test.notebook }}</td><td>{{ test.test_id }}</td>
<td class="number">{{ "%g" | format(test.max_score) }}</td>
<td class="number">{{ test.passed }} / {{ test.graded }}</td>
<td class="number">{{ "%.0f" | format(100 * test.pass_rate) }} %</td></tr>
{% endfor %}</table>
<h2>Most common failures</h2>
{% for test in hardest if test.failures %}
<h3>{{ test.test_id }} ({{ test.graded - test.passed }} failed)</h3>
<table><tr><th>submissions</th><th>message (one example)</th></tr>
{% for pattern, count, example in test.failures[:max_groups] %}
<tr><td class="number">{{ count }}</td><td><pre>{{ example | truncate(max_chars) }}</pre></td></tr>
{% endfor %}</table>
{% if test.failures | length > max_groups %}<p>and {{ test.failures | length - max_groups }}
other kinds of failure.</p>{% endif %}
{% endfor %}
</body></html>
"""


def write_class_report(course, directory=None):
    """Write the HTML page and its figures for `course.assignment`.

    Args:
        course: A `Course` opened on the assignment (see `open_course`).
        directory: The folder to write to (default `<course>/reports/<assignment>`).

    Returns:
        A `ClassReport`.

    Example:

    A course whose gradebook never saw the assignment is told what to run:

    >>> import tempfile
    >>> from autograder.grading.course import Course
    >>> root = tempfile.mkdtemp()
    >>> write_class_report(Course(root, "project1"))
    Traceback (most recent call last):
    ...
    autograder.grading.course.CourseSetupError: the gradebook has no 'project1'. Run `course collect` and `course autograde project1` first.
    """
    import statistics

    from jinja2 import Environment

    scores, max_score, tests = summarize_class(course)
    folder = Path(directory) if directory else course.root / DEFAULT_DIRECTORY / course.assignment
    folder.mkdir(parents=True, exist_ok=True)
    report = ClassReport(course.assignment, scores=scores, max_score=max_score, tests=tests)
    report.figures = _draw_figures(report, folder)
    page = Environment(autoescape=True).from_string(PAGE).render(
        report=report, hardest=report.hardest, mean=statistics.mean(scores.values()),
        median=statistics.median(scores.values()), max_groups=MAX_GROUPS_PER_TEST,
        max_chars=MAX_EXAMPLE_CHARS)
    report.page = folder / "index.html"
    report.page.write_text(page, encoding="utf-8")
    return report
