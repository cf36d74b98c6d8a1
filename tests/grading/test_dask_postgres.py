"""Grading on a Dask cluster into a PostgreSQL gradebook matches local grading.

The toy class graded one submission at a time into the usual SQLite
gradebook (the `sequential_toy_class` fixture) is collected again into a
course whose gradebook lives on a real PostgreSQL server (installed and
started by `scripts/postgres-test-server`), and graded with `--engine dask`
on a local Dask cluster of two workers. Both gradebooks must hold the same
rows, once each, and the Canvas export must read the grades back from
PostgreSQL.
"""

import csv

import pytest

from autograder.grading.course import open_course
from autograder.grading.records import autograde_record
from autograder.grading.course import CourseSetupError
from tests.grading.postgres import fresh_database
from tests.grading.toy_class import (GRADEBOOK_QUERIES, collect_and_grade, copy_course,
                                     gradebook_rows, run, sqlite_url)


@pytest.fixture(scope="module")
def graded_on_dask(tmp_path_factory, postgres_server_url, sequential_toy_class):
    """The toy class graded locally into SQLite and on Dask into PostgreSQL."""
    sequential, sequential_result, zip_path, roster, classmates = sequential_toy_class
    base = tmp_path_factory.mktemp("dask_postgres")
    with fresh_database(postgres_server_url) as database_url:
        courses = {"sqlite": sequential, "postgres": copy_course(base / "postgres")}
        database = {"sqlite": [], "postgres": ["--database-url", database_url]}
        outputs = {"sqlite": sequential_result,
                   "postgres": collect_and_grade(courses["postgres"], zip_path, roster,
                                                 "--engine", "dask", "--workers", 2,
                                                 *database["postgres"])}
        for name, root in courses.items():
            outputs[name + " export"] = run(
                "export", "toy", "--roster", roster, "--output", base / f"{name}.csv",
                "--course-dir", root, *database[name])
        urls = {"sqlite": sqlite_url(sequential), "postgres": database_url}
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
        "40101": 3.0, "40102": 0.0, "40103": 0.0, "40104": 3.0, "40105": 0.0, "40106": 0.0,
        "40108": 1.0}


def test_export_reads_the_grades_back_from_postgres(graded_on_dask):
    _, outputs, _, _, base = graded_on_dask
    for name in ("sqlite", "postgres"):
        assert outputs[name + " export"].exit_code == 0, outputs[name + " export"].output
    tables = [list(csv.reader((base / f"{name}.csv").open())) for name in
              ("sqlite", "postgres")]
    assert tables[0] == tables[1]
    assert any("40101" in row and "3" in row for row in tables[1])


def test_a_wrong_database_url_is_a_clear_error(tmp_path):
    root = copy_course(tmp_path / "course")
    result = run("autograde", "toy", "--course-dir", root, "--database-url",
                 "postgresql://nobody:secret@127.0.0.1:1/none")
    assert result.exit_code == 2
    assert "cannot open the gradebook database" in result.output
    assert "secret" not in result.output
    with pytest.raises(CourseSetupError, match="not a database URL"):
        open_course(root, "toy", database_url="no such thing://")


def test_a_scheduler_needs_the_dask_engine_and_must_be_reachable(tmp_path, monkeypatch):
    root = copy_course(tmp_path / "course")
    mixed = run("autograde", "toy", "--course-dir", root, "--engine", "processes",
                "--scheduler", "tcp://127.0.0.1:1")
    assert mixed.exit_code == 2 and "--engine dask" in mixed.output
    from autograder.grading import engines
    from autograder.grading.engines import open_executor

    monkeypatch.setattr(engines, "CONNECT_TIMEOUT", "2s")
    with pytest.raises(CourseSetupError, match="cannot reach the Dask scheduler"):
        with open_executor("dask", scheduler="tcp://127.0.0.1:1"):
            pass
