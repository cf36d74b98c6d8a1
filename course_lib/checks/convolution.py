"""Visible checks for the convolution exercise.

The student writes `conv2d(x, kernel, bias, strides=1)`: `x` is a batch of
channels-last images `(batch, height, width, in_channels)`, `kernel` has
Keras' layout `(kernel_height, kernel_width, in_channels, out_channels)` and
`bias` is `(out_channels,)`. Every position where the kernel fits inside the
image ("valid" padding), moved `strides` pixels at a time, gives one output
value per output channel: the sum of the window times the kernel, over the
window's rows, columns and input channels, plus the bias. That is exactly
what `keras.layers.Conv2D(out_channels, (kernel_height, kernel_width),
strides=strides)` computes with the same weights; like every deep-learning
library it does not flip the kernel (mathematicians call this a
cross-correlation).
"""

import numpy as np

from course_lib.checks.core import call_student, fail, short, to_numpy
from course_lib.checks.library_calls import forbids_library_routines

CONV_LIBRARY_ROUTINES = frozenset({
    "conv", "conv1d", "conv2d", "conv3d", "Conv1D", "Conv2D", "Conv3D", "convolution",
    "depthwise_conv", "separable_conv", "conv_transpose", "convolve", "convolve2d",
    "correlate", "correlate2d", "fftconvolve", "oaconvolve", "filter2D",
})
CONV_HINT = ("Write the sliding window yourself: for every output position "
             "(i, j) take the window x[:, i * strides:i * strides + "
             "kernel_height, j * strides:j * strides + kernel_width, :] and "
             "sum it times the kernel over rows, columns and input channels "
             "(np.tensordot or np.einsum), then add the bias.")

# The worked example of the exercise: one 4x4 image, one 2x2 kernel. Each
# output is the top-left pixel of its window minus the bottom-right one.
HAND_IMAGE = np.array([[1, 2, 0, 1],
                       [0, 1, 3, 1],
                       [2, 1, 0, 0],
                       [1, 0, 1, 2]], dtype=np.float32)
HAND_KERNEL = np.array([[1, 0],
                        [0, -1]], dtype=np.float32)
HAND_RESULT = np.array([[0, -1, -1],
                        [-1, 1, 3],
                        [2, 0, -2]], dtype=np.float32)


def keras_conv2d(x, kernel, bias, strides=1):
    """What `keras.layers.Conv2D` ("valid" padding) makes of `x`, as NumPy.

    Example:

    >>> keras_conv2d(HAND_IMAGE[None, :, :, None], HAND_KERNEL[:, :, None, None],
    ...              np.zeros(1))[0, :, :, 0]
    array([[ 0., -1., -1.],
           [-1.,  1.,  3.],
           [ 2.,  0., -2.]], dtype=float32)
    """
    import keras

    kernel = np.asarray(kernel, dtype=np.float32)
    layer = keras.layers.Conv2D(kernel.shape[3], kernel.shape[:2], strides=strides,
                                padding="valid")
    layer.build((None,) + tuple(np.shape(x))[1:])
    layer.set_weights([kernel, np.asarray(bias, dtype=np.float32)])
    return np.asarray(keras.ops.convert_to_numpy(layer(np.asarray(x, np.float32))))


def _output_size(size, kernel_size, strides):
    return (size - kernel_size) // strides + 1


def _mistake_hint(x, kernel, bias, strides, result):
    """Name the usual mistake that turns `x` into `result`."""
    batch, height, width, _ = x.shape
    kernel_height, kernel_width, _, out_channels = kernel.shape
    expected_shape = (batch, _output_size(height, kernel_height, strides),
                      _output_size(width, kernel_width, strides), out_channels)
    if tuple(result.shape) != expected_shape:
        if tuple(result.shape) == (batch, -(-height // strides), -(-width // strides),
                                   out_channels):
            return ("Only positions where the whole kernel fits count (valid "
                    "padding): the output has (size - kernel_size) // strides "
                    "+ 1 rows and columns, no padding.")
        if tuple(result.shape) == (batch, _output_size(height, kernel_height, 1),
                                   _output_size(width, kernel_width, 1), out_channels):
            return "The windows moved one pixel at a time: move them by `strides`."
        if len(result.shape) == 4 and result.shape[3] != out_channels:
            return ("The last axis must have one entry per output channel, "
                    "kernel.shape[3]: sum over the input channels, keep the "
                    "output channels.")
        return ("The output shape is (batch, (height - kernel_height) // strides "
                "+ 1, (width - kernel_width) // strides + 1, out_channels).")
    flipped = keras_conv2d(x, kernel[::-1, ::-1], bias, strides)
    if np.allclose(result, flipped, atol=1e-4):
        return ("You flipped the kernel (the textbook convolution). Conv2D "
                "does not flip it: multiply x[i + a, j + b] by kernel[a, b].")
    unbiased = keras_conv2d(x, kernel, np.zeros_like(bias), strides)
    if np.any(bias != 0) and np.allclose(result, unbiased, atol=1e-4):
        return "Add the bias of each output channel to every output position."
    return ("Each output value is the sum over the window's rows, columns and "
            "input channels of x times kernel, plus the bias of its channel.")


def expect_conv2d(conv2d, x, kernel, bias, strides=None, call=""):
    """Call the student's conv2d on copies and compare with Keras' Conv2D."""
    arguments = [x.copy(), kernel.copy(), bias.copy()]
    if strides is not None:
        arguments.append(strides)
    call = call or (f"conv2d(x, kernel, bias{'' if strides is None else f', {strides}'}) "
                    f"for x of shape {x.shape} and kernel of shape {kernel.shape}")
    expected = keras_conv2d(x, kernel, bias, strides or 1)
    result = to_numpy(call_student(conv2d, *arguments, call=call))
    if tuple(result.shape) != expected.shape:
        fail(f"{call} returned shape {tuple(result.shape)}", f"shape {expected.shape}",
             _mistake_hint(x, kernel, bias, strides or 1, result))
    if not np.allclose(result.astype(np.float64), expected, rtol=1e-4, atol=1e-4):
        hint = _mistake_hint(x, kernel, bias, strides or 1, result)
        if expected.size <= 9:
            fail(f"{call} returned {short(result)}", short(expected), hint)
        wrong = ~np.isclose(result.astype(np.float64), expected, rtol=1e-4, atol=1e-4)
        image, _, _, channel = np.argwhere(wrong)[0]
        fail(f"{call} returned, for image {image} and output channel {channel}, "
             f"{short(result[image, :, :, channel])}",
             short(expected[image, :, :, channel]), hint)
    return result


@forbids_library_routines(CONV_LIBRARY_ROUTINES, "conv2d", hint=CONV_HINT)
def check_conv2d_hand_example(conv2d):
    """The exercise's worked example: a 4x4 image, the 2x2 kernel [[1, 0], [0, -1]].

    Example:

    >>> from course_lib.checks.core import CheckFailure
    >>> def conv2d(x, kernel, bias, strides=1):  # the textbook convolution, kernel flipped
    ...     flipped = kernel[::-1, ::-1, :, 0]
    ...     return np.array([[[[np.sum(x[0, i:i + 2, j:j + 2] * flipped) + bias[0]]
    ...                        for j in range(3)] for i in range(3)]])
    >>> try:
    ...     check_conv2d_hand_example(conv2d)
    ... except CheckFailure as failure:
    ...     print(failure.hint)
    You flipped the kernel (the textbook convolution). Conv2D does not flip it: multiply x[i + a, j + b] by kernel[a, b].
    """
    expect_conv2d(conv2d, HAND_IMAGE[None, :, :, None], HAND_KERNEL[:, :, None, None],
                  np.zeros(1, np.float32),
                  call="conv2d(image, [[1, 0], [0, -1]], bias=[0]) for the 4x4 "
                       "image of the worked example")


@forbids_library_routines(CONV_LIBRARY_ROUTINES, "conv2d", hint=CONV_HINT)
def check_conv2d_matches_keras(conv2d):
    """A batch of 7x6 images with 3 channels, a 3x3 kernel to 4 channels and a
    bias, with strides 1 and 2, against `keras.layers.Conv2D`.

    Example:

    >>> from course_lib.checks.core import CheckFailure
    >>> def conv2d(x, kernel, bias, strides=1):  # forgets the bias
    ...     kernel_height, kernel_width = kernel.shape[:2]
    ...     rows = (x.shape[1] - kernel_height) // strides + 1
    ...     columns = (x.shape[2] - kernel_width) // strides + 1
    ...     return np.stack([np.stack([np.tensordot(
    ...         x[:, i * strides:i * strides + kernel_height, j * strides:j * strides + kernel_width],
    ...         kernel, axes=3) for j in range(columns)], axis=1) for i in range(rows)], axis=1)
    >>> try:
    ...     check_conv2d_matches_keras(conv2d)
    ... except CheckFailure as failure:
    ...     print(failure.hint)
    Add the bias of each output channel to every output position.
    """
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 7, 6, 3)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    bias = rng.normal(size=4).astype(np.float32)
    expect_conv2d(conv2d, x, kernel, bias)
    expect_conv2d(conv2d, x, kernel, bias, strides=2)
