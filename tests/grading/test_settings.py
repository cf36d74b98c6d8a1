"""The COURSE_* settings: read and checked once per command, one line for a bad value."""

import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.grading.config import make_config
from autograder.grading.course import Course
from autograder.grading.settings import (Settings, SettingsError, current_settings,
                                         settings_in_use)


@pytest.mark.parametrize("variable, value", [
    ("COURSE_CELL_TIMEOUT", "abc"), ("COURSE_CELL_TIMEOUT", "0.5"),
    ("COURSE_KERNEL_MEMORY_MB", "-1"), ("COURSE_KERNEL_MEMORY_MB", "2GB"),
    ("COURSE_KERNEL_ISOLATION", "maybe"), ("COURSE_KERNEL_WARM_START", "sometimes"),
    ("COURSE_VERBOSE", "loud"), ("COURSE_ID", "my course"),
])
def test_a_bad_value_is_one_line_and_exit_2_before_any_work(variable, value, tmp_path):
    result = CliRunner().invoke(main, ["grade", str(tmp_path / "missing.ipynb")],
                                env={variable: value})
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and variable in lines[0] and repr(value) in lines[0], lines
    assert "Traceback" not in result.output
    assert "does not exist" not in result.output  # stopped before looking at the file


def test_every_variable_is_read_into_the_settings():
    settings = Settings.from_environment({
        "COURSE_DIR": "/course", "COURSE_ID": "cs590", "COURSE_DATABASE_URL": "sqlite://",
        "COURSE_CELL_TIMEOUT": "12.7", "COURSE_KERNEL_MEMORY_MB": "1024",
        "COURSE_KERNEL_ISOLATION": "OFF", "COURSE_KERNEL_WARM_START": "on",
        "COURSE_DASK_SCHEDULER": "tcp://host:8786", "COURSE_VERBOSE": "yes"})
    assert settings == Settings("/course", "cs590", "sqlite://", 12, 1024, False, "on",
                                "tcp://host:8786", True)
    assert Settings.from_environment({}) == Settings()


def test_the_course_id_is_a_setting_that_reaches_nbgrader(tmp_path):
    settings = Settings.from_environment({"COURSE_ID": "cs590"})
    assert make_config(tmp_path, settings=settings).CourseDirectory.course_id == "cs590"
    assert make_config(tmp_path, settings=Settings()).CourseDirectory.course_id == "biof510"


def test_settings_in_force_win_over_the_environment_and_end_with_the_block(monkeypatch):
    monkeypatch.setenv("COURSE_CELL_TIMEOUT", "7")
    with settings_in_use(Settings(cell_timeout=42)):
        assert current_settings().cell_timeout == 42
        monkeypatch.setenv("COURSE_CELL_TIMEOUT", "9")  # read once: no effect now
        assert current_settings().cell_timeout == 42
    assert current_settings().cell_timeout == 9


def test_a_command_puts_its_settings_in_force_only_while_it_runs(tmp_path):
    CliRunner().invoke(main, ["grade", str(tmp_path / "x.ipynb")],
                       env={"COURSE_CELL_TIMEOUT": "11"})
    with pytest.raises(SettingsError):
        Settings.from_environment({"COURSE_CELL_TIMEOUT": "-3"})
    assert current_settings() == Settings.from_environment()


def test_a_course_builds_its_nbgrader_config_once_and_keeps_changes(tmp_path):
    course = Course(tmp_path, "toy", settings=Settings(cell_timeout=30))
    assert course.config is course.config
    course.config.ExecutePreprocessor.timeout = 5
    assert course.config.ExecutePreprocessor.timeout == 5
    assert course.api().config.ExecutePreprocessor.timeout == 5
    assert course.api().coursedir.assignment_id == "toy"
