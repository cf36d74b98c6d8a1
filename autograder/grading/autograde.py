"""Autograde every collected submission of an assignment with nbgrader.

Each student is graded by its own `NbGraderAPI.autograde` call, so one
broken notebook (not JSON, a kernel that dies, a cell that never ends) is
reported with its reason and never stops the batch. Every submitted student
ends up either graded or failed-with-reason; the record
`downloaded/<assignment>/autograde.json` keeps the verdicts, per-test
results and reasons for `course export` and `course feedback`.

With `workers > 1`, or on a Dask cluster (`engines.py`), the slow part,
running each notebook in a kernel, is spread over workers, while the course
gradebook (SQLite or any SQLAlchemy database, e.g. PostgreSQL) keeps exactly
one writer:

1. The parent registers the assignment once in a template course (nbgrader
   `generate_assignment` from the source, as `course grade` does).
2. Each worker receives the template and one student's `submitted/` folder
   as bytes, unpacks them into a private scratch course with its own SQLite
   gradebook and runs nbgrader's `autograde` there, unchanged except that
   `KeepExecutedCopy` saves every notebook right after the kernel ran it;
   it sends the executed notebooks back as text.
3. The parent, as each worker finishes, runs nbgrader's own `autograde` for
   that student on the real course, with the execution step replaced by
   `AdoptExecutedNotebook`, which hands over the notebook the worker ran.

Step 3 is a full nbgrader autograde minus the kernel: nbgrader itself
creates the student and submission (with its timestamp), zeroes notebooks
that were not submitted, sanitizes, scores every cell (`SaveAutoGrades`),
applies late penalties and writes `autograded/<student>/<assignment>/`,
fails the same way on the same bad input, and our own preprocessors run as
configured. No gradebook rows are copied or written by hand, so the
gradebook cannot drift from what a sequential run writes; two processes
never write one SQLite file, so "database is locked" cannot happen.
"""

import io
import os
import re
import shutil
import tarfile
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import CheckCellMetadata
from traitlets.config import Config

from autograder.grading.course import (AUTOGRADED, SOURCE_DIRECTORY, Course,
                                       CourseSetupError, ensure_assignment_ready,
                                       prepare_tools)
from autograder.grading.engines import (PROCESSES, check_engine, default_workers,
                                        describe_engine, open_executor)
from autograder.grading.logs import stderr_to
from autograder.grading.notebooks import cell_ids
from autograder.grading.preprocessors import AdoptExecutedNotebook, KeepExecutedCopy
from autograder.grading.records import (AUTOGRADE_RECORD, autograde_record, collected_students,
                                        write_record)
from autograder.grading.results import autograded_test_cells, notebook_results
from autograder.grading.settings import settings_in_use
from autograder.grading.shared_engine import shared_engines
from autograder.grading.warm_kernels import prestart, share_starter, use_shared_starter

GRADED = "graded"
FAILED = "failed"
EXCEPTION_LINE = re.compile(
    r"^\s*(?:[\w.]+\.)?(?P<name>[A-Z]\w*(?:Error|Exception|Exit|Timeout)\w*)"
    r":\s*(?P<message>.+)$")


@dataclass
class StudentResult:
    """One student's autograde verdict.

    Args:
        student_id: The nbgrader student id (Canvas user id).
        status: "graded" or "failed".
        score: Points earned (0 when failed).
        max_score: Points possible.
        reason: Why grading failed ("" when graded).
        late: Canvas' late flag from the collection record.
        tests: Per-test rows `{"id", "score", "max_score", "passed", "message"}`.
        notes: Remarks (e.g. a notebook that was not submitted).
        awaiting: Points of written answers left for a TA to grade by hand
            (`course formgrader`); they are not in `score` yet.
    """

    student_id: str
    status: str
    score: float = 0.0
    max_score: float = 0.0
    reason: str = ""
    late: bool = False
    tests: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    awaiting: float = 0.0


@dataclass
class AutogradeReport:
    """Outcome of autograding a whole assignment.

    Args:
        assignment: The assignment id.
        results: `StudentResult`s in student-id order.
        record_path: The JSON record written.
        log_path: nbgrader's and the kernels' messages.
    """

    assignment: str
    results: list
    record_path: Path = None
    log_path: Path = None

    @property
    def graded(self):
        return [result for result in self.results if result.status == GRADED]

    @property
    def failed(self):
        return [result for result in self.results if result.status == FAILED]


def failure_reason(log_text, error_text=""):
    """The most telling exception line of an nbgrader log, as one short sentence."""
    found = ""
    for line in (log_text + "\n" + error_text).splitlines():
        match = EXCEPTION_LINE.match(line)
        if match and match["name"] != "NbGraderException":
            found = f"{match['name']}: {match['message'].strip()}"
    if not found:
        lines = [line.strip() for line in (error_text or log_text).splitlines() if line.strip()]
        found = lines[-1] if lines else "nbgrader autograde failed"
    return found[:300]


def precheck(folder, released, released_ids=None):
    """Reasons a submission cannot be graded, found before running nbgrader.

    A notebook that does not parse, is empty, has no cells, or carries
    graded cells of which none belong to the released notebook (a notebook
    of another assignment handed in under this one's name) cannot be graded:
    nbgrader would put the tests back and score the missing answers 0,
    hiding what really happened.

    Args:
        folder: The student's `submitted/<id>/<assignment>/` folder.
        released: Released notebook names.
        released_ids: Optional released name -> set of its grade ids.

    Returns:
        `(reason, notes)`: reason is "" when every present notebook can be
        graded; notes lists released notebooks the student did not submit.
    """
    notes = []
    for name in released:
        path = folder / name
        if not path.is_file():
            notes.append(f"no {name} submitted (scored 0)")
            continue
        if path.stat().st_size == 0:
            return f"{name} is empty (0 bytes)", notes
        try:
            notebook = nbformat.read(str(path), as_version=4)
        except Exception as error:  # noqa: BLE001 - any parse failure is the reason
            summary = str(error).splitlines()[0].split(":")[0] if str(error) else ""
            return (f"{name} is not a readable notebook ({type(error).__name__}"
                    f"{': ' + summary[:80] if summary else ''})"), notes
        if not notebook.cells:
            return f"{name} has no cells", notes
        expected = (released_ids or {}).get(name)
        found = cell_ids(notebook)
        if expected and found and not found & expected:
            shown = ", ".join(sorted(found)[:3])
            return (f"{name} has none of the released {name}'s graded cells (it has "
                    f"{shown}): a notebook of another assignment?"), notes
    return "", notes


def gradebook_score(course, student_id):
    """`(score, max_score)` of a submission in the gradebook, or (None, None)."""
    with course.gradebook() as gradebook:
        try:
            submission = gradebook.find_submission(course.assignment, student_id)
        except MissingEntry:
            return None, None
        return float(submission.score), float(submission.max_score)


def assignment_max_score(course):
    with course.gradebook() as gradebook:
        return float(gradebook.find_assignment(course.assignment).max_score)


def graded_submission(course, student_id):
    """`(score, max_score, rows, awaiting)` of a graded submission, read in one
    gradebook session (`awaiting`: points of cells left for manual grading).

    The rows are the per-test results of every released notebook (see
    `results.notebook_results`), failure messages taken from the autograded
    notebooks.
    """
    rows = []
    with course.gradebook() as gradebook:
        submission = gradebook.find_submission(course.assignment, student_id)
        score, max_score = float(submission.score), float(submission.max_score)
        for name in course.released_notebooks():
            cells, order = autograded_test_cells(
                course.submission_folder(student_id, AUTOGRADED) / name)
            rows.extend(notebook_results(gradebook, course.assignment, student_id,
                                         Path(name).stem, cells, order))
        awaiting = sum(float(grade.max_score) for notebook in submission.notebooks
                       for grade in notebook.grades if grade.needs_manual_grade)
    return score, max_score, rows, awaiting


def grade_one(course, api, student_id, late=False, executed=None):
    """Autograde one student's submission; never raises for a bad notebook.

    Args:
        course: The `Course` seen through the assignment.
        api: Its `NbGraderAPI` (see `adopting_api` for the parallel run).
        student_id: The student to grade.
        late: Canvas' late flag.
        executed: For the parallel run, the worker's outcome
            `{"success", "log", "error"}`; its failure is the student's.

    Returns:
        A `StudentResult`.
    """
    reason, notes = precheck(course.submission_folder(student_id),
                             course.released_notebooks(), course.released_cell_ids())
    if reason:
        # nbgrader may "succeed" on a notebook with no cells or another
        # assignment's cells (it restores the tests and scores nothing), so
        # it is not run at all: the student's real problem is the reason.
        # The student and submission are still recorded in the gradebook,
        # as nbgrader's autograde would have done.
        record_failed_submission(course, student_id)
        return StudentResult(student_id, FAILED, 0.0, assignment_max_score(course), reason,
                             late, notes=notes)
    outcome = api.autograde(course.assignment, student_id, force=True, create=True)
    if executed is not None and not executed["success"]:
        # The worker ran the real thing; its failure (a kernel-side error)
        # is the one to report, whatever the bookkeeping run made of it.
        outcome = {"success": False, "log": executed.get("log", ""),
                   "error": executed.get("error", "")}
    if not outcome["success"]:
        _, max_score = gradebook_score(course, student_id)
        max_score = max_score if max_score is not None else assignment_max_score(course)
        reason = failure_reason(outcome.get("log", ""), outcome.get("error", ""))
        return StudentResult(student_id, FAILED, 0.0, max_score, reason, late, notes=notes)
    score, max_score, tests, awaiting = graded_submission(course, student_id)
    return StudentResult(student_id, GRADED, score or 0.0, max_score, "", late, tests, notes,
                         awaiting)


# --------------------------------------------------------------------------
# Parallel grading: workers execute, the parent records
# --------------------------------------------------------------------------

def is_execution(preprocessor):
    return isinstance(preprocessor, type) and issubclass(preprocessor, ExecutePreprocessor)


def split_pipeline(pipeline):
    """`(before, after)`: the autograde pipeline around its execution step.

    Raises:
        CourseSetupError: the pipeline has no execution step.
    """
    positions = [index for index, step in enumerate(pipeline) if is_execution(step)]
    if not positions:
        raise CourseSetupError("the autograde pipeline has no execution step; grade with "
                               "--workers 1.")
    return list(pipeline[:positions[0]]), list(pipeline[positions[-1] + 1:])


def record_failed_submission(course, student_id):
    """Put a student and an unscored submission in the gradebook (nbgrader's API)."""
    with course.gradebook() as gradebook:
        gradebook.update_or_create_student(student_id)
        try:
            gradebook.find_submission(course.assignment, student_id)
        except MissingEntry:
            gradebook.add_submission(course.assignment, student_id)


def adopting_api(course, executed_folder):
    """The parent's `NbGraderAPI`: nbgrader's autograde with adopted execution.

    The writer also leaves out nbgrader's `CheckCellMetadata`, in both the
    sanitize and the autograde steps: it only validates, and the worker ran
    it on the same cells (`AdoptExecutedNotebook` checks that the worker's
    cells are the writer's, nbgrader metadata included), and a worker whose
    check failed has its failure reported as the student's. It writes
    nothing to the gradebook, so the gradebook is the same without it; it is
    a fifth of the writer's time (jsonschema checks every cell twice).
    """
    def without_checks(steps):
        return [step for step in steps if step is not CheckCellMetadata]

    before, after = split_pipeline(course.config.Autograde.autograde_preprocessors)
    extra = Config()
    extra.Autograde.sanitize_preprocessors = without_checks(
        course.config.Autograde.sanitize_preprocessors)
    extra.Autograde.autograde_preprocessors = without_checks(
        before + [AdoptExecutedNotebook] + after)
    extra.AdoptExecutedNotebook.folder = str(executed_folder)
    return course.api(extra)


def build_template(course, template):
    """A scratch course with the assignment generated into its own gradebook."""
    shutil.copytree(course.source_folder, template / SOURCE_DIRECTORY / course.assignment)
    scratch = Course(template, course.assignment, settings=course.settings)
    with stderr_to(template / "generate.log"):
        generated = scratch.api().generate_assignment(course.assignment)
    if not generated["success"]:
        raise CourseSetupError(f"nbgrader could not generate {course.assignment!r} for "
                               f"parallel grading:\n{generated.get('error', '')}")


THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def pack_folder(folder):
    """A folder as gzipped tar bytes, to send to a worker on any machine."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(str(folder), arcname=".")
    return buffer.getvalue()


def unpack_folder(data, destination):
    """Unpack `pack_folder` bytes into `destination` (created)."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        archive.extractall(destination, filter="data")
    return destination


def execute_submission(template, submission, assignment, student_id, hidden_paths=(),
                       threads=None, settings=None):
    """Worker: autograde one student in a private scratch course.

    Runs on a local worker process or a Dask worker on another machine, so
    it takes and returns data, not paths of the parent's course.

    Args:
        template: `pack_folder` bytes of the template course (assignment
            generated into its own gradebook).
        submission: `pack_folder` bytes of the student's submitted folder.
        assignment: The assignment id.
        student_id: The student id.
        hidden_paths: More paths the kernel must not see (the real course,
            when the worker shares the parent's machine).
        threads: CPU threads each kernel may use (unset: the worker's own).
        settings: The TA's `Settings`, followed here instead of the worker
            machine's environment (default: the worker's own).

    Returns:
        `{"success", "log", "error", "stderr", "executed"}`: nbgrader's
        outcome, its log, and `executed`, notebook file name -> the
        notebook as the kernel left it (JSON text).
    """
    started = time.perf_counter()
    if threads:
        for name in THREAD_VARIABLES:
            os.environ.setdefault(name, str(threads))
    scratch = Path(tempfile.mkdtemp(prefix="course-grade-worker-"))
    try:
        # The kernel must not see the real course either (solutions, gradebook).
        course = Course(unpack_folder(template, scratch / "course"), assignment,
                        protected_paths=tuple(hidden_paths), settings=settings)
        prepare_tools()
        prestart(course.settings.kernel_warm_start)  # imports overlap nbgrader's work
        unpack_folder(submission, course.submission_folder(student_id))
        executed_folder = scratch / "executed"
        pipeline = list(course.config.Autograde.autograde_preprocessors)
        _, after = split_pipeline(pipeline)
        extra = Config()
        extra.Autograde.autograde_preprocessors = (
            pipeline[:len(pipeline) - len(after)] + [KeepExecutedCopy] + after)
        extra.KeepExecutedCopy.folder = str(executed_folder)
        log_path = scratch / "autograde.log"
        try:
            with stderr_to(log_path), settings_in_use(course.settings):
                outcome = course.api(extra).autograde(
                    assignment, student_id, force=True, create=True)
        except Exception as error:  # noqa: BLE001 - reported as this student's failure
            outcome = {"success": False, "log": "",
                       "error": f"{type(error).__name__}: {error}"}
        executed = {path.name: path.read_text(encoding="utf-8")
                    for path in sorted((executed_folder / student_id).glob("*.ipynb"))}
        return {"success": bool(outcome["success"]), "log": outcome.get("log", ""),
                "error": outcome.get("error", ""), "executed": executed,
                "stderr": log_path.read_text(errors="replace") if log_path.is_file() else "",
                "seconds": time.perf_counter() - started}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def worker_failure(error):
    """The outcome of a worker process that could not report one itself."""
    return {"success": False, "log": "", "stderr": "", "executed": {},
            "error": f"grading process stopped: {type(error).__name__}: {error}"}


def keep_executed(outcome, executed_folder, student_id):
    """Write a worker's executed notebooks where `AdoptExecutedNotebook` finds them."""
    folder = Path(executed_folder) / student_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (outcome.get("executed") or {}).items():
        (folder / Path(name).name).write_text(text, encoding="utf-8")


class GradebookWriter:
    """The one process that writes the course gradebook in a parallel run.

    For each worker outcome it leaves the executed notebooks where
    `AdoptExecutedNotebook` finds them and runs nbgrader's autograde for
    that student on the real course with that adopted execution (see the
    module docstring). `grade_in_parallel` uses it as workers finish;
    `benchmarks/writer_scale.py` times it alone.

    Use it as a context manager: inside, all its gradebook connections go
    through one engine per database.

    Args:
        course: The `Course` seen through the assignment.
        executed_folder: Scratch folder for the workers' executed notebooks.
    """

    def __init__(self, course, executed_folder):
        self.course = course
        self.executed_folder = Path(executed_folder)
        self.api = adopting_api(course, self.executed_folder)
        self._engines = None

    def __enter__(self):
        """Share one database engine among all the writer's gradebooks (see `shared_engine`)."""
        self._engines = shared_engines()
        self._engines.__enter__()
        return self

    def __exit__(self, *details):
        self._engines.__exit__(*details)

    def record(self, student_id, outcome, late=False):
        """Record one worker outcome; never raises for a bad submission.

        Returns:
            The student's `StudentResult`.
        """
        try:
            keep_executed(outcome, self.executed_folder, student_id)
            return grade_one(self.course, self.api, student_id, late, executed=outcome)
        except Exception as error:  # noqa: BLE001 - one student never stops the batch
            return StudentResult(student_id, FAILED, 0.0, 0.0,
                                 f"{type(error).__name__}: {error}"[:300], late)


def grade_in_parallel(course, students, collected, log_path, workers=None,
                      on_start=None, on_done=None, engine=PROCESSES, scheduler=None):
    """Grade `students` on an executor; the parent alone writes the gradebook.

    Args:
        course: The `Course` seen through the assignment.
        students: Student ids to grade.
        collected: The collection record (late flags).
        log_path: Where nbgrader's and the kernels' messages go.
        workers: Submissions at once (see `engines.open_executor`).
        on_start, on_done: Progress callbacks.
        engine: "processes" or "dask".
        scheduler: Dask scheduler address (engine "dask" only).

    Returns:
        `StudentResult`s in the order of `students`.
    """
    batch = Path(tempfile.mkdtemp(prefix="course-grade-batch-"))  # hidden from kernels
    results = {}
    try:
        template = batch / "template"
        started = time.perf_counter()
        build_template(course, template)
        template_bytes = pack_folder(template)
        setup_seconds = time.perf_counter() - started
        hidden = list(course.config.SandboxKernelManager.hidden_paths)
        waiting = list(enumerate(students))
        running = {}

        def record(student_id, outcome):
            late = bool(collected.get(student_id, {}).get("late", False))
            log.write(f"\n=== {student_id} ===\n{outcome.get('stderr', '')}")
            log.flush()
            started = time.perf_counter()
            result = writer.record(student_id, outcome, late)
            log.write(f"=== {student_id}: ran in {outcome.get('seconds', 0):.3f} s on a "
                      f"worker, recorded in {time.perf_counter() - started:.3f} s ===\n")
            log.flush()
            results[student_id] = result
            if on_done:
                on_done(result)

        # Local workers fork their kernels from one starter, this process's.
        starter = share_starter(course.settings.kernel_warm_start) if engine == PROCESSES \
            else None
        with stderr_to(log_path) as log, GradebookWriter(course, batch / "executed") as writer, \
                open_executor(engine, workers, scheduler, use_shared_starter,
                              (starter,)) as (executor, slots):
            log.write(f"grading on {describe_engine(engine, slots, scheduler)}; assignment "
                      f"set up for the workers in {setup_seconds:.1f} s\n")
            # Workers on this machine share its cores; a cluster's are its own.
            threads = None if scheduler else max(1, default_workers() // slots)
            while waiting or running:
                while waiting and len(running) < slots:
                    index, student_id = waiting.pop(0)
                    if on_start:
                        on_start(student_id, index, len(students))
                    try:
                        submission = pack_folder(course.submission_folder(student_id))
                        future = executor.submit(
                            execute_submission, template_bytes, submission,
                            course.assignment, student_id, hidden, threads,
                            course.settings)
                    except Exception as error:  # noqa: BLE001 - e.g. a broken pool
                        record(student_id, worker_failure(error))
                        continue
                    running[future] = student_id
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    student_id = running.pop(future)
                    try:
                        outcome = future.result()
                    except Exception as error:  # noqa: BLE001 - e.g. a worker killed
                        outcome = worker_failure(error)
                    record(student_id, outcome)
    finally:
        shutil.rmtree(batch, ignore_errors=True)
    return [results[student_id] for student_id in students]


def autograde_assignment(course, on_start=None, on_done=None, workers=1, engine=PROCESSES,
                         scheduler=None, only=None):
    """Autograde every submission in `submitted/*/<assignment>/` (or some of them).

    Args:
        course: The `Course` seen through the assignment (`open_course`).
        on_start: Optional callback `(student_id, index, total)` before each.
        on_done: Optional callback `(StudentResult)` after each.
        workers: Submissions graded at once. With the "processes" engine, 1
            grades one after the other in this process; more run the
            kernels in worker processes and record the grades here (see the
            module docstring). None: the CPU count (on a Dask cluster, its
            thread count). Either way the gradebook ends up the same.
        engine: "processes" (this machine) or "dask" (a Dask cluster).
        scheduler: Dask scheduler address or scheduler file; None with the
            "dask" engine starts a local Dask cluster.
        only: Student ids to regrade (after a late upload or a fixed check);
            the others' grades, files and records stay as they are. None
            grades everyone collected.

    Returns:
        An `AutogradeReport` (graded + failed == the submissions graded, always).

    Raises:
        ValueError: `workers` is not a whole number of at least 1, or the
            engine and scheduler do not fit together.
        CourseSetupError: nothing collected, a student in `only` has no
            collected submission, the assignment cannot be set up, or the
            Dask cluster cannot be reached.

    Example:

    Before `course collect` there is nothing to grade:

    >>> from autograder.grading.course import open_course
    >>> autograde_assignment(open_course("tests/files/toy_course", "toy"))
    Traceback (most recent call last):
    ...
    autograder.grading.course.CourseSetupError: no submissions of 'toy' in .../submitted. Run `course collect toy <canvas zip>` first.

    After it, `len(report.graded) + len(report.failed)` is the number of
    students in `submitted/`.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers={workers!r} must be a whole number of at least 1 "
                         "(1 grades one submission at a time).")
    check_engine(engine, scheduler)
    students = course.submitted_students()
    if not students:
        raise CourseSetupError(
            f"no submissions of {course.assignment!r} in {course.root / 'submitted'}. "
            f"Run `course collect {course.assignment} <canvas zip>` first.")
    if only is not None:
        students = chosen_students(course, students, only)
    ensure_assignment_ready(course)
    collected = collected_students(course)
    log_path = course.working_folder / "autograde.log"
    if log_path.exists() and only is None:
        log_path.unlink()
    if engine == PROCESSES:
        workers = min(workers or default_workers(), len(students))
    elif workers is not None:
        workers = min(workers, len(students))
    if engine == PROCESSES and workers == 1:
        results = grade_sequentially(course, students, collected, log_path, on_start, on_done)
    else:
        results = grade_in_parallel(course, students, collected, log_path, workers,
                                    on_start, on_done, engine, scheduler)
    if len(results) != len(students):  # pragma: no cover - guarded by construction
        raise CourseSetupError("autograde lost track of a submission; see " + str(log_path))
    report = AutogradeReport(course.assignment, results, log_path=log_path)
    earlier = autograde_record(course) if only is not None else {}
    record = {"assignment": course.assignment,
              "students": {**earlier,
                           **{result.student_id: asdict(result) for result in results}}}
    report.record_path = write_record(course, AUTOGRADE_RECORD, record)
    return report


def chosen_students(course, submitted, only):
    """The students of `only`, checked against those collected (sorted, no repeats)."""
    wanted = sorted({str(student).strip() for student in only})
    unknown = [student for student in wanted if student not in submitted]
    if not wanted or unknown:
        listing = ", ".join(submitted[:20]) + (" ..." if len(submitted) > 20 else "")
        raise CourseSetupError(
            f"no collected submission of {course.assignment!r} for "
            f"{', '.join(unknown) or 'an empty student id'} (give the Canvas user id; "
            f"collected: {listing}). Collect the student's zip first with "
            f"`course collect {course.assignment} <canvas zip>`.")
    return wanted


def grade_sequentially(course, students, collected, log_path, on_start=None, on_done=None):
    """Grade `students` one after the other with one `NbGraderAPI`."""
    api = course.api()
    prestart(course.settings.kernel_warm_start)
    results = []
    for index, student_id in enumerate(students):
        if on_start:
            on_start(student_id, index, len(students))
        late = bool(collected.get(student_id, {}).get("late", False))
        with stderr_to(log_path) as log:
            log.write(f"\n=== {student_id} ===\n")
            log.flush()
            try:
                result = grade_one(course, api, student_id, late)
            except Exception as error:  # noqa: BLE001 - one student never stops the batch
                result = StudentResult(student_id, FAILED, 0.0, 0.0,
                                       f"{type(error).__name__}: {error}"[:300], late)
        results.append(result)
        if on_done:
            on_done(result)
    return results
