"""Hidden checks for `max_pool2d(x, pool_size=2, strides=None)`.

Every case is compared with `keras.layers.MaxPooling2D(pool_size, strides,
padding="valid")`: batches, several channels, non-square and odd sizes,
negative values, pool sizes 2 and 3, explicit strides, and use inside a
model (there with `reference_max_pool2d`, a NumPy version that
tests/checks/test_max_pool.py compares with Keras).
"""

import numpy as np

from course_lib.checks.core import call_student, fail, input_generator, short
from course_lib.checks.max_pool import (LECTURE_TABLE, MAX_POOL_HINT,
                                        MAX_POOL_LIBRARY_ROUTINES, call_max_pool,
                                        expect_max_pool)
from course_lib.checks.library_calls import forbids_library_routines, report_model_crash


def reference_max_pool2d(x, pool_size=2, strides=None):
    """Channels-last max pooling with valid padding, in plain NumPy loops.

    Example:

    >>> reference_max_pool2d(LECTURE_TABLE[None, :, :, None])[0, :, :, 0]
    array([[ 20.,  30.],
           [112.,  37.]], dtype=float32)
    """
    strides = pool_size if strides is None else strides
    x = np.asarray(x)
    batch, height, width, channels = x.shape
    out_height = (height - pool_size) // strides + 1
    out_width = (width - pool_size) // strides + 1
    pooled = np.empty((batch, out_height, out_width, channels), dtype=x.dtype)
    for row in range(out_height):
        for column in range(out_width):
            top, left = row * strides, column * strides
            window = x[:, top:top + pool_size, left:left + pool_size, :]
            pooled[:, row, column, :] = window.max(axis=(1, 2))
    return pooled


@forbids_library_routines(MAX_POOL_LIBRARY_ROUTINES, "max_pool2d", hint=MAX_POOL_HINT)
def _run_cases(max_pool2d, cases):
    """Compare the student's pooling with Keras on (x, pool_size, strides) cases."""
    for x, pool_size, strides in cases:
        expect_max_pool(max_pool2d, x, pool_size, strides)


def _images(shape, seed, low=-9.0, high=9.0):
    """Random float32 images with distinct values (no ties in any window).

    Drawn afresh in every grading run (`input_generator`).
    """
    generator = input_generator(seed)
    return generator.uniform(low, high, size=shape).astype(np.float32)


def check_max_pool2d_batches_and_channels(max_pool2d):
    """Several images and channels, each pooled separately (2x2, stride 2).

    Example:

    >>> check_max_pool2d_batches_and_channels(reference_max_pool2d)
    """
    _run_cases(max_pool2d, [
        (_images((3, 6, 6, 4), 1), None, None),
        (_images((5, 4, 4, 2), 2), 2, None),
        (_images((2, 8, 4, 3), 3), 2, None),
    ])


def check_max_pool2d_valid_padding(max_pool2d):
    """Odd and non-square sizes: windows sticking out are dropped.

    Example:

    >>> check_max_pool2d_valid_padding(reference_max_pool2d)
    """
    _run_cases(max_pool2d, [
        (_images((2, 7, 5, 3), 4), 2, None),
        (_images((1, 5, 5, 1), 5), 2, None),
        (_images((2, 9, 4, 2), 6), 3, None),
        (_images((1, 3, 3, 2), 7), 2, None),
        (_images((1, 2, 9, 1), 8), 2, None),
    ])


def check_max_pool2d_pool_size_and_strides(max_pool2d):
    """Pool sizes 2, 3 and 4 with default and explicit strides (overlapping too).

    Example:

    >>> check_max_pool2d_pool_size_and_strides(reference_max_pool2d)
    """
    _run_cases(max_pool2d, [
        (_images((2, 9, 9, 3), 9), 3, None),
        (_images((2, 8, 8, 3), 10), 3, 2),
        (_images((1, 5, 6, 2), 11), 2, 1),
        (_images((1, 7, 6, 2), 12), 2, 3),
        (_images((2, 10, 7, 1), 13), 4, 2),
        (_images((2, 6, 6, 2), 14), 2, 2),
    ])


def check_max_pool2d_negative_values(max_pool2d):
    """All-negative and large-magnitude inputs keep their true maxima.

    Example:

    >>> check_max_pool2d_negative_values(reference_max_pool2d)
    """
    _run_cases(max_pool2d, [
        (_images((2, 6, 6, 2), 15, low=-100.0, high=-1.0), 2, None),
        (_images((1, 5, 7, 3), 16, low=-1e6, high=-1e3), 3, 2),
        (_images((2, 4, 4, 1), 17, low=-1e-3, high=1e-3), 2, None),
    ])


@forbids_library_routines(MAX_POOL_LIBRARY_ROUTINES, "max_pool2d", hint=MAX_POOL_HINT)
def check_max_pool2d_in_keras_model(max_pool2d):
    """max_pool2d inside Keras models: odd sizes, pool 3 with stride 2.

    Example:

    >>> import keras
    >>> def max_pool2d(x, pool_size=2, strides=None):
    ...     strides = pool_size if strides is None else strides
    ...     rows = (x.shape[1] - pool_size) // strides + 1
    ...     columns = (x.shape[2] - pool_size) // strides + 1
    ...     pooled = None
    ...     for i in range(pool_size):
    ...         for j in range(pool_size):
    ...             part = x[:, i:i + (rows - 1) * strides + 1:strides,
    ...                      j:j + (columns - 1) * strides + 1:strides, :]
    ...             pooled = part if pooled is None else keras.ops.maximum(pooled, part)
    ...     return pooled
    >>> check_max_pool2d_in_keras_model(max_pool2d)
    """
    import keras

    hint = ("Write max_pool2d with keras.ops and use only the height, width "
            "and channel sizes of x.shape (the batch size is None inside a "
            "model; pass -1 to keras.ops.reshape for it).")
    import tensorflow as tf

    call_student(max_pool2d, tf.zeros((1, 4, 4, 1)), 2, call="max_pool2d(tensor, 2)")
    # An odd size first, outside a model: Keras hides a crash in shape
    # inference behind "could not infer the shape of the Lambda's output".
    call_max_pool(max_pool2d, tf.zeros((1, 5, 5, 1)), 2,
                  call="max_pool2d(tensor, 2) for a 5x5 image")
    for shape, arguments in [((7, 5, 3), (2,)), ((8, 8, 2), (3, 2)),
                             ((6, 4, 1), (2, 1))]:
        x = _images((4,) + shape, sum(shape))
        expected = reference_max_pool2d(x, *arguments)
        try:
            inputs = keras.Input(shape=shape)
            outputs = keras.layers.Lambda(
                lambda tensor, arguments=arguments: max_pool2d(tensor, *arguments)
            )(inputs)
            predicted = keras.Model(inputs, outputs).predict(x, verbose=0)
        except Exception as error:  # noqa: BLE001 - report the student's crash
            report_model_crash(error, "max_pool2d", hint)
        call = (f"inside a model max_pool2d(x, {', '.join(map(str, arguments))}) "
                f"for images of shape {shape}")
        if predicted.shape != expected.shape:
            fail(f"{call} gave shape {predicted.shape}", f"{expected.shape}", hint)
        if not np.allclose(predicted, expected):
            fail(f"{call} gave {short(predicted)}", short(expected), hint)
