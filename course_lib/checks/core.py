"""Shared machinery for every check, visible (students have it) and hidden.

A check is a plain function that takes the student's object (a function, a
model builder, ...) and either returns quietly or raises `CheckFailure`. The
failure message always has three parts: what was found, what was expected and
a hint on how to fix it. nbgrader test cells and the pytest suites in
`autograder/suites` call the same check functions, so there is exactly one
source of truth for every verdict.
"""

import numpy as np

_INPUT_SEED = [None]


def input_seed(seed):
    """Mix `seed` into every `input_generator` from now on; return the previous one.

    The grader sets a fresh seed for each grading run, so the hidden checks'
    random inputs cannot be known in advance; `None` restores the fixed
    inputs a student's own run of the checks sees.

    Example:

    >>> previous = input_seed(1234)
    >>> bool(input_generator(7).normal() == input_generator(7).normal())
    True
    >>> _ = input_seed(previous)
    """
    previous, _INPUT_SEED[0] = _INPUT_SEED[0], seed
    return previous


def input_generator(seed):
    """A NumPy random generator for a check's inputs.

    Args:
        seed: The check's own seed, an int.

    Returns:
        `np.random.default_rng(seed)`, or, while the grader has set an
        `input_seed`, a generator seeded from both.

    Example:

    >>> float(input_generator(3).integers(10)) == float(np.random.default_rng(3).integers(10))
    True
    """
    if _INPUT_SEED[0] is None:
        return np.random.default_rng(seed)
    return np.random.default_rng([_INPUT_SEED[0], seed])


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


def clip(text, max_chars):
    """Shorten `text` to at most `max_chars` characters, at a word boundary.

    A shortened text ends in " ..." so a reader sees that more was cut; a
    word is never cut in half (a single word longer than `max_chars` is).

    Example:

    >>> clip("Write it yourself with keras.ops", 18)
    'Write it yourself ...'
    >>> clip("short enough", 20)
    'short enough'
    """
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > 0 else text[:max_chars]
    return cut.rstrip(" ,;:") + " ..."


def short(array, max_items=8, max_chars=160):
    """Render an array compactly for a failure message.

    An array of at most `max_items` values is shown in full. A longer one is
    summarised on its total size, whatever its number of dimensions: 1-D and
    2-D arrays show the first and last few entries of every axis; an array
    of three or more dimensions shows one entry at each end of every axis,
    or, when even that is longer than `max_chars`, its shape, its first
    values and its range. So a 4-D batch of images whose axes are all short
    still fits on one line.

    Example:

    >>> short(np.arange(4.0))
    '[0., 1., 2., 3.]'
    >>> short(np.zeros((2, 2, 2, 2, 2, 2)))
    'array of shape (2, 2, 2, 2, 2, 2): [0., 0., 0., ...], min 0, max 0'
    """
    array = np.asarray(array)
    if array.ndim == 0:
        return repr(array.item())
    edge_items = 3 if array.ndim <= 2 else 1
    with np.printoptions(precision=4, suppress=True, threshold=max_items,
                         edgeitems=edge_items, linewidth=120):
        text = " ".join(np.array2string(array, separator=", ").split())
        if array.ndim <= 2 or array.size <= max_items or len(text) <= max_chars:
            return text
        first = np.array2string(array.reshape(-1)[:3], separator=", ")
    summary = f"array of shape {array.shape}: {first[:-1]}, ...]"
    if np.issubdtype(array.dtype, np.number) and not np.issubdtype(
            array.dtype, np.complexfloating):
        with np.errstate(invalid="ignore"):
            summary += (f", min {np.nanmin(array).item():.4g}, "
                        f"max {np.nanmax(array).item():.4g}")
    return summary


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


def call_student(function, *args, call="", **kwargs):
    """Call a student's function, turning a crash into a readable failure.

    A bare `NotImplementedError()` (the unfinished stub nbgrader leaves)
    asks the student to replace that line. Any other exception, including a
    `NotImplementedError` that carries a message (TensorFlow raises one when
    NumPy code meets a symbolic tensor), becomes a `CheckFailure` that names
    the call and shows the original error.

    Example:

    >>> def relu(x):
    ...     raise NotImplementedError()
    >>> try:
    ...     call_student(relu, 1.0, call="relu(1.0)")
    ... except CheckFailure as failure:
    ...     print(failure.hint)
    Replace the `raise NotImplementedError()` line with your code.
    """
    if not callable(function):
        fail(f"{call or 'the answer'} is {type(function).__name__}, not a "
             "function", "a function", "Run the cell that defines it first.")
    try:
        return function(*args, **kwargs)
    except CheckFailure:
        raise
    except Exception as error:  # noqa: BLE001 - report any student crash
        name = call or getattr(function, "__name__", "the function")
        if isinstance(error, NotImplementedError) and not str(error).strip():
            fail(f"{name} raised NotImplementedError", "a result",
                 "Replace the `raise NotImplementedError()` line with your "
                 "code.")
        message = clip(" ".join(str(error).split()), 500)
        fail(f"{name} raised {type(error).__name__}: {message}", "a result",
             f"Run {name} yourself in a new cell: the traceback shows the line "
             "of your code that raised the error.")


def student_gradient(function, watched, make_arguments, call, hint, name,
                     source="the input", expected="a gradient", label=None):
    """Call a student's function under a gradient tape and differentiate it.

    The function must return a tensor (NumPy code cannot run inside a model)
    whose sum has a gradient with respect to `watched` (operations without a
    slope, or a detour through NumPy, leave none).

    Args:
        function: The student's function.
        watched: The tensor or variable to differentiate with respect to.
        make_arguments: Called inside the tape; returns the argument tuple,
            so arguments computed from `watched` stay on the tape.
        call: How the call is shown, e.g. "relu(tensor)".
        hint: Hint for a result that is not a tensor or has no gradient.
        name: The function's name in the messages.
        source: What the gradient should reach, e.g. "the predictions".
        expected: The gradient the student should get, in words.
        label: How the result is named when it is not a tensor (default:
            `call`).

    Returns:
        `(output, gradient)`: the student's tensor and the gradient of its
        sum as a NumPy array.

    Example:

    >>> import tensorflow as tf
    >>> x = tf.constant([1.0, 2.0])
    >>> _, gradient = student_gradient(lambda t: t * t, x, lambda: (x,),
    ...                                "square(tensor)", "Use keras.ops.", "square")
    >>> gradient
    array([2., 4.], dtype=float32)
    """
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(watched)
        output = call_student(function, *make_arguments(), call=call)
        if not tf.is_tensor(output):
            fail(f"{label or call} returned {type(output).__name__}", "a tensor", hint)
        total = tf.reduce_sum(output)
    gradient = tape.gradient(total, watched)
    if gradient is None:
        fail(f"the gradient of {name} is None (no path back to {source})", expected, hint)
    return output, gradient.numpy()
