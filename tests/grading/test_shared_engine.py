"""`shared_engines`: one SQLAlchemy engine per gradebook URL inside a block, only there."""

import nbgrader.api
from nbgrader.api import Gradebook
from sqlalchemy import event
from sqlalchemy.engine import Engine

from autograder.grading.course import prepare_tools
from autograder.grading.shared_engine import shared_engines


def schema_questions(action):
    """Statements of any engine during `action` that ask about the schema."""
    seen = []

    def record(connection, cursor, statement, *details):
        if "sqlite_master" in statement or "PRAGMA" in statement.upper():
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return seen


def test_gradebooks_share_one_engine_only_inside_the_block(tmp_path):
    prepare_tools()
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    original = nbgrader.api.create_engine
    with shared_engines():
        with Gradebook(url) as first:
            first.add_student("101")
        with Gradebook(url) as second, Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as other:
            assert second.engine is first.engine
            assert other.engine is not first.engine
            assert second.find_student("101").id == "101"  # same data, committed
        with shared_engines():  # nested: the outer block's engines
            with Gradebook(url) as nested:
                assert nested.engine is first.engine
        assert nbgrader.api.create_engine is not original
    assert nbgrader.api.create_engine is original
    with Gradebook(url) as after:
        assert after.engine is not first.engine
        assert after.find_student("101").id == "101"


def test_a_shared_engine_stops_asking_whether_tables_exist(tmp_path):
    """A Gradebook on a known database asks its schema questions once per block."""
    prepare_tools()
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    Gradebook(url).close()  # the database and its tables exist from here on
    assert schema_questions(lambda: Gradebook(url).close())  # each open asks again
    with shared_engines():
        assert schema_questions(lambda: Gradebook(url).close())  # the first time
        assert schema_questions(lambda: Gradebook(url).close()) == []


def course_lookups(action):
    """Statements of any engine during `action` that read the course table."""
    seen = []

    def record(connection, cursor, statement, *details):
        if "FROM course" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return seen


def test_a_shared_engine_looks_up_each_course_once(tmp_path):
    """Only the first Gradebook of a course on an engine checks the course row."""
    prepare_tools()
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    original = Gradebook.check_course
    with shared_engines():
        assert course_lookups(lambda: Gradebook(url, course_id="dl").close())
        assert course_lookups(lambda: Gradebook(url, course_id="dl").close()) == []
        # another course, or another database, is still checked, and its row made
        assert course_lookups(lambda: Gradebook(url, course_id="ml").close())
        assert course_lookups(lambda: Gradebook(other, course_id="dl").close())
        with Gradebook(other, course_id="dl") as gradebook:
            assert [course.id for course in gradebook.db.query(nbgrader.api.Course)] == ["dl"]
    assert Gradebook.check_course is original
    with Gradebook(url, course_id="dl") as gradebook:
        assert sorted(course.id for course in gradebook.db.query(nbgrader.api.Course)) == [
            "dl", "ml"]
    assert course_lookups(lambda: Gradebook(url, course_id="dl").close())  # outside: again
