"""nbgrader's gradebook on a real PostgreSQL server (see tests/grading/postgres.py)."""

import datetime

import pytest
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from autograder.grading.course import alembic_head_in_process, prepare_tools
from tests.grading.postgres import DATABASE_PREFIX, connect

# Database names seen by test_each_test_gets_a_fresh_empty_database, in run order.
SEEN_DATABASES = []


@pytest.fixture(autouse=True)
def nbgrader_tools():
    """nbgrader stamps a new gradebook with its schema version, as `course` does."""
    prepare_tools()


def table_names(url):
    """Tables of the public schema of the database at `url`, read with psycopg2."""
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public'")
            return {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()


def existing_databases(url):
    """Names of all databases on the server of `url`."""
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database")
            return {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()


def test_server_is_real_postgresql(postgres_gradebook_url):
    engine = create_engine(postgres_gradebook_url)
    try:
        assert engine.dialect.name == "postgresql"
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version()")).scalar_one()
            database = connection.execute(text("SELECT current_database()")).scalar_one()
    finally:
        engine.dispose()
    assert version.startswith("PostgreSQL"), version
    assert database == make_url(postgres_gradebook_url).database
    assert database.startswith(DATABASE_PREFIX)


def test_gradebook_creates_its_schema(postgres_gradebook_url):
    assert table_names(postgres_gradebook_url) == set()
    with Gradebook(postgres_gradebook_url) as gradebook:
        assert gradebook.engine.dialect.name == "postgresql"
    tables = table_names(postgres_gradebook_url)
    expected = {"assignment", "student", "grade", "notebook", "submitted_assignment",
                "submitted_notebook", "grade_cells", "alembic_version"}
    assert expected <= tables, f"missing tables: {sorted(expected - tables)}"
    connection = connect(postgres_gradebook_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version_num FROM alembic_version")
            assert cursor.fetchall() == [(alembic_head_in_process(),)]
    finally:
        connection.close()


def test_gradebook_writes_are_read_back_elsewhere(postgres_gradebook_url):
    due = datetime.datetime(2025, 3, 14, 23, 59)
    with Gradebook(postgres_gradebook_url) as gradebook:
        gradebook.add_student("ada", first_name="Ada", last_name="Lovelace",
                              email="ada@example.org")
        gradebook.add_assignment("convnets", duedate=due)

    # A plain connection sees the committed rows.
    connection = connect(postgres_gradebook_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, first_name, last_name, email FROM student")
            assert cursor.fetchall() == [("ada", "Ada", "Lovelace", "ada@example.org")]
            cursor.execute("SELECT name, duedate FROM assignment")
            assert cursor.fetchall() == [("convnets", due)]
    finally:
        connection.close()

    # So does a second gradebook, through nbgrader's own API.
    with Gradebook(postgres_gradebook_url) as gradebook:
        student = gradebook.find_student("ada")
        assert (student.first_name, student.last_name) == ("Ada", "Lovelace")
        assert [assignment.name for assignment in gradebook.assignments] == ["convnets"]
        assert gradebook.find_assignment("convnets").duedate == due


@pytest.mark.parametrize("run", ["first", "second"])
def test_each_test_gets_a_fresh_empty_database(run, postgres_gradebook_url,
                                               postgres_server_url):
    database = make_url(postgres_gradebook_url).database
    # Empty on arrival, whatever ran before (the other run wrote a student).
    assert table_names(postgres_gradebook_url) == set()
    assert database not in SEEN_DATABASES
    # The databases of earlier tests were dropped after them.
    leftovers = existing_databases(postgres_server_url) & set(SEEN_DATABASES)
    assert not leftovers, f"databases not dropped: {sorted(leftovers)}"
    SEEN_DATABASES.append(database)

    with Gradebook(postgres_gradebook_url) as gradebook:
        gradebook.add_student(f"student_{run}")
        # A connection left open: the fixture must still drop the database.
        leftover = connect(postgres_gradebook_url)
    assert table_names(postgres_gradebook_url) >= {"student"}
    assert leftover.closed == 0
