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
which tables exist once `create_all` has seen them (tables are only ever
created, never dropped, during grading). Everything nbgrader reads and
writes is unchanged: the same sessions, queries and transactions, on
connections from one pool instead of one pool each. The engines are really
disposed of when the block ends.
"""

import contextlib
import threading

import nbgrader.api

_lock = threading.Lock()


def _remember_tables(engine):
    """Answer `has_table` from memory once a table is known to exist."""
    existing = set()
    has_table = engine.dialect.has_table

    def cached_has_table(connection, table_name, schema=None, **options):
        if (schema, table_name) in existing:
            return True
        found = has_table(connection, table_name, schema=schema, **options)
        if found:
            existing.add((schema, table_name))
        return found

    engine.dialect.has_table = cached_has_table


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
    if nested:
        yield
        return
    try:
        yield
    finally:
        with _lock:
            nbgrader.api.create_engine = original
            for _, dispose in engines.values():
                dispose()
