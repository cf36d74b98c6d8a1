"""Fixtures giving tests a real PostgreSQL server and a fresh gradebook database.

`postgres_server_url` (session) runs `scripts/postgres-test-server`, which
installs, starts and prepares a local server as needed, and returns the
SQLAlchemy URL of its maintenance database. `postgres_gradebook_url` (per
test) creates an empty database on that server, yields its URL and drops it
afterwards, so no test sees another's data.

Environment:
    COURSE_TEST_POSTGRES_URL: maintenance URL of a server that is already
        running (e.g. `postgresql+psycopg2://user:pw@db.example:5432/postgres`,
        the user needing CREATEDB); the script is not run.
    COURSE_TEST_POSTGRES=skip: when the server cannot be provided, skip the
        PostgreSQL tests instead of failing them. Without it a missing server
        is a test failure that shows the script's error.

The fixtures are registered in `tests/grading/conftest.py`.
"""

import contextlib
import os
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = REPO_ROOT / "scripts" / "postgres-test-server"
# Installing the Debian package on a fresh machine takes a while.
SERVER_SCRIPT_TIMEOUT_SECONDS = 900
DATABASE_PREFIX = "course_gradebook_"


def connect(url, **options):
    """Open an autocommit psycopg2 connection to a SQLAlchemy PostgreSQL URL.

    Args:
        url: SQLAlchemy URL such as
            `postgresql+psycopg2://user:password@127.0.0.1:5432/postgres`.
        **options: extra keyword arguments for `psycopg2.connect`.

    Returns:
        An open `psycopg2` connection in autocommit mode; close it after use.

    Example:

    >>> connection = connect("postgresql+psycopg2://u:p@127.0.0.1:5432/postgres")  # doctest: +SKIP
    >>> connection.close()  # doctest: +SKIP
    """
    import psycopg2

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise ValueError(
            f"Expected a PostgreSQL URL (postgresql+psycopg2://...), got "
            f"{parsed.render_as_string(hide_password=True)!r}.")
    parameters = dict(host=parsed.host, port=parsed.port, user=parsed.username,
                      password=parsed.password, dbname=parsed.database,
                      connect_timeout=10)
    parameters = {key: value for key, value in parameters.items() if value is not None}
    parameters.update(parsed.query)
    parameters.update(options)
    connection = psycopg2.connect(**parameters)
    connection.autocommit = True
    return connection


def with_database(url, database):
    """Return `url` pointing at another database on the same server."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _unavailable(message):
    """Fail the test, or skip it when COURSE_TEST_POSTGRES=skip asks for that."""
    if os.environ.get("COURSE_TEST_POSTGRES", "").strip().lower() == "skip":
        pytest.skip(f"PostgreSQL unavailable (COURSE_TEST_POSTGRES=skip): {message}")
    pytest.fail(
        f"{message}\nSet COURSE_TEST_POSTGRES_URL to a running server's maintenance URL, "
        "or COURSE_TEST_POSTGRES=skip to skip the PostgreSQL tests.", pytrace=False)


def _run_server_script():
    """Run scripts/postgres-test-server and return the URL it prints."""
    script = SERVER_SCRIPT.relative_to(REPO_ROOT)
    # Files rather than pipes: the server the script starts lives on, and a
    # daemon holding an inherited pipe open would make a pipe read hang.
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        try:
            returncode = subprocess.run(
                [str(SERVER_SCRIPT)], cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                stdout=stdout, stderr=stderr, timeout=SERVER_SCRIPT_TIMEOUT_SECONDS,
                check=False).returncode
        except (OSError, subprocess.TimeoutExpired) as error:
            stderr.seek(0)
            _unavailable(f"Could not run {script}: {error}\n{stderr.read().strip()}")
        stdout.seek(0)
        stderr.seek(0)
        printed, chatter = stdout.read(), stderr.read().strip()
    if returncode != 0:
        _unavailable(f"{script} exited with status {returncode}:\n{chatter}")
    lines = printed.strip().splitlines()
    if len(lines) != 1 or not lines[0].startswith("postgresql"):
        _unavailable(f"{script} should print one PostgreSQL URL, printed {printed!r}; "
                     f"its stderr:\n{chatter}")
    return lines[0]


@pytest.fixture(scope="session")
def postgres_server_url():
    """SQLAlchemy URL of a running PostgreSQL server's maintenance database."""
    url = os.environ.get("COURSE_TEST_POSTGRES_URL", "").strip() or _run_server_script()
    try:
        connection = connect(url)
    except Exception as error:  # psycopg2.Error, or a malformed URL.
        shown = make_url(url).render_as_string(hide_password=True)
        _unavailable(f"Cannot connect to PostgreSQL at {shown}: {error}")
    connection.close()
    return url


def _drop_database(server_url, database):
    """Drop `database`, first ending any connection a test left open."""
    connection = connect(server_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (database,))
            force = " WITH (FORCE)" if connection.server_version >= 130000 else ""
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}"{force}')
    finally:
        connection.close()


@contextlib.contextmanager
def fresh_database(server_url):
    """Create a new, empty database on the server; yield its URL; drop it."""
    database = DATABASE_PREFIX + uuid.uuid4().hex[:8]
    connection = connect(server_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{database}"')
    finally:
        connection.close()
    try:
        yield with_database(server_url, database)
    finally:
        _drop_database(server_url, database)


@pytest.fixture
def postgres_gradebook_url(postgres_server_url):
    """SQLAlchemy URL of a new, empty database, dropped after the test."""
    with fresh_database(postgres_server_url) as url:
        yield url
