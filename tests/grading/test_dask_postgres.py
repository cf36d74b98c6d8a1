"""Grading on a Dask cluster into a PostgreSQL gradebook matches local grading.

A toy class is collected twice: into a course whose gradebook is the usual
SQLite file, graded one submission at a time, and into a course whose
gradebook lives on a real PostgreSQL server (installed and started by
`scripts/postgres-test-server`), graded with `--engine dask` on a local Dask
cluster of two workers. Both gradebooks must hold the same rows, once each,
and the Canvas export must read the grades back from PostgreSQL.
"""

import csv
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from autograder.cli import main
from autograder.grading import classroom
from autograder.grading.autograde import autograde_record
from autograder.grading.collect import ensure_assignment_ready, open_course
from autograder.grading.course import CourseSetupError

TOY_COURSE = Path(__file__).resolve().parents[1] / "files" / "toy_course"
# Rows nbgrader writes while autograding, keyed by names rather than row ids.
GRADEBOOK_QUERIES = {
    "student": "SELECT id, first_name, last_name, lms_user_id FROM student",
    "submitted_assignment": (
        "SELECT a.name, s.student_id, s.extension FROM submitted_assignment s "
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
}


def run(*args):
    runner = CliRunner(env={"COLUMNS": "200"})
    return runner.invoke(main, [str(arg) for arg in args], terminal_width=200)


def gradebook_rows(database_url, table):
    """Sorted rows of one gradebook table, through SQLAlchemy (any database)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = [tuple(row) for row in connection.execute(text(GRADEBOOK_QUERIES[table]))]
    finally:
        engine.dispose()
    return sorted(rows, key=repr)


@pytest.fixture(scope="module")
def graded_on_dask(tmp_path_factory, postgres_server_url):
    """One class graded locally into SQLite and on Dask into PostgreSQL."""
    from tests.grading.postgres import fresh_database

    base = tmp_path_factory.mktemp("dask_postgres")
    with fresh_database(postgres_server_url) as database_url:
        courses = {}
        for name in ("sqlite", "postgres"):
            root = base / name
            shutil.copytree(TOY_COURSE, root)
            courses[name] = root
        release = courses["sqlite"] / "assignments" / "toy"
        ensure_assignment_ready(open_course(courses["sqlite"], "toy"))
        classmates = [classmate for classmate in classroom.standard_class(
            courses["sqlite"] / "solutions" / "toy", release) if classmate.uploads]
        zip_path = classroom.write_submissions_zip(base / "subs.zip", classmates)
        roster, _ = classroom.write_class_roster(base / "roster.csv", classmates, "toy", 3)
        database = {"sqlite": [], "postgres": ["--database-url", database_url]}
        grading = {"sqlite": ["--workers", 1],
                   "postgres": ["--engine", "dask", "--workers", 2]}
        outputs = {}
        for name, root in courses.items():
            collected = run("collect", "toy", zip_path, "--roster", roster,
                            "--course-dir", root, *database[name])
            assert collected.exit_code == 0, collected.output
            outputs[name] = run("autograde", "toy", "--course-dir", root,
                                *grading[name], *database[name])
            outputs[name + " export"] = run(
                "export", "toy", "--roster", roster, "--output", base / f"{name}.csv",
                "--course-dir", root, *database[name])
        urls = {"sqlite": f"sqlite:///{courses['sqlite'] / 'gradebook.db'}",
                "postgres": database_url}
        yield courses, outputs, urls, classmates, base


def test_dask_run_reconciles_every_submission(graded_on_dask):
    _, outputs, _, classmates, _ = graded_on_dask
    for name in ("sqlite", "postgres"):
        result = outputs[name]
        assert result.exit_code == 0, result.output
        assert f"submitted {len(classmates)} = graded {len(classmates) - 1} + failed 1" \
            in result.output, result.output


def test_the_cluster_run_went_through_dask(graded_on_dask):
    courses, _, _, _, _ = graded_on_dask
    log = (courses["postgres"] / "downloaded" / "toy" / "autograde.log").read_text()
    assert "grading on a local Dask cluster, 2 submissions at a time" in log
    assert "Dask" not in (courses["sqlite"] / "downloaded" / "toy" / "autograde.log").read_text()


def test_postgres_gradebook_holds_the_same_rows_once_each(graded_on_dask):
    courses, _, urls, classmates, _ = graded_on_dask
    assert not (courses["postgres"] / "gradebook.db").exists()
    for table in GRADEBOOK_QUERIES:
        local, cluster = gradebook_rows(urls["sqlite"], table), gradebook_rows(
            urls["postgres"], table)
        assert cluster == local, table
        assert len(set(cluster)) == len(cluster), f"duplicate rows in {table}"
    submitted = {row[1] for row in gradebook_rows(urls["postgres"], "submitted_assignment")}
    assert submitted == {classmate.canvas_id for classmate in classmates}


def test_dask_scores_match_local_scores_test_by_test(graded_on_dask):
    courses, _, _, _, _ = graded_on_dask
    local = autograde_record(open_course(courses["sqlite"], "toy"))
    cluster = autograde_record(open_course(courses["postgres"], "toy"))
    assert set(cluster) == set(local)
    for student_id, entry in local.items():
        other = cluster[student_id]
        assert (other["status"], other["score"], other["reason"]) == (
            entry["status"], entry["score"], entry["reason"]), student_id
        assert [(row["id"], row["score"]) for row in other["tests"]] == [
            (row["id"], row["score"]) for row in entry["tests"]], student_id
    assert {student_id: entry["score"] for student_id, entry in cluster.items()} == {
        "40101": 3.0, "40102": 0.0, "40103": 0.0, "40104": 3.0, "40105": 0.0, "40106": 0.0}


def test_export_reads_the_grades_back_from_postgres(graded_on_dask):
    _, outputs, _, _, base = graded_on_dask
    for name in ("sqlite", "postgres"):
        assert outputs[name + " export"].exit_code == 0, outputs[name + " export"].output
    tables = [list(csv.reader((base / f"{name}.csv").open())) for name in
              ("sqlite", "postgres")]
    assert tables[0] == tables[1]
    assert any("40101" in row and "3" in row for row in tables[1])


def test_a_wrong_database_url_is_a_clear_error(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(TOY_COURSE, root)
    result = run("autograde", "toy", "--course-dir", root, "--database-url",
                 "postgresql://nobody:secret@127.0.0.1:1/none")
    assert result.exit_code == 2
    assert "cannot open the gradebook database" in result.output
    assert "secret" not in result.output
    with pytest.raises(CourseSetupError, match="not a database URL"):
        open_course(root, "toy", database_url="no such thing://")


def test_a_scheduler_needs_the_dask_engine_and_must_be_reachable(tmp_path, monkeypatch):
    root = tmp_path / "course"
    shutil.copytree(TOY_COURSE, root)
    mixed = run("autograde", "toy", "--course-dir", root, "--engine", "processes",
                "--scheduler", "tcp://127.0.0.1:1")
    assert mixed.exit_code == 2 and "--engine dask" in mixed.output
    from autograder.grading import engines
    from autograder.grading.engines import open_executor

    monkeypatch.setattr(engines, "CONNECT_TIMEOUT", "2s")
    with pytest.raises(CourseSetupError, match="cannot reach the Dask scheduler"):
        with open_executor("dask", scheduler="tcp://127.0.0.1:1"):
            pass
