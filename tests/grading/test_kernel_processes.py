"""The kernel-starting code is split by the process it runs in.

- grader: `sandbox` (manager, spec manager, provisioner), `warm_kernels`
  (the handle on the warm starter), `judge` and the preprocessors;
- kernel launcher: `kernel_launcher`, in the kernel's own process before
  it becomes the kernel;
- warm starter: `warm_starter`, the process that forks kernels;
- in-kernel helpers: `observer` (with `observations`) and `guard`.

What runs in one process imports nothing meant for another (the launcher
and the starter never import the grader's side, the in-kernel helpers
import neither), no import circle runs through any of them, and the
grader's side uses jupyter_client's public provisioner API: no private
method of jupyter_client is overridden.
"""

import ast
import inspect
from pathlib import Path

import pytest
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerFactory, LocalProvisioner
from jupyter_client.provisioning import factory as provisioner_factory

from autograder.grading import sandbox
from autograder.grading.sandbox import (ProvisionerMissing, SandboxKernelManager,
                                        SandboxProvisioner)

ROOT = Path(__file__).resolve().parents[2]
GRADING = "autograder.grading"
# What each process's modules may import of the two packages, at any depth
# (a name ending in "." allows the package and everything under it).
ALLOWED = {
    f"{GRADING}.kernel_launcher": {f"{GRADING}.kernel_rules", f"{GRADING}.settings",
                                   "autograder", "course_lib"},
    f"{GRADING}.warm_starter": {f"{GRADING}.kernel_launcher", f"{GRADING}.kernel_rules",
                                f"{GRADING}.settings", "autograder", "course_lib"},
    # The student's kernel runs course_lib anyway.
    f"{GRADING}.observer": {f"{GRADING}.observations", "course_lib."},
    f"{GRADING}.guard": set(),
    f"{GRADING}.kernel_rules": set(),
}
PIECES = [*ALLOWED, f"{GRADING}.sandbox", f"{GRADING}.warm_kernels", f"{GRADING}.judge",
          f"{GRADING}.preprocessors.guarded_execute"]


def module_files():
    files = {}
    for package in ("autograder", "course_lib"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    return files


def import_graph():
    """Which of the packages' modules each module imports, lazy imports included."""
    files = module_files()
    graph = {}
    for name, path in files.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {module for module in found if module in files and module != name}
    return graph


def allowed(module, names):
    return any(module == name or (name.endswith(".") and
                                  (module + ".").startswith(name)) for name in names)


def reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        for module in graph[todo.pop()]:
            if module not in seen:
                seen.add(module)
                todo.append(module)
    return seen


@pytest.mark.parametrize("piece", sorted(ALLOWED))
def test_each_process_imports_only_what_runs_in_it(piece):
    foreign = sorted(module for module in reachable(import_graph(), piece)
                     if not allowed(module, ALLOWED[piece]))
    assert not foreign, (
        f"{piece} imports {foreign}, which belong to another "
        f"process; expected only {sorted(ALLOWED[piece]) or 'the standard library'}. Hint: "
        "move what both sides need into kernel_rules, or import it in the process that "
        "needs it")


@pytest.mark.parametrize("piece", PIECES)
def test_no_import_circle_runs_through_the_execution_code(piece):
    graph = import_graph()
    assert piece in graph, f"{piece} is missing"
    back = [module for module in reachable(graph, piece) if piece in reachable(graph, module)]
    assert not back, f"{piece} imports {sorted(back)}, which import {piece} back"


def test_the_import_checks_see_a_circle_and_a_foreign_module():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert "a" in reachable(graph, "a")
    assert "d" not in reachable(graph, "a")
    assert allowed("course_lib.checks.core", {"course_lib."})
    assert not allowed("autograder.grading.judge", {"autograder", "course_lib."})


def overridden_private_methods(ours, theirs):
    """Underscore-named methods of `ours` that replace one of `theirs` (or its bases)."""
    def is_method(value):
        return inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod,
                                                                property))

    return [name for name, value in vars(ours).items()
            if name.startswith("_") and not name.startswith("__") and is_method(value)
            and any(name in vars(base) for base in theirs.__mro__)]


def test_the_override_check_sees_a_private_override():
    class Overriding(LocalProvisioner):
        @staticmethod
        def _scrub_kwargs(kwargs):
            return kwargs

    assert overridden_private_methods(Overriding, LocalProvisioner) == ["_scrub_kwargs"]


@pytest.mark.parametrize("ours, theirs", [(SandboxKernelManager, AsyncKernelManager),
                                          (SandboxProvisioner, LocalProvisioner)])
def test_no_private_jupyter_client_method_is_overridden(ours, theirs):
    private = overridden_private_methods(ours, theirs)
    assert not private, (f"{ours.__name__} overrides {private} of jupyter_client, which are "
                         "not public API; use the provisioner's pre_launch/launch_kernel/"
                         "cleanup instead")


def test_the_factory_creates_the_course_provisioner():
    manager = SandboxKernelManager(kernel_name="python3")
    try:
        provisioner = KernelProvisionerFactory.instance().create_provisioner_instance(
            "kernel-id", manager.kernel_spec, parent=manager)
        assert type(provisioner) is SandboxProvisioner
    finally:
        manager.cleanup_scratch()


def test_an_unregistered_provisioner_stops_grading_with_how_to_fix(monkeypatch):
    factory = KernelProvisionerFactory.instance()
    monkeypatch.setattr(factory, "provisioners",
                        {name: entry for name, entry in factory.provisioners.items()
                         if name != sandbox.PROVISIONER_NAME})
    monkeypatch.setattr(provisioner_factory, "entry_points", lambda **kwargs: ())
    manager = SandboxKernelManager(kernel_name="python3")
    try:
        with pytest.raises(ProvisionerMissing, match="make install"):
            manager.kernel_spec
    finally:
        manager.cleanup_scratch()
