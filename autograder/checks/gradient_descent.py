"""Hidden checks for the gradient-descent exercise (one sigmoid neuron)."""

import numpy as np

from course_lib.checks.core import fail, short
from course_lib.checks.gradient_descent import (GRADIENT_HINT,
                                                GRADIENT_LIBRARY_ROUTINES,
                                                expect_loss_and_gradients,
                                                expect_step, reference_loss,
                                                run_descent, sigmoid)
from course_lib.checks.library_calls import forbids_library_routines


def reference_loss_and_gradients(weights, bias, x, y):
    """The analytic loss and partial derivatives of one sigmoid neuron, in float64.

    Example:

    >>> x, y = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([1.0, 0.0])
    >>> from course_lib.checks.gradient_descent import numerical_gradients
    >>> numeric = numerical_gradients(np.array([0.3, -0.2]), 0.1, x, y)
    >>> analytic = reference_loss_and_gradients(np.array([0.3, -0.2]), 0.1, x, y)
    >>> bool(np.allclose(numeric[0], analytic[1], atol=1e-8))
    True
    """
    weights, x, y = (np.asarray(value, dtype=np.float64) for value in (weights, x, y))
    p = sigmoid(x @ weights + float(bias))
    error = p - y
    return (reference_loss(weights, bias, x, y), x.T @ error / len(y),
            float(np.mean(error)))


@forbids_library_routines(GRADIENT_LIBRARY_ROUTINES, "loss_and_gradients",
                          hint=GRADIENT_HINT)
def check_loss_and_gradients_varied(loss_and_gradients):
    """Loss and partial derivatives on other sizes, one sample, float32 data.

    Example:

    >>> check_loss_and_gradients_varied(reference_loss_and_gradients)
    """
    generator = np.random.default_rng(12)
    for num_samples, num_features, dtype, bias in [(1, 1, np.float64, -0.5),
                                                   (12, 5, np.float32, 0.3),
                                                   (7, 3, np.float64, 1.2),
                                                   (30, 2, np.float64, 0.0)]:
        x = generator.normal(size=(num_samples, num_features)).astype(dtype)
        y = generator.integers(0, 2, size=num_samples).astype(dtype)
        weights = generator.normal(scale=0.7, size=num_features).astype(dtype)
        expect_loss_and_gradients(
            loss_and_gradients, weights, bias, x, y,
            f"{num_samples} sample(s), {num_features} feature(s), "
            f"{np.dtype(dtype).name}, bias {bias}")


@forbids_library_routines(GRADIENT_LIBRARY_ROUTINES, "gradient_descent_step",
                          hint=GRADIENT_HINT)
def check_gradient_descent_step_varied(gradient_descent_step):
    """Steps with other learning rates and sizes.

    Example:

    >>> check_gradient_descent_step_varied(
    ...     lambda w, b, gw, gb, learning_rate: (w - learning_rate * gw,
    ...                                          b - learning_rate * gb))
    """
    for weights, bias, grad_weights, grad_bias, learning_rate in [
            (np.array([0.3]), -1.0, np.array([2.0]), -0.5, 0.01),
            (np.array([1.0, 2.0, 3.0, 4.0]), 0.0, np.array([-1.0, 0.5, 0.0, 2.0]), 1.5, 1.0),
            (np.array([-0.2, 0.7]), 2.5, np.array([0.05, -0.04]), 0.0, 3.0)]:
        expect_step(gradient_descent_step, weights, bias, grad_weights, grad_bias,
                    learning_rate, weights - learning_rate * grad_weights,
                    bias - learning_rate * grad_bias)


@forbids_library_routines(GRADIENT_LIBRARY_ROUTINES, "loss_and_gradients",
                          hint=GRADIENT_HINT)
@forbids_library_routines(GRADIENT_LIBRARY_ROUTINES, "gradient_descent_step",
                          hint=GRADIENT_HINT)
def check_gradient_descent_follows_the_reference(loss_and_gradients,
                                                 gradient_descent_step):
    """Fifty steps end at the same weights as exact gradient descent.

    Example:

    >>> check_gradient_descent_follows_the_reference(
    ...     reference_loss_and_gradients,
    ...     lambda w, b, gw, gb, learning_rate: (w - learning_rate * gw,
    ...                                          b - learning_rate * gb))
    """
    generator = np.random.default_rng(21)
    x = generator.normal(size=(60, 4))
    y = (x @ np.array([1.0, -1.0, 2.0, 0.0]) - 0.5
         + generator.normal(scale=0.5, size=60) > 0).astype(np.float64)

    def exact_step(weights, bias, grad_weights, grad_bias, learning_rate):
        return weights - learning_rate * grad_weights, bias - learning_rate * grad_bias

    _, expected_weights, expected_bias = run_descent(
        reference_loss_and_gradients, exact_step, np.zeros(4), 0.0, x, y, 0.8, 50)
    with np.errstate(all="ignore"):
        losses, weights, bias = run_descent(loss_and_gradients, gradient_descent_step,
                                            np.zeros(4), 0.0, x, y, 0.8, 50)
    found = np.append(weights, bias)
    expected = np.append(expected_weights, expected_bias)
    if not np.allclose(found, expected, rtol=1e-4, atol=1e-5):
        fail(f"after 50 steps (learning rate 0.8) the weights and bias are "
             f"{short(found)} (loss {losses[-1]:.4g})",
             f"{short(expected)}",
             "Each step must be w - learning_rate * dL/dw with the exact "
             "partial derivatives of the mean loss.")
