"""Visible checks for the max-pooling exercise and the pooling step of project 1.

The student writes `max_pool2d(x, pool_size=2, strides=None)`: `x` is a batch
of channels-last images `(batch, height, width, channels)`; every
`pool_size` x `pool_size` window, moved `strides` pixels at a time (default
`pool_size`), is replaced by its largest value, separately for each image and
channel. Windows that would stick out of the image are dropped ("valid"
padding), exactly like `keras.layers.MaxPooling2D`.
"""

import numpy as np

from course_lib.checks.core import (CheckFailure, call_student, fail, short, student_gradient,
                                    to_numpy)
from course_lib.checks.library_calls import forbids_library_routines, report_model_crash

LECTURE_TABLE = np.array([[12, 20, 30, 0],
                          [8, 12, 2, 0],
                          [34, 70, 37, 4],
                          [112, 100, 25, 12]], dtype=np.float32)
LECTURE_POOLED = np.array([[20, 30], [112, 37]], dtype=np.float32)
MAX_POOL_LIBRARY_ROUTINES = frozenset({
    "max_pool", "max_pool1d", "max_pool2d", "max_pool3d", "max_pool_v2",
    "max_pool_with_argmax", "pool", "MaxPooling1D", "MaxPooling2D",
    "MaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "MaxPool",
    "GlobalMaxPooling2D", "GlobalMaxPool2D", "block_reduce", "reduce_window",
})
MAX_POOL_HINT = ("Write the pooling yourself: take each window "
                 "x[:, i:i + pool_size, j:j + pool_size, :] and its maximum "
                 "over axes 1 and 2 (np.max / keras.ops.max), or the "
                 "elementwise maximum of pool_size * pool_size strided slices.")


# What NumPy and TensorFlow say when two arrays of different shapes meet,
# e.g. strided slices that were not cut to the output size.
SHAPE_MISMATCH_ERRORS = ("could not be broadcast", "Incompatible shapes",
                         "Dimensions must be equal")
SLICE_SIZE_HINT = (
    "Your windows' slices have different sizes: x[:, i::strides] starts at "
    "row i, so when a row or column is left over the slices differ by one. "
    "Cut every slice to the output size, rows = (height - pool_size) // "
    "strides + 1: x[:, i:i + (rows - 1) * strides + 1:strides, ...], and the "
    "same for the columns.")


def call_max_pool(max_pool2d, *arguments, call):
    """`call_student` for max_pool2d, naming the slice-size mistake.

    A crash because two arrays of different shapes were combined gets
    `SLICE_SIZE_HINT`, the usual cause; any other crash keeps its message.

    Example:

    >>> def max_pool2d(x, pool_size=2, strides=None):
    ...     return np.maximum(x[:, 0::2, 0::2], x[:, 1::2, 1::2])
    >>> try:
    ...     call_max_pool(max_pool2d, np.zeros((1, 5, 5, 1)), call="max_pool2d(x)")
    ... except CheckFailure as failure:
    ...     print(failure.hint)  # doctest: +ELLIPSIS
    Your windows' slices have different sizes: ...
    """
    try:
        return call_student(max_pool2d, *arguments, call=call)
    except CheckFailure as failure:
        if " raised " in failure.found and any(
                text in failure.found for text in SHAPE_MISMATCH_ERRORS):
            fail(failure.found, failure.expected, SLICE_SIZE_HINT)
        raise


def keras_max_pool2d(x, pool_size=2, strides=None):
    """What `keras.layers.MaxPooling2D` (valid padding) makes of `x`, as NumPy.

    The layer computes in the dtype of `x`, so no value is rounded.

    Example:

    >>> keras_max_pool2d(LECTURE_TABLE[None, :, :, None])[0, :, :, 0]
    array([[ 20.,  30.],
           [112.,  37.]], dtype=float32)
    """
    import keras

    x = np.asarray(x)
    dtype = x.dtype.name if np.issubdtype(x.dtype, np.floating) else "float32"
    layer = keras.layers.MaxPooling2D(pool_size=pool_size, strides=strides,
                                      padding="valid", dtype=dtype)
    return np.asarray(keras.ops.convert_to_numpy(layer(x.astype(dtype))))


def _output_size(size, pool_size, strides):
    return (size - pool_size) // strides + 1


def _mistake_hint(x, pool_size, strides, result):
    """Name the usual mistake that turns `x` into `result`."""
    strides = strides or pool_size
    batch, height, width, channels = np.shape(x)
    expected_shape = (batch, _output_size(height, pool_size, strides),
                      _output_size(width, pool_size, strides), channels)
    shape = tuple(result.shape)
    if shape == expected_shape:
        reference = keras_max_pool2d(x, pool_size, strides)
        if np.allclose(result, -keras_max_pool2d(-x, pool_size, strides)):
            return "You took the minimum; max pooling keeps the largest value."
        transposed = np.swapaxes(reference, 1, 2)
        if transposed.shape == shape and np.allclose(result, transposed):
            return ("Height and width are swapped in your output; keep the "
                    "axis order (batch, height, width, channels).")
        negative = reference < 0
        if (negative.any() and np.allclose(result[negative], 0.0)
                and np.allclose(result[~negative], reference[~negative])):
            return ("Negative windows came out as 0: start the running "
                    "maximum at -inf or at the first value, not at 0.")
        if np.all(result <= reference + 1e-6):
            return ("Some values are below their window's maximum: do you "
                    "average, or miss part of each window?")
        if np.all(result >= reference - 1e-6):
            return ("Some values are above their window's maximum: take the "
                    "maximum over the window's height and width only (axes 1 "
                    "and 2), not over channels or the batch, and check the "
                    "window size.")
        return ("Pool each image and channel separately: window (i, j) covers "
                "rows i * strides to i * strides + pool_size - 1 and the "
                "matching columns.")
    if shape == (1,) + expected_shape[1:] and batch > 1:
        return "Only one image came back: pool every image of the batch."
    if len(shape) == 4 and shape[0] == batch and shape[3] != channels:
        return ("The channel axis changed size: pool over height and width "
                "(axes 1 and 2) and keep every channel (channels last, not "
                "channels first).")
    if shape == (batch, expected_shape[2], expected_shape[1], channels):
        return ("Height and width are swapped in your output; keep the axis "
                "order (batch, height, width, channels).")
    same_shape = (batch, -(-height // strides), -(-width // strides), channels)
    if shape == same_shape:
        return ("Windows that stick out of the image must be dropped "
                "(valid padding): the output size is "
                "(size - pool_size) // strides + 1, not a rounded-up size.")
    ignored_strides = (batch, _output_size(height, pool_size, pool_size),
                       _output_size(width, pool_size, pool_size), channels)
    if strides != pool_size and shape == ignored_strides:
        return ("The windows moved pool_size pixels at a time: when `strides` "
                "is given, move them by `strides` instead.")
    stride_one = (batch, _output_size(height, pool_size, 1),
                  _output_size(width, pool_size, 1), channels)
    if shape == stride_one:
        return ("The windows moved one pixel at a time: move them by "
                "`strides`, which defaults to pool_size.")
    return ("The output shape is (batch, (height - pool_size) // strides + 1, "
            "(width - pool_size) // strides + 1, channels).")


def expect_max_pool(max_pool2d, x, pool_size=None, strides=None, call=""):
    """Call the student's max_pool2d on a copy of `x` and compare."""
    arguments = []
    if pool_size is not None:
        arguments.append(pool_size)
        if strides is not None:
            arguments.append(strides)
    described = ", ".join(["x"] + [str(argument) for argument in arguments])
    call = call or f"max_pool2d({described}) for x of shape {x.shape}"
    expected = keras_max_pool2d(x, pool_size or 2, strides)
    result = to_numpy(call_max_pool(max_pool2d, x.copy(), *arguments, call=call))
    if tuple(result.shape) != expected.shape:
        fail(f"{call} returned shape {tuple(result.shape)}",
             f"shape {expected.shape}",
             _mistake_hint(x, pool_size or 2, strides, result))
    if not np.allclose(result.astype(np.float64), expected.astype(np.float64),
                       rtol=1e-6, atol=1e-6):
        hint = _mistake_hint(x, pool_size or 2, strides, result)
        if result.size <= 8:
            fail(f"{call} returned {short(result)}", short(expected), hint)
        wrong = ~np.isclose(result.astype(np.float64), expected.astype(np.float64),
                            rtol=1e-6, atol=1e-6)
        image, _, _, channel = np.argwhere(wrong)[0]
        fail(f"{call} returned, for image {image} and channel {channel}, "
             f"{short(result[image, :, :, channel])}",
             f"{short(expected[image, :, :, channel])} (the input there was "
             f"{short(x[image, :, :, channel])})", hint)
    return result


@forbids_library_routines(MAX_POOL_LIBRARY_ROUTINES, "max_pool2d", hint=MAX_POOL_HINT)
def check_max_pool2d_lecture_table(max_pool2d):
    """The lecture's 4x4 table pools (2x2, stride 2) to [[20, 30], [112, 37]].

    Example:

    >>> def max_pool2d(x, pool_size=2, strides=None):
    ...     return x[:, ::2, ::2, :]  # the top-left pixel of each window only
    >>> try:
    ...     check_max_pool2d_lecture_table(max_pool2d)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +ELLIPSIS
    max_pool2d(... returned [[[[12.], [30.]], [[34.], [37.]]]]
    """
    x = LECTURE_TABLE[None, :, :, None]
    result = expect_max_pool(
        max_pool2d, x, 2,
        call="max_pool2d(table, 2) for the lecture's table as shape (1, 4, 4, 1)")
    if not np.array_equal(result[0, :, :, 0], LECTURE_POOLED):
        fail(f"the pooled table is {short(result[0, :, :, 0])}",
             short(LECTURE_POOLED), "Each 2x2 block keeps its largest value.")


@forbids_library_routines(MAX_POOL_LIBRARY_ROUTINES, "max_pool2d", hint=MAX_POOL_HINT)
def check_max_pool2d_batch_and_channels(max_pool2d):
    """Each image and each channel is pooled on its own; default arguments.

    Example:

    >>> def max_pool2d(x, pool_size=2, strides=None):
    ...     return x[:, ::2, ::2, :]  # the top-left pixel of each window only
    >>> try:
    ...     check_max_pool2d_batch_and_channels(max_pool2d)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +ELLIPSIS
    max_pool2d(... returned, for image 0 and channel 0, [[ 22., 47., 12.], [ 8., -10., 2.]]
    """
    generator = np.random.default_rng(4)
    x = generator.integers(-50, 50, size=(2, 4, 6, 3)).astype(np.float32)
    expect_max_pool(max_pool2d, x,
                    call="max_pool2d(x) with default arguments for a batch "
                         "of 2 images of 4x6 pixels and 3 channels")


@forbids_library_routines(MAX_POOL_LIBRARY_ROUTINES, "max_pool2d", hint=MAX_POOL_HINT)
def check_max_pool2d_sizes_and_strides(max_pool2d):
    """An odd image size (valid padding) and explicit strides, overlapping too.

    Example:

    >>> def max_pool2d(x, pool_size=2, strides=None):
    ...     return x[:, ::2, ::2, :]  # the top-left pixel of each window only
    >>> try:
    ...     check_max_pool2d_sizes_and_strides(max_pool2d)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +ELLIPSIS
    max_pool2d(... returned shape (1, 3, 3, 1)
    """
    generator = np.random.default_rng(6)
    five = generator.permutation(25).reshape(1, 5, 5, 1).astype(np.float32)
    expect_max_pool(max_pool2d, five, 2,
                    call="max_pool2d(x, 2) for a 5x5 image (the last row and "
                         "column do not fill a window)")
    expect_max_pool(max_pool2d, five, 3, 2,
                    call="max_pool2d(x, 3, 2) for a 5x5 image (3x3 windows "
                         "that overlap by one pixel)")
    wide = generator.permutation(24).reshape(1, 3, 4, 2).astype(np.float32)
    expect_max_pool(max_pool2d, wide, 2, 1,
                    call="max_pool2d(x, 2, 1) for a 3x4 image with 2 channels")


@forbids_library_routines(MAX_POOL_LIBRARY_ROUTINES, "max_pool2d", hint=MAX_POOL_HINT)
def check_max_pool2d_symbolic(max_pool2d):
    """max_pool2d works inside a Keras model and passes gradients (project 1).

    In project 1 `lambda x: max_pool2d(x, 2)` runs inside a `Lambda` layer,
    on symbolic tensors whose batch size is unknown (None), so it must be
    written with `keras.ops`. The gradient of the pooled sum reaches exactly
    one input per window (the maximum).

    Example:

    >>> import numpy as np
    >>> def max_pool2d(x, pool_size=2, strides=None):
    ...     return np.asarray(x)[:, ::pool_size, ::pool_size, :]
    >>> try:
    ...     check_max_pool2d_symbolic(max_pool2d)
    ... except CheckFailure as failure:
    ...     print(failure.found)
    max_pool2d(tensor, 2) returned ndarray
    """
    import keras
    import tensorflow as tf

    hint = ("Write max_pool2d with keras.ops (keras.ops.max, keras.ops.maximum, "
            "keras.ops.reshape with -1 for the batch axis, keras.ops.stack); "
            "inside a model the batch size is None and NumPy cannot run.")
    generator = np.random.default_rng(11)
    x = generator.normal(size=(3, 6, 6, 2)).astype(np.float32)
    expected = keras_max_pool2d(x, 2)
    tensor = tf.constant(x)
    _, gradient = student_gradient(max_pool2d, tensor, lambda: (tensor, 2),
                                   "max_pool2d(tensor, 2)", hint, "max_pool2d",
                                   expected="1 at each window's maximum, 0 elsewhere")
    if not (np.isclose(gradient.sum(), expected.size)
            and np.allclose(np.sort(np.unique(gradient)), [0.0, 1.0])):
        fail(f"the gradient of sum(max_pool2d(x, 2)) adds up to {gradient.sum():.3g}",
             f"{expected.size} (1 for the maximum of every window, 0 elsewhere)",
             "Take the maximum of the input values themselves so the "
             "gradient reaches them.")
    try:
        inputs = keras.Input(shape=(6, 6, 2))
        outputs = keras.layers.Lambda(lambda tensor: max_pool2d(tensor, 2))(inputs)
        predicted = keras.Model(inputs, outputs).predict(x, verbose=0)
    except Exception as error:  # noqa: BLE001 - report the student's crash
        report_model_crash(error, "max_pool2d", hint)
    if predicted.shape != expected.shape or not np.allclose(predicted, expected):
        fail(f"inside a model max_pool2d(x, 2) gave shape {predicted.shape}, "
             f"values {short(predicted)}",
             f"shape {expected.shape}, values {short(expected)}", hint)
