"""The kernel launcher: limits and isolation applied in the kernel's own process.

Runs as `python -m autograder.grading.kernel_launcher [OPTIONS] -- KERNEL
COMMAND` (the command `sandbox.SandboxKernelManager` builds), or inside a
process forked by the warm starter (`warm_starter.run_kernel` calls
`prepare_kernel`). It applies to its own process, then replaces itself
with the IPython kernel:

- writable memory (`RLIMIT_DATA`: heap, anonymous mappings, thread stacks):
  a memory bomb gets a `MemoryError` (or the kernel dies) instead of
  exhausting the grading machine. Unlike an address-space limit it does not
  count address space that is only reserved: TensorFlow reserves about 3 GB
  (CUDA far more, untested here) yet trains small models under 1 GiB;
- largest file the kernel may write (`RLIMIT_FSIZE`) and no core dumps;
- with `--isolate` (the grader runs as root on Linux; a container is
  enough): new network, mount, PID, IPC and host-name namespaces, the
  course and repository covered, a minimal /dev, everything but the
  scratch folder read-only, and a user id of its own (`isolate`,
  `drop_privileges`).

Why namespace code of its own rather than bubblewrap (`bwrap`): the warm
starter forks kernels that have already imported TensorFlow, and a process
cannot be moved into a sandbox that `bwrap` creates for a new program; the
same steps therefore have to run inside the forked process, with the
system calls `bwrap` itself makes (unshare, mount, setuid). A cold kernel
goes through the same code so both ways are alike.

This module imports only the standard library and `kernel_rules` (and, in
`paths_the_kernel_needs`, the two course packages to find their folders).
"""

import argparse
import ctypes
import os
import resource
import shutil
import sys
from pathlib import Path

from autograder.grading.kernel_rules import (CLONE_NEWNET, CLONE_NEWNS, MAX_FILE_MB,
                                             MAX_PROCESSES, SCRATCH_MB, new_kernel_user)
from autograder.grading.settings import DEFAULT_MEMORY_MB

CLONE_NEWPID = 0x20000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUTS = 0x04000000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MS_RDONLY, MS_REMOUNT = 1, 32
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
CAPABILITY_VERSION_3 = 0x20080522
# Mount points left as they are by the read-only remount: the kernel's own
# /proc, and the device nodes bound into its minimal /dev.
WRITABLE_SYSTEM_MOUNTS = ("/proc",)
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
GPU_DEVICE_PATTERNS = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri", "/dev/kfd")


def apply_limits(memory_mb, max_file_mb=MAX_FILE_MB):
    """Set writable-memory, file-size and core-dump limits on this process."""
    memory = int(memory_mb) * 1024 * 1024
    for limit, value in ((resource.RLIMIT_DATA, memory),
                         (resource.RLIMIT_FSIZE, int(max_file_mb) * 1024 * 1024),
                         (resource.RLIMIT_CORE, 0)):
        soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, hard))


def mount_points():
    """Mount points of this process's mount namespace, parents first."""
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        for line in mounts:
            point = line.split()[4].encode().decode("unicode_escape")
            if point not in points:
                points.append(point)
    return sorted(points, key=len)


def paths_the_kernel_needs():
    """Folders the kernel must still see when the rest is covered.

    The Python installation and the course's two packages (an editable
    install maps them to the repository's `course_lib/` and `autograder/`),
    wherever they live: under /tmp (a clone checked out there, as CI does),
    under a mode-700 home, inside the repository. Package folders that lie
    outside the installation but are on `sys.path` (a `--user` install, a
    `.pth` file naming another environment's site-packages) are kept too:
    only folders named site-packages or dist-packages, never the working
    directory or a `PYTHONPATH` entry, which could be the repository.
    """
    import autograder
    import course_lib

    packages = [Path(module.__file__).resolve().parent for module in (course_lib, autograder)]
    site_folders = [entry for entry in sys.path
                    if Path(entry).name in ("site-packages", "dist-packages")
                    and os.path.isdir(entry)]
    return sorted({os.path.realpath(path) for path in
                   (sys.prefix, sys.exec_prefix, sys.base_prefix, *packages, *site_folders)})


def _is_under(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def cover(libc, folder, keep=(), mode="0755", size="1m"):
    """Cover `folder` with an empty file system, binding back the paths in `keep`.

    Every other file under `folder` is out of sight from now on; the kept
    paths (files or folders under it) appear at their old places, with the
    folders on the way to them recreated empty.

    Returns:
        True when `folder` was covered.
    """
    kept = [path for path in keep if _is_under(path, folder) and path != folder
            and os.path.lexists(path)]
    holders = {path: os.open(path, os.O_PATH) for path in kept}
    try:
        if libc.mount(b"tmpfs", os.fsencode(folder), b"tmpfs", MS_NOSUID | MS_NODEV,
                      f"size={size},mode={mode}".encode()) != 0:
            return False
        previous = os.umask(0o022)
        try:
            for path, holder in sorted(holders.items()):
                source = f"/proc/self/fd/{holder}"
                if os.path.isdir(source):
                    os.makedirs(path, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    open(path, "a").close()
                libc.mount(source.encode(), os.fsencode(path), None, MS_BIND | MS_REC, None)
        finally:
            os.umask(previous)
    finally:
        for holder in holders.values():
            os.close(holder)
    return True


def untraversable_ancestors(paths):
    """The topmost folders others cannot enter (no `x` for others) above `paths`.

    A kernel running as its own user could not reach the Python installation
    under, say, a mode-700 /root; covering such a folder (keeping `paths`)
    opens the way to what the kernel needs and hides the rest.
    """
    found = []
    for path in paths:
        for folder in reversed(Path(path).parents[:-1]):
            folder = str(folder)
            if not os.stat(folder).st_mode & 0o001:
                if not any(_is_under(folder, other) for other in found):
                    found = [other for other in found if not _is_under(other, folder)]
                    found.append(folder)
                break
    return found


def minimal_devices(libc):
    """Replace /dev with a fresh one: null, zero, full, random, urandom, tty,
    the GPU's devices where present, an empty /dev/shm and the usual links.

    Returns:
        True when it worked.
    """
    import glob

    keep = [f"/dev/{name}" for name in DEVICES]
    for pattern in GPU_DEVICE_PATTERNS:
        keep.extend(glob.glob(pattern))
    if not cover(libc, "/dev", keep, size="64k"):
        return False
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"/dev/{name}")
    os.makedirs("/dev/shm", mode=0o1777, exist_ok=True)
    libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
               b"size=1m,mode=1777")
    return True


def enter_pid_namespace(libc):
    """Fork into the new PID namespace; the parent stays behind as the keeper.

    The child is process 1 of its own namespace: it sees only its own
    processes in its own /proc, can signal no other, and when it ends the
    operating system ends every process left in the namespace (`setsid`
    children included). The keeper, the process the grader started,
    waits for it and ends with its exit status (a signal included); if the
    keeper is killed, the child is killed with it (`PR_SET_PDEATHSIG`).
    Returns in the child only.
    """
    import signal

    child = os.fork()
    if child == 0:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        return
    # An interrupt reaches the child through its process group; SIGTERM,
    # which a namespace's process 1 would ignore, ends it for good.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: os.kill(child, signal.SIGKILL))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            os._exit(1)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code & 0xFF)


def bounded_work_folder(libc, work, size_mb=SCRATCH_MB):
    """Put the kernel's working folder on a memory file system of `size_mb`.

    The submission's files already copied there come along; whatever the
    notebook writes (figures, checkpoints) is limited in size and goes when
    the kernel does.
    """
    holder = os.open(work, os.O_PATH | os.O_DIRECTORY)
    try:
        if libc.mount(b"tmpfs", os.fsencode(work), b"tmpfs", MS_NOSUID | MS_NODEV,
                      f"size={size_mb}m,mode=0755".encode()) != 0:
            return False
        source = f"/proc/self/fd/{holder}"
        for name in os.listdir(source):
            origin = os.path.join(source, name)
            if os.path.isdir(origin) and not os.path.islink(origin):
                shutil.copytree(origin, os.path.join(work, name), symlinks=True)
            else:
                shutil.copy2(origin, os.path.join(work, name), follow_symlinks=False)
    finally:
        os.close(holder)
    return True


def isolate(hidden_paths, scratch=None, hidden_globs=(), covered=()):
    """Enter new namespaces (network, mounts, PID, IPC, host name); hide and freeze.

    - The new network namespace has no interfaces up: no connection leaves
      the kernel; the grader talks to it through Unix sockets.
    - In the new PID namespace the kernel is process 1 with its own /proc
      (`enter_pid_namespace`).
    - In the private mount namespace: /tmp, /var/tmp and /dev/shm are
      emptied (keeping `scratch` and what the kernel needs); every folder of
      `covered` (the course, the repository) is emptied but for the Python
      installation and the course packages; every path of `hidden_paths` and
      `hidden_globs` is covered; folders others cannot enter above what the
      kernel needs are opened (`untraversable_ancestors`); /dev is replaced
      by a minimal one; the working folder `scratch/work` gets a memory file
      system of its own; then every file system but `scratch`, the working
      folder, /proc and the device nodes is made read-only (/sys included).

    Returns:
        A list of problems (empty when everything worked).
    """
    import glob

    problems = []
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC
                    | CLONE_NEWUTS) != 0:
        return [f"unshare failed (errno {ctypes.get_errno()})"]
    enter_pid_namespace(libc)
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return [f"could not make mounts private (errno {ctypes.get_errno()})"]
    if libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) != 0:
        problems.append(f"could not mount a /proc of its own (errno {ctypes.get_errno()})")
    needed = paths_the_kernel_needs()
    if scratch:
        temporary = os.path.dirname(scratch)
        if not cover(libc, temporary, [scratch, *needed], mode="1777"):
            problems.append(f"could not give the kernel a private /tmp (errno "
                            f"{ctypes.get_errno()})")
        for folder in ("/var/tmp", "/dev/shm"):
            if os.path.isdir(folder) and folder != temporary:
                libc.mount(b"tmpfs", os.fsencode(folder), b"tmpfs",
                           MS_NOSUID | MS_NODEV, b"size=1m,mode=1777")
    for folder in covered:
        folder = os.path.realpath(folder)
        if os.path.isdir(folder) and not (scratch and _is_under(scratch, folder)):
            if not cover(libc, folder, needed):
                problems.append(f"could not cover {folder} (errno {ctypes.get_errno()})")
    for pattern in hidden_globs:
        hidden_paths = [*hidden_paths, *glob.glob(pattern)]
    for path in hidden_paths:
        if os.path.isdir(path):
            done = libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs",
                              MS_NOSUID | MS_NODEV | MS_NOEXEC, b"size=4k,mode=000")
        elif os.path.exists(path):
            done = libc.mount(b"/dev/null", os.fsencode(path), None, MS_BIND, None)
        else:
            continue
        if done != 0:
            problems.append(f"could not hide {path} (errno {ctypes.get_errno()})")
    for folder in untraversable_ancestors(needed + ([scratch] if scratch else [])):
        if not cover(libc, folder, needed + ([scratch] if scratch else [])):
            problems.append(f"could not open the way through {folder}")
    if not minimal_devices(libc):
        problems.append(f"could not replace /dev (errno {ctypes.get_errno()})")
    writable = [os.path.join("/dev", name) for name in os.listdir("/dev")
                if os.path.ismount(os.path.join("/dev", name))]
    if scratch:
        work = os.path.join(scratch, "work")
        if os.path.isdir(work):
            if bounded_work_folder(libc, work):
                writable.append(work)
                if os.path.realpath(os.getcwd()) == os.path.realpath(work):
                    os.chdir(work)  # the new file system, not the one it covers
            else:
                problems.append("could not bound the working folder's size")
        writable.append(scratch)
        for point in mount_points():
            if point in writable or any(_is_under(point, system)
                                        for system in WRITABLE_SYSTEM_MOUNTS):
                continue
            libc.mount(None, os.fsencode(point), None,
                       MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
        probe = os.path.join(os.path.dirname(scratch), ".course-write-probe")
        try:
            with open(probe, "w", encoding="utf-8"):
                pass
            os.remove(probe)
            problems.append("the file system outside the scratch folder stays writable")
        except OSError:
            pass
    return problems


def drop_capabilities():
    """Give up every capability for good (the process may stay uid 0).

    Without CAP_SYS_ADMIN the kernel cannot undo the mounts of `isolate`;
    without CAP_DAC_OVERRIDE it cannot bypass file permissions; an empty
    bounding set keeps the capabilities from coming back on exec.

    Returns:
        True when it worked.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(64):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)(0, 0, 0, 0, 0, 0)
    done = libc.capset(ctypes.byref(header), ctypes.byref(data)) == 0
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return done


def can_run_as(user, program):
    """Whether `user` (a uid, not root) may execute `program` and its folders."""
    path = Path(os.path.realpath(program))
    for folder in path.parents:
        info = folder.stat()
        if info.st_uid != user and not info.st_mode & 0o001:
            return False
    return bool(path.stat().st_mode & 0o001)


def connection_file_into(command, scratch):
    """Copy the kernel's connection file (`-f FILE`) into `scratch`.

    The file usually lies in /tmp or the Jupyter runtime folder, which the
    kernel will not see once isolated.

    Returns:
        The kernel command naming the copy.
    """
    command = list(command)
    for index, part in enumerate(command[:-1]):
        if part == "-f" and os.path.isfile(command[index + 1]):
            copy = os.path.join(scratch, os.path.basename(command[index + 1]))
            shutil.copyfile(command[index + 1], copy)
            command[index + 1] = copy
    return command


def drop_privileges(command, scratch, user):
    """Hand `scratch` (connection file included) to `user`, then become `user`.

    The user gets at most `MAX_PROCESSES` processes and threads.

    Returns:
        The kernel command, unchanged.
    """
    for folder, subfolders, files in os.walk(scratch):
        for name in [folder, *(os.path.join(folder, item) for item in subfolders + files)]:
            os.lchown(name, user, user)
    resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
    os.setgroups([])
    os.setgid(user)
    os.setuid(user)
    # Changing user clears the "dumpable" flag, which makes the process's own
    # /proc/self files root's; set it back so the kernel can read its own.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    return command

def prepare_kernel(argv=None):
    """Apply the launcher's limits and isolation to this process.

    Args:
        argv: The launcher's arguments (`--memory-mb N ... -- KERNEL COMMAND`).

    Returns:
        The kernel command to run in this process (after `--`).
    """
    parser = argparse.ArgumentParser(prog="python -m autograder.grading.kernel_launcher")
    parser.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB)
    parser.add_argument("--max-file-mb", type=int, default=MAX_FILE_MB)
    parser.add_argument("--isolate", action="store_true")
    parser.add_argument("--scratch")
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--hide-glob", action="append", default=[])
    parser.add_argument("--cover", action="append", default=[])
    parser.add_argument("--user", type=int, default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    command = list(options.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        parser.error("give the kernel command after --")
    if options.isolate:
        if options.scratch:
            command = connection_file_into(command, options.scratch)
        problems = isolate(options.hide, options.scratch, options.hide_glob, options.cover)
        if options.scratch and os.geteuid() == 0:
            user = options.user or new_kernel_user()
            if can_run_as(user, sys.executable):
                command = drop_privileges(command, options.scratch, user)
            else:
                problems.append("the Python installation is not runnable by another "
                                "user: the kernel stays root without capabilities")
                if not drop_capabilities():
                    problems.append("could not drop capabilities")
        if problems:
            # Goes to the grader's log, never into the notebook.
            print("sandbox: " + "; ".join(problems), file=sys.stderr)
    apply_limits(options.memory_mb, options.max_file_mb)
    return command


def main(argv=None):
    """Launcher: apply the limits, then replace this process with the kernel."""
    command = prepare_kernel(argv)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
