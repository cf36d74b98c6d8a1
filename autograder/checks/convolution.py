"""Hidden checks for the convolution exercise: `conv2d` against Keras' Conv2D
on inputs the student has not seen (drawn afresh per grading run), odd
sizes, rectangular kernels, strides 2 and 3, and an input left unchanged."""

import numpy as np

from course_lib.checks.convolution import (CONV_HINT, CONV_LIBRARY_ROUTINES,
                                           expect_conv2d)
from course_lib.checks.core import call_student, fail, input_generator
from course_lib.checks.library_calls import forbids_library_routines


def reference_conv2d(x, kernel, bias, strides=1):
    """The sliding window written out in NumPy (the hidden tests' own answer).

    Example:

    >>> from course_lib.checks.convolution import HAND_IMAGE, HAND_KERNEL, HAND_RESULT
    >>> result = reference_conv2d(HAND_IMAGE[None, :, :, None],
    ...                           HAND_KERNEL[:, :, None, None], np.zeros(1))
    >>> bool(np.array_equal(result[0, :, :, 0], HAND_RESULT))
    True
    """
    kernel_height, kernel_width = kernel.shape[:2]
    rows = (x.shape[1] - kernel_height) // strides + 1
    columns = (x.shape[2] - kernel_width) // strides + 1
    out = np.empty((x.shape[0], rows, columns, kernel.shape[3]), dtype=np.float64)
    for i in range(rows):
        for j in range(columns):
            window = x[:, i * strides:i * strides + kernel_height,
                       j * strides:j * strides + kernel_width, :]
            out[:, i, j, :] = np.tensordot(window, kernel, axes=3) + bias
    return out


@forbids_library_routines(CONV_LIBRARY_ROUTINES, "conv2d", hint=CONV_HINT)
def check_conv2d_other_shapes(conv2d):
    """Rectangular kernels, one and several channels, strides 1 to 3."""
    generator = input_generator(11)
    for shape, kernel_shape, strides in [((1, 5, 5, 1), (3, 3, 1, 1), None),
                                         ((3, 9, 8, 2), (2, 3, 2, 5), 3),
                                         ((2, 6, 11, 4), (4, 1, 4, 2), 2)]:
        x = generator.normal(size=shape).astype(np.float32)
        kernel = generator.normal(size=kernel_shape).astype(np.float32)
        bias = generator.normal(size=kernel_shape[3]).astype(np.float32)
        expect_conv2d(conv2d, x, kernel, bias, strides)


@forbids_library_routines(CONV_LIBRARY_ROUTINES, "conv2d", hint=CONV_HINT)
def check_conv2d_input_unchanged(conv2d):
    """conv2d leaves its image, kernel and bias as they were."""
    generator = input_generator(12)
    x = generator.normal(size=(2, 6, 6, 2)).astype(np.float32)
    kernel = generator.normal(size=(3, 3, 2, 3)).astype(np.float32)
    bias = generator.normal(size=3).astype(np.float32)
    copies = [x.copy(), kernel.copy(), bias.copy()]
    call_student(conv2d, x, kernel, bias, call="conv2d(x, kernel, bias)")
    for name, before, after in zip(("x", "kernel", "bias"), copies, (x, kernel, bias)):
        if not np.array_equal(before, after):
            fail(f"conv2d(x, kernel, bias) changed its argument {name}",
                 f"{name} left as it was",
                 "Compute into a new array instead of writing into the arguments.")
