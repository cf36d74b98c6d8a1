"""Kernels forked from the warm starter: TensorFlow preloaded, nothing shared.

Each test runs small notebooks through `SandboxKernelManager`, the kernel
manager grading uses, and reads what the kernel printed.
"""

import os
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.grading.kernel_rules import isolation_available
from autograder.grading.sandbox import SandboxKernelManager
from autograder.grading.warm_kernels import WarmStarter, is_python_kernel


def printed(*sources):
    """Run code cells in a fresh sandboxed kernel; return what each printed."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in sources])
    NotebookClient(notebook, kernel_name="python3", timeout=120,
                   kernel_manager_class=SandboxKernelManager).execute()
    texts = []
    for cell in notebook.cells:
        errors = [output for output in cell.outputs if output.output_type == "error"]
        assert not errors, errors
        texts.append("".join(output.get("text", "") for output in cell.outputs).strip())
    return texts


@pytest.fixture
def warm(monkeypatch):
    monkeypatch.setenv("COURSE_KERNEL_WARM_START", "on")  # also where a GPU is present
    if not sys.platform.startswith("linux"):
        pytest.skip("warm starts need fork (Linux)")


def test_a_warm_kernel_starts_with_tensorflow_imported_by_the_starter(warm):
    loaded, starter, parent = printed("import os, sys\nprint('tensorflow' in sys.modules)",
                                      "print(os.environ['JPY_PARENT_PID'])",
                                      "print(os.getppid())")
    assert loaded == "True"
    assert int(starter) == WarmStarter._instance.process.pid
    if isolation_available():
        assert parent == "0"  # its own PID namespace: the keeper is outside it


def test_turned_off_kernels_start_cold(monkeypatch):
    monkeypatch.setenv("COURSE_KERNEL_WARM_START", "off")
    loaded, = printed("import sys\nprint('tensorflow' in sys.modules)")
    assert loaded == "False"


def test_a_machine_with_a_gpu_starts_kernels_cold_unless_asked(monkeypatch):
    from autograder.grading import warm_kernels

    monkeypatch.setattr(warm_kernels, "gpu_present", lambda: True)
    monkeypatch.delenv("COURSE_KERNEL_WARM_START", raising=False)
    assert not warm_kernels.warm_start_wanted()
    loaded, = printed("import sys\nprint('tensorflow' in sys.modules)")
    assert loaded == "False"
    monkeypatch.setenv("COURSE_KERNEL_WARM_START", "on")
    assert warm_kernels.warm_start_wanted() == sys.platform.startswith("linux")


def test_two_warm_kernels_share_no_state_and_no_random_numbers(warm):
    first = printed("import numpy\nnumpy.left_behind = 1\nprint(numpy.random.randint(1 << 30))")
    second = printed("import numpy\nprint(hasattr(numpy, 'left_behind'))",
                     "print(numpy.random.randint(1 << 30))")
    assert second[0] == "False"
    assert first[0] != second[1]


def test_a_warm_kernel_keeps_the_sandbox_limits(warm):
    loaded, limit = printed("import sys\nprint('tensorflow' in sys.modules)",
                            "import resource\nprint(resource.getrlimit(resource.RLIMIT_DATA)[0])")
    assert loaded == "True"
    assert int(limit) == SandboxKernelManager().memory_limit_mb * 1024 * 1024


def test_a_warm_kernel_cannot_read_the_graders_secrets(warm, monkeypatch):
    monkeypatch.setenv("CANVAS_API_TOKEN", "do-not-leak-4417")
    if WarmStarter._instance is not None:  # start one that sees the variable
        WarmStarter._instance.stop()
        WarmStarter._instance = None
    loaded, found = printed(
        "import sys\nprint('tensorflow' in sys.modules)",
        "import os\nprint(open('/proc/self/environ', 'rb').read().count(b'do-not-leak')"
        " + sum('do-not-leak' in value for value in os.environ.values()))")
    assert loaded == "True"
    assert found == "0"


def test_a_starter_that_died_is_replaced(warm):
    printed("print(1)")
    old = WarmStarter._instance.process
    old.kill()
    old.wait()
    loaded, = printed("import sys\nprint('keras' in sys.modules)")
    assert loaded == "True"
    assert WarmStarter._instance.process.pid != old.pid


def test_only_this_python_running_ipykernel_is_forked():
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "connection.json"]
    assert is_python_kernel(["launcher", "--", *kernel]) == kernel
    assert is_python_kernel(["launcher", "--", "/usr/bin/python2", *kernel[1:]]) is None
    assert is_python_kernel(["launcher", "--", sys.executable, "-m", "other_kernel"]) is None
    assert is_python_kernel(kernel) is None
    assert os.path.realpath(kernel[0]) == os.path.realpath(sys.executable)


def starter_of_a_kernel_in_this_worker():
    """Run in a worker process: the pid of the starter its kernel was forked from."""
    os.environ["COURSE_KERNEL_WARM_START"] = "on"
    starter, = printed("import os\nprint(os.environ['JPY_PARENT_PID'])")
    return int(starter), type(WarmStarter._instance).__name__


def test_workers_of_a_parallel_run_fork_kernels_from_the_parents_starter(warm):
    from autograder.grading.engines import open_executor
    from autograder.grading.warm_kernels import share_starter, use_shared_starter

    address = share_starter("on")
    with open_executor("processes", workers=2, initializer=use_shared_starter,
                       initargs=(address,)) as (executor, _):
        futures = [executor.submit(starter_of_a_kernel_in_this_worker) for _ in range(2)]
        answers = [future.result(timeout=300) for future in futures]
    assert answers == [(WarmStarter._instance.process.pid, "SharedStarter")] * 2
