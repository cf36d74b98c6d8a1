"""Hostile, broken and runaway submissions graded through `grade_notebook`.

Every sample in tests/files/hostile/ is the toy assignment's released stub
with one thing done to it (see each notebook's `hostile_case` metadata).
The toy notebook has two tests: `toy_test_visible` (1 point) and
`toy_test_hidden` (2 points). All samples are graded once, two at a time,
with a 5 s cell timeout and a 2 GiB kernel memory limit; each test then
checks the exact score and the reason given.
"""

import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from autograder.grading.course import Course
from autograder.grading.kernel_rules import isolation_available
from tests.hardening.in_kernel import decide_in_the_kernel

HOSTILE = Path(__file__).resolve().parents[1] / "files" / "hostile"
TOY_COURSE = Path(__file__).resolve().parents[1] / "files" / "toy_course"
ESCAPE_PROBES = ["/tmp/course-escape-probe.txt", "/var/tmp/course-escape-probe.txt"]
TEST_IDS = ["toy_test_visible", "toy_test_hidden"]
SETTINGS = {"COURSE_CELL_TIMEOUT": "5", "COURSE_KERNEL_MEMORY_MB": "2048",
            "TF_CPP_MIN_LOG_LEVEL": "2"}

# name -> (score, {test id: text its message must contain})
EXPECTED = {
    "runaway_infinite_loop": (3.0, {}),
    "runaway_training": (3.0, {}),
    "runaway_loop_in_answer": (0.0, {"toy_test_visible": "timed out after 5 s"}),
    "runaway_flood": (3.0, {}),
    "crash_os_exit": (3.0, {}),
    "crash_segfault": (3.0, {}),
    "crash_sys_exit": (3.0, {}),
    "crash_memory_bomb": (3.0, {}),
    "crash_in_answer": (0.0, {"toy_test_visible": "SIGSEGV"}),
    "tamper_edited_test": (1.0, {"toy_test_hidden": "square(-2.0) returned -4.0"}),
    "tamper_deleted_test": (1.0, {"toy_test_hidden": "square(-2.0) returned -4.0"}),
    "tamper_points": (1.0, {"toy_test_hidden": "square(-2.0) returned -4.0"}),
    "tamper_grade_id": (1.0, {"toy_test_hidden": "square(-2.0) returned -4.0"}),
    "tamper_duplicate_ids": (1.0, {"toy_test_hidden": "square(-2.0) returned -4.0"}),
    "tamper_test_in_solution": (1.0, {"toy_test_hidden": "square(-2.0) returned -4.0"}),
    "forge_custom_exc": (0.0, {"toy_test_visible": "CheckFailure"}),
    "forge_post_run_cell": (0.0, {"toy_test_visible": "CheckFailure"}),
    "forge_redefined_errors": (0.0, {"toy_test_visible": "CheckFailure"}),
    "forge_patched_checks": (0.0, {"toy_test_visible": "CheckFailure"}),
    "forge_patched_numpy": (0.0, {"toy_test_visible": "CheckFailure"}),
    "forge_printed_pass": (0.0, {"toy_test_visible": "CheckFailure"}),
    "forge_before_first_test": (0.0, {"toy_test_visible": "square(3.0) returned 0.0",
                                      "toy_test_hidden": "square(-2.0) returned 0.0"}),
    "forge_input_transformer": (0.0, {}),
    # The checks run in the grader's process: the kernel's numpy is not theirs.
    "forge_during_check": (0.0, {"toy_test_visible": "square(3.0) returned 0.0",
                                 "toy_test_hidden": "square(-2.0) returned 0.0"}),
    "reach_files_and_network": (3.0, {}),
    "reach_other_kernels": (3.0, {}),
}
# The child `reach_other_kernels` starts in a session of its own.
ORPHAN = ["sleep", "6007"]


# The forging samples again, decided in the kernel by the guard (as every
# test is when the judge is off): it must stop them there too.
IN_KERNEL_EXPECTED = {
    **{name: EXPECTED[name] for name in EXPECTED if name.startswith("forge_")},
    "forge_during_check": (0.0, {"toy_test_visible": "GradingEnvironmentAltered",
                                 "toy_test_hidden": "numpy.allclose"}),
}


def grade_in_worker(course_root, name, settings, judge=True):
    os.environ.update(settings)
    from autograder.grading.grade import grade_notebook

    if not judge:
        decide_in_the_kernel()

    return name, grade_notebook(HOSTILE / f"{name}.ipynb", course=Course(Path(course_root)))


def grade_all(course_root, names, settings=SETTINGS, judge=True):
    # Spawned, not forked: a child forked from this process, which imported
    # TensorFlow in an earlier test, can crash when its garbage collector
    # frees a TensorFlow function (TensorFlow's threads do not survive fork).
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(grade_in_worker, str(course_root), name, settings, judge)
                   for name in names]
        return dict(future.result() for future in futures)


@pytest.fixture(scope="module")
def toy_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile_course")
    shutil.copytree(TOY_COURSE, root, dirs_exist_ok=True)
    return root


@pytest.fixture(scope="module")
def reports(toy_course):
    return grade_all(toy_course, sorted(EXPECTED))


def test_every_case_has_a_sample_notebook():
    samples = {path.stem for path in HOSTILE.glob("*.ipynb")
               if not path.stem.startswith("broken_")}
    assert samples == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_submission_gets_exact_score(name, reports):
    if name.startswith("reach_") and not isolation_available():
        pytest.skip("kernel isolation needs Linux and root; not available here")
    report = reports[name]
    score, messages = EXPECTED[name]
    assert report["error"] is None, report
    assert report["score"] == score, report["tests"]
    assert report["max_score"] == 3.0
    rows = {row["id"]: row for row in report["tests"]}
    for test_id, fragment in messages.items():
        assert fragment in rows[test_id]["message"], rows[test_id]


@pytest.fixture(scope="module")
def in_kernel_reports(toy_course):
    return grade_all(toy_course, sorted(IN_KERNEL_EXPECTED), judge=False)


@pytest.mark.parametrize("name", sorted(IN_KERNEL_EXPECTED))
def test_guard_in_the_kernel_stops_the_forgery(name, in_kernel_reports):
    report = in_kernel_reports[name]
    score, messages = IN_KERNEL_EXPECTED[name]
    assert report["error"] is None, report
    assert report["score"] == score, report["tests"]
    rows = {row["id"]: row for row in report["tests"]}
    for test_id, fragment in messages.items():
        assert fragment in rows[test_id]["message"], rows[test_id]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_test_is_reported_with_a_reason(name, reports):
    """Reconciliation: submitted tests = passed + failed-with-reason."""
    rows = reports[name]["tests"]
    assert sorted(row["id"] for row in rows) == sorted(TEST_IDS)
    passed = [row for row in rows if row["passed"]]
    failed = [row for row in rows if not row["passed"] and row["message"].strip()]
    assert len(passed) + len(failed) == len(TEST_IDS)
    assert reports[name]["score"] == sum(row["score"] for row in rows)


def test_runaway_cell_reason_names_the_timeout(reports):
    rows = reports["runaway_loop_in_answer"]["tests"]
    assert all("CellTimeout" in row["message"] or "restarted" in row["message"]
               for row in rows)


def running(command):
    """Processes of this machine whose command line is exactly `command`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry / "cmdline").read_bytes().split(b"\0")[:-1] == [
                    part.encode() for part in command]:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not isolation_available(), reason="kernel isolation needs Linux and root")
def test_a_child_in_its_own_session_ends_with_its_kernel(reports):
    assert reports["reach_other_kernels"]["score"] == 3.0
    assert running(ORPHAN) == []


@pytest.mark.skipif(not isolation_available(), reason="kernel isolation needs Linux and root")
def test_other_kernels_sample_does_reach_without_the_sandbox(toy_course):
    """Without isolation the sample sees the grader's processes and keeps its child."""
    settings = {**SETTINGS, "COURSE_KERNEL_ISOLATION": "off"}
    try:
        report = grade_all(toy_course, ["reach_other_kernels"], settings)[
            "reach_other_kernels"]
        assert report["score"] == 0.0
        message = report["tests"][0]["message"]
        assert "reached:" in message and "signal to" in message
        assert running(ORPHAN)
    finally:
        for pid in running(ORPHAN):
            os.kill(pid, 9)


@pytest.mark.skipif(not isolation_available(), reason="kernel isolation needs Linux and root")
def test_reach_sample_does_reach_without_the_sandbox(toy_course):
    """The reach sample is a real probe: with isolation off it finds things."""
    settings = {**SETTINGS, "COURSE_KERNEL_ISOLATION": "off"}
    report = grade_all(toy_course, ["reach_files_and_network"], settings)[
        "reach_files_and_network"]
    assert report["score"] == 0.0
    assert "reached:" in report["tests"][0]["message"]
    for probe in ESCAPE_PROBES:
        Path(probe).unlink(missing_ok=True)
