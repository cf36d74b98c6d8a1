"""Visible checks for the ReLU exercise and the ReLU step of project 1.

The student writes `relu(x)`: the elementwise maximum of `x` and 0, same
shape as `x`, leaving `x` itself unchanged. NumPy or `keras.ops` are both fine
in the exercise; project 1 puts `relu` inside a Keras model, so there it must
be written with `keras.ops` (checked by `check_relu_symbolic`).
"""

import numpy as np

from course_lib.checks.core import (CheckFailure, call_student, expect_shape, fail, short,
                                    student_gradient, to_numpy)
from course_lib.checks.library_calls import forbids_library_routines, report_model_crash

RELU_LIBRARY_ROUTINES = frozenset({"relu", "relu6", "ReLU", "leaky_relu", "LeakyReLU", "crelu"})
# A boolean result is the mask itself. On a TensorFlow tensor that is also
# what `x * (x > 0)` returns: unlike NumPy, TensorFlow multiplies a float
# tensor by a bool tensor into a bool tensor.
BOOLEAN_MASK_HINT = (
    "x > 0 is only the mask: return x's values with the negatives set to 0. "
    "If you wrote `x * (x > 0)`: on a TensorFlow tensor a float times a bool "
    "mask is a bool tensor (NumPy gives floats), so cast the mask first, "
    "`x * keras.ops.cast(x > 0, x.dtype)`, or use "
    "`keras.ops.where(x > 0, x, 0.0)`.")
RELU_HINT = ("Write it yourself: keep each value that is positive and put 0 "
             "everywhere else (an elementwise maximum or a mask).")


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
             BOOLEAN_MASK_HINT)
    if not np.issubdtype(result.dtype, np.number):
        fail(f"{call} returned an array of dtype {result.dtype}",
             "a numeric array", "Return numbers, not objects or strings.")
    return result


def relu_mistake_hint(x, result, expected):
    """A hint naming the usual mistake that produces `result` from `x`."""
    x = np.asarray(x, dtype=np.float64)
    result = np.asarray(result, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if result.shape == x.shape:
        if np.array_equal(result, x):
            return "You returned the input unchanged: negatives must become 0."
        if np.array_equal(result, np.abs(x)):
            return ("You returned the absolute value: negatives must become "
                    "0, not their positive counterpart.")
        if np.any(x > 6) and np.array_equal(result, np.where(x > 6, 6.0, expected)):
            return "ReLU has no upper cap: positive values pass unchanged."
        negative = x < 0
        if (negative.any() and np.all(result[negative] != 0)
                and np.allclose(result[~negative], x[~negative])):
            return ("Negative values are scaled instead of zeroed (that is a "
                    "leaky ReLU); plain ReLU sets them to exactly 0.")
    return "ReLU keeps positive values unchanged and sets negative values to 0."


def expect_relu(relu, x, expected, call):
    """Call `relu` on a copy of `x` and require the exact values `expected`.

    `expected` is Keras' ReLU of `x` (or a worked example's answer).
    """
    result = relu_result(call_student(relu, x.copy(), call=call), call)
    expected = np.asarray(expected)
    if result.dtype == np.float32 and x.dtype == np.float64:
        # Computing in float32 (Keras' default float type) is accepted: the
        # values must then equal the exact ReLU rounded to float32.
        expected = expected.astype(np.float32)
    expect_shape(result, x.shape, call,
                 "ReLU works elementwise: the output has the input's shape.")
    if not np.array_equal(result.astype(np.float64), expected.astype(np.float64)):
        fail(f"{call} returned {short(result)}", short(expected),
             relu_mistake_hint(x, result, expected))
    return result


@forbids_library_routines(RELU_LIBRARY_ROUTINES, "relu", hint=RELU_HINT)
def check_relu_basic(relu):
    """relu on a short vector: positives kept, negatives and zero give 0.

    Example:

    >>> import numpy as np
    >>> try:
    ...     check_relu_basic(np.abs)
    ... except CheckFailure as failure:
    ...     print(failure.hint)  # doctest: +ELLIPSIS
    You returned the absolute value: ...
    """
    x = np.array([-3.0, -0.5, 0.0, 0.5, 2.0, 8.0])
    expect_relu(relu, x, np.array([0.0, 0.0, 0.0, 0.5, 2.0, 8.0]),
                "relu([-3., -0.5, 0., 0.5, 2., 8.])")


@forbids_library_routines(RELU_LIBRARY_ROUTINES, "relu", hint=RELU_HINT)
def check_relu_keeps_shape(relu):
    """relu on a 2-D array keeps the shape and leaves the input untouched.

    Example:

    >>> try:
    ...     check_relu_keeps_shape(lambda x: x.ravel())
    ... except CheckFailure as failure:
    ...     print(failure.found)
    relu(x) for a 3x4 x returned shape (12,)
    """
    x = np.array([[-1.0, 2.0, -3.0, 4.0],
                  [5.0, -6.0, 7.0, -8.0],
                  [0.25, -0.25, 0.0, 9.5]])
    expect_relu(relu, x, np.array([[0.0, 2.0, 0.0, 4.0],
                                   [5.0, 0.0, 7.0, 0.0],
                                   [0.25, 0.0, 0.0, 9.5]]), "relu(x) for a 3x4 x")
    original = x.copy()
    call_student(relu, x, call="relu(x)")
    if not np.array_equal(x, original):
        fail(f"after relu(x) the input x became {short(x)}",
             f"x unchanged ({short(original)})",
             "Build a new array (or work on x.copy()) instead of writing "
             "into x.")


@forbids_library_routines(RELU_LIBRARY_ROUTINES, "relu", hint=RELU_HINT)
def check_relu_symbolic(relu):
    """relu works inside a Keras model and passes gradients (project 1).

    The function is used as the activation of a Keras layer, where it receives
    symbolic tensors, so it must be written with `keras.ops`. Its gradient
    must be 1 for positive inputs and 0 for negative ones.

    Example:

    >>> import numpy as np
    >>> try:
    ...     check_relu_symbolic(np.abs)
    ... except CheckFailure as failure:
    ...     print(failure.found)
    relu(tensor) returned ndarray
    """
    import keras
    import tensorflow as tf

    hint = ("Write relu with keras.ops functions (keras.ops.maximum or "
            "keras.ops.where, for example); NumPy functions cannot work on "
            "the symbolic tensors inside a model.")
    x = np.array([[-2.0, -0.5, 0.5, 3.0], [1.5, -1.0, 4.0, -7.0]],
                 dtype=np.float32)

    tensor = tf.constant(x)
    # A boolean tensor (the mask) has no gradient: name it before the tape.
    relu_result(call_student(relu, tensor, call="relu(tensor)"), "relu(tensor)")
    _, gradient = student_gradient(relu, tensor, lambda: (tensor,), "relu(tensor)", hint,
                                   "relu", expected="1 for positive inputs and 0 for "
                                   "negative ones")
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
    expected = np.array([[0.0, 0.0, 0.5, 3.0], [1.5, 0.0, 4.0, 0.0]],
                        dtype=np.float32)
    if predicted.shape != x.shape or not np.allclose(predicted, expected):
        fail(f"inside a model relu(x) gave {short(predicted)}", short(expected),
             hint)
