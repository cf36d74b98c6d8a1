"""What every grading kernel gets: its environment, user id, sizes and limits.

Shared by the three processes that start a kernel (the grader's
`sandbox.SandboxKernelManager`, the warm starter of `warm_starter` and the
launcher of `kernel_launcher`), so each applies the same rules. This module
runs nothing by itself and imports only the standard library.
"""

import functools
import os
import subprocess
import sys

# Largest file a kernel may write, and the most a submission folder may hold
# to be copied into the scratch folder.
MAX_FILE_MB = 256
MAX_COPY_MB = 200
# Each kernel runs as a user id of its own, drawn from this range (no
# account needs to exist): kernels cannot signal or read each other even
# where they could see each other.
KERNEL_USER_IDS = (1_000_000, 1_000_000_000)
# Processes and threads one kernel may have (TensorFlow alone starts a few
# dozen threads); a fork bomb stops here.
MAX_PROCESSES = 1024
# Size of the memory file system that holds the kernel's working folder.
SCRATCH_MB = 1024
# The environment a kernel gets: only these names (and the prefixes below),
# so no secret of the grader's environment reaches student code.
ALLOWED_ENVIRONMENT = {"PATH", "LANG", "LANGUAGE", "TZ", "TERM", "PYTHONPATH",
                       "PYTHONHASHSEED", "PYTHONUNBUFFERED", "PYTHONIOENCODING",
                       "VIRTUAL_ENV", "CONDA_PREFIX", "LD_LIBRARY_PATH", "MPLBACKEND",
                       "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                       "CUDA_VISIBLE_DEVICES", "XLA_FLAGS", "MALLOC_ARENA_MAX", "COLUMNS"}
ALLOWED_ENVIRONMENT_PREFIXES = ("LC_", "TF_", "KERAS_", "JPY_")
# Namespace flags of unshare(2), for the probe here and the launcher.
CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000


def kernel_environment(environment):
    """The variables of `environment` a kernel (or the warm starter) may have.

    An allow-list: a name not listed is dropped, whatever it is called.

    Args:
        environment: A mapping of variable names to values (`os.environ`).

    Returns:
        A new dict with the allowed variables only.

    Example:

    >>> sorted(kernel_environment({"PATH": "/bin", "TF_CPP_MIN_LOG_LEVEL": "2",
    ...                            "SCHOOL_CANVAS_KEY": "secret"}))
    ['PATH', 'TF_CPP_MIN_LOG_LEVEL']
    """
    return {name: value for name, value in environment.items()
            if name in ALLOWED_ENVIRONMENT
            or name.startswith(ALLOWED_ENVIRONMENT_PREFIXES)}


def new_kernel_user():
    """A user id for one kernel, drawn at random from `KERNEL_USER_IDS`.

    Returns:
        An int no account needs to have.

    Example:

    >>> low, high = KERNEL_USER_IDS
    >>> low <= new_kernel_user() < high
    True
    """
    import secrets

    low, high = KERNEL_USER_IDS
    return low + secrets.randbelow(high - low)


@functools.lru_cache(maxsize=1)
def isolation_available():
    """Whether a child process can get its own network and mount namespaces.

    True only on Linux when the grader runs as root (a container's root is
    enough); the launcher then also runs the kernel under a user id of its own.

    Returns:
        True or False (probed once per process).
    """
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    probe = ("import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); "
             f"sys.exit(0 if libc.unshare({CLONE_NEWNET | CLONE_NEWNS}) == 0 else 1)")
    try:
        return subprocess.run([sys.executable, "-c", probe], timeout=30,
                              capture_output=True).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
