"""The grader's side of starting a grading kernel: manager, provisioner, spec.

Students' notebooks are untrusted code. Every grading kernel is started
the way jupyter_client's public API provides for custom launches:

- `SandboxKernelManager` (an `AsyncKernelManager`) holds the settings
  (memory limit, isolation, hidden and covered folders, warm start), gives
  each kernel a fresh scratch folder, and builds the launch command: the
  kernel launcher (`python -m autograder.grading.kernel_launcher`, which
  applies limits and isolation in the kernel's own process, see
  `kernel_launcher`) in front of the usual ipykernel command;
- `SandboxKernelSpecManager` names `SandboxProvisioner` in the kernel
  spec's `kernel_provisioner` stanza, so jupyter_client's provisioner
  factory creates it (it is registered under the entry point group
  `jupyter_client.kernel_provisioners` as `course-sandbox`, see setup.cfg);
- `SandboxProvisioner` (a `LocalProvisioner`) copies the submission's folder
  into the scratch folder, passes the environment through the allow-list
  (`kernel_rules.kernel_environment`), forks the kernel from the warm
  starter where possible (`warm_kernels`) or starts it as a new process,
  and removes the scratch folder when the kernel is gone for good.

Settings come from `make_config` (the `Settings` of `COURSE_KERNEL_MEMORY_MB`,
default 8192: a small Keras training run needs well under 1 GiB;
`COURSE_KERNEL_ISOLATION`, on by default, off keeps the host network and
file system, e.g. to debug a kernel; `COURSE_KERNEL_WARM_START`).

This module runs in the grader only; it imports `kernel_rules`, `settings`
and `warm_kernels`, none of which imports it back.
"""

import os
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerFactory, LocalProvisioner
from traitlets import Bool, Enum, Integer, List, Unicode, default

from autograder.grading.kernel_rules import (MAX_COPY_MB, isolation_available,
                                             kernel_environment, new_kernel_user)
from autograder.grading.settings import WARM_START_CHOICES, current_settings
from autograder.grading.warm_kernels import start_warm_kernel

# The name setup.cfg registers `SandboxProvisioner` under.
PROVISIONER_NAME = "course-sandbox"
LAUNCHER_MODULE = "autograder.grading.kernel_launcher"


class ProvisionerMissing(RuntimeError):
    """The course's kernel provisioner is not registered with jupyter_client."""


def folder_size_mb(folder):
    """Size in MiB of the plain files under `folder` (links not followed)."""
    total = 0
    for path in Path(folder).rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total / (1024 * 1024)


class SandboxKernelSpecManager(KernelSpecManager):
    """Kernel specs that name the course's provisioner.

    Refuses to hand out a spec when the provisioner is not registered: a
    grading kernel must never start without its launcher.
    """

    def get_kernel_spec(self, kernel_name):
        spec = super().get_kernel_spec(kernel_name)
        spec.metadata = {**spec.metadata,
                         "kernel_provisioner": {"provisioner_name": PROVISIONER_NAME}}
        if not KernelProvisionerFactory.instance().is_provisioner_available(spec):
            raise ProvisionerMissing(
                f"the kernel provisioner {PROVISIONER_NAME!r} is not registered with "
                "jupyter_client, so no kernel could be started in its sandbox; install "
                "the course package (`make install`, or `pip install -e .` in the "
                "repository), which registers it")
        return spec


class SandboxProvisioner(LocalProvisioner):
    """Starts one grading kernel for its `SandboxKernelManager` (its parent).

    The steps run before and around jupyter_client's own local launch:
    `pre_launch` prepares the working folder and environment,
    `launch_kernel` forks from the warm starter when it can, `cleanup`
    removes the scratch folder unless the kernel is only restarting.
    """

    async def pre_launch(self, **kwargs):
        manager = self.parent
        work = os.path.join(manager.scratch, "work")
        if not os.path.isdir(work):
            origin = kwargs.get("cwd")
            inside = origin and os.path.realpath(manager.scratch).startswith(
                os.path.realpath(origin) + os.sep)
            if (origin and os.path.isdir(origin) and not inside
                    and folder_size_mb(origin) <= MAX_COPY_MB):
                shutil.copytree(origin, work, symlinks=True,
                                ignore=shutil.ignore_patterns("course-kernel-*"))
            else:
                os.makedirs(work)
        kwargs["cwd"] = work
        env = kernel_environment(kwargs.get("env") or os.environ)
        env["HOME"] = work
        env["TMPDIR"] = work
        # Fewer malloc arenas: less memory held per thread in many-core machines.
        env.setdefault("MALLOC_ARENA_MAX", "4")
        kwargs["env"] = env
        return await super().pre_launch(**kwargs)

    async def launch_kernel(self, cmd, **kwargs):
        # Called directly, not in the loop's thread pool: a pool copied into a
        # forked grading process has no threads and would never run it. The
        # call takes milliseconds once the starter is up.
        env = dict(kwargs.get("env") or os.environ)
        process = start_warm_kernel(list(cmd), kwargs.get("cwd"), env,
                                    self.parent.warm_start)
        if process is None:
            return await super().launch_kernel(cmd, **kwargs)
        self.process = process
        self.pid = self.pgid = process.pid
        self.cwd = kwargs.get("cwd")
        return self.connection_info

    async def cleanup(self, restart=False):
        await super().cleanup(restart=restart)
        if not restart:
            self.parent.cleanup_scratch()


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start through the kernel launcher.

    Args:
        memory_limit_mb: Writable-memory limit of the kernel in MiB.
        isolate_network: Isolate the kernel (network, mounts, PID, user id)
            when the machine allows it.

    Example:

    >>> manager = SandboxKernelManager(kernel_name="python3", memory_limit_mb=2048)
    >>> command = manager.format_kernel_cmd()
    >>> command[1:5]
    ['-m', 'autograder.grading.kernel_launcher', '--memory-mb', '2048']
    >>> manager.kernel_spec.metadata["kernel_provisioner"]["provisioner_name"]
    'course-sandbox'
    >>> manager.cleanup_scratch()
    """

    memory_limit_mb = Integer(config=True,
                              help="Writable-memory limit of the kernel in MiB.")
    isolate_network = Bool(config=True,
                           help="Run the kernel without network access, as an "
                                "unprivileged user, where possible.")
    hidden_paths = List(Unicode(), config=True,
                        help="Files and folders the kernel must not see.")
    covered_paths = List(Unicode(), config=True,
                         help="Folders the kernel sees empty but for the Python "
                              "installation and the course packages (the course, "
                              "the repository).")
    warm_start = Enum(WARM_START_CHOICES, config=True,
                      help="Fork kernels from the warm starter: auto, on or off.")

    # Unless configured (`make_config` does), the settings in force decide.
    @default("memory_limit_mb")
    def _default_memory_limit_mb(self):
        return current_settings().kernel_memory_mb

    @default("isolate_network")
    def _default_isolate_network(self):
        return current_settings().kernel_isolation

    @default("warm_start")
    def _default_warm_start(self):
        return current_settings().kernel_warm_start

    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self):
        return SandboxKernelSpecManager(data_dir=self.data_dir)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scratch = tempfile.mkdtemp(prefix="course-kernel-")
        self._remove_scratch = weakref.finalize(self, shutil.rmtree, self.scratch, True)
        self.network_isolated = bool(self.isolate_network and isolation_available())
        if self.network_isolated:
            # Inside its own network namespace the kernel cannot reach the
            # grader's loopback; Unix sockets in a private folder still work.
            self.transport = "ipc"
            self.ip = os.path.join(self.scratch, ".sockets", "kernel")
            os.makedirs(os.path.dirname(self.ip), exist_ok=True)
        elif self.isolate_network:
            self.log.warning("kernel isolation (network, hidden folders, unprivileged "
                             "user) needs Linux and root; the kernel runs with the "
                             "grader's network and rights, limits and scratch folder only")

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        launcher = [sys.executable, "-m", LAUNCHER_MODULE,
                    "--memory-mb", str(self.memory_limit_mb)]
        if self.network_isolated:
            launcher += ["--isolate", "--scratch", self.scratch,
                         "--user", str(new_kernel_user())]
            for path in self.hidden_paths:
                launcher += ["--hide", path]
            for path in self.covered_paths:
                launcher += ["--cover", path]
            # Other grading runs' temporary course folders.
            for folder in {tempfile.gettempdir(), "/tmp"}:
                launcher += ["--hide-glob", os.path.join(folder, "course-grade-*")]
        return [*launcher, "--", *command]

    def cleanup_scratch(self):
        """Remove the scratch folder now (it is also removed at exit)."""
        self._remove_scratch()
