"""Start grading kernels from a process that has already imported TensorFlow.

Every notebook of the course imports TensorFlow and Keras, which costs a
fresh kernel about 5 seconds of CPU before the student's first line runs;
on a class that is pure overhead, the same for every student. A *warm
starter* pays it once per grading process:

1. The grader starts `python -m autograder.grading.warm_starter SOCKET`
   (the starter's own module, `warm_starter`), which imports the preloaded
   modules (TensorFlow, Keras, NumPy, scikit-learn's datasets, ipykernel)
   and then waits on a Unix socket in a private folder (mode 0700).
2. For each kernel, the grader's provisioner (`sandbox.SandboxProvisioner`)
   sends the usual launcher command (the launcher's options and the
   ipykernel command), the working folder, the environment and three file
   descriptors. The starter forks; the child starts a new session, applies
   exactly the steps the launcher would (`kernel_launcher.prepare_kernel`:
   limits, namespaces, its own user id) and runs the IPython kernel
   in-process. The kernel is a fresh process
   with nothing of any other student in it: only modules were imported
   before the fork, no student code ever ran in the starter.
3. The grader manages the child through `WarmKernelProcess`, a stand-in for
   the `Popen` object jupyter_client keeps: poll, wait, signals and kill
   work on the child's pid and process group, and the starter passes on the
   child's exit status (a kernel killed by SIGSEGV is reported as such).

Forking keeps what was imported and nothing else: the child has one
thread, TensorFlow's runtime is created only when the student's code first
uses it, and NumPy's global random state is reseeded as in a new process.
Where forking or the starter is not available (not Linux, a kernel spec
that runs another Python, the starter gone), kernels start the usual way;
so they do on a machine with a GPU, whose driver does not work in a
process forked after it was loaded. `COURSE_KERNEL_WARM_START=off` turns the
starter off, `=on` uses it even there.

Python's `multiprocessing` "forkserver" does the same for functions; a
Jupyter kernel needs its own session, descriptors and sandbox, so this
module hands those over itself.

This module is the grader's side only; it imports the standard library,
`kernel_rules`, `settings` and the starter's constants.
"""

import atexit
import glob
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from autograder.grading.kernel_rules import kernel_environment
from autograder.grading.settings import current_settings
from autograder.grading.warm_starter import READY, exit_status_path
START_TIMEOUT_SECONDS = 120
KILLED_CODE = -signal.SIGKILL
STATUS_WAIT_SECONDS = 2.0


def gpu_present():
    """Whether this machine shows a GPU device to processes (NVIDIA or ROCm).

    A process forked after TensorFlow touched the GPU driver cannot use the
    GPU, so kernels are not forked on such machines unless asked for.
    """
    return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/kfd"))


def warm_start_wanted(setting=None):
    """Whether kernels are forked from the warm starter.

    Args:
        setting: "off" never, "on" always (where forking works), "auto" on
            Linux machines without a GPU; default: the settings'
            `COURSE_KERNEL_WARM_START`.
    """
    if setting is None:

        setting = current_settings().kernel_warm_start
    if setting == "off" or not (sys.platform.startswith("linux")
                                and hasattr(socket, "send_fds")):
        return False
    return setting == "on" or not gpu_present()


def is_python_kernel(command):
    """The ipykernel command after the launcher's `--`, if it runs this Python."""
    if "--" not in command:
        return None
    kernel = command[command.index("--") + 1:]
    if (len(kernel) >= 3 and kernel[1:3] == ["-m", "ipykernel_launcher"]
            and os.path.realpath(kernel[0]) == os.path.realpath(sys.executable)):
        return kernel
    return None


class WarmKernelProcess:
    """A forked kernel, managed like the `Popen` jupyter_client expects.

    The kernel is the starter's child, not ours: the starter collects its
    exit status as soon as it ends and leaves it in a file of its private
    folder, where `poll` reads it (a crash keeps its signal, as with Popen).
    """

    stdin = stdout = stderr = None

    def __init__(self, pid, status_folder):
        self.pid = pid
        self.status_folder = status_folder
        self.returncode = None
        self._killed = False

    def poll(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = self._exit_status()
            except PermissionError:
                pass  # alive, under another user
        return self.returncode

    def _exit_status(self):
        path = exit_status_path(self.status_folder, self.pid)
        deadline = time.monotonic() + STATUS_WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                with open(path, encoding="ascii") as status:
                    code = int(status.read())
                os.remove(path)
                return code
            except (OSError, ValueError):
                time.sleep(0.02)
        return KILLED_CODE if self._killed else 1

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum):
        if signum == signal.SIGKILL:
            self._killed = True
        os.kill(self.pid, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class WarmStarter:
    """The grader's handle on one starter process it started and owns.

    One per grading process; the worker processes of a parallel run use
    their parent's through `SharedStarter` instead of starting their own.
    """

    _instance = None
    _lock = threading.Lock()

    def __init__(self):
        self.owner = os.getpid()
        self.folder = tempfile.mkdtemp(prefix="course-warm-")
        os.chmod(self.folder, 0o700)
        self.socket_path = os.path.join(self.folder, "starter.sock")
        # A forked kernel can read the environment its starter began with
        # (/proc/self/environ), so the starter gets only what a kernel may.
        environment = kernel_environment(os.environ)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.grading.warm_starter", self.socket_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=self.folder, env=environment, start_new_session=True)
        atexit.register(self.stop)
        self.ready = False

    @classmethod
    def current(cls):
        """The starter of this process, started now if there is none (no waiting)."""
        with cls._lock:
            if cls._instance is not None and not cls._instance.alive():
                cls._instance.stop()
                cls._instance = None
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    @classmethod
    def shared(cls):
        """The starter of this process, once ready (None if it failed to start)."""
        starter = cls.current()
        return starter if starter.wait_ready() else None

    def alive(self):
        """Whether the starter process is still running."""
        return self.process.poll() is None

    def wait_ready(self):
        """Wait for the starter's imports; False if it failed or took too long."""
        if not self.ready:
            readable, _, _ = select.select([self.process.stdout], [], [],
                                           START_TIMEOUT_SECONDS)
            line = self.process.stdout.readline() if readable else b""
            self.ready = line.decode(errors="replace").strip() == READY
        return self.ready

    def start(self, command, cwd, env):
        """Fork a kernel for `command`; returns a `WarmKernelProcess`.

        Raises:
            OSError: the starter could not be reached or could not fork.
        """
        request = json.dumps({"command": command, "cwd": cwd, "env": env}).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(START_TIMEOUT_SECONDS)
            connection.connect(self.socket_path)
            with open(os.devnull, "rb") as devnull:
                socket.send_fds(connection, [len(request).to_bytes(4, "big") + request],
                                [devnull.fileno(), 1, 2])
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = connection.recv(4096)
                if not chunk:
                    break
                reply += chunk
        answer = json.loads(reply or b"{}")
        if "pid" not in answer:
            raise OSError(answer.get("error", "the warm kernel starter did not answer"))
        return WarmKernelProcess(int(answer["pid"]), self.folder)

    def stop(self):
        if os.getpid() != self.owner:
            return  # a forked copy: the starter belongs to the parent process
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class SharedStarter(WarmStarter):
    """A worker process's handle on the starter its parent started.

    A parallel run needs one starter, not one per worker: each would import
    TensorFlow again. The worker talks to the parent's starter through its
    socket and reads its kernels' exit statuses from its folder, and leaves
    it running when done (the parent owns it).

    Args:
        socket_path: The starter's socket.
        folder: The starter's private folder (exit statuses).
        pid: The starter's process id.
    """

    def __init__(self, socket_path, folder, pid):  # starts no process
        self.owner = None
        self.socket_path = socket_path
        self.folder = folder
        self.pid = pid
        self.process = None
        self.ready = False

    def alive(self):
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True

    def wait_ready(self):
        """Wait until the starter listens (its socket appears once it has imported)."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.ready and self.alive() and time.monotonic() < deadline:
            self.ready = os.path.exists(self.socket_path)
            if not self.ready:
                time.sleep(0.05)
        return self.ready

    def stop(self):
        pass  # the parent's starter: the parent stops it


def share_starter(setting=None):
    """Start this process's starter for worker processes to share.

    Args:
        setting: The warm-start setting (see `warm_start_wanted`).

    Returns:
        `(socket_path, folder, pid)` for `use_shared_starter`, or None when
        kernels are not forked warm.
    """
    if not warm_start_wanted(setting):
        return None
    starter = WarmStarter.current()
    return starter.socket_path, starter.folder, starter.process.pid


def use_shared_starter(address):
    """In a worker process: fork kernels from the parent's starter at `address`.

    Args:
        address: What `share_starter` returned (None: leave things as they are).
    """
    if address is not None:
        with WarmStarter._lock:
            WarmStarter._instance = SharedStarter(*address)


def forget_inherited_starter():
    """In a forked child: the parent's starter is not ours to use or stop."""
    WarmStarter._instance = None
    WarmStarter._lock = threading.Lock()


os.register_at_fork(after_in_child=forget_inherited_starter)


def prestart(setting=None):
    """Start this process's starter now, so its imports overlap other work.

    Grading calls it before nbgrader prepares the notebook; the first kernel
    then finds the starter ready instead of waiting for its imports.

    Args:
        setting: The warm-start setting (see `warm_start_wanted`).
    """
    if warm_start_wanted(setting):
        WarmStarter.current()


def start_warm_kernel(command, cwd, env, setting=None):
    """Start a kernel through this process's starter, or None to start it as usual."""
    if not warm_start_wanted(setting) or is_python_kernel(command) is None:
        return None
    for _ in range(2):  # a starter that died is replaced once
        starter = WarmStarter.shared()
        if starter is None:
            return None
        try:
            return starter.start(command, cwd, env)
        except (OSError, ValueError):  # unreachable, or an answer that is not JSON
            starter.stop()
            WarmStarter._instance = None
    return None
