"""Shared machinery for every check, visible (students have it) and hidden.

A check is a plain function that takes the student's object (a function, a
model builder, ...) and either returns quietly or raises `CheckFailure`. The
failure message always has three parts: what was found, what was expected and
a hint on how to fix it. nbgrader test cells and the pytest suites in
`autograder/suites` call the same check functions, so there is exactly one
source of truth for every verdict.
"""

import builtins
import types

import numpy as np


class CheckFailure(AssertionError):
    """Raised by a check when the student's answer is wrong.

    It subclasses `AssertionError` so that any runner (nbgrader, pytest, a
    plain notebook) reports it as a failed test rather than a crash.

    Args:
        found: What the check observed, e.g. "relu([-1, 2]) returned [-1, 2]".
        expected: What it should have been, e.g. "[0, 2]".
        hint: One sentence on how to fix it.

    Example:

    >>> try:
    ...     raise CheckFailure("relu([-1.]) returned [-1.]", "[0.]",
    ...                        "ReLU must set negative values to zero.")
    ... except CheckFailure as failure:
    ...     print(failure)
    relu([-1.]) returned [-1.]; expected [0.]. ReLU must set negative values to zero.
    """

    def __init__(self, found, expected, hint=""):
        self.found = found
        self.expected = expected
        self.hint = hint
        message = f"{found}; expected {expected}"
        if not str(expected).endswith("."):
            message += "."
        if hint:
            message += f" {hint}"
        super().__init__(message)


def fail(found, expected, hint=""):
    """Raise a `CheckFailure` (a shorthand used inside check functions)."""
    raise CheckFailure(found, expected, hint)


def to_numpy(value):
    """Convert a NumPy array, Keras/TF tensor, list or scalar to a NumPy array.

    Raises `CheckFailure` when the value cannot be converted (for example
    `None` from an unfinished stub).
    """
    if value is None:
        fail("the function returned None", "an array",
             "Did you forget the `return` statement?")
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, int, float, np.generic)):
        # Plain numbers need no Keras (and no slow TensorFlow import).
        return np.asarray(value)
    try:
        import keras

        return np.asarray(keras.ops.convert_to_numpy(value))
    except Exception:  # noqa: BLE001 - fall back to NumPy's own conversion
        try:
            return np.asarray(value)
        except Exception as error:  # noqa: BLE001
            fail(f"the function returned {type(value).__name__}",
                 "an array or tensor",
                 f"Return a NumPy array or a Keras tensor ({error}).")


def short(array, max_items=8):
    """Render an array compactly for a failure message."""
    array = np.asarray(array)
    if array.ndim == 0:
        return repr(array.item())
    with np.printoptions(precision=4, suppress=True, threshold=max_items,
                         edgeitems=3, linewidth=120):
        text = np.array2string(array, separator=", ")
    return " ".join(text.split())


def expect_shape(actual, expected_shape, call, hint=""):
    """Fail unless `actual` (already a NumPy array) has `expected_shape`."""
    if tuple(actual.shape) != tuple(expected_shape):
        fail(f"{call} returned shape {tuple(actual.shape)}",
             f"shape {tuple(expected_shape)}",
             hint or "Check which axes your computation keeps.")


def expect_close(actual, expected, call, hint="", atol=1e-6, rtol=1e-6,
                 exact=False):
    """Fail unless `actual` matches `expected` in shape and value.

    Args:
        actual: The student's result (anything `to_numpy` accepts).
        expected: The reference result.
        call: How to describe the call in the message, e.g. "relu(x)".
        hint: The fix suggestion when the values differ.
        atol: Absolute tolerance.
        rtol: Relative tolerance.
        exact: Require bit-for-bit equality (NaN equal to NaN).

    Returns:
        The student's result as a NumPy array.
    """
    actual = to_numpy(actual)
    expected = np.asarray(expected)
    expect_shape(actual, expected.shape, call)
    if exact:
        same = np.array_equal(actual, expected, equal_nan=True)
    else:
        with np.errstate(invalid="ignore"):
            same = np.allclose(actual.astype(np.float64),
                               expected.astype(np.float64),
                               atol=atol, rtol=rtol, equal_nan=True)
    if not same:
        fail(f"{call} returned {short(actual)}", short(expected), hint)
    return actual


def referenced_names(function):
    """Every global and attribute name a function's code refers to.

    Nested functions, lambdas and comprehensions are searched too. Used to
    detect a student calling the library routine they were asked to write.
    """
    names = set()
    pending = [function.__code__]
    while pending:
        code = pending.pop()
        names.update(code.co_names)
        pending.extend(const for const in code.co_consts
                       if isinstance(const, types.CodeType))
    return names


def forbid_library_calls(function, forbidden, what, hint):
    """Fail when `function` relies on a library routine it should reimplement.

    Both direct attribute use (`tf.nn.relu`, `keras.ops.relu`) and aliases bound
    in the notebook (`from keras.ops import relu as r`) are caught: a name is
    forbidden when it appears in `forbidden` or when the global it refers to
    is one of the forbidden objects.

    Args:
        function: The student's function.
        forbidden: Names of the routines that may not be used, e.g.
            `{"relu", "max_pool"}`.
        what: Human description of the task, e.g. "relu".
        hint: How to do it by hand instead.
    """
    if not callable(function) or not hasattr(function, "__code__"):
        return
    used = set()
    function_globals = getattr(function, "__globals__", {})
    for name in referenced_names(function):
        if name in forbidden:
            used.add(name)
            continue
        bound = function_globals.get(name, getattr(builtins, name, None))
        bound_name = getattr(bound, "__name__", None)
        module = getattr(bound, "__module__", "") or ""
        if bound_name in forbidden and not module.startswith("__main__"):
            used.add(f"{name} (= {module}.{bound_name})")
    if used:
        fail(f"your {what} calls the library routine(s) {sorted(used)}",
             f"your own implementation of {what} (no credit for calling the "
             "library version)",
             hint)


def call_student(function, *args, call="", **kwargs):
    """Call a student's function, turning a crash into a readable failure.

    `NotImplementedError` (an unfinished stub) and any other exception become
    a `CheckFailure` that names the call and the original error.
    """
    if not callable(function):
        fail(f"{call or 'the answer'} is {type(function).__name__}, not a "
             "function", "a function", "Run the cell that defines it first.")
    try:
        return function(*args, **kwargs)
    except CheckFailure:
        raise
    except NotImplementedError:
        fail(f"{call or function.__name__} raised NotImplementedError",
             "a result", "Replace the `raise NotImplementedError()` line "
             "with your code.")
    except Exception as error:  # noqa: BLE001 - report any student crash
        fail(f"{call or function.__name__} raised "
             f"{type(error).__name__}: {error}", "a result",
             "Read the error above and fix the line it points to.")
