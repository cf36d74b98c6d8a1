"""One SQLAlchemy engine per gradebook database for a whole grading run.

nbgrader opens a new `Gradebook` for nearly every step of an autograde
(finding the assignment and student, creating the submission, overwriting
cells, saving the scores, ...): about a dozen per submission, and each one
creates a new SQLAlchemy engine. A new engine starts with an empty cache of
compiled SQL statements, connects again and checks every table of the schema
(`create_all`), so most of the gradebook writer's time went into compiling
the same few queries and asking whether tables exist (measured on project1:
0.35-0.6 s of bookkeeping per submission, two thirds of it SQLAlchemy).

nbgrader offers no way to hand a `Gradebook` an engine, so `shared_engines`
replaces, for the length of a `with` block, the `create_engine` nbgrader's
API module calls with one that returns the same engine for the same URL.
That engine keeps its connections when a `Gradebook` closes, and remembers
which tables exist once it has seen them (nbgrader's schema is created once
and never changed during grading). Every `Gradebook` also looks up its course
row and commits (`check_course`); on an engine of the block that is done
once per course, since the row, once there, is never removed during grading
(on PostgreSQL this cut the writer from 0.156 s to 0.109 s per project1
submission). Everything else nbgrader reads and
writes is unchanged: the same sessions, queries and transactions, on
connections from one pool instead of one pool each. The engines are really
disposed of when the block ends.
"""

import contextlib
import threading

import nbgrader.api

_lock = threading.Lock()


def _remember_tables(engine):
    """Answer the schema questions `Gradebook` asks from memory once answered yes.

    Every `Gradebook` asks for the table names (to see whether the database
    is new), and `create_all` whether each table (and, on PostgreSQL, each
    enum type) exists; on PostgreSQL each question is a round trip. Only
    positive answers are kept: what does not exist yet is asked again.
    """
    dialect = engine.dialect
    existing, types, names = set(), set(), {}
    has_table, has_multi_table = dialect.has_table, dialect.has_multi_table
    get_table_names = dialect.get_table_names
    has_type = getattr(dialect, "has_type", None)

    def cached_has_table(connection, table_name, schema=None, **options):
        if (schema, table_name) not in existing and has_table(
                connection, table_name, schema=schema, **options):
            existing.add((schema, table_name))
        return (schema, table_name) in existing

    def cached_has_multi_table(connection, table_names, schema=None, **options):
        unknown = [name for name in table_names if (schema, name) not in existing]
        if unknown:
            for key, found in has_multi_table(connection, unknown, schema=schema, **options):
                if found:
                    existing.add(key)
        return [((schema, name), (schema, name) in existing) for name in table_names]

    def cached_get_table_names(connection, schema=None, **options):
        if schema not in names:
            found = get_table_names(connection, schema=schema, **options)
            if not found:
                return found  # a new database: asked again once tables are made
            names[schema] = list(found)
        return list(names[schema])

    def cached_has_type(connection, type_name, schema=None, **options):
        if (schema, type_name) not in types and has_type(
                connection, type_name, schema=schema, **options):
            types.add((schema, type_name))
        return (schema, type_name) in types

    dialect.has_table = cached_has_table
    dialect.has_multi_table = cached_has_multi_table
    dialect.get_table_names = cached_get_table_names
    if has_type is not None:
        dialect.has_type = cached_has_type


def _check_course_once(check_course, known):
    """`Gradebook.check_course` that skips a course already seen on the engine.

    `known` holds (engine id, course id) pairs; the engines of a block live
    as long as the block, so their ids stand for them. A call with attributes
    for the course (`**options`) is always passed on. The only caller in
    nbgrader, `Gradebook.__init__`, discards the result, so a skipped call
    returns None.
    """
    def check_course_once(self, course_id="default_course", **options):
        key = (id(self.engine), course_id)
        if options or key not in known:
            course = check_course(self, course_id=course_id, **options)
            known.add(key)
            return course
        return None

    check_course_once.shares_engines = True
    return check_course_once


@contextlib.contextmanager
def shared_engines():
    """Within the block, every nbgrader `Gradebook` of one URL shares one engine.

    Nested blocks share the outer block's engines.

    Example:

    >>> import tempfile
    >>> from nbgrader.api import Gradebook
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/gradebook.db"
    >>> with shared_engines():
    ...     with Gradebook(url) as first, Gradebook(url) as second:
    ...         first.engine is second.engine
    True
    """
    with _lock:
        original = nbgrader.api.create_engine
        if getattr(original, "shares_engines", False):
            nested = True
        else:
            nested = False
            engines = {}

            def create_engine(url, **options):
                key = (str(url), tuple(sorted(options.items())))
                with _lock:
                    if key not in engines:
                        engine = original(url, **options)
                        _remember_tables(engine)
                        engines[key] = (engine, engine.dispose)
                        engine.dispose = lambda close=True: None  # kept for the next Gradebook
                    return engines[key][0]

            create_engine.shares_engines = True
            nbgrader.api.create_engine = create_engine
            check_course = nbgrader.api.Gradebook.check_course
            nbgrader.api.Gradebook.check_course = _check_course_once(check_course, set())
    if nested:
        yield
        return
    try:
        yield
    finally:
        with _lock:
            nbgrader.api.create_engine = original
            nbgrader.api.Gradebook.check_course = check_course
            for _, dispose in engines.values():
                dispose()
