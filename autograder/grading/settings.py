"""The `course` command's settings, read and checked once when a command starts.

Every `COURSE_*` environment variable the workflow understands is read here
and nowhere else. The `course` command reads them as it starts
(`Settings.from_environment`) and puts that one object in force for the
whole command (`settings_in_use`), so a bad value is one clear line and
exit code 2 before any work begins, and a value cannot change half way.
Code called as a library (the tests, a notebook) gets the environment's
settings at the time of the call when no command put any in force.

Worker processes on other machines (a Dask cluster) receive the TA's
settings with each task instead of reading their own environment, so a
class is graded under one set of limits wherever its notebooks run.

The variables:

| variable | meaning | default |
| --- | --- | --- |
| COURSE_DIR | the course directory | the current folder and its parents |
| COURSE_ID | nbgrader's course id | biof510 |
| COURSE_DATABASE_URL | SQLAlchemy URL of the gradebook | gradebook.db in the course |
| COURSE_CELL_TIMEOUT | seconds one cell may run while grading | 300 |
| COURSE_KERNEL_MEMORY_MB | writable memory of a grading kernel, MiB | 8192 |
| COURSE_KERNEL_ISOLATION | on / off: namespaces, hidden folders, no network | on |
| COURSE_KERNEL_WARM_START | auto / on / off: fork kernels from a warm starter | auto |
| COURSE_DASK_SCHEDULER | Dask scheduler address or scheduler file | none |
| COURSE_VERBOSE | on / off: show nbgrader's and the kernels' messages | off |

`course` does not read `nbgrader_config.py`: the nbgrader settings of every
step are built from these settings by `config.make_config`. The file in the
repository only makes plain `nbgrader` commands, run there by hand, use the
same settings.
"""

import contextlib
import os
from dataclasses import dataclass

DEFAULT_COURSE_ID = "biof510"
DEFAULT_CELL_TIMEOUT_SECONDS = 300
DEFAULT_MEMORY_MB = 8192
WARM_START_CHOICES = ("auto", "on", "off")
SWITCH_WORDS = {"on": True, "1": True, "true": True, "yes": True,
                "off": False, "0": False, "false": False, "no": False}


class SettingsError(ValueError):
    """A `COURSE_*` variable holds a value the workflow cannot use."""


def switch(name, text, default):
    """An on/off variable: on, off, 1, 0, true, false, yes, no (any case)."""
    if not text:
        return default
    try:
        return SWITCH_WORDS[text.lower()]
    except KeyError:
        raise SettingsError(f"{name}={text!r} is not on or off; set it to on or off, or "
                            "unset it.") from None


def positive_seconds(name, text, default):
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0
    if not seconds > 0 or int(seconds) <= 0:
        raise SettingsError(f"{name}={text!r} is not a positive number of seconds; set "
                            f"it to e.g. {default} or unset it.")
    return int(seconds)


def positive_mebibytes(name, text, default):
    if not text:
        return default
    if not text.isdigit() or int(text) <= 0:
        raise SettingsError(f"{name}={text!r} is not a positive whole number of MiB; set "
                            f"it to e.g. {default} or unset it.")
    return int(text)


def choice(name, text, choices):
    if not text:
        return choices[0]
    if text.lower() not in choices:
        raise SettingsError(f"{name}={text!r} is not one of {', '.join(choices)}; set it "
                            f"to one of them or unset it.")
    return text.lower()


@dataclass(frozen=True)
class Settings:
    """What the `COURSE_*` variables say (see the module docstring).

    Args:
        course_dir: `COURSE_DIR`, or None.
        course_id: nbgrader's course id.
        database_url: Gradebook URL, or None for the course's SQLite file.
        cell_timeout: Seconds one cell may run while grading.
        kernel_memory_mb: Writable-memory limit of a grading kernel in MiB.
        kernel_isolation: Isolate kernels where the machine allows it.
        kernel_warm_start: "auto", "on" or "off".
        dask_scheduler: Dask scheduler address or file, or None.
        verbose: Show nbgrader's and the kernels' messages on the terminal.

    Example:

    >>> settings = Settings.from_environment({"COURSE_CELL_TIMEOUT": "60"})
    >>> settings.cell_timeout, settings.kernel_memory_mb
    (60, 8192)
    >>> Settings.from_environment({"COURSE_CELL_TIMEOUT": "abc"})
    Traceback (most recent call last):
    ...
    autograder.grading.settings.SettingsError: COURSE_CELL_TIMEOUT='abc' is not a positive number of seconds; set it to e.g. 300 or unset it.
    """

    course_dir: str = None
    course_id: str = DEFAULT_COURSE_ID
    database_url: str = None
    cell_timeout: int = DEFAULT_CELL_TIMEOUT_SECONDS
    kernel_memory_mb: int = DEFAULT_MEMORY_MB
    kernel_isolation: bool = True
    kernel_warm_start: str = "auto"
    dask_scheduler: str = None
    verbose: bool = False

    @classmethod
    def from_environment(cls, environment=None):
        """Read and check every `COURSE_*` variable.

        Args:
            environment: A mapping to read (default: `os.environ`).

        Raises:
            SettingsError: a variable is set to a value that cannot be used;
                the message names it and says what to set instead.
        """
        environment = os.environ if environment is None else environment

        def text(name):
            return (environment.get(name) or "").strip()

        course_id = text("COURSE_ID") or DEFAULT_COURSE_ID
        if not course_id.replace("_", "").replace("-", "").isalnum():
            raise SettingsError(f"COURSE_ID={course_id!r} may hold only letters, digits, "
                                "'-' and '_'; set it to e.g. biof510 or unset it.")
        return cls(
            course_dir=text("COURSE_DIR") or None,
            course_id=course_id,
            database_url=text("COURSE_DATABASE_URL") or None,
            cell_timeout=positive_seconds("COURSE_CELL_TIMEOUT", text("COURSE_CELL_TIMEOUT"),
                                          DEFAULT_CELL_TIMEOUT_SECONDS),
            kernel_memory_mb=positive_mebibytes(
                "COURSE_KERNEL_MEMORY_MB", text("COURSE_KERNEL_MEMORY_MB"), DEFAULT_MEMORY_MB),
            kernel_isolation=switch("COURSE_KERNEL_ISOLATION",
                                    text("COURSE_KERNEL_ISOLATION"), True),
            kernel_warm_start=choice("COURSE_KERNEL_WARM_START",
                                     text("COURSE_KERNEL_WARM_START"), WARM_START_CHOICES),
            dask_scheduler=text("COURSE_DASK_SCHEDULER") or None,
            verbose=switch("COURSE_VERBOSE", text("COURSE_VERBOSE"), False),
        )


_in_force = []


def current_settings():
    """The settings a command put in force, else the environment's right now.

    Raises:
        SettingsError: no command put settings in force and a variable is bad.
    """
    return _in_force[-1] if _in_force else Settings.from_environment()


@contextlib.contextmanager
def settings_in_use(settings):
    """Put `settings` in force for the block (a command, a grading worker)."""
    _in_force.append(settings)
    try:
        yield settings
    finally:
        _in_force.remove(settings)
