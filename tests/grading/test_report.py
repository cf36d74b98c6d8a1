"""`course report`: the class report of a graded class, checked against the
gradebook's own rows (read with SQL, not through the report's code)."""

from collections import Counter

from sqlalchemy import create_engine, text

from autograder.grading.course import open_course
from autograder.grading.report import _message_pattern, write_class_report
from tests.grading.toy_class import run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def gradebook_rows(root):
    engine = create_engine(f"sqlite:///{root / 'gradebook.db'}")
    with engine.connect() as connection:
        grades = connection.execute(text(
            "SELECT s.student_id, c.name, g.auto_score, gc.max_score FROM grade g "
            "JOIN base_cell c ON c.id = g.cell_id JOIN grade_cells gc ON gc.id = c.id "
            "JOIN submitted_notebook sn ON sn.id = g.notebook_id "
            "JOIN submitted_assignment s ON s.id = sn.assignment_id")).all()
        students = connection.execute(text(
            "SELECT s.student_id FROM submitted_assignment s")).all()
    engine.dispose()
    return grades, [row[0] for row in students]


def test_report_counts_what_the_gradebook_holds(sequential_toy_class, tmp_path):
    root = sequential_toy_class[0]
    grades, students = gradebook_rows(root)
    report = write_class_report(open_course(root, "toy"), tmp_path / "report")

    assert sorted(report.scores) == sorted(students)
    passed = Counter(name for _, name, score, max_score in grades
                     if score is not None and score >= max_score)
    graded = Counter(name for _, name, _, _ in grades)
    assert {test.test_id: (test.passed, test.graded) for test in report.tests} == {
        name: (passed[name], graded[name]) for name in graded}
    assert [test.test_id for test in report.tests] == ["toy_test_visible", "toy_test_hidden"]
    # Failures are grouped: the counts of a test's groups add up to its failures.
    for test in report.tests:
        assert sum(count for _, count, _ in test.failures) == test.graded - test.passed
        assert test.failures, test
    hidden = next(test for test in report.tests if test.test_id == "toy_test_hidden")
    # More failed submissions than kinds of failure: some were grouped.
    assert len(hidden.failures) < hidden.graded - hidden.passed

    assert report.page == tmp_path / "report" / "index.html"
    page = report.page.read_text(encoding="utf-8")
    assert "toy_test_hidden" in page and f"{len(students)} graded submissions" in page
    assert 'src="score_histogram.png"' in page and 'src="pass_rates.png"' in page
    for figure in report.figures:
        assert figure.read_bytes().startswith(PNG_SIGNATURE)


def test_report_escapes_what_students_wrote(sequential_toy_class, tmp_path):
    """A message is the student's error text: it must not become markup."""
    report = write_class_report(open_course(sequential_toy_class[0], "toy"), tmp_path)
    page = report.page.read_text(encoding="utf-8")
    assert "<script" not in page
    for test in report.tests:
        for _, _, example in test.failures:
            if "<" in example:
                assert example not in page


def test_messages_with_other_numbers_share_a_group():
    first = "square(-2.0) returned -4.0; expected 4.0. Multiply x by itself."
    second = "square(-3.5) returned -12.25; expected 12.25. Multiply x by itself."
    other = "square raised NameError: name 'y' is not defined; expected a result."
    assert _message_pattern(first) == _message_pattern(second)
    assert _message_pattern(first) != _message_pattern(other)


def test_report_command_writes_the_page(sequential_toy_class, tmp_path):
    result = run("report", "toy", "--course-dir", sequential_toy_class[0],
                 "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "index.html").is_file()
    assert "index.html" in result.output and "toy_test_hidden" in result.output


def test_report_before_grading_says_what_to_run(released_toy, tmp_path):
    result = run("report", "toy", "--course-dir", released_toy[0], "-o", tmp_path)
    assert result.exit_code == 2
    assert "course autograde toy" in result.output
