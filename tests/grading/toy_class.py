"""A fabricated toy class and its gradebook rows, for comparing grading runs.

The parallel and the Dask/PostgreSQL tests grade the same class in other
ways and compare the gradebook with one graded one submission at a time
(the `sequential_toy_class` fixture in conftest.py).
"""

import datetime
import shutil
from pathlib import Path

import nbformat
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from autograder.cli import main
from autograder.grading import classroom
from autograder.grading.course import ensure_assignment_ready, open_course
from autograder.grading.notebooks import answer_cells

TOY_COURSE = Path(__file__).resolve().parents[1] / "files" / "toy_course"
# Rows nbgrader writes while autograding, keyed by names rather than row ids.
GRADEBOOK_QUERIES = {
    "student": "SELECT id, first_name, last_name, lms_user_id FROM student",
    "submitted_assignment": (
        "SELECT a.name, s.student_id, s.timestamp, s.extension FROM submitted_assignment s "
        "JOIN assignment a ON a.id = s.assignment_id"),
    "submitted_notebook": (
        "SELECT s.student_id, n.name, sn.late_submission_penalty, sn.flagged "
        "FROM submitted_notebook sn JOIN submitted_assignment s ON s.id = sn.assignment_id "
        "JOIN notebook n ON n.id = sn.notebook_id"),
    "grade": (
        "SELECT s.student_id, n.name, c.name, g.auto_score, g.manual_score, "
        "g.needs_manual_grade FROM grade g JOIN base_cell c ON c.id = g.cell_id "
        "JOIN submitted_notebook sn ON sn.id = g.notebook_id "
        "JOIN submitted_assignment s ON s.id = sn.assignment_id "
        "JOIN notebook n ON n.id = sn.notebook_id"),
    "comment": (
        "SELECT s.student_id, c.name, m.auto_comment, m.manual_comment FROM comment m "
        "JOIN base_cell c ON c.id = m.cell_id "
        "JOIN submitted_notebook sn ON sn.id = m.notebook_id "
        "JOIN submitted_assignment s ON s.id = sn.assignment_id"),
}


def run(*args):
    """Invoke the `course` command; returns click's result."""
    runner = CliRunner(env={"COLUMNS": "200"})
    return runner.invoke(main, [str(arg) for arg in args], terminal_width=200)


def toy_class(release_folder, source_folder):
    """The demo's class plus a half-right answer (visible test passes, hidden fails)."""
    classmates = [classmate for classmate in
                  classroom.standard_class(source_folder, release_folder)
                  if classmate.uploads]
    stub = nbformat.read(str(release_folder / "toy.ipynb"), as_version=4)
    answer_cells(stub)["toy_square"].source = (
        "def square(x):\n    return x * abs(x)  # wrong for negative numbers")
    classmates.append(classroom.Classmate("Hopper, Grace", "40108", "Section B",
                                          "right for positive numbers only",
                                          [("toy.ipynb", classroom.as_bytes(stub))]))
    return classmates


def write_toy_class(base):
    """A toy course copy, its class as a Canvas zip and a roster.

    Returns:
        `(zip_path, roster_path, classmates)`.
    """
    root = copy_course(base / "template")
    ensure_assignment_ready(open_course(root, "toy"))
    classmates = toy_class(root / "assignments" / "toy", root / "solutions" / "toy")
    zip_path = classroom.write_submissions_zip(base / "subs.zip", classmates)
    roster, _ = classroom.write_class_roster(base / "roster.csv", classmates, "toy", 3)
    return zip_path, roster, classmates


def copy_course(root):
    """A fresh copy of the toy course at `root`."""
    shutil.copytree(TOY_COURSE, root)
    return root


def collect_and_grade(root, zip_path, roster, *options):
    """Collect the class into the course at `root` and autograde it with `options`.

    `--database-url URL` among the options applies to both steps.

    Returns:
        The autograde command's result.
    """
    database = []
    if "--database-url" in options:
        position = options.index("--database-url")
        database = list(options[position:position + 2])
    collected = run("collect", "toy", zip_path, "--roster", roster, "--course-dir", root,
                    *database)
    assert collected.exit_code == 0, collected.output
    return run("autograde", "toy", "--course-dir", root, *options)


def comparable(value):
    """A gradebook value as both SQLite and PostgreSQL drivers return it alike."""
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def gradebook_rows(database_url, table):
    """Sorted rows of one gradebook table, through SQLAlchemy (any database)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = [tuple(comparable(value) for value in row)
                    for row in connection.execute(text(GRADEBOOK_QUERIES[table]))]
    finally:
        engine.dispose()
    return sorted(rows, key=repr)


def sqlite_url(root):
    return f"sqlite:///{Path(root) / 'gradebook.db'}"
