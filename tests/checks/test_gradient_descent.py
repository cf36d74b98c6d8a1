"""The gradient-descent checks accept correct derivations and reject known mistakes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from autograder.checks import gradient_descent as hidden
from course_lib.checks import gradient_descent as visible
from tests.checks.helpers import assert_fails


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def make_loss_and_gradients(sign=1.0, scale=None, bias_gradient=True,
                            mean_loss=True):
    """A loss_and_gradients with one knob per classic mistake."""
    def loss_and_gradients(weights, bias, x, y):
        p = sigmoid(x @ weights + bias)
        losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        loss = losses.mean() if mean_loss else losses.sum()
        count = len(y) if scale is None else scale
        grad_weights = sign * x.T @ (p - y) / count
        grad_bias = sign * np.sum(p - y) / count if bias_gradient else 0.0
        return loss, grad_weights, grad_bias
    return loss_and_gradients


def step(weights, bias, grad_weights, grad_bias, learning_rate):
    return weights - learning_rate * grad_weights, bias - learning_rate * grad_bias


# Correct answers --------------------------------------------------------

def gradients_loops(weights, bias, x, y):
    num_samples, num_features = x.shape
    loss, grad_weights, grad_bias = 0.0, [0.0] * num_features, 0.0
    for row, label in zip(x, y):
        z = sum(w * v for w, v in zip(weights, row)) + bias
        p = 1 / (1 + np.exp(-z))
        loss -= (label * np.log(p) + (1 - label) * np.log(1 - p)) / num_samples
        for j in range(num_features):
            grad_weights[j] += (p - label) * row[j] / num_samples
        grad_bias += (p - label) / num_samples
    return loss, np.array(grad_weights), grad_bias


def gradients_keras_ops(weights, bias, x, y):
    p = keras.ops.sigmoid(keras.ops.matmul(x, weights) + bias)
    p = keras.ops.clip(p, 1e-7, 1 - 1e-7)
    loss = -keras.ops.mean(y * keras.ops.log(p) + (1 - y) * keras.ops.log(1 - p))
    error = p - y
    return loss, keras.ops.matmul(keras.ops.transpose(x), error) / len(y), keras.ops.mean(error)


def gradients_chain_rule_parts(weights, bias, x, y):
    z = x @ weights + bias
    p = sigmoid(z)
    dloss_dp = (-(y / p) + (1 - y) / (1 - p)) / len(y)
    dp_dz = p * (1 - p)
    dloss_dz = dloss_dp * dp_dz
    loss = float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    return loss, dloss_dz @ x, np.array([dloss_dz.sum()])


def gradients_float32(weights, bias, x, y):
    x, y, weights = (np.asarray(v, dtype=np.float32) for v in (x, y, weights))
    loss, grad_weights, grad_bias = hidden.reference_loss_and_gradients(weights, bias, x, y)
    return np.float32(loss), grad_weights.astype(np.float32), np.float32(grad_bias)


def step_in_place(weights, bias, grad_weights, grad_bias, learning_rate):
    weights -= learning_rate * grad_weights
    bias -= learning_rate * grad_bias
    return weights, bias


def step_list(weights, bias, grad_weights, grad_bias, learning_rate):
    return [w - learning_rate * g for w, g in zip(weights, grad_weights)], \
        bias - learning_rate * grad_bias


def step_keras(weights, bias, grad_weights, grad_bias, learning_rate):
    return (keras.ops.subtract(weights, learning_rate * grad_weights),
            keras.ops.subtract(bias, learning_rate * grad_bias))


GRADIENTS = [hidden.reference_loss_and_gradients, make_loss_and_gradients(),
             gradients_loops, gradients_keras_ops, gradients_chain_rule_parts,
             gradients_float32]
STEPS = [step, step_in_place, step_list, step_keras]


@pytest.mark.parametrize("loss_and_gradients", GRADIENTS,
                         ids=["reference", "vector", "loops", "keras", "chain", "float32"])
def test_correct_gradients_pass(loss_and_gradients):
    visible.check_loss_value(loss_and_gradients)
    visible.check_gradients_numerically(loss_and_gradients)
    hidden.check_loss_and_gradients_varied(loss_and_gradients)
    visible.check_gradient_descent_lowers_loss(loss_and_gradients, step)
    hidden.check_gradient_descent_follows_the_reference(loss_and_gradients, step)


@pytest.mark.parametrize("gradient_descent_step", STEPS, ids=lambda f: f.__name__)
def test_correct_steps_pass(gradient_descent_step):
    visible.check_gradient_descent_step(gradient_descent_step)
    hidden.check_gradient_descent_step_varied(gradient_descent_step)
    visible.check_gradient_descent_lowers_loss(hidden.reference_loss_and_gradients,
                                               gradient_descent_step)
    hidden.check_gradient_descent_follows_the_reference(
        hidden.reference_loss_and_gradients, gradient_descent_step)


def test_numerical_gradient_agrees_with_the_analytic_one():
    generator = np.random.default_rng(1)
    x, y = generator.normal(size=(5, 3)), np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    weights = generator.normal(size=3)
    numeric_weights, numeric_bias = visible.numerical_gradients(weights, 0.4, x, y)
    _, grad_weights, grad_bias = hidden.reference_loss_and_gradients(weights, 0.4, x, y)
    assert np.allclose(numeric_weights, grad_weights, atol=1e-8)
    assert np.isclose(numeric_bias, grad_bias, atol=1e-8)
    # and both agree with TensorFlow's automatic differentiation
    w = tf.Variable(weights)
    b = tf.Variable(0.4, dtype=tf.float64)
    with tf.GradientTape() as tape:
        p = tf.sigmoid(tf.linalg.matvec(tf.constant(x), w) + b)
        loss = -tf.reduce_mean(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p))
    tf_weights, tf_bias = tape.gradient(loss, [w, b])
    assert np.allclose(tf_weights.numpy(), grad_weights)
    assert np.isclose(tf_bias.numpy(), grad_bias)


# Mistakes -----------------------------------------------------------------

GRADIENT_CHECKS = [visible.check_gradients_numerically, hidden.check_loss_and_gradients_varied]


def test_gradients_reject_unfinished_stub():
    def stub(*arguments):
        raise NotImplementedError()

    for check in GRADIENT_CHECKS + [visible.check_loss_value]:
        assert_fails(check, stub, fragments=["NotImplementedError"])
    assert_fails(visible.check_gradient_descent_step, stub)
    assert_fails(visible.check_gradient_descent_lowers_loss, stub, stub)
    assert_fails(hidden.check_gradient_descent_follows_the_reference, stub, stub)


def test_gradients_reject_flipped_sign():
    bug = make_loss_and_gradients(sign=-1.0)
    visible.check_loss_value(bug)
    for check in GRADIENT_CHECKS:
        assert_fails(check, bug, fragments=["sign is flipped"])
    assert_fails(visible.check_gradient_descent_lowers_loss, bug, step)


def test_gradients_reject_sum_instead_of_mean():
    bug = make_loss_and_gradients(scale=1.0)
    assert_fails(visible.check_gradients_numerically, bug, fragments=["divide by"])
    assert_fails(hidden.check_gradient_descent_follows_the_reference, bug, step)


def test_gradients_reject_missing_bias_gradient():
    bug = make_loss_and_gradients(bias_gradient=False)
    for check in GRADIENT_CHECKS:
        assert_fails(check, bug, fragments=["dL/db"])


def test_loss_rejects_sum_instead_of_mean():
    bug = make_loss_and_gradients(mean_loss=False)
    assert_fails(visible.check_loss_value, bug, fragments=["np.mean"])
    assert_fails(visible.check_gradients_numerically, bug)


def test_gradients_reject_derivative_with_respect_to_inputs():
    def bug(weights, bias, x, y):
        loss, _, grad_bias = hidden.reference_loss_and_gradients(weights, bias, x, y)
        p = sigmoid(x @ weights + bias)
        return loss, np.mean((p - y)[:, None] * weights[None, :], axis=0), grad_bias

    for check in GRADIENT_CHECKS:
        assert_fails(check, bug)


def test_gradients_reject_missing_sigmoid_slope_mix_up():
    # d(loss)/dz taken as (p - y) * p * (1 - p): squared-error habits
    def bug(weights, bias, x, y):
        loss, _, _ = hidden.reference_loss_and_gradients(weights, bias, x, y)
        p = sigmoid(x @ weights + bias)
        error = (p - y) * p * (1 - p)
        return loss, x.T @ error / len(y), error.mean()

    for check in GRADIENT_CHECKS:
        assert_fails(check, bug)


def test_gradients_reject_autodiff():
    def uses_tape(weights, bias, x, y):
        w = tf.Variable(weights)
        b = tf.Variable(float(bias), dtype=w.dtype)
        with tf.GradientTape() as tape:
            p = tf.sigmoid(tf.linalg.matvec(tf.constant(x), w) + b)
            loss = -tf.reduce_mean(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p))
        grad_weights, grad_bias = tape.gradient(loss, [w, b])
        return loss, grad_weights, grad_bias

    for check in GRADIENT_CHECKS + [visible.check_loss_value]:
        assert_fails(check, uses_tape, fragments=["no credit"])


def test_step_rejects_gradient_ascent():
    def bug(weights, bias, grad_weights, grad_bias, learning_rate):
        return weights + learning_rate * grad_weights, bias + learning_rate * grad_bias

    assert_fails(visible.check_gradient_descent_step, bug, fragments=["DOWNHILL"])
    assert_fails(hidden.check_gradient_descent_step_varied, bug)
    assert_fails(visible.check_gradient_descent_lowers_loss,
                 hidden.reference_loss_and_gradients, bug)


def test_step_rejects_ignored_learning_rate():
    def bug(weights, bias, grad_weights, grad_bias, learning_rate):
        return weights - grad_weights, bias - grad_bias

    assert_fails(visible.check_gradient_descent_step, bug, fragments=["learning rate"])
    assert_fails(hidden.check_gradient_descent_step_varied, bug)


def test_step_rejects_bias_not_updated():
    def bug(weights, bias, grad_weights, grad_bias, learning_rate):
        return weights - learning_rate * grad_weights, bias

    assert_fails(visible.check_gradient_descent_step, bug, fragments=["bias"])
    assert_fails(hidden.check_gradient_descent_step_varied, bug)


def test_step_rejects_swapped_return_order():
    def bug(weights, bias, grad_weights, grad_bias, learning_rate):
        return bias - learning_rate * grad_bias, weights - learning_rate * grad_weights

    assert_fails(visible.check_gradient_descent_step, bug)


def test_step_rejects_single_return_value():
    def bug(weights, bias, grad_weights, grad_bias, learning_rate):
        return weights - learning_rate * grad_weights

    assert_fails(visible.check_gradient_descent_step, bug, fragments=["new_bias"])


def test_gradients_with_a_dictionary_key_named_grad_pass():
    def loss_and_gradients(weights, bias, x, y):
        loss, grad_weights, grad_bias = hidden.reference_loss_and_gradients(
            weights, bias, x, y)
        parts = {"loss": loss, "grad": grad_weights, "grad_b": grad_bias}
        return parts["loss"], parts["grad"], parts["grad_b"]

    visible.check_gradients_numerically(loss_and_gradients)
