"""TensorFlow's own log lines stay out of the notebooks (`course_lib.quiet`).

Each test starts a fresh process (a Python interpreter or a real Jupyter
kernel through nbclient), since the lines are written once, while
TensorFlow loads.
"""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
# TensorFlow's C++ log format ("I0000 00:00:17... port.cc:153] ...") and
# absl's notice about it.
LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|cuInit", re.MULTILINE)
TRAIN = """
import keras
import numpy as np
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile("adam", "mse")
model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0)
print("trained")
"""
QUIET = "import course_lib.quiet  # noqa: F401\n"


def run_python(source):
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                          cwd=ROOT, env=environment, timeout=300, check=True)


def test_without_it_tensorflow_writes_its_log_lines():
    """The lines this module exists for (so the next test can fail)."""
    result = run_python(TRAIN)
    assert "trained" in result.stdout
    assert LOG_LINE.search(result.stderr), result.stderr


def test_importing_it_first_keeps_standard_error_empty():
    result = run_python(QUIET + TRAIN)
    assert "trained" in result.stdout
    assert not LOG_LINE.search(result.stderr), result.stderr


def test_a_python_error_still_shows_in_full():
    with pytest.raises(subprocess.CalledProcessError) as failure:
        run_python(QUIET + "import keras\nraise ValueError('the student error')")
    assert "ValueError: the student error" in failure.value.stderr


def test_a_notebook_kernel_shows_no_log_lines():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(QUIET + TRAIN)])
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = notebook.cells[0].outputs
    text = "".join(output.get("text", "") for output in outputs)
    assert "trained" in text
    assert not any(output.get("name") == "stderr" for output in outputs), outputs


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*/*.ipynb")),
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_notebook_imports_it_before_anything_else(path):
    notebook = nbformat.read(path, as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert first.source.startswith("import course_lib.quiet"), first.source[:200]
