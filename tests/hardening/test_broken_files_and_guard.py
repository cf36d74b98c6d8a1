"""Unreadable submissions, the verdict rule, the sandbox limits and settings.

None of these start a grading kernel except the repeatability check.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.grading.config import make_config
from autograder.grading.guard import VERDICT_MIME
from autograder.grading.preprocessors import GuardedExecute, SanitizeSubmission
from nbgrader.utils import determine_grade

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "files" / "hostile"
TOY_COURSE = ROOT / "tests" / "files" / "toy_course"


@pytest.fixture(scope="module")
def toy_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("broken_course")
    shutil.copytree(TOY_COURSE, root, dirs_exist_ok=True)
    return root


@pytest.mark.parametrize("name, reason", [
    ("broken_not_json", "not a readable Jupyter notebook"),
    ("broken_empty", "is empty (0 bytes)"),
    ("broken_truncated", "not a readable Jupyter notebook"),
    ("broken_no_cells", "has no cells"),
    ("broken_other_assignment", "cannot tell which assignment"),
])
def test_unreadable_submission_exits_2_with_reason(name, reason, toy_course, monkeypatch):
    monkeypatch.setenv("COURSE_DIR", str(toy_course))
    result = CliRunner().invoke(main, ["grade", str(HOSTILE / f"{name}.ipynb"), "--json"])
    assert result.exit_code == 2, result.output
    assert reason in result.output


def test_old_format_notebook_is_upgraded_and_graded(toy_course, monkeypatch):
    assert json.loads((HOSTILE / "broken_v3.ipynb").read_text())["nbformat"] == 3
    monkeypatch.setenv("COURSE_DIR", str(toy_course))
    monkeypatch.setenv("COURSE_CELL_TIMEOUT", "5")
    result = CliRunner().invoke(main, ["grade", str(HOSTILE / "broken_v3.ipynb"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert (report["score"], report["max_score"]) == (3.0, 3.0)


def test_repeat_grading_gives_identical_scores(toy_course):
    env = {**os.environ, "COURSE_DIR": str(toy_course), "COURSE_CELL_TIMEOUT": "5",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "repeat_grading.py"),
         str(HOSTILE / "crash_segfault.ipynb"), "--times", "3", "--json"],
        capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["identical"] and result["scores"] == [3.0, 3.0, 3.0]


# -- the verdict rule -------------------------------------------------------

def graded_cell(outputs):
    cell = nbformat.v4.new_code_cell("check()")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "locked": True,
                                 "points": 2, "schema_version": 3, "solution": False,
                                 "task": False}
    cell.outputs = [nbformat.from_dict(output) for output in outputs]
    return cell


def verdict(token, intact=True):
    return {"output_type": "display_data", "metadata": {},
            "data": {VERDICT_MIME: {"token": token, "intact": intact, "altered": []}}}


def judged(outputs, token="right"):
    cell = graded_cell(outputs)
    GuardedExecute.judge_test_cell(cell, token)
    return determine_grade(cell)[0], cell


def test_genuine_verdict_keeps_the_points():
    score, cell = judged([verdict("right")])
    assert score == 2.0 and cell.outputs == []


def test_missing_verdict_scores_zero_with_reason():
    score, cell = judged([{"output_type": "stream", "name": "stdout", "text": "passed"}])
    assert score == 0 and cell.outputs[-1]["ename"] == "TestDidNotFinish"


def test_verdict_with_wrong_token_scores_zero():
    score, cell = judged([verdict("guessed")])
    assert score == 0 and cell.outputs[-1]["ename"] == "ForgedVerdict"


def test_extra_forged_verdict_beside_the_genuine_one_scores_zero():
    score, cell = judged([verdict("guessed"), verdict("right")])
    assert score == 0 and cell.outputs[-1]["ename"] == "ForgedVerdict"


def test_altered_environment_scores_zero():
    score, cell = judged([verdict("right", intact=False)])
    assert score == 0 and cell.outputs[-1]["ename"] == "GradingEnvironmentAltered"


def test_numeric_result_gives_no_partial_credit():
    number = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
              "data": {"text/plain": "0.5"}}
    score, _ = judged([number])
    assert score == 0
    score, cell = judged([number, verdict("right")])
    assert score == 2.0 and cell.outputs == []


def test_error_output_stays_a_failure_even_with_verdict():
    error = {"output_type": "error", "ename": "CheckFailure", "evalue": "wrong",
             "traceback": []}
    score, cell = judged([error, verdict("right")])
    assert score == 0 and cell.outputs[-1]["ename"] == "CheckFailure"


# -- settings, limits and repairs ---------------------------------------------

def test_cell_timeout_comes_from_argument_then_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_CELL_TIMEOUT", raising=False)
    assert make_config(tmp_path).ExecutePreprocessor.timeout == 300
    monkeypatch.setenv("COURSE_CELL_TIMEOUT", "7")
    assert make_config(tmp_path).ExecutePreprocessor.timeout == 7
    assert make_config(tmp_path, cell_timeout=2).ExecutePreprocessor.timeout == 2


@pytest.mark.parametrize("variable, value", [("COURSE_CELL_TIMEOUT", "soon"),
                                             ("COURSE_KERNEL_MEMORY_MB", "-1")])
def test_bad_setting_raises_clear_value_error(variable, value, tmp_path, monkeypatch):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        make_config(tmp_path)


def test_config_hides_sources_gradebook_and_submissions(tmp_path):
    hidden = make_config(tmp_path, protected_paths=["/elsewhere/solutions"]
                         ).SandboxKernelManager.hidden_paths
    for name in ("solutions", "submitted", "autograded", "gradebook.db"):
        assert str(tmp_path.resolve() / name) in hidden
    assert "/elsewhere/solutions" in hidden


def test_memory_limit_turns_a_memory_bomb_into_memory_error():
    code = ("from autograder.grading.kernel_launcher import apply_limits\n"
            "apply_limits(512)\n"
            "try:\n    bytearray(2 * 1024 ** 3)\nexcept MemoryError:\n    print('stopped')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "stopped", done.stderr


def test_missing_test_cell_goes_back_after_its_predecessor():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("intro"), nbformat.v4.new_code_cell("answer"),
        nbformat.v4.new_code_cell("free"), nbformat.v4.new_code_cell("last test")])
    for cell, grade_id in zip(notebook.cells, ["intro", "answer", None, "test_b"]):
        if grade_id:
            cell.metadata["nbgrader"] = {"grade_id": grade_id}
    order = ["intro", "answer", "test_a", "test_b"]
    assert SanitizeSubmission.insert_position(notebook, order, "test_a") == 2
    assert SanitizeSubmission.insert_position(notebook, order, "intro") == 0


def test_the_guard_is_loaded_before_the_first_cell_and_after_each_restart(tmp_path):
    """nbconvert re-runs NotebookClient's __init__ inside `preprocess`, which
    once dropped the guard from the kernel's arguments: a notebook could then
    patch NumPy before the first test's reset took its snapshot."""
    probe = ("import sys\nprint('autograder.grading.guard' in sys.modules, "
             "any('autograder.grading.guard' in part for part in sys.argv))")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(probe),
        nbformat.v4.new_code_cell("import os\nos._exit(3)"),
        nbformat.v4.new_code_cell(probe)])
    config = make_config(tmp_path / "course", cell_timeout=30, memory_limit_mb=2048)
    executed, _ = GuardedExecute(config=config).preprocess(
        notebook, {"metadata": {"path": str(tmp_path)}})
    first, crashed, after_restart = executed.cells
    assert first.outputs[0]["text"].strip() == "True True"
    assert crashed.outputs[-1]["ename"] == "KernelDied"
    assert after_restart.outputs[0]["text"].strip() == "True True"


def test_error_outputs_count_towards_the_output_limit(tmp_path):
    """A 20 MB exception message once made a 40 MB autograded notebook."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print('x' * 900)\nraise ValueError('y' * 20_000_000)"),
        nbformat.v4.new_code_cell("raise KeyError('small')")])
    config = make_config(tmp_path / "course", cell_timeout=30, memory_limit_mb=2048)
    guarded = GuardedExecute(config=config, max_output_chars=2000)
    executed, _ = guarded.preprocess(notebook, {"metadata": {"path": str(tmp_path)}})
    flood, small = executed.cells
    assert len(json.dumps(flood.outputs)) < 5000
    error = flood.outputs[-1]
    assert (error["output_type"], error["ename"]) == ("error", "ValueError")
    assert error["evalue"].startswith("y" * 1000)
    assert "[cut: 20000000 characters]" in error["evalue"]
    assert "traceback dropped" in error["traceback"][-1]
    # Under the limit an error is kept whole, traceback included.
    assert small.outputs[-1]["evalue"] == "'small'"
    assert len(small.outputs[-1]["traceback"]) > 1
