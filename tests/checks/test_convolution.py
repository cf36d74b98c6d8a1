"""The conv2d checks accept correct convolutions written several ways and
reject each known mistake, with a message that names it."""

import numpy as np
import pytest

from autograder.checks import convolution as hidden
from course_lib.checks import convolution as visible
from tests.checks.helpers import assert_fails, failing_checks, notebook_function

VISIBLE = [visible.check_conv2d_hand_example, visible.check_conv2d_matches_keras]
HIDDEN = [hidden.check_conv2d_other_shapes, hidden.check_conv2d_input_unchanged]
ALL_CHECKS = VISIBLE + HIDDEN


def output_size(size, kernel_size, strides):
    return (size - kernel_size) // strides + 1


# Correct answers ---------------------------------------------------------

def conv_loops(x, kernel, bias, strides=1):
    batch, height, width, in_channels = x.shape
    kernel_height, kernel_width, _, out_channels = kernel.shape
    rows = output_size(height, kernel_height, strides)
    columns = output_size(width, kernel_width, strides)
    out = np.zeros((batch, rows, columns, out_channels))
    for n in range(batch):
        for i in range(rows):
            for j in range(columns):
                for k in range(out_channels):
                    total = bias[k]
                    for a in range(kernel_height):
                        for b in range(kernel_width):
                            for c in range(in_channels):
                                total += x[n, i * strides + a, j * strides + b, c] * kernel[a, b, c, k]
                    out[n, i, j, k] = total
    return out


def conv_einsum(x, kernel, bias, strides=1):
    windows = np.lib.stride_tricks.sliding_window_view(x, kernel.shape[:2], axis=(1, 2))
    windows = windows[:, ::strides, ::strides]  # (batch, rows, columns, in, kh, kw)
    return np.einsum("nijcab,abck->nijk", windows, kernel) + bias


def conv_offsets(x, kernel, bias, strides=1):
    """One strided slice per kernel offset, each times its kernel row."""
    kernel_height, kernel_width = kernel.shape[:2]
    rows = output_size(x.shape[1], kernel_height, strides)
    columns = output_size(x.shape[2], kernel_width, strides)
    out = np.zeros((x.shape[0], rows, columns, kernel.shape[3])) + bias
    for a in range(kernel_height):
        for b in range(kernel_width):
            part = x[:, a:a + (rows - 1) * strides + 1:strides,
                     b:b + (columns - 1) * strides + 1:strides, :]
            out += part @ kernel[a, b]
    return out


def project1_conv2d():
    """Project 1's answer, written with keras.ops (it returns a tensor)."""
    import nbformat

    from autograder.grading.course import repository_root
    from autograder.grading.notebooks import answer_cells, without_region_markers

    solution = nbformat.read(str(repository_root() / "solutions" / "project1" / "project1.ipynb"),
                             as_version=4)
    source = answer_cells(solution)["project1_solution_conv2d"].source
    function = notebook_function(without_region_markers(source), "conv2d")
    function.__name__ = "conv_keras_ops"
    return function


CORRECT = [conv_loops, conv_einsum, conv_offsets, hidden.reference_conv2d, project1_conv2d()]


@pytest.mark.parametrize("conv2d", CORRECT, ids=lambda function: function.__name__)
def test_correct_convolutions_pass_every_check(conv2d):
    for check in ALL_CHECKS:
        check(conv2d)


def test_hidden_reference_matches_keras_conv2d():
    rng = np.random.default_rng(0)
    for strides in (1, 2, 3):
        x = rng.normal(size=(2, 9, 7, 3)).astype(np.float32)
        kernel = rng.normal(size=(3, 2, 3, 4)).astype(np.float32)
        bias = rng.normal(size=4).astype(np.float32)
        np.testing.assert_allclose(hidden.reference_conv2d(x, kernel, bias, strides),
                                   visible.keras_conv2d(x, kernel, bias, strides),
                                   rtol=1e-4, atol=1e-4)


def test_the_worked_example_is_what_keras_computes():
    result = visible.keras_conv2d(visible.HAND_IMAGE[None, :, :, None],
                                  visible.HAND_KERNEL[:, :, None, None], np.zeros(1))
    np.testing.assert_array_equal(result[0, :, :, 0], visible.HAND_RESULT)


def test_unfinished_stub_fails_cleanly():
    def conv2d(x, kernel, bias, strides=1):
        raise NotImplementedError()

    for check in ALL_CHECKS:
        assert_fails(check, conv2d, fragments=["raise NotImplementedError()"])


# Mistakes ----------------------------------------------------------------

def test_flipped_kernel_is_named():
    def conv2d(x, kernel, bias, strides=1):
        return conv_loops(x, kernel[::-1, ::-1], bias, strides)

    assert failing_checks(conv2d, ALL_CHECKS) == set(VISIBLE) | {hidden.check_conv2d_other_shapes}
    assert_fails(visible.check_conv2d_hand_example, conv2d, fragments=["flipped the kernel"])


def test_missing_bias_is_named():
    def conv2d(x, kernel, bias, strides=1):
        return conv_loops(x, kernel, np.zeros_like(bias), strides)

    visible.check_conv2d_hand_example(conv2d)  # its bias is 0
    assert_fails(visible.check_conv2d_matches_keras, conv2d, fragments=["Add the bias"])
    assert_fails(hidden.check_conv2d_other_shapes, conv2d, fragments=["Add the bias"])


def test_same_padding_is_named():
    def conv2d(x, kernel, bias, strides=1):
        kernel_height, kernel_width = kernel.shape[:2]
        padded = np.pad(x, ((0, 0), (0, kernel_height - 1), (0, kernel_width - 1), (0, 0)))
        return conv_loops(padded, kernel, bias, strides)

    assert_fails(visible.check_conv2d_hand_example, conv2d, fragments=["valid padding"])


def test_ignored_strides_are_named():
    def conv2d(x, kernel, bias, strides=1):
        return conv_loops(x, kernel, bias, 1)

    visible.check_conv2d_hand_example(conv2d)
    assert_fails(visible.check_conv2d_matches_keras, conv2d, fragments=["by `strides`"])
    assert_fails(hidden.check_conv2d_other_shapes, conv2d)


def test_only_the_first_output_channel_is_caught():
    def conv2d(x, kernel, bias, strides=1):
        return conv_loops(x, kernel[..., :1], bias[:1], strides)

    visible.check_conv2d_hand_example(conv2d)  # one output channel there
    assert_fails(visible.check_conv2d_matches_keras, conv2d, fragments=["output channel"])


def test_only_square_kernels_are_caught_by_the_hidden_check():
    def conv2d(x, kernel, bias, strides=1):
        size = kernel.shape[0]
        return conv_loops(x, kernel[:size, :size], bias, strides)

    for check in VISIBLE:
        check(conv2d)
    assert_fails(hidden.check_conv2d_other_shapes, conv2d)


def test_changing_the_input_is_caught():
    def conv2d(x, kernel, bias, strides=1):
        result = conv_loops(x, kernel, bias, strides)
        x *= 0
        return result

    assert failing_checks(conv2d, ALL_CHECKS) == {hidden.check_conv2d_input_unchanged}


LIBRARY_CALLS = {
    "scipy.signal.correlate": (
        "import scipy.signal\n"
        "def conv2d(x, kernel, bias, strides=1):\n"
        "    return scipy.signal.correlate(x, kernel, mode='valid')\n"),
    "keras layer": (
        "def conv2d(x, kernel, bias, strides=1):\n"
        "    layer = keras.layers.Conv2D(kernel.shape[3], kernel.shape[:2], strides=strides)\n"
        "    layer.build(x.shape)\n"
        "    layer.set_weights([kernel, bias])\n"
        "    return layer(x)\n"),
    "tf.nn.conv2d": (
        "def conv2d(x, kernel, bias, strides=1):\n"
        "    return tf.nn.conv2d(x, kernel, strides, 'VALID') + bias\n"),
}


@pytest.mark.parametrize("source", LIBRARY_CALLS.values(), ids=LIBRARY_CALLS.keys())
def test_library_convolutions_earn_no_credit(source):
    conv2d = notebook_function(source, "conv2d")
    for check in ALL_CHECKS:
        assert_fails(check, conv2d, fragments=["no credit"])
