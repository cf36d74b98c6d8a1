"""The pytest suites and `course grade` reach the same verdict per check."""

import sys
import xml.etree.ElementTree as ElementTree
import subprocess
from pathlib import Path

import pytest

from autograder.grading.course import Course
from autograder.grading.grade import grade_notebook

SUITES = Path(__file__).resolve().parents[2] / "autograder" / "suites"


def suite_verdicts(submission, course_root, tmp_path):
    """Run the suite in a fresh interpreter; grade_id -> passed."""
    report = tmp_path / f"{Path(submission).stem}.xml"
    command = [sys.executable, "-m", "pytest", str(SUITES), "--submission", str(submission),
               "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
    completed = subprocess.run(command, cwd=course_root, capture_output=True, text=True,
                               env={**__import__("os").environ, "COURSE_DIR": str(course_root)})
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    verdicts = {}
    for case in ElementTree.parse(report).iter("testcase"):
        grade_id = case.get("name").split("[", 1)[1].rstrip("]")
        verdicts[grade_id] = case.find("failure") is None and case.find("error") is None
    return verdicts


@pytest.mark.parametrize("kind", ["full", "partial", "empty"])
def test_suite_agrees_with_course_grade(kind, released_toy, toy_submissions, tmp_path):
    root, _ = released_toy
    graded = grade_notebook(toy_submissions[kind], course=Course(root))
    expected = {row["id"]: row["passed"] for row in graded["tests"]}
    assert suite_verdicts(toy_submissions[kind], root, tmp_path) == expected


def test_suite_without_submission_is_a_usage_error(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "pytest", str(SUITES), "-q",
                                "-p", "no:cacheprovider"], capture_output=True, text=True,
                               cwd=tmp_path)
    assert completed.returncode == 4
    assert "--submission" in completed.stderr + completed.stdout


HOSTILE = Path(__file__).resolve().parents[1] / "files" / "hostile"


@pytest.mark.parametrize("sample", ["crash_os_exit", "forge_printed_pass"])
def test_suite_grades_hostile_code_through_the_hardened_path(sample, released_toy, tmp_path):
    """Student code never runs in the pytest process: `os._exit` there would end
    the run with no report, a printed "pass" would count. Through `course
    grade`'s sandboxed, guarded kernel both get their honest verdicts."""
    root, _ = released_toy
    graded = grade_notebook(HOSTILE / f"{sample}.ipynb", course=Course(root))
    expected = {row["id"]: row["passed"] for row in graded["tests"]}
    assert expected == {"toy_test_visible": sample == "crash_os_exit",
                        "toy_test_hidden": sample == "crash_os_exit"}
    assert suite_verdicts(HOSTILE / f"{sample}.ipynb", root, tmp_path) == expected
