"""Visible checks for the ReLU exercise and the ReLU step of project 1.

The student writes `relu(x)`: the elementwise maximum of `x` and 0, same
shape as `x`, leaving `x` itself unchanged. NumPy or `keras.ops` are both fine
in the exercise; project 1 puts `relu` inside a Keras model, so there it must
be written with `keras.ops` (checked by `check_relu_symbolic`).

This module also holds `forbid_library_routines`, the call scanner every
reimplementation check of the first half of the course uses (see its
docstring for why it goes further than `core.forbid_library_calls`).
"""

import builtins
import dis
import re
import types

import numpy as np

from course_lib.checks.core import call_student, expect_shape, fail, short, to_numpy

RELU_LIBRARY_ROUTINES = frozenset({"relu", "relu6", "ReLU", "leaky_relu", "LeakyReLU", "crelu"})
RELU_HINT = ("Write it yourself with an elementwise maximum or a mask, e.g. "
             "np.maximum(x, 0) or keras.ops.maximum(x, 0.0).")

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

    >>> import numpy as np
    >>> library_routines_used(lambda x: np.maximum(x, 0), {"relu"})
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


def forbid_library_routines(function, forbidden, what, hint):
    """Fail when `function` calls the library routine it should reimplement.

    Args:
        function: The student's function.
        forbidden: Names of the routines that may not be used.
        what: The task, e.g. "relu".
        hint: How to do it by hand instead.

    Example:

    >>> import numpy as np
    >>> forbid_library_routines(lambda x: np.maximum(x, 0), {"relu"},
    ...                         "relu", "Use a maximum.")
    """
    function = _unwrap(function)
    module = (getattr(function, "__module__", "") or "").split(".")[0]
    if module in _LIBRARY_PACKAGES:
        used = [_library_name(function, forbidden)] if _library_name(
            function, forbidden) else []
    elif isinstance(function, types.FunctionType):
        used = library_routines_used(function, forbidden)
    else:
        return
    if used:
        fail(f"your {what} calls the library routine(s) {used}",
             f"your own implementation of {what} (no credit for calling the "
             "library version)",
             hint)


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
         f"{text[:300]}", "it to run", hint)


def relu_result(value, call):
    """Convert a relu result to NumPy, rejecting lists and boolean masks."""
    if isinstance(value, (list, tuple)):
        fail(f"{call} returned a Python {type(value).__name__}",
             "a NumPy array or a Keras tensor",
             "Build the result with array operations (np.maximum, np.where, "
             "keras.ops.maximum) instead of a Python list.")
    result = to_numpy(value)
    if result.dtype == bool:
        fail(f"{call} returned a boolean array {short(result)}",
             "the numbers themselves with negatives replaced by 0",
             "x > 0 is only the mask; multiply it with x or use "
             "np.where(x > 0, x, 0).")
    if not np.issubdtype(result.dtype, np.number):
        fail(f"{call} returned an array of dtype {result.dtype}",
             "a numeric array", "Return numbers, not objects or strings.")
    return result


def relu_mistake_hint(x, result):
    """A hint naming the usual mistake that produces `result` from `x`."""
    x = np.asarray(x, dtype=np.float64)
    result = np.asarray(result, dtype=np.float64)
    if result.shape == x.shape:
        if np.array_equal(result, x):
            return "You returned the input unchanged: negatives must become 0."
        if np.array_equal(result, np.abs(x)):
            return ("You returned the absolute value: negatives must become "
                    "0, not their positive counterpart.")
        if np.array_equal(result, np.minimum(np.maximum(x, 0), 6)):
            return "ReLU has no upper cap: positive values pass unchanged."
        negative = x < 0
        if (negative.any() and np.all(result[negative] != 0)
                and np.allclose(result[~negative], x[~negative])):
            return ("Negative values are scaled instead of zeroed (that is a "
                    "leaky ReLU); plain ReLU sets them to exactly 0.")
    return "ReLU keeps positive values unchanged and sets negative values to 0."


def expect_relu(relu, x, call):
    """Call `relu` on a copy of `x` and require the exact ReLU values."""
    result = relu_result(call_student(relu, x.copy(), call=call), call)
    expected = np.maximum(x, 0)
    if result.dtype == np.float32 and x.dtype == np.float64:
        # Computing in float32 (Keras' default float type) is accepted: the
        # values must then equal the exact ReLU rounded to float32.
        expected = expected.astype(np.float32)
    expect_shape(result, x.shape, call,
                 "ReLU works elementwise: the output has the input's shape.")
    if not np.array_equal(result.astype(np.float64), expected.astype(np.float64)):
        fail(f"{call} returned {short(result)}", short(expected),
             relu_mistake_hint(x, result))
    return result


def check_relu_basic(relu):
    """relu on a short vector: positives kept, negatives and zero give 0.

    Example:

    >>> import numpy as np
    >>> check_relu_basic(lambda x: np.maximum(x, 0))
    """
    forbid_library_routines(relu, RELU_LIBRARY_ROUTINES, "relu", RELU_HINT)
    x = np.array([-3.0, -0.5, 0.0, 0.5, 2.0, 8.0])
    expect_relu(relu, x, "relu([-3., -0.5, 0., 0.5, 2., 8.])")


def check_relu_keeps_shape(relu):
    """relu on a 2-D array keeps the shape and leaves the input untouched.

    Example:

    >>> import numpy as np
    >>> check_relu_keeps_shape(lambda x: np.where(x > 0, x, 0))
    """
    forbid_library_routines(relu, RELU_LIBRARY_ROUTINES, "relu", RELU_HINT)
    x = np.array([[-1.0, 2.0, -3.0, 4.0],
                  [5.0, -6.0, 7.0, -8.0],
                  [0.25, -0.25, 0.0, 9.5]])
    expect_relu(relu, x, "relu(x) for a 3x4 x")
    original = x.copy()
    call_student(relu, x, call="relu(x)")
    if not np.array_equal(x, original):
        fail(f"after relu(x) the input x became {short(x)}",
             f"x unchanged ({short(original)})",
             "Work on a copy (np.maximum(x, 0) or x.copy()) instead of "
             "writing into x.")


def check_relu_symbolic(relu):
    """relu works inside a Keras model and passes gradients (project 1).

    The function is used as the activation of a Keras layer, where it receives
    symbolic tensors, so it must be written with `keras.ops`. Its gradient
    must be 1 for positive inputs and 0 for negative ones.

    Example:

    >>> import keras
    >>> check_relu_symbolic(lambda x: keras.ops.maximum(x, 0.0))
    """
    import keras
    import tensorflow as tf

    forbid_library_routines(relu, RELU_LIBRARY_ROUTINES, "relu", RELU_HINT)
    hint = ("Write relu with keras.ops (e.g. keras.ops.maximum(x, 0.0) or "
            "keras.ops.where(x > 0, x, 0.0)); NumPy functions cannot work on "
            "the symbolic tensors inside a model.")
    x = np.array([[-2.0, -0.5, 0.5, 3.0], [1.5, -1.0, 4.0, -7.0]],
                 dtype=np.float32)

    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        output = call_student(relu, tensor, call="relu(tensor)")
        if not tf.is_tensor(output):
            fail(f"relu(tensor) returned {type(output).__name__}",
                 "a tensor", hint)
        total = tf.reduce_sum(output)
    gradient = tape.gradient(total, tensor)
    if gradient is None:
        fail("the gradient of relu is None (no path back to the input)",
             "1 for positive inputs and 0 for negative ones", hint)
    gradient = gradient.numpy()
    expected_gradient = (x > 0).astype(np.float32)
    if not np.allclose(gradient, expected_gradient):
        fail(f"the gradient of relu(x) for x = {short(x)} is {short(gradient)}",
             short(expected_gradient),
             "ReLU's slope is 1 where x > 0 and 0 where x < 0.")
    try:
        inputs = keras.Input(shape=(4,))
        outputs = keras.layers.Activation(relu)(inputs)
        predicted = keras.Model(inputs, outputs).predict(x, verbose=0)
    except Exception as error:  # noqa: BLE001 - report the student's crash
        report_model_crash(error, "relu", hint)
    expected = np.maximum(x, 0)
    if predicted.shape != x.shape or not np.allclose(predicted, expected):
        fail(f"inside a model relu(x) gave {short(predicted)}", short(expected),
             hint)
