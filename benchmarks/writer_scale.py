"""Time the single gradebook writer of `course autograde` at class scale, without kernels.

    python benchmarks/writer_scale.py --assignment project1 --sizes 50 300

With workers on a cluster the kernels spread out and the one process that
writes the gradebook does not: it records every finished submission in turn
(`GradebookWriter`, the same object `grade_in_parallel` uses). This script
measures that serial part alone:

1. it fabricates one full-answer submission of the assignment and runs it
   once through a worker (`execute_submission`, a real kernel);
2. for each class size N and each database (SQLite in the course folder,
   and PostgreSQL when a server is given with `--postgres URL` or
   `COURSE_TEST_POSTGRES_URL`, as the tests start one with
   `scripts/postgres-test-server`), it makes a course with N submitted
   students, replays that executed notebook as every student's worker
   outcome and records all N through the writer.

It prints the writer's seconds per submission (median and by quarter of the
class, to show whether a submission costs more as the gradebook grows),
submissions per second, and checks that every student was graded, with the
same score (a replay that fails would time the wrong thing).
Slow by nature: it is kept out of the test suite.
"""

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grade_class import fabricate_course  # noqa: E402 - after the path is set


def executed_outcome(course, student_id):
    """A worker's outcome for one submission, from a real kernel run.

    The worker runs in a process of its own, as in `course autograde`, so this
    process stays what the writer is there: one that never imported
    TensorFlow (a large heap makes Python's garbage collector slower).
    """
    from autograder.grading.autograde import build_template, execute_submission, pack_folder

    template = Path(tempfile.mkdtemp(prefix="writer-template-"))
    try:
        build_template(course, template / "course")
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            outcome = pool.submit(execute_submission, pack_folder(template / "course"),
                                  pack_folder(course.submission_folder(student_id)),
                                  course.assignment, student_id,
                                  settings=course.settings).result()
    finally:
        shutil.rmtree(template, ignore_errors=True)
    if not outcome["success"]:
        raise SystemExit(f"the worker could not grade the fabricated submission:\n"
                         f"{outcome['error']}")
    return outcome


def class_of(course, source_student, size, root, database_url):
    """A copy of the course with `size` submitted students (copies of one)."""
    from autograder.grading.course import ensure_assignment_ready, open_course
    from autograder.grading.logs import stderr_to

    shutil.copytree(course.root, root,
                    ignore=shutil.ignore_patterns("submitted", "autograded", "gradebook.db"))
    folder = course.submission_folder(source_student)
    students = [f"{60000 + index}" for index in range(size)]
    for student_id in students:
        shutil.copytree(folder, root / "submitted" / student_id / course.assignment)
    copy = open_course(root, course.assignment, database_url)
    with stderr_to(root / "setup.log"):
        ensure_assignment_ready(copy)  # the assignment in this gradebook, as collect does
    return copy, students


def postgres_database(server_url):
    """A fresh database on the server for one run; its URL."""
    import sqlalchemy

    name = f"writer_{uuid.uuid4().hex[:10]}"
    engine = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sqlalchemy.engine.make_url(server_url).set(database=name).render_as_string(
        hide_password=False)


def time_writer(course, students, outcome):
    """Seconds the writer spends per student, in class order, and the scores."""
    from autograder.grading.autograde import GradebookWriter
    from autograder.grading.logs import stderr_to

    seconds, scores = [], set()
    executed = Path(tempfile.mkdtemp(prefix="writer-executed-"))
    try:
        with stderr_to(course.working_folder / "writer.log"), \
                GradebookWriter(course, executed) as writer:
            for student_id in students:
                started = time.perf_counter()
                result = writer.record(student_id, outcome)
                seconds.append(time.perf_counter() - started)
                scores.add((result.status, result.score))
    finally:
        shutil.rmtree(executed, ignore_errors=True)
    return seconds, scores


def quarters(values):
    size = max(1, len(values) // 4)
    return [statistics.mean(values[start:start + size]) for start in range(0, size * 4, size)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="project1", help="assignment in solutions/")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 300],
                        help="class sizes (default 50 300)")
    parser.add_argument("--postgres", default=os.environ.get("COURSE_TEST_POSTGRES_URL"),
                        help="PostgreSQL server URL (default: $COURSE_TEST_POSTGRES_URL)")
    options = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    work = Path(tempfile.mkdtemp(prefix="writer-scale-")).resolve()
    try:
        print(f"fabricating and executing one {options.assignment} submission ...", flush=True)
        course = fabricate_course(work / "collected", options.assignment, 1)
        source_student = course.submitted_students()[0]
        outcome = executed_outcome(course, source_student)
        databases = [("SQLite", None)]
        if options.postgres:
            databases.append(("PostgreSQL", options.postgres))
        else:
            print("no PostgreSQL server given (--postgres or COURSE_TEST_POSTGRES_URL): "
                  "SQLite only")
        rows = []
        for label, server in databases:
            for size in options.sizes:
                root = work / f"{label}-{size}" / "course"
                url = (postgres_database(server) if server
                       else f"sqlite:///{root / 'gradebook.db'}")
                copy, students = class_of(course, source_student, size, root, url)
                print(f"{label}, {size} submissions ...", flush=True)
                seconds, scores = time_writer(copy, students, outcome)
                rows.append((label, size, seconds, scores))
                print(f"  median {statistics.median(seconds):.3f} s per submission", flush=True)
        print()
        print(f"{options.assignment}: gradebook writer, seconds per submission")
        header = (f"{'database':<11} {'N':>5} {'median':>8} {'1st qtr':>8} {'2nd qtr':>8} "
                  f"{'3rd qtr':>8} {'4th qtr':>8} {'total s':>8} {'subm./s':>8}")
        print(header)
        print("-" * len(header))
        for label, size, seconds, scores in rows:
            parts = " ".join(f"{value:>8.3f}" for value in quarters(seconds))
            print(f"{label:<11} {size:>5} {statistics.median(seconds):>8.3f} {parts} "
                  f"{sum(seconds):>8.1f} {size / sum(seconds):>8.1f}")
        verdicts = sorted({verdict for *_, scores in rows for verdict in scores})
        graded = len(verdicts) == 1 and verdicts[0][0] == "graded"
        print(f"\nevery student graded, with the same score: {'yes' if graded else 'NO'} "
              f"{verdicts}")
        return 0 if graded else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
