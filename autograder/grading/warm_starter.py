"""The warm starter: a process that imports TensorFlow once and forks kernels.

Started by the grader (`warm_kernels.WarmStarter`) as `python -m
autograder.grading.warm_starter SOCKET`. It imports `PRELOAD_MODULES`,
prints `ready`, then serves one request per connection on the Unix socket
`SOCKET` (in a mode-0700 folder): the launcher command, working folder,
environment and three file descriptors of one kernel. For each it forks a
child that starts a new session, applies the launcher's steps to itself
(`kernel_launcher.prepare_kernel`: limits, namespaces, its own user id)
and runs the IPython kernel; the reply is the child's pid. Ended children
are reaped at once and their exit status left in a file of the same folder.
No student code ever runs in the starter: only modules are imported before
each fork. It ends when the grader that started it goes.

This module imports only the standard library and `kernel_launcher`.
"""

import importlib
import json
import os
import signal
import socket
import sys

from autograder.grading.kernel_launcher import prepare_kernel

PRELOAD_MODULES = ("numpy", "tensorflow", "keras", "matplotlib", "sklearn.datasets",
                   "sklearn.model_selection", "ipykernel.kernelapp")
READY = "ready"


def exit_status_path(folder, pid):
    """Where the starter leaves the exit status of its child `pid`."""
    return os.path.join(folder, f"exit-{pid}")


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
