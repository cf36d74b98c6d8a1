"""The library-call scanner shared by every reimplementation check.

When a task is to write a routine by hand (relu, max pooling, cross-entropy,
a dense layer, gradients, an LSTM step), the checks first make sure the
student's function does not simply call the library version.
`forbid_library_routines` reads the function's bytecode (nested functions,
lambdas, comprehensions and helpers the student wrote next to it included),
follows aliases bound in the notebook (`from keras.ops import relu as r`)
and decorators, and fails with a readable message when a forbidden routine
is used. Checks do not call it themselves: they are decorated with
`forbids_library_routines`, which runs that scan on the student's argument
before the check's body. `report_model_crash` turns an error raised while a
Keras model runs the student's code into the same kind of failure.
"""

import builtins
import dis
import functools
import inspect
import re
import types

from course_lib.checks.core import clip, fail

_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*m")
_LIBRARY_PACKAGES = {"keras", "tensorflow", "tf_keras", "torch", "jax", "sklearn",
                     "scipy", "numpy", "skimage"}
# Routine names that are also ordinary words: a string constant equal to one
# of them (a dict key "grad") is not taken as a request for the routine.
_TOO_COMMON_AS_TEXT = {"pool", "grad", "gradients", "dense", "summary", "jacobian"}
_LOAD_GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME"}
_ATTRIBUTE_OPS = {"LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM"}


def _is_student_function(value, home_globals):
    """True for a plain Python function written next to the student's answer."""
    return (isinstance(value, types.FunctionType)
            and (value.__globals__ is home_globals
                 or value.__module__ == "__main__"))


def _unwrap(value):
    """The plain function inside a decorated callable.

    Follows `functools.wraps` (`__wrapped__`), `np.vectorize` (`pyfunc`),
    `tf.function` (`python_function`) and `functools.partial` (`func`), so a
    student's `@np.vectorize def relu(...)` is read as the student's code.
    """
    for _ in range(10):
        for attribute in ("__wrapped__", "pyfunc", "python_function", "func"):
            inner = getattr(value, attribute, None)
            if callable(inner) and inner is not value:
                value = inner
                break
        else:
            return value
    return value


def _library_name(value, forbidden):
    """The forbidden routine name `value` is bound to, or None."""
    name = getattr(value, "__name__", None)
    if name in forbidden:
        module = getattr(value, "__module__", "") or ""
        return f"{module}.{name}" if module else name
    return None


def _code_objects(code):
    """`code` and every nested code object (lambdas, comprehensions, inner defs)."""
    pending = [code]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(const for const in current.co_consts
                       if isinstance(const, types.CodeType))


def library_routines_used(function, forbidden):
    """Forbidden library routines a student's function relies on.

    Follows the student's own helper functions (globals defined in the same
    notebook, closures) so a routine hidden one call deeper is still found.
    Unlike a plain scan of the names a function mentions, a call of the
    student's own function that happens to share a library name (a recursive
    `max_pool2d` that pools one image at a time) is not mistaken for the
    library routine: global names are resolved to the objects they refer to,
    while attribute access (`tf.nn.relu`, `keras.ops.max_pool`), imports
    inside the function and routines requested by name
    (`keras.layers.Activation("relu")`) always count.

    Args:
        function: The student's function.
        forbidden: Names of the routines the task is to reimplement.

    Returns:
        A sorted list of descriptions of what was found (empty when clean).

    Example:

    >>> import keras
    >>> library_routines_used(lambda x: keras.ops.relu(x), {"relu"})
    ['relu']
    >>> library_routines_used(lambda x: x.sum(), {"relu"})
    []
    """
    forbidden = set(forbidden)
    lowered = {name.lower() for name in forbidden} - _TOO_COMMON_AS_TEXT
    used = set()
    seen = set()
    pending = [function]
    while pending:
        current = pending.pop()
        if not isinstance(current, types.FunctionType) or id(current) in seen:
            continue
        seen.add(id(current))
        home = current.__globals__
        values = list(current.__defaults__ or ())
        values += list((current.__kwdefaults__ or {}).values())
        for cell in current.__closure__ or ():
            try:
                values.append(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        for value in map(_unwrap, values):
            if _is_student_function(value, home):
                pending.append(value)
            elif _library_name(value, forbidden):
                used.add(_library_name(value, forbidden))
        for code in _code_objects(current.__code__):
            for instruction in dis.get_instructions(code):
                name = instruction.argval
                if instruction.opname in _ATTRIBUTE_OPS:
                    if name in forbidden:
                        used.add(name)
                elif instruction.opname in _LOAD_GLOBAL_OPS:
                    value = _unwrap(home.get(name, getattr(builtins, name, None)))
                    if _is_student_function(value, home):
                        pending.append(value)
                    elif _library_name(value, forbidden):
                        used.add(f"{name} (= {_library_name(value, forbidden)})")
                    elif value is None and name in forbidden:
                        used.add(name)
                elif (instruction.opname == "LOAD_CONST"
                      and isinstance(name, str)
                      and name.lower() in lowered):
                    used.add(f'"{name}"')
    return sorted(used)


def routines_used_by(function, forbidden):
    """The forbidden routines `function` is or calls (empty when clean).

    A function that stands for code run elsewhere (the grader's stand-in
    for a function defined in a grading kernel) answers through its own
    `library_routines_used` method.

    Example:

    >>> import keras
    >>> routines_used_by(lambda x: keras.ops.relu(x), {"relu"})
    ['relu']
    >>> routines_used_by(lambda x: x * (x > 0), {"relu"})
    []
    """
    remote = getattr(type(function), "library_routines_used", None)
    if callable(remote):
        return remote(function, forbidden)
    function = _unwrap(function)
    module = (getattr(function, "__module__", "") or "").split(".")[0]
    if module in _LIBRARY_PACKAGES:
        name = _library_name(function, forbidden)
        return [name] if name else []
    if isinstance(function, types.FunctionType):
        return library_routines_used(function, forbidden)
    return []


def forbid_library_routines(function, forbidden, what, hint):
    """Fail when `function` calls the library routine it should reimplement.

    Args:
        function: The student's function.
        forbidden: Names of the routines that may not be used.
        what: The task, e.g. "relu".
        hint: How to do it by hand instead.

    Example:

    >>> forbid_library_routines(lambda x: x.sum(), {"relu"}, "relu",
    ...                         "Write it by hand.")
    """
    used = routines_used_by(function, forbidden)
    if used:
        fail(f"your {what} calls the library routine(s) {used}",
             f"your own implementation of {what} (no credit for calling the "
             "library version)",
             hint)


def forbids_library_routines(forbidden, what, *, hint, argument=None):
    """Decorate a check so it first fails when the student calls the library routine.

    The decorated check runs `forbid_library_routines` on its argument named
    `argument` (by default `what`) and only then its own body, so the scan
    and its message are written once for every check of a task. Decorators
    stack: a check of two student functions gets one decorator per function,
    scanned from the top one down. `functools.wraps` keeps the check's
    name, signature and docstring.

    Args:
        forbidden: Names of the routines that may not be used.
        what: The task, e.g. "relu", as the message names it.
        hint: How to do it by hand instead.
        argument: The check's parameter that holds the student's function
            (default: `what`).

    Returns:
        The decorator.

    Example:

    >>> @forbids_library_routines({"relu"}, "relu", hint="Write it by hand.")
    ... def check_relu_runs(relu):
    ...     relu(1.0)
    >>> import keras
    >>> try:
    ...     check_relu_runs(keras.activations.relu)
    ... except AssertionError as failure:
    ...     print(failure.hint)
    Write it by hand.
    >>> check_relu_runs(lambda x: max(x, 0.0))
    """
    argument = what if argument is None else argument

    def decorate(check):
        signature = inspect.signature(check)
        if argument not in signature.parameters:
            raise ValueError(f"{check.__name__} has no parameter {argument!r}; "
                             f"expected one of {list(signature.parameters)}")

        @functools.wraps(check)
        def checked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            function = bound.arguments[argument]
            forbid_library_routines(function, forbidden, what, hint)
            return check(*args, **kwargs)

        return checked

    return decorate


def report_model_crash(error, what, hint):
    """Turn an exception raised while a model ran the student's code into a failure.

    An unfinished stub raises a bare `NotImplementedError()`. TensorFlow also
    raises `NotImplementedError`, with a message, when NumPy code meets a
    symbolic tensor; that one gets the keras.ops `hint` instead. Keras adds
    its own text to errors raised inside a layer, so checks call the
    student's function once on a concrete tensor (through `call_student`)
    before building a model: a stub is reported there.
    """
    text = " ".join(_TERMINAL_CODES.sub("", str(error)).split())
    if isinstance(error, NotImplementedError) and not text:
        fail(f"{what} raised NotImplementedError", "a result",
             "Replace the `raise NotImplementedError()` line with your code.")
    fail(f"a Keras model using your {what} raised {type(error).__name__}: "
         f"{clip(text, 300)}", "it to run", hint)
