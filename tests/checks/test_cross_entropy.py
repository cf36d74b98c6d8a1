"""The cross-entropy checks accept correct losses and reject each known mistake."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from autograder.checks import cross_entropy as hidden
from course_lib.checks import cross_entropy as visible
from tests.checks.helpers import assert_fails, failing_checks, notebook_function

VISIBLE = [visible.check_cross_entropy_lecture_example,
           visible.check_cross_entropy_per_sample,
           visible.check_cross_entropy_binary,
           visible.check_cross_entropy_confident_mistakes,
           visible.check_cross_entropy_finite]
HIDDEN = [hidden.check_cross_entropy_matches_keras_categorical,
          hidden.check_cross_entropy_matches_keras_binary,
          hidden.check_cross_entropy_clipping]
NUMERIC_CHECKS = VISIBLE + HIDDEN
MULTICLASS_CHECKS = {visible.check_cross_entropy_lecture_example,
                     visible.check_cross_entropy_per_sample,
                     hidden.check_cross_entropy_matches_keras_categorical}
BINARY_CHECKS = {visible.check_cross_entropy_binary,
                 hidden.check_cross_entropy_matches_keras_binary}
CLIPPING_CHECKS = {visible.check_cross_entropy_finite,
                   hidden.check_cross_entropy_clipping}


def make_cross_entropy(epsilon=1e-7, log=np.log, sign=-1.0, clip=True,
                       binary_second_term=True, reduce=None):
    """A NumPy cross-entropy with one knob per classic mistake."""
    def cross_entropy(y_true, y_pred):
        p = np.clip(y_pred, epsilon, 1 - epsilon) if clip else y_pred
        if y_true.ndim == 1:
            loss = y_true * log(p)
            if binary_second_term:
                loss = loss + (1 - y_true) * log(1 - p)
            loss = sign * loss
        else:
            loss = sign * np.sum(y_true * log(p), axis=-1)
        return reduce(loss) if reduce else loss
    return cross_entropy


# Correct answers ---------------------------------------------------------

def ce_numpy(y_true, y_pred):
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    if y_true.ndim == 1:
        return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
    return -np.sum(y_true * np.log(p), axis=-1)


def ce_keras_ops(y_true, y_pred):
    p = keras.ops.clip(y_pred, 1e-7, 1 - 1e-7)
    if len(y_true.shape) == 1:
        return -(y_true * keras.ops.log(p) + (1 - y_true) * keras.ops.log(1 - p))
    return -keras.ops.sum(y_true * keras.ops.log(p), axis=-1)


def ce_keras_ndim_epsilon(y_true, y_pred):
    epsilon = keras.config.epsilon()
    y_true = keras.ops.convert_to_tensor(y_true)
    p = keras.ops.clip(keras.ops.convert_to_tensor(y_pred), epsilon, 1.0 - epsilon)
    if keras.ops.ndim(y_true) == 2:
        return -keras.ops.sum(y_true * keras.ops.log(p), axis=1)
    return -(y_true * keras.ops.log(p) + (1.0 - y_true) * keras.ops.log(1.0 - p))


def ce_additive_epsilon(y_true, y_pred):
    if y_true.ndim == 1:
        return -(y_true * np.log(y_pred + 1e-7)
                 + (1 - y_true) * np.log(1 - y_pred + 1e-7))
    return -np.sum(y_true * np.log(y_pred + 1e-7), axis=1)


def ce_pick_true_class(y_true, y_pred):
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    if y_true.ndim == 1:
        return -np.log(np.where(y_true == 1, p, 1 - p))
    return -np.log(p[np.arange(len(p)), np.argmax(y_true, axis=1)])


def ce_binary_as_two_columns(y_true, y_pred):
    if y_true.ndim == 1:
        y_true = np.stack([1 - y_true, y_true], axis=1)
        y_pred = np.stack([1 - y_pred, y_pred], axis=1)
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    return -np.sum(y_true * np.log(p), axis=1)


def ce_loops(y_true, y_pred):
    losses = []
    for label, probability in zip(y_true, y_pred):
        if np.ndim(label) == 0:
            p = min(max(float(probability), 1e-7), 1 - 1e-7)
            losses.append(-(label * np.log(p) + (1 - label) * np.log(1 - p)))
        else:
            total = 0.0
            for y, p in zip(label, probability):
                total -= y * np.log(min(max(p, 1e-7), 1 - 1e-7))
            losses.append(total)
    return np.array(losses)


def ce_float32(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float32)
    p = np.clip(np.asarray(y_pred, dtype=np.float32), 1e-7, 1 - 1e-7)
    if y_true.ndim == 1:
        return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
    return -np.sum(y_true * np.log(p), axis=-1)


def ce_tensorflow(y_true, y_pred):
    y_true = tf.convert_to_tensor(y_true)
    p = tf.clip_by_value(tf.convert_to_tensor(y_pred, dtype=y_true.dtype),
                         1e-7, 1 - 1e-7)
    if y_true.shape.rank == 1:
        return -(y_true * tf.math.log(p) + (1 - y_true) * tf.math.log(1 - p))
    return -tf.reduce_sum(y_true * tf.math.log(p), axis=-1)


CORRECT = [ce_numpy, ce_keras_ops, ce_keras_ndim_epsilon, ce_additive_epsilon,
           ce_pick_true_class, ce_binary_as_two_columns, ce_loops, ce_float32,
           ce_tensorflow]
TENSOR_CORRECT = [ce_keras_ops, ce_keras_ndim_epsilon, ce_tensorflow]


@pytest.mark.parametrize("cross_entropy", CORRECT, ids=lambda f: f.__name__)
def test_correct_cross_entropy_passes_every_numeric_check(cross_entropy):
    for check in NUMERIC_CHECKS:
        check(cross_entropy)


@pytest.mark.parametrize("cross_entropy", TENSOR_CORRECT, ids=lambda f: f.__name__)
def test_keras_cross_entropy_passes_the_differentiable_check(cross_entropy):
    visible.check_cross_entropy_differentiable(cross_entropy)


def test_recursive_cross_entropy_named_cross_entropy_passes():
    cross_entropy = notebook_function(
        "def cross_entropy(y_true, y_pred):\n"
        "    if y_true.ndim == 1:\n"
        "        return cross_entropy(np.stack([1 - y_true, y_true], 1),\n"
        "                             np.stack([1 - y_pred, y_pred], 1))\n"
        "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        "    return -(y_true * np.log(p)).sum(axis=1)\n",
        "cross_entropy")
    for check in NUMERIC_CHECKS:
        check(cross_entropy)


def test_reference_matches_keras_on_the_lecture_example():
    y_true, y_pred = np.array([[0.0, 1.0, 0.0]]), np.array([[0.2, 0.73, 0.07]])
    keras_loss = keras.ops.convert_to_numpy(
        keras.losses.categorical_crossentropy(y_true, y_pred))
    assert np.allclose(hidden.reference_cross_entropy(y_true, y_pred), keras_loss)
    assert np.allclose(visible.keras_cross_entropy(y_true, y_pred), keras_loss)
    assert np.isclose(keras_loss[0], -np.log(0.73))
    assert round(float(keras_loss[0]), 3) == 0.315


@pytest.mark.parametrize("y_true, y_pred", [
    (np.eye(4)[[0, 3, 1, 1, 2]], np.random.default_rng(1).dirichlet(np.ones(4), 5)),
    (np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [0.0, 1.0]])),
    (np.array([1.0, 0.0, 1.0, 0.0, 1.0]), np.array([0.9, 0.2, 0.0, 1.0, 0.5])),
])
def test_visible_keras_loss_matches_the_hidden_formula_per_sample(y_true, y_pred):
    expected = hidden.reference_cross_entropy(y_true, y_pred)
    found = visible.keras_cross_entropy(y_true, y_pred)
    assert found.shape == (len(y_true),)
    assert np.allclose(found, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("num_samples, num_classes", [(6, 4), (5, 2), (9, 10), (1, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hidden_reference_matches_keras_categorical_crossentropy(num_samples, num_classes,
                                                                 dtype):
    generator = np.random.default_rng(num_samples * num_classes)
    y_true = np.eye(num_classes, dtype=dtype)[generator.integers(0, num_classes, num_samples)]
    y_pred = generator.dirichlet(np.ones(num_classes), num_samples).astype(dtype)
    expected = keras.losses.categorical_crossentropy(y_true, y_pred)
    assert np.allclose(hidden.reference_cross_entropy(y_true, y_pred),
                       keras.ops.convert_to_numpy(expected), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("num_samples", [8, 5, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hidden_reference_matches_keras_binary_crossentropy(num_samples, dtype):
    generator = np.random.default_rng(num_samples)
    y_true = generator.integers(0, 2, size=num_samples).astype(dtype)
    y_pred = generator.uniform(0.05, 0.95, size=num_samples).astype(dtype)
    expected = keras.losses.binary_crossentropy(y_true[:, None], y_pred[:, None])
    assert np.allclose(hidden.reference_cross_entropy(y_true, y_pred),
                       keras.ops.convert_to_numpy(expected), rtol=1e-4, atol=1e-5)


# Mistakes ----------------------------------------------------------------

def test_cross_entropy_rejects_unfinished_stub():
    def cross_entropy(y_true, y_pred):
        raise NotImplementedError()

    for check in NUMERIC_CHECKS + [visible.check_cross_entropy_differentiable]:
        assert_fails(check, cross_entropy, fragments=["NotImplementedError"])


def test_cross_entropy_rejects_sign_flipped():
    bug = make_cross_entropy(sign=1.0)
    assert_fails(visible.check_cross_entropy_lecture_example, bug,
                 fragments=["sign is flipped"])
    assert failing_checks(bug, NUMERIC_CHECKS) == set(NUMERIC_CHECKS)


def test_cross_entropy_rejects_log_of_one_minus_p():
    def bug(y_true, y_pred):
        p = np.clip(y_pred, 1e-7, 1 - 1e-7)
        if y_true.ndim == 1:
            return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
        return -np.sum(y_true * np.log(1 - p), axis=-1)

    assert_fails(visible.check_cross_entropy_lecture_example, bug, fragments=["log(1 - p)"])
    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert failing >= MULTICLASS_CHECKS
    assert not failing & BINARY_CHECKS


def test_cross_entropy_rejects_mean_over_batch():
    bug = make_cross_entropy(reduce=np.mean)
    assert_fails(visible.check_cross_entropy_per_sample, bug, fragments=["shape (4,)"])
    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert failing >= {visible.check_cross_entropy_per_sample,
                       visible.check_cross_entropy_binary,
                       hidden.check_cross_entropy_matches_keras_categorical,
                       hidden.check_cross_entropy_matches_keras_binary}


def test_cross_entropy_rejects_sum_over_batch():
    bug = make_cross_entropy(reduce=np.sum)
    assert_fails(visible.check_cross_entropy_per_sample, bug,
                 fragments=["one loss per sample"])
    assert_fails(hidden.check_cross_entropy_matches_keras_categorical, bug)


def test_cross_entropy_rejects_sum_over_the_wrong_axis():
    def bug(y_true, y_pred):
        return -np.sum(y_true * np.log(np.clip(y_pred, 1e-7, 1 - 1e-7)), axis=0)

    assert_fails(visible.check_cross_entropy_per_sample, bug)
    assert_fails(hidden.check_cross_entropy_matches_keras_categorical, bug)


def test_cross_entropy_rejects_no_clipping():
    bug = make_cross_entropy(clip=False)
    assert failing_checks(bug, NUMERIC_CHECKS) == CLIPPING_CHECKS
    assert_fails(visible.check_cross_entropy_finite, bug, fragments=["Clip"])


def test_cross_entropy_rejects_clipping_only_from_below():
    def bug(y_true, y_pred):
        p = np.clip(y_pred, 1e-7, None)
        if y_true.ndim == 1:
            return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
        return -np.sum(y_true * np.log(p), axis=-1)

    assert failing_checks(bug, NUMERIC_CHECKS) == CLIPPING_CHECKS


@pytest.mark.parametrize("epsilon", [1e-15, 1e-12, 1e-8, 1e-6, 1e-3])
def test_cross_entropy_rejects_wrong_epsilon(epsilon):
    bug = make_cross_entropy(epsilon=epsilon)
    assert hidden.check_cross_entropy_clipping in failing_checks(bug, NUMERIC_CHECKS)
    assert_fails(hidden.check_cross_entropy_clipping, bug, fragments=["1e-07"])


@pytest.mark.parametrize("log", [np.log2, np.log10], ids=["log2", "log10"])
def test_cross_entropy_rejects_log_base_2_or_10(log):
    bug = make_cross_entropy(log=log)
    assert_fails(visible.check_cross_entropy_lecture_example, bug,
                 fragments=["natural log"])
    assert failing_checks(bug, NUMERIC_CHECKS) >= MULTICLASS_CHECKS | BINARY_CHECKS


def test_cross_entropy_rejects_binary_without_one_minus_y_term():
    bug = make_cross_entropy(binary_second_term=False)
    assert_fails(visible.check_cross_entropy_binary, bug, fragments=["(1 - y) log(1 - p)"])
    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert failing >= BINARY_CHECKS
    assert not failing & MULTICLASS_CHECKS


def test_cross_entropy_rejects_softmax_reapplied():
    def bug(y_true, y_pred):
        if y_true.ndim == 2:
            y_pred = np.exp(y_pred) / np.exp(y_pred).sum(axis=1, keepdims=True)
        return ce_numpy(y_true, y_pred)

    assert_fails(visible.check_cross_entropy_lecture_example, bug, fragments=["softmax"])
    assert failing_checks(bug, NUMERIC_CHECKS) >= MULTICLASS_CHECKS


def test_cross_entropy_rejects_sigmoid_reapplied():
    def bug(y_true, y_pred):
        if y_true.ndim == 1:
            y_pred = 1 / (1 + np.exp(-y_pred))
        return ce_numpy(y_true, y_pred)

    assert_fails(visible.check_cross_entropy_binary, bug, fragments=["sigmoid"])
    assert failing_checks(bug, NUMERIC_CHECKS) >= BINARY_CHECKS


def test_cross_entropy_rejects_swapped_binary_terms():
    def bug(y_true, y_pred):
        if y_true.ndim == 1:
            p = np.clip(y_pred, 1e-7, 1 - 1e-7)
            return -(y_true * np.log(1 - p) + (1 - y_true) * np.log(p))
        return ce_numpy(y_true, y_pred)

    assert_fails(visible.check_cross_entropy_binary, bug, fragments=["other way round"])


def test_cross_entropy_rejects_binary_formula_for_multiclass():
    def bug(y_true, y_pred):
        p = np.clip(y_pred, 1e-7, 1 - 1e-7)
        loss = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
        return loss if y_true.ndim == 1 else loss.sum(axis=-1)

    assert_fails(visible.check_cross_entropy_lecture_example, bug, fragments=["binary"])
    assert failing_checks(bug, NUMERIC_CHECKS) >= MULTICLASS_CHECKS


def test_cross_entropy_rejects_multiclass_only():
    def bug(y_true, y_pred):
        return -np.sum(y_true * np.log(np.clip(y_pred, 1e-7, 1 - 1e-7)), axis=-1)

    failing = failing_checks(bug, NUMERIC_CHECKS)
    assert failing >= BINARY_CHECKS
    assert not failing & MULTICLASS_CHECKS


def test_cross_entropy_rejects_naive_subtraction_error():
    def bug(y_true, y_pred):
        if y_true.ndim == 1:
            return np.abs(y_true - y_pred)
        return np.sum(y_true * (1 - y_pred), axis=-1)

    assert_fails(visible.check_cross_entropy_lecture_example, bug, fragments=["0.27"])


def test_cross_entropy_rejects_squared_error():
    def bug(y_true, y_pred):
        if y_true.ndim == 1:
            return (y_true - y_pred) ** 2
        return np.sum((y_true - y_pred) ** 2, axis=-1)

    assert failing_checks(bug, NUMERIC_CHECKS) >= MULTICLASS_CHECKS | BINARY_CHECKS


def test_cross_entropy_rejects_column_vector_output():
    assert_fails(visible.check_cross_entropy_per_sample,
                 lambda y_true, y_pred: ce_numpy(y_true, y_pred)[:, None],
                 fragments=["shape (4,)"])


def test_numpy_cross_entropy_fails_the_differentiable_check():
    assert_fails(visible.check_cross_entropy_differentiable, ce_numpy,
                 fragments=["keras.ops"])


LIBRARY_CALLS = {
    "keras.losses": ("def cross_entropy(y_true, y_pred):\n"
                     "    if y_true.ndim == 1:\n"
                     "        return keras.losses.binary_crossentropy(y_true[:, None], y_pred[:, None])\n"
                     "    return keras.losses.categorical_crossentropy(y_true, y_pred)\n"),
    "keras.ops": ("def cross_entropy(y_true, y_pred):\n"
                  "    return keras.ops.categorical_crossentropy(y_true, y_pred)\n"),
    "loss class": ("def cross_entropy(y_true, y_pred):\n"
                   "    loss = keras.losses.CategoricalCrossentropy(reduction=None)\n"
                   "    return loss(y_true, y_pred)\n"),
    "by name": ("def cross_entropy(y_true, y_pred):\n"
                "    return keras.losses.get('categorical_crossentropy')(y_true, y_pred)\n"),
    "alias": ("from keras.losses import binary_crossentropy as bce\n"
              "def cross_entropy(y_true, y_pred):\n"
              "    return bce(y_true, y_pred)\n"),
    "tf.nn": ("def cross_entropy(y_true, y_pred):\n"
              "    return tf.nn.softmax_cross_entropy_with_logits(y_true, tf.math.log(y_pred))\n"),
    "sklearn": ("def cross_entropy(y_true, y_pred):\n"
                "    from sklearn.metrics import log_loss\n"
                "    return np.array([log_loss([t], [p]) for t, p in zip(y_true, y_pred)])\n"),
}


@pytest.mark.parametrize("source", LIBRARY_CALLS.values(), ids=LIBRARY_CALLS.keys())
def test_cross_entropy_rejects_library_call(source):
    cross_entropy = notebook_function(source, "cross_entropy")
    for check in NUMERIC_CHECKS + [visible.check_cross_entropy_differentiable]:
        assert_fails(check, cross_entropy, fragments=["no credit"])


def test_multiclass_only_code_on_binary_labels_is_told_about_the_binary_case():
    """Code that sums over axis=-1 did sum over the classes: given 1-D labels
    the missing part is the binary case, which the message names."""
    def multiclass_only(y_true, y_pred):
        p = np.clip(y_pred, 1e-7, 1 - 1e-7)
        return -np.sum(y_true * np.log(p), axis=-1)

    message = assert_fails(visible.check_cross_entropy_binary, multiclass_only,
                           fragments=["binary case", "if y_true.ndim == 1"])
    assert "sum over the classes (axis=-1) only" not in message
    visible.check_cross_entropy_lecture_example(multiclass_only)
