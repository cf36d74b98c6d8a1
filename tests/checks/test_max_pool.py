"""The max-pooling checks accept correct poolings and reject each known mistake."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from autograder.checks import max_pool as hidden
from course_lib.checks import max_pool as visible
from tests.checks.helpers import assert_fails, failing_checks, notebook_function

VISIBLE = [visible.check_max_pool2d_lecture_table,
           visible.check_max_pool2d_batch_and_channels,
           visible.check_max_pool2d_sizes_and_strides]
HIDDEN = [hidden.check_max_pool2d_batches_and_channels,
          hidden.check_max_pool2d_valid_padding,
          hidden.check_max_pool2d_pool_size_and_strides,
          hidden.check_max_pool2d_negative_values]
NUMERIC_CHECKS = VISIBLE + HIDDEN
MODEL_CHECKS = [visible.check_max_pool2d_symbolic,
                hidden.check_max_pool2d_in_keras_model]


def output_size(size, pool_size, strides):
    return (size - pool_size) // strides + 1


# Correct answers ---------------------------------------------------------

def pool_loops(x, pool_size=2, strides=None):
    strides = strides or pool_size
    batch, height, width, channels = x.shape
    out = np.zeros((batch, output_size(height, pool_size, strides),
                    output_size(width, pool_size, strides), channels), x.dtype)
    for b in range(batch):
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                for c in range(channels):
                    best = -np.inf
                    for di in range(pool_size):
                        for dj in range(pool_size):
                            best = max(best, x[b, i * strides + di, j * strides + dj, c])
                    out[b, i, j, c] = best
    return out


def pool_sliding_window(x, pool_size=2, strides=None):
    strides = strides or pool_size
    windows = np.lib.stride_tricks.sliding_window_view(
        x, (pool_size, pool_size), axis=(1, 2))
    return windows[:, ::strides, ::strides].max(axis=(-2, -1))


def pool_reshape_trick(x, pool_size=2, strides=None):
    if strides not in (None, pool_size):
        return pool_sliding_window(x, pool_size, strides)
    batch, height, width, channels = x.shape
    rows, columns = height // pool_size, width // pool_size
    cropped = x[:, :rows * pool_size, :columns * pool_size, :]
    blocks = cropped.reshape(batch, rows, pool_size, columns, pool_size, channels)
    return blocks.max(axis=(2, 4))


def pool_channels_first_inside(x, pool_size=2, strides=None):
    nchw = np.transpose(x, (0, 3, 1, 2))
    strides = strides or pool_size
    rows = output_size(nchw.shape[2], pool_size, strides)
    columns = output_size(nchw.shape[3], pool_size, strides)
    out = np.stack([np.stack([nchw[:, :, i * strides:i * strides + pool_size,
                                   j * strides:j * strides + pool_size].max(axis=(2, 3))
                              for j in range(columns)], axis=-1)
                    for i in range(rows)], axis=-2)
    return np.transpose(out, (0, 2, 3, 1))


def pool_keras_slices(x, pool_size=2, strides=None):
    strides = pool_size if strides is None else strides
    rows = (x.shape[1] - pool_size) // strides + 1
    columns = (x.shape[2] - pool_size) // strides + 1
    pooled = None
    for i in range(pool_size):
        for j in range(pool_size):
            part = x[:, i:i + (rows - 1) * strides + 1:strides,
                     j:j + (columns - 1) * strides + 1:strides, :]
            pooled = part if pooled is None else keras.ops.maximum(pooled, part)
    return pooled


def pool_keras_windows(x, pool_size=2, strides=None):
    strides = strides or pool_size
    rows = (x.shape[1] - pool_size) // strides + 1
    columns = (x.shape[2] - pool_size) // strides + 1
    x = keras.ops.convert_to_tensor(x)
    output_rows = []
    for i in range(rows):
        row = [keras.ops.max(x[:, i * strides:i * strides + pool_size,
                               j * strides:j * strides + pool_size, :], axis=(1, 2))
               for j in range(columns)]
        output_rows.append(keras.ops.stack(row, axis=1))
    return keras.ops.stack(output_rows, axis=1)


def pool_keras_reshape(x, pool_size=2, strides=None):
    if strides not in (None, pool_size):
        return pool_keras_windows(x, pool_size, strides)
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    rows, columns = height // pool_size, width // pool_size
    cropped = x[:, :rows * pool_size, :columns * pool_size, :]
    blocks = keras.ops.reshape(cropped, (-1, rows, pool_size, columns, pool_size, channels))
    return keras.ops.max(blocks, axis=(2, 4))


CORRECT = [pool_loops, pool_sliding_window, pool_reshape_trick,
           pool_channels_first_inside, pool_keras_slices, pool_keras_windows,
           pool_keras_reshape, hidden.reference_max_pool2d]
KERAS_CORRECT = [pool_keras_slices, pool_keras_windows, pool_keras_reshape]


@pytest.mark.parametrize("max_pool2d", CORRECT, ids=lambda f: f.__name__)
def test_correct_max_pool_passes_every_numeric_check(max_pool2d):
    for check in NUMERIC_CHECKS:
        check(max_pool2d)


@pytest.mark.parametrize("max_pool2d", KERAS_CORRECT, ids=lambda f: f.__name__)
def test_keras_ops_max_pool_passes_model_checks(max_pool2d):
    for check in MODEL_CHECKS:
        check(max_pool2d)


def test_recursive_per_image_max_pool2d_passes():
    max_pool2d = notebook_function(
        "def max_pool2d(x, pool_size=2, strides=None):\n"
        "    if x.shape[0] > 1:\n"
        "        return np.concatenate([max_pool2d(x[i:i + 1], pool_size, strides)\n"
        "                               for i in range(x.shape[0])])\n"
        "    s = strides or pool_size\n"
        "    w = np.lib.stride_tricks.sliding_window_view(x, (pool_size, pool_size), axis=(1, 2))\n"
        "    return w[:, ::s, ::s].max(axis=(-2, -1))\n",
        "max_pool2d")
    for check in NUMERIC_CHECKS:
        check(max_pool2d)


def test_lecture_table_reference():
    pooled = hidden.reference_max_pool2d(visible.LECTURE_TABLE[None, :, :, None])
    assert pooled[0, :, :, 0].tolist() == [[20, 30], [112, 37]]
    keras_pooled = keras.layers.MaxPooling2D(2)(visible.LECTURE_TABLE[None, :, :, None])
    assert np.array_equal(keras.ops.convert_to_numpy(keras_pooled), pooled)


@pytest.mark.parametrize("shape, pool_size, strides", [
    ((3, 6, 6, 4), 2, None), ((2, 7, 5, 3), 2, None), ((1, 3, 3, 2), 2, None),
    ((1, 2, 9, 1), 2, None), ((2, 9, 4, 2), 3, None), ((2, 8, 8, 3), 3, 2),
    ((1, 5, 6, 2), 2, 1), ((1, 7, 6, 2), 2, 3), ((2, 10, 7, 1), 4, 2)])
@pytest.mark.parametrize("low, high", [(-9.0, 9.0), (-1e6, -1e3)])
def test_hidden_reference_matches_keras_max_pooling(shape, pool_size, strides, low, high):
    x = np.random.default_rng(5).uniform(low, high, size=shape).astype(np.float32)
    layer = keras.layers.MaxPooling2D(pool_size=pool_size, strides=strides, padding="valid")
    expected = keras.ops.convert_to_numpy(layer(x))
    assert np.array_equal(hidden.reference_max_pool2d(x, pool_size, strides), expected)


@pytest.mark.parametrize("shape, pool_size, strides", [
    ((2, 7, 5, 3), 2, None), ((1, 8, 8, 2), 3, 2), ((2, 5, 6, 1), 2, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_visible_keras_pooling_matches_the_hidden_loops(shape, pool_size, strides, dtype):
    x = np.random.default_rng(3).normal(size=shape).astype(dtype)
    pooled = visible.keras_max_pool2d(x, pool_size, strides)
    assert pooled.dtype == dtype
    assert np.array_equal(pooled, hidden.reference_max_pool2d(x, pool_size, strides))


# Mistakes ----------------------------------------------------------------

def test_max_pool_rejects_unfinished_stub():
    def max_pool2d(x, pool_size=2, strides=None):
        raise NotImplementedError()

    for check in NUMERIC_CHECKS + MODEL_CHECKS:
        assert_fails(check, max_pool2d, fragments=["NotImplementedError"])


def test_max_pool_rejects_stride_1():
    def bug(x, pool_size=2, strides=None):
        return pool_sliding_window(x, pool_size, 1)

    assert_fails(visible.check_max_pool2d_lecture_table, bug,
                 fragments=["one pixel at a time"])
    assert failing_checks(bug, NUMERIC_CHECKS) == set(NUMERIC_CHECKS)


def test_max_pool_rejects_default_strides_of_1():
    def bug(x, pool_size=2, strides=1):
        return pool_sliding_window(x, pool_size, strides)

    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert failing >= {visible.check_max_pool2d_lecture_table,
                       hidden.check_max_pool2d_pool_size_and_strides}


def test_max_pool_rejects_average_pooling():
    def bug(x, pool_size=2, strides=None):
        strides = strides or pool_size
        windows = np.lib.stride_tricks.sliding_window_view(
            x, (pool_size, pool_size), axis=(1, 2))
        return windows[:, ::strides, ::strides].mean(axis=(-2, -1))

    assert_fails(visible.check_max_pool2d_lecture_table, bug, fragments=["average"])
    assert failing_checks(bug, NUMERIC_CHECKS) == set(NUMERIC_CHECKS)


def test_max_pool_rejects_min_pooling():
    def bug(x, pool_size=2, strides=None):
        return -pool_sliding_window(-x, pool_size, strides)

    assert_fails(visible.check_max_pool2d_lecture_table, bug, fragments=["minimum"])
    assert failing_checks(bug, NUMERIC_CHECKS) == set(NUMERIC_CHECKS)


def test_max_pool_rejects_pooling_over_channels():
    def bug(x, pool_size=2, strides=None):
        pooled = pool_sliding_window(x, pool_size, strides)
        return np.broadcast_to(pooled.max(axis=-1, keepdims=True), pooled.shape)

    assert_fails(visible.check_max_pool2d_batch_and_channels, bug, fragments=["channels"])
    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert hidden.check_max_pool2d_batches_and_channels in failing
    assert visible.check_max_pool2d_lecture_table not in failing


def test_max_pool_rejects_channel_axis_collapsed():
    def bug(x, pool_size=2, strides=None):
        return pool_sliding_window(x, pool_size, strides).max(axis=-1, keepdims=True)

    assert_fails(visible.check_max_pool2d_batch_and_channels, bug, fragments=["channel"])
    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert hidden.check_max_pool2d_batches_and_channels in failing


def test_max_pool_rejects_same_padding():
    def bug(x, pool_size=2, strides=None):
        strides = strides or pool_size
        batch, height, width, channels = x.shape
        out_h, out_w = -(-height // strides), -(-width // strides)
        pad_h = max((out_h - 1) * strides + pool_size - height, 0)
        pad_w = max((out_w - 1) * strides + pool_size - width, 0)
        padded = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
                            (pad_w // 2, pad_w - pad_w // 2), (0, 0)),
                        constant_values=-np.inf)
        return pool_sliding_window(padded, pool_size, strides)

    assert_fails(hidden.check_max_pool2d_valid_padding, bug, fragments=["valid padding"])
    assert_fails(visible.check_max_pool2d_sizes_and_strides, bug,
                 fragments=["valid padding"])
    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert hidden.check_max_pool2d_valid_padding in failing
    assert visible.check_max_pool2d_lecture_table not in failing


def test_max_pool_rejects_transposed_output():
    def bug(x, pool_size=2, strides=None):
        return np.swapaxes(pool_sliding_window(x, pool_size, strides), 1, 2)

    assert_fails(visible.check_max_pool2d_lecture_table, bug, fragments=["swapped"])
    assert failing_checks(bug, NUMERIC_CHECKS) == set(NUMERIC_CHECKS)


def test_max_pool_rejects_only_divisible_sizes():
    def bug(x, pool_size=2, strides=None):
        batch, height, width, channels = x.shape
        blocks = x.reshape(batch, height // pool_size, pool_size,
                           width // pool_size, pool_size, channels)
        return blocks.max(axis=(2, 4))

    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert failing >= {hidden.check_max_pool2d_valid_padding,
                       visible.check_max_pool2d_sizes_and_strides}
    assert visible.check_max_pool2d_lecture_table not in failing


def test_max_pool_rejects_only_the_first_batch_item():
    def bug(x, pool_size=2, strides=None):
        return pool_sliding_window(x[:1], pool_size, strides)

    assert_fails(visible.check_max_pool2d_batch_and_channels, bug,
                 fragments=["Only one image"])
    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert hidden.check_max_pool2d_batches_and_channels in failing
    assert visible.check_max_pool2d_lecture_table not in failing


def test_max_pool_rejects_ignoring_the_strides_argument():
    def bug(x, pool_size=2, strides=None):
        return pool_sliding_window(x, pool_size, pool_size)

    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert failing == {visible.check_max_pool2d_sizes_and_strides,
                       hidden.check_max_pool2d_pool_size_and_strides,
                       hidden.check_max_pool2d_negative_values}


def test_max_pool_rejects_hard_coded_pool_size_2():
    def bug(x, pool_size=2, strides=None):
        return pool_sliding_window(x, 2, strides)

    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert hidden.check_max_pool2d_pool_size_and_strides in failing
    assert hidden.check_max_pool2d_valid_padding in failing


def test_max_pool_rejects_channels_first_layout():
    def bug(x, pool_size=2, strides=None):
        # treats x as (batch, channels, height, width)
        strides = strides or pool_size
        windows = np.lib.stride_tricks.sliding_window_view(
            x, (pool_size, pool_size), axis=(2, 3))
        return windows[:, :, ::strides, ::strides].max(axis=(-2, -1))

    assert_fails(visible.check_max_pool2d_batch_and_channels, bug)
    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert failing >= {visible.check_max_pool2d_batch_and_channels,
                       hidden.check_max_pool2d_batches_and_channels,
                       hidden.check_max_pool2d_valid_padding}


def test_max_pool_rejects_running_maximum_started_at_zero():
    def bug(x, pool_size=2, strides=None):
        return np.maximum(pool_sliding_window(x, pool_size, strides), 0)

    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert failing >= {hidden.check_max_pool2d_negative_values,
                       visible.check_max_pool2d_batch_and_channels}
    assert_fails(hidden.check_max_pool2d_negative_values, bug, fragments=["-inf"])


def test_max_pool_rejects_rounded_up_output_size():
    def bug(x, pool_size=2, strides=None):
        strides = strides or pool_size
        height, width = x.shape[1], x.shape[2]
        rows, columns = -(-height // strides), -(-width // strides)
        return np.stack([np.stack([x[:, i * strides:i * strides + pool_size,
                                     j * strides:j * strides + pool_size].max(axis=(1, 2))
                                   for j in range(columns)], axis=1)
                         for i in range(rows)], axis=1)

    assert hidden.check_max_pool2d_valid_padding in failing_checks(bug, NUMERIC_CHECKS)


def test_max_pool_rejects_window_one_too_small():
    def bug(x, pool_size=2, strides=None):
        strides = strides or pool_size
        rows = output_size(x.shape[1], pool_size, strides)
        columns = output_size(x.shape[2], pool_size, strides)
        return np.stack([np.stack([x[:, i * strides:i * strides + pool_size - 1,
                                     j * strides:j * strides + pool_size].max(axis=(1, 2))
                                   for j in range(columns)], axis=1)
                         for i in range(rows)], axis=1)

    assert failing_checks(bug, NUMERIC_CHECKS) == set(NUMERIC_CHECKS)


def test_numpy_max_pool_fails_only_model_checks():
    for check in MODEL_CHECKS:
        assert_fails(check, pool_sliding_window, fragments=["keras.ops"])


def test_max_pool_model_check_rejects_fixed_batch_size():
    def bug(x, pool_size=2, strides=None):
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        blocks = keras.ops.reshape(x, (x.shape[0], height // 2, 2, width // 2, 2, channels))
        return keras.ops.max(blocks, axis=(2, 4))

    assert_fails(visible.check_max_pool2d_symbolic, bug)


LIBRARY_CALLS = {
    "tf.nn.max_pool2d": ("def max_pool2d(x, pool_size=2, strides=None):\n"
                         "    return tf.nn.max_pool2d(x, pool_size, strides or pool_size, 'VALID')\n"),
    "keras.ops.max_pool": ("def max_pool2d(x, pool_size=2, strides=None):\n"
                           "    return keras.ops.max_pool(x, pool_size, strides)\n"),
    "layer": ("def max_pool2d(x, pool_size=2, strides=None):\n"
              "    return keras.layers.MaxPooling2D(pool_size, strides)(x)\n"),
    "imported layer": ("from keras.layers import MaxPool2D\n"
                       "def max_pool2d(x, pool_size=2, strides=None):\n"
                       "    return MaxPool2D(pool_size, strides)(x)\n"),
    "tf.nn.pool": ("def max_pool2d(x, pool_size=2, strides=None):\n"
                   "    s = strides or pool_size\n"
                   "    return tf.nn.pool(x, (pool_size, pool_size), 'MAX', strides=(s, s))\n"),
    "helper": ("def pool_once(x, p, s):\n"
               "    return tf.nn.max_pool(x, p, s, 'VALID')\n"
               "def max_pool2d(x, pool_size=2, strides=None):\n"
               "    return pool_once(x, pool_size, strides or pool_size)\n"),
}


@pytest.mark.parametrize("source", LIBRARY_CALLS.values(), ids=LIBRARY_CALLS.keys())
def test_max_pool_rejects_library_call(source):
    max_pool2d = notebook_function(source, "max_pool2d")
    for check in NUMERIC_CHECKS + MODEL_CHECKS:
        assert_fails(check, max_pool2d, fragments=["no credit"])


def uncut_strided_slices(x, pool_size=2, strides=None):
    """Strided slices never cut to the output size: right only when every
    row and column falls into a window."""
    strides = strides or pool_size
    pooled = None
    for i in range(pool_size):
        for j in range(pool_size):
            part = x[:, i::strides, j::strides, :]
            pooled = part if pooled is None else keras.ops.maximum(pooled, part)
    return pooled


@pytest.mark.parametrize("check", [visible.check_max_pool2d_sizes_and_strides,
                                   hidden.check_max_pool2d_valid_padding,
                                   hidden.check_max_pool2d_in_keras_model],
                         ids=lambda check: check.__name__)
def test_uncut_strided_slices_are_told_to_cut_them_to_the_output_size(check):
    message = assert_fails(check, uncut_strided_slices,
                           fragments=["slices have different sizes",
                                      "(height - pool_size) // strides + 1"])
    assert "batch size is None" not in message
    visible.check_max_pool2d_lecture_table(uncut_strided_slices)
    visible.check_max_pool2d_symbolic(uncut_strided_slices)
