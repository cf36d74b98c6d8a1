"""Kernel-side half of the test-cell guard (runs inside the grading kernel).

The grader (`GuardedExecute` in `preprocessors/guarded_execute.py`) loads this module as an
IPython extension when the kernel starts, before any student cell runs, so
`snapshot()` records the pristine interpreter: builtins, NumPy's functions,
`sys` hooks and the IPython shell's error and event machinery.

Before every graded test cell the grader sends `reset()` in a request of its
own. It undoes what student code may have changed (custom exception
handlers, event callbacks, input and AST transformers, builtins, NumPy,
`sys.excepthook`), drops every loaded `course_lib.checks*` /
`autograder.checks*` module so the test imports fresh copies from the
installed files, and rebinds the names earlier test cells imported from them.

The test cell itself ends with `finish(token)`: a one-time token the grader
made for this very cell. `finish` checks that nothing it snapshotted was
changed while the test ran and publishes a verdict carrying the token. The
grader gives points only for a cell with no error and exactly one verdict
with the right token, so a hidden error or a printed "passed" earns nothing.
"""

import builtins
import importlib
import sys
import types

VERDICT_MIME = "application/vnd.course.verdict+json"
CHECK_PACKAGES = ("course_lib.checks", "autograder.checks")
SNAPSHOT_MODULES = ("numpy", "numpy.linalg", "numpy.random")
SHELL_ATTRIBUTES = ("custom_exceptions", "CustomTB", "showtraceback", "_showtraceback",
                    "showsyntaxerror", "run_cell", "run_cell_async", "run_code",
                    "run_ast_nodes", "transform_cell", "display_pub", "displayhook",
                    "excepthook", "events")
KERNEL_ATTRIBUTES = ("do_execute", "execute_request", "send_response")

_STATE = {}


def load_ipython_extension(shell):
    """IPython extension entry point: snapshot the pristine interpreter."""
    snapshot(shell)


def _is_check_module(name):
    return any(name == package or name.startswith(package + ".") for package in CHECK_PACKAGES)


def _instance_attributes(target, names):
    present = vars(target)
    return {name: present[name] for name in names if name in present}


def snapshot(shell=None):
    """Record the interpreter state that `reset` restores and `finish` verifies."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    for name in SNAPSHOT_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    try:
        importlib.import_module("course_lib.checks.core")
    except ImportError:
        pass
    kernel = getattr(shell, "kernel", None)
    _STATE.clear()
    _STATE.update(
        shell=shell,
        kernel=kernel,
        builtins=dict(vars(builtins)),
        modules={name: dict(vars(sys.modules[name]))
                 for name in SNAPSHOT_MODULES if name in sys.modules},
        sys_hooks={name: getattr(sys, name) for name in
                   ("excepthook", "displayhook", "stdout", "stderr", "settrace", "setprofile")},
        shell_attributes=_instance_attributes(shell, SHELL_ATTRIBUTES),
        kernel_attributes=_instance_attributes(kernel, KERNEL_ATTRIBUTES) if kernel else {},
        callbacks={event: list(callbacks)
                   for event, callbacks in shell.events.callbacks.items()},
        transformers=(list(shell.input_transformers_cleanup),
                      list(shell.input_transformers_post),
                      list(shell.ast_transformers)),
        publish=shell.display_pub.publish,
        bound={},
        checks={},
    )


def _restore_instance(target, names, saved):
    for name in names:
        if name in saved:
            if vars(target).get(name) is not saved[name]:
                setattr(target, name, saved[name])
        elif name in vars(target):
            delattr(target, name)


def _restore_dict(target, saved):
    for name, value in saved.items():
        if target.get(name, _STATE) is not value:
            target[name] = value


def reset(token=None):
    """Undo student changes to the interpreter and reload the check modules.

    Publishes `{"reset": token}` when done, so the grader knows it ran.
    """
    if not _STATE:
        snapshot()
    shell = _STATE["shell"]
    _restore_dict(vars(builtins), {name: value for name, value in _STATE["builtins"].items()
                                   if _watched_builtin(name)})
    for name, saved in _STATE["modules"].items():
        module = sys.modules.get(name)
        if module is not None:
            for attribute, value in saved.items():
                if getattr(module, attribute, _STATE) is not value:
                    setattr(module, attribute, value)
    hooks = _STATE["sys_hooks"]
    sys.excepthook = hooks["excepthook"]
    sys.displayhook = hooks["displayhook"]
    sys.stdout, sys.stderr = hooks["stdout"], hooks["stderr"]
    sys.settrace(None)
    sys.setprofile(None)
    _restore_instance(shell, SHELL_ATTRIBUTES, _STATE["shell_attributes"])
    if _STATE["kernel"] is not None:
        _restore_instance(_STATE["kernel"], KERNEL_ATTRIBUTES, _STATE["kernel_attributes"])
    shell.events.callbacks.clear()
    shell.events.callbacks.update(
        {event: list(callbacks) for event, callbacks in _STATE["callbacks"].items()})
    cleanup, post, ast = _STATE["transformers"]
    shell.input_transformers_cleanup[:] = cleanup
    shell.input_transformers_post[:] = post
    shell.ast_transformers[:] = ast
    shell.display_pub.publish = _STATE["publish"]
    # Fresh copies of the checks, loaded from the installed files.
    loaded = [name for name in sys.modules if _is_check_module(name)]
    for name in loaded:
        del sys.modules[name]
    _STATE["checks"] = {}
    for name in sorted(loaded, key=len):
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the test cell reports its own import errors
            continue
        _STATE["checks"][name] = dict(vars(module))
    user_namespace = shell.user_ns
    for name, (module_name, attribute) in _STATE["bound"].items():
        module = sys.modules.get(module_name)
        if module is None:
            continue
        user_namespace[name] = module if attribute is None else getattr(module, attribute, None)
    _STATE["publish"](data={VERDICT_MIME: {"reset": token}}, metadata={})


def _record_bound_names(user_namespace):
    for name, value in list(user_namespace.items()):
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType) and _is_check_module(value.__name__):
            _STATE["bound"][name] = (value.__name__, None)
            continue
        module_name = getattr(value, "__module__", None)
        attribute = getattr(value, "__name__", None)
        if isinstance(module_name, str) and _is_check_module(module_name) and attribute:
            module = sys.modules.get(module_name)
            if module is not None and getattr(module, attribute, None) is value:
                _STATE["bound"][name] = (module_name, attribute)


def _watched_builtin(name):
    # IPython manages `exit`, `quit`, `get_ipython`, `display`, `input` and `_`
    # result names itself while a cell runs.
    if name in ("__import__", "__build_class__"):
        return True
    return not name.startswith("_") and name not in (
        "exit", "quit", "get_ipython", "display", "dreload", "help", "copyright", "input",
        "credits", "license")


def _is_code_object(value):
    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type,
                              types.ModuleType))


def altered_names():
    """Names of snapshotted objects that differ from their recorded state."""
    changed = []
    for name, value in _STATE["builtins"].items():
        if _watched_builtin(name) and vars(builtins).get(name, _STATE) is not value:
            changed.append(f"builtins.{name}")
    for module_name, saved in _STATE["modules"].items():
        module = sys.modules.get(module_name)
        for attribute, value in saved.items():
            if module is not None and getattr(module, attribute, _STATE) is not value:
                changed.append(f"{module_name}.{attribute}")
    for module_name, saved in _STATE["checks"].items():
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for attribute, value in saved.items():
            if _is_code_object(value) and getattr(module, attribute, _STATE) is not value:
                changed.append(f"{module_name}.{attribute}")
    for module_name, module in list(sys.modules.items()):
        if module_name in _STATE["checks"] or not _is_check_module(module_name):
            continue
        # Loaded for the first time by this test: its functions must come
        # from its own installed file.
        for attribute, value in list(vars(module).items()):
            original = value
            while getattr(original, "__wrapped__", None) is not None:
                original = original.__wrapped__
            code = getattr(original, "__code__", None)
            if code is not None and getattr(value, "__module__", None) == module_name:
                if code.co_filename != getattr(module, "__file__", None):
                    changed.append(f"{module_name}.{attribute}")
    return changed


def finish(token):
    """Publish this test cell's verdict, carrying the grader's one-time token."""
    changed = altered_names() if _STATE else ["guard not initialised"]
    if _STATE:
        _record_bound_names(_STATE["shell"].user_ns)
        publish = _STATE["publish"]
    else:
        from IPython.display import publish_display_data as publish
    publish(data={VERDICT_MIME: {"token": token, "intact": not changed,
                                 "altered": changed[:20]}},
            metadata={})
