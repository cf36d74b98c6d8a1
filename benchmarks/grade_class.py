"""Time autograding a fabricated class, stock nbgrader against `course autograde`.

    python benchmarks/grade_class.py --students 3 --assignment project1

Builds a scratch course from `solutions/<assignment>/`, fabricates a class of
N students who answered every task (from the solution, through
`autograder.grading.classroom`), collects it as a Canvas zip, then grades the
same class once per method in its own copy of the course:

- floor: the solution notebooks executed once with nbclient (no nbgrader);
- nbgrader: stock `nbgrader autograde` over the course folder (sequential);
- course --workers 1: `course autograde` one submission at a time;
- course default: `course autograde` with its default workers (CPU cores);
- course --workers 2;
- course --engine dask: the same on a local Dask cluster of 2 workers
  (left out with --no-dask, or when Dask distributed is not installed).

`course autograde` starts kernels from a process that imported TensorFlow
once (see `autograder/grading/warm_kernels.py`); `--cold` adds a run with
that turned off (`COURSE_KERNEL_WARM_START=off`) to show what it saves.

It prints the class wall time, seconds per submission and the ratios, and
checks that every `course autograde` run wrote the same scores. From the
default run's log it also reads, per submission, the seconds a worker spent
running the notebook and the seconds the single gradebook writer spent
recording it (the part that does not spread over workers), and projects the
wall time of a class of 300 on W = 2, 8 and 50 workers (Amdahl's law with the
writer as the serial part; since the writer records while workers run, the
real time lies between that sum and the larger of the two parts).
Slow by nature: it is kept out of the test suite.
"""

import argparse
import importlib.util
import os
import re
import statistics
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
TOOLS = Path(sys.executable).parent
STOCK_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "biof510"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.db_url = "sqlite:///{database}"
c.ExecutePreprocessor.timeout = 300
"""


def fabricate_course(root, assignment, students):
    """A collected course: released assignment, N full-answer submissions."""
    from autograder.grading import classroom
    from autograder.grading.collect import collect_submissions
    from autograder.grading.course import ensure_assignment_ready, open_course
    from autograder.grading.logs import stderr_to

    source = REPOSITORY / "solutions" / assignment
    if not any(source.glob("*.ipynb")):
        known = sorted(path.name for path in (REPOSITORY / "solutions").iterdir()
                       if path.is_dir())
        raise SystemExit(f"no notebooks in {source}; choose one of: {', '.join(known)}")
    shutil.copytree(source, root / "solutions" / assignment)
    course = open_course(root, assignment)
    with stderr_to(root / "setup.log"):
        ensure_assignment_ready(course)
    model = classroom.standard_class(course.source_folder, course.release_folder)[0]
    classmates = [classroom.Classmate(f"Student{index:03d}, Test", str(50000 + index),
                                      "Section A", model.story, model.uploads,
                                      expected=model.expected)
                  for index in range(students)]
    zip_path = classroom.write_submissions_zip(root.parent / "submissions.zip", classmates)
    with stderr_to(root / "setup.log"):
        report = collect_submissions(course, zip_path)
    if len(report.collected) != students:
        raise SystemExit(f"collected {len(report.collected)} of {students} submissions")
    return course


def timed(command, cwd, log_path, environment=None):
    """Run a command, its output to a log; return seconds (exit on failure)."""
    start = time.perf_counter()
    with open(log_path, "w") as log:
        done = subprocess.run(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "COLUMNS": "200", **(environment or {})})
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed; see {log_path}")
    return seconds


def floor_seconds(course, log_path):
    """Seconds to execute the solution notebooks once with nbclient."""
    import nbformat
    from nbclient import NotebookClient

    from autograder.grading.course import prepare_environment
    from autograder.grading.logs import stderr_to

    prepare_environment()
    total = 0.0
    for path in sorted(course.source_folder.glob("*.ipynb")):
        notebook = nbformat.read(str(path), as_version=4)
        start = time.perf_counter()
        with stderr_to(log_path):
            NotebookClient(notebook, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        total += time.perf_counter() - start
    return total


def scores(root, assignment):
    """Student id -> total auto score in a course's gradebook."""
    query = ("SELECT s.student_id, SUM(COALESCE(g.auto_score, 0)) FROM grade g "
             "JOIN submitted_notebook n ON n.id = g.notebook_id "
             "JOIN submitted_assignment s ON s.id = n.assignment_id "
             "JOIN assignment a ON a.id = s.assignment_id WHERE a.name = ? "
             "GROUP BY s.student_id")
    with sqlite3.connect(root / "gradebook.db") as connection:
        return dict(sorted(connection.execute(query, (assignment,)).fetchall()))


SPLIT_LINE = re.compile(r"=== (?P<student>\S+): ran in (?P<worker>[\d.]+) s on a worker, "
                        r"recorded in (?P<writer>[\d.]+) s ===")
PROJECTED_CLASS = 300
PROJECTED_WORKERS = (2, 8, 50)


def worker_and_writer_seconds(log_path):
    """Per submission `(worker seconds, writer seconds)` from a parallel run's log."""
    text = Path(log_path).read_text(errors="replace") if Path(log_path).is_file() else ""
    return [(float(match["worker"]), float(match["writer"]))
            for match in SPLIT_LINE.finditer(text)]


def print_projection(splits):
    """The writer's share and the projected class wall times."""
    if not splits:
        print("\nno per-submission timings in the parallel run's log")
        return
    worker = statistics.median(seconds for seconds, _ in splits)
    writer = statistics.median(seconds for _, seconds in splits)
    print(f"\nper submission (median of {len(splits)}): {worker:.2f} s in a worker, "
          f"{writer:.3f} s in the single gradebook writer (serial)")
    print(f"projected wall time for {PROJECTED_CLASS} submissions:")
    print(f"{'workers':>8} {'Amdahl (no overlap) s':>22} {'overlapped s':>13}")
    for workers in PROJECTED_WORKERS:
        serial, parallel = PROJECTED_CLASS * writer, PROJECTED_CLASS * worker / workers
        print(f"{workers:>8} {serial + parallel:>22.0f} {max(serial, parallel):>13.0f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=3, help="class size (default 3)")
    parser.add_argument("--assignment", default="project1", help="assignment in solutions/")
    parser.add_argument("--directory", help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--cold", action="store_true",
                        help="also grade with kernels started the usual way")
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask run")
    options = parser.parse_args(argv)
    if options.students < 1:
        parser.error("--students must be at least 1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    work = Path(options.directory or tempfile.mkdtemp(prefix="grade-class-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    assignment, students = options.assignment, options.students
    cores = os.cpu_count() or 1
    try:
        print(f"fabricating {students} submissions of {assignment} in {work} ...", flush=True)
        course = fabricate_course(work / "collected", assignment, students)
        runs = [("nbgrader autograde (stock)", "stock", None),
                ("course autograde --workers 1", "workers1", 1),
                (f"course autograde (default: {cores} workers"
                 + (" = --workers 2)" if cores == 2 else ")"), "default", None)]
        if cores != 2:
            runs.append(("course autograde --workers 2", "workers2", 2))
        if options.cold:
            runs.append(("course autograde --workers 2, cold kernels", "cold", 2))
        if not options.no_dask and importlib.util.find_spec("distributed"):
            runs.append(("course autograde --engine dask --workers 2", "dask", 2))
        rows = []
        floor = floor_seconds(course, work / "floor.log")
        print(f"floor: solution executed once in {floor:.1f} s", flush=True)
        graded = {}
        for label, name, workers in runs:
            root = work / name
            shutil.copytree(course.root, root)
            if name == "stock":
                (root / "gradebook.db").unlink()
                (root / "nbgrader_config.py").write_text(
                    STOCK_CONFIG.format(database=root / "gradebook.db"))
                command = [TOOLS / "nbgrader", "generate_assignment", assignment, "--force"]
                timed(command, root, work / f"{name}-generate.log")
                command = [TOOLS / "nbgrader", "autograde", assignment, "--force", "--create"]
            else:
                command = [TOOLS / "course", "autograde", assignment, "--course-dir", root]
                if workers:
                    command += ["--workers", str(workers)]
                if name == "dask":
                    command += ["--engine", "dask"]
            print(f"{label} ...", flush=True)
            extra = {"COURSE_KERNEL_WARM_START": "off"} if name == "cold" else {}
            seconds = timed(command, root, work / f"{name}.log", extra)
            graded[label] = scores(root, assignment)
            rows.append((label, seconds))
            print(f"  {seconds:.1f} s", flush=True)
        stock = rows[0][1]
        print()
        print(f"{assignment}, {students} submissions, {cores} CPU cores")
        header = (f"{'method':<48} {'class wall s':>12} {'s / submission':>15} "
                  f"{'vs nbgrader':>12} {'vs floor':>9}")
        print(header)
        print("-" * len(header))
        print(f"{'floor: solution run once (nbclient)':<48} {'':>12} {floor:>15.1f} "
              f"{'':>12} {1.0:>8.2f}x")
        for label, seconds in rows:
            per = seconds / students
            print(f"{label:<48} {seconds:>12.1f} {per:>15.1f} {stock / seconds:>11.2f}x "
                  f"{per / floor:>8.2f}x")
        course_scores = [graded[label] for label, _ in rows[1:]]
        same = all(table == course_scores[0] for table in course_scores)
        print(f"\nvs nbgrader: stock time / this time (above 1 is faster). vs floor: "
              f"seconds per submission / one plain run of the solution.")
        print(f"course autograde runs wrote identical scores: {'yes' if same else 'NO'} "
              f"{course_scores[0]}")
        print(f"stock nbgrader scores: {graded[rows[0][0]]}")
        print_projection(worker_and_writer_seconds(
            work / "default" / "downloaded" / assignment / "autograde.log"))
        return 0 if same else 1
    finally:
        if options.keep or options.directory:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
