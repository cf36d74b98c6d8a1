"""Start grading kernels from a process that has already imported TensorFlow.

Every notebook of the course imports TensorFlow and Keras, which costs a
fresh kernel about 5 seconds of CPU before the student's first line runs;
on a class that is pure overhead, the same for every student. A *warm
starter* pays it once per grading process:

1. The grader starts `python -m autograder.grading.warm_kernels SOCKET`,
   which imports the preloaded modules (TensorFlow, Keras, NumPy,
   scikit-learn's datasets, ipykernel) and then waits on a Unix socket in a
   private folder (mode 0700).
2. For each kernel, `SandboxKernelManager` sends the usual launcher command
   (the sandbox options and the ipykernel command), the working folder, the
   environment and three file descriptors. The starter forks; the child
   starts a new session, applies exactly the sandbox steps the launcher
   would (`sandbox.prepare_kernel`: limits, namespaces, unprivileged user)
   and runs the IPython kernel in-process. The kernel is a fresh process
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
"""

import atexit
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PRELOAD_MODULES = ("numpy", "tensorflow", "keras", "matplotlib", "sklearn.datasets",
                   "sklearn.model_selection", "ipykernel.kernelapp")
READY = "ready"
START_TIMEOUT_SECONDS = 120
KILLED_CODE = -signal.SIGKILL
STATUS_WAIT_SECONDS = 2.0


def gpu_present():
    """Whether this machine shows a GPU device to processes (NVIDIA or ROCm).

    A process forked after TensorFlow touched the GPU driver cannot use the
    GPU, so kernels are not forked on such machines unless asked for.
    """
    import glob

    return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/kfd"))


def warm_start_wanted(setting=None):
    """Whether kernels are forked from the warm starter.

    Args:
        setting: "off" never, "on" always (where forking works), "auto" on
            Linux machines without a GPU; default: the settings'
            `COURSE_KERNEL_WARM_START`.
    """
    if setting is None:
        from autograder.grading.settings import current_settings

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


# ---------------------------------------------------------------------------
# The grader's side


def exit_status_path(folder, pid):
    return os.path.join(folder, f"exit-{pid}")


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
    """The grader's handle on one starter process (one per grading process)."""

    _instance = None
    _lock = threading.Lock()

    def __init__(self):
        self.owner = os.getpid()
        self.folder = tempfile.mkdtemp(prefix="course-warm-")
        os.chmod(self.folder, 0o700)
        self.socket_path = os.path.join(self.folder, "starter.sock")
        # A forked kernel can read the environment its starter began with
        # (/proc/self/environ), so the starter gets only what a kernel may.
        from autograder.grading.sandbox import kernel_environment

        environment = kernel_environment(os.environ)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.grading.warm_kernels", self.socket_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=self.folder, env=environment, start_new_session=True)
        atexit.register(self.stop)
        self.ready = False

    @classmethod
    def current(cls):
        """The starter of this process, started now if there is none (no waiting)."""
        with cls._lock:
            if cls._instance is not None and cls._instance.process.poll() is not None:
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
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


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


# ---------------------------------------------------------------------------
# The starter's side


def run_kernel(command, cwd, env):
    """In the forked child: become the sandboxed kernel, never return."""
    code = 1
    try:
        os.chdir(cwd or "/")
        os.environ.clear()
        os.environ.update(env)
        # ipykernel ends itself when its parent goes; the parent is the starter.
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        import numpy

        numpy.random.seed()  # a new process would draw a fresh global state
        from autograder.grading.sandbox import prepare_kernel

        launcher = command[command.index("-m") + 2:] if command[1:2] == ["-m"] else command
        kernel = prepare_kernel(launcher)
        if sys.path and sys.path[0] != os.getcwd():
            sys.path[0] = os.getcwd()  # as `python -m` in the working folder
        # The class default was read from the environment at import time.
        # In its own PID namespace the kernel's parent shows as 0; 1 tells
        # ipykernel not to watch it (the namespace ends with its keeper).
        sys.argv = ["ipykernel_launcher", *kernel[3:],
                    f"--IPKernelApp.parent_handle={os.getppid() or 1}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 0
    except BaseException:  # noqa: BLE001 - reported on the kernel's stderr
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve_one(connection, listener):
    """Read one request, fork the kernel, answer with its pid."""
    message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    size = int.from_bytes(message[:4], "big")
    while len(message) < size + 4:
        chunk = connection.recv(1 << 20)
        if not chunk:
            break
        message += chunk
    request = json.loads(message[4:4 + size])
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        listener.close()
        os.setsid()
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
        for fd in fds:
            os.close(fd)
        connection.close()
        run_kernel(request["command"], request.get("cwd"), request.get("env") or {})
    for fd in fds:
        os.close(fd)
    connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def serve(socket_path, preload=PRELOAD_MODULES):
    """The starter: preload, then fork one kernel per request until orphaned."""
    parent = os.getppid()
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that fails loads in the kernel
            pass
    status_folder = os.path.dirname(socket_path)

    def collect_exit_statuses(signum, frame):
        # Reap every ended kernel at once (the grader sees its pid go) and
        # leave its exit status where `WarmKernelProcess.poll` looks.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            path = exit_status_path(status_folder, pid)
            with open(path + ".part", "w", encoding="ascii") as record:
                record.write(str(os.waitstatus_to_exitcode(status)))
            os.replace(path + ".part", path)

    signal.signal(signal.SIGCHLD, collect_exit_statuses)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    os.chmod(socket_path, 0o600)
    listener.listen(8)
    listener.settimeout(1.0)
    print(READY, flush=True)
    while os.getppid() == parent:
        try:
            connection, _ = listener.accept()
        except socket.timeout:
            continue
        with connection:
            connection.settimeout(30)
            try:
                serve_one(connection, listener)
            except Exception as error:  # noqa: BLE001 - answer, keep serving
                try:
                    connection.sendall(json.dumps(
                        {"error": f"{type(error).__name__}: {error}"}).encode() + b"\n")
                except OSError:
                    pass


if __name__ == "__main__":
    serve(sys.argv[1])
