"""Visible checks for the gradient-descent exercise.

The model is the smallest network there is: one sigmoid neuron (logistic
regression). For samples `x` `(N, F)` with 0/1 labels `y` `(N,)`,

    p = sigmoid(x @ weights + bias)
    loss = mean over samples of -(y log p + (1 - y) log(1 - p))

The student writes

- `loss_and_gradients(weights, bias, x, y) -> (loss, grad_weights, grad_bias)`:
  the loss (a number), its partial derivatives with respect to every weight
  (shape `(F,)`) and with respect to the bias (a number);
- `gradient_descent_step(weights, bias, grad_weights, grad_bias,
  learning_rate) -> (new_weights, new_bias)`: one step downhill.

The checks compare the partial derivatives with a centred numerical
gradient, `(loss(w + h) - loss(w - h)) / (2 h)`, one weight at a time.
"""

import numpy as np

from course_lib.checks.core import CheckFailure, call_student, fail, short, to_numpy
from course_lib.checks.library_calls import forbids_library_routines

GRADIENT_LIBRARY_ROUTINES = frozenset({
    "GradientTape", "gradients", "value_and_grad", "grad", "jacobian",
    "approx_fprime", "check_grad",
})
GRADIENT_HINT = ("Derive the partial derivatives by hand with the chain rule "
                 "(through the mean, the log and the sigmoid) instead of asking "
                 "a library to differentiate.")
STEP_SIZE = 1e-6


def sigmoid(z):
    """The logistic function 1 / (1 + exp(-z))."""
    return 1.0 / (1.0 + np.exp(-z))


def reference_loss(weights, bias, x, y):
    """Mean binary cross-entropy of one sigmoid neuron, in float64.

    Example:

    >>> float(reference_loss(np.zeros(2), 0.0, np.ones((3, 2)), np.ones(3))).__round__(4)
    0.6931
    """
    weights, x, y = (np.asarray(value, dtype=np.float64) for value in (weights, x, y))
    # The same loss written on the pre-activation z: -log(sigmoid(z)) is
    # log(1 + exp(-z)) and -log(1 - sigmoid(z)) is log(1 + exp(z)).
    z = x @ weights + float(bias)
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def numerical_gradients(weights, bias, x, y, step=STEP_SIZE):
    """Centred differences of `reference_loss`: (grad_weights, grad_bias).

    Example:

    >>> x, y = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([1.0, 0.0])
    >>> grad_weights, grad_bias = numerical_gradients(np.zeros(2), 0.0, x, y)
    >>> grad_weights.shape, round(float(grad_bias), 6)
    ((2,), 0.0)
    """
    weights = np.asarray(weights, dtype=np.float64)
    grad_weights = np.zeros_like(weights)
    for index in range(weights.size):
        shift = np.zeros_like(weights)
        shift[index] = step
        grad_weights[index] = (reference_loss(weights + shift, bias, x, y)
                               - reference_loss(weights - shift, bias, x, y)) / (2 * step)
    grad_bias = (reference_loss(weights, bias + step, x, y)
                 - reference_loss(weights, bias - step, x, y)) / (2 * step)
    return grad_weights, grad_bias


def _scalar(value, what, call):
    """A number from a float, 0-d or one-element array or tensor."""
    array = to_numpy(value)
    if array.size != 1:
        fail(f"{call} gave {what} of shape {array.shape}", "a single number",
             f"The {what} is one number (average over the samples with np.mean).")
    return float(array.reshape(-1)[0])


def _unpack(result, count, names, call):
    if not isinstance(result, (tuple, list)) or len(result) != count:
        fail(f"{call} returned {type(result).__name__}"
             + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""),
             f"a tuple ({', '.join(names)})",
             f"End with `return {', '.join(names)}`.")
    return result


def _gradient_hint(found, numeric, num_samples):
    """Name the usual mistake behind wrong partial derivatives."""
    found = np.asarray(found, dtype=np.float64)
    if found.shape == numeric.shape and np.any(np.abs(numeric) > 1e-6):
        if np.allclose(found, -numeric, rtol=1e-4, atol=1e-6):
            return ("The sign is flipped: the gradient must point uphill, "
                    "towards a larger loss.")
        if np.allclose(found, numeric * num_samples, rtol=1e-4, atol=1e-6):
            return ("You summed over the samples; the loss is a mean, so "
                    "divide by the number of samples N.")
    return ("Apply the chain rule through the mean, the log and the sigmoid "
            "(whose derivative is p * (1 - p)), with p = sigmoid(x @ w + b); "
            "compare one partial derivative with the numerical slope to find "
            "the faulty factor.")


def expect_loss_and_gradients(loss_and_gradients, weights, bias, x, y, description,
                              rtol=1e-4, atol=1e-6):
    """Compare the student's loss and partial derivatives with the numbers."""
    call = f"loss_and_gradients(weights, bias, x, y) for {description}"
    result = call_student(loss_and_gradients, weights.copy(), bias, x.copy(), y.copy(),
                          call=call)
    loss, grad_weights, grad_bias = _unpack(
        result, 3, ("loss", "grad_weights", "grad_bias"), call)
    expected_loss = reference_loss(weights, bias, x, y)
    loss = _scalar(loss, "loss", call)
    if not np.isclose(loss, expected_loss, rtol=rtol, atol=atol):
        fail(f"{call} gave loss {loss:.6g}", f"{expected_loss:.6g}",
             "The loss is the MEAN over samples of -(y log p + (1 - y) log(1 - p)) "
             "with p = sigmoid(x @ weights + bias).")
    numeric_weights, numeric_bias = numerical_gradients(weights, bias, x, y)
    grad_weights = to_numpy(grad_weights).astype(np.float64)
    if grad_weights.shape != numeric_weights.shape:
        fail(f"{call} gave grad_weights of shape {grad_weights.shape}",
             f"shape {numeric_weights.shape} (one partial derivative per weight)",
             "Return dL/dw_j for every weight j: one number per weight, shape (F,).")
    for index in range(numeric_weights.size):
        if not np.isclose(grad_weights[index], numeric_weights[index],
                          rtol=rtol, atol=atol):
            fail(f"{call} gave dL/dw[{index}] = {grad_weights[index]:.6g} "
                 f"(all: {short(grad_weights)})",
                 f"{numeric_weights[index]:.6g}, the centred numerical slope "
                 f"(loss(w + h) - loss(w - h)) / 2h (all: {short(numeric_weights)})",
                 _gradient_hint(grad_weights, numeric_weights, len(y)))
    grad_bias = _scalar(grad_bias, "grad_bias", call)
    if not np.isclose(grad_bias, numeric_bias, rtol=rtol, atol=atol):
        fail(f"{call} gave dL/db = {grad_bias:.6g}",
             f"{numeric_bias:.6g}, the centred numerical slope",
             _gradient_hint(np.array([grad_bias]), np.array([numeric_bias]),
                            len(y)))


def _example():
    x = np.array([[0.5, -1.0], [1.5, 2.0], [-0.5, 0.25], [1.0, -1.5]])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    return np.array([0.4, -0.3]), 0.2, x, y


@forbids_library_routines(GRADIENT_LIBRARY_ROUTINES, "loss_and_gradients",
                          hint=GRADIENT_HINT)
def check_loss_value(loss_and_gradients):
    """The loss of one sigmoid neuron on four samples (the gradients come next).

    Example:

    >>> def loss_and_gradients(weights, bias, x, y):
    ...     return 0.0, np.zeros_like(weights), 0.0
    >>> try:
    ...     check_loss_value(loss_and_gradients)
    ... except CheckFailure as failure:
    ...     print(failure.found)
    loss_and_gradients(weights, bias, x, y) for 4 samples, 2 features gave loss 0
    """
    weights, bias, x, y = _example()
    call = "loss_and_gradients(weights, bias, x, y) for 4 samples, 2 features"
    result = call_student(loss_and_gradients, weights.copy(), bias, x.copy(), y.copy(),
                          call=call)
    loss = _scalar(_unpack(result, 3, ("loss", "grad_weights", "grad_bias"), call)[0],
                   "loss", call)
    expected = reference_loss(weights, bias, x, y)
    if not np.isclose(loss, expected, rtol=1e-4, atol=1e-6):
        summed = expected * len(y)
        hint = ("The loss is the MEAN over samples of "
                "-(y log p + (1 - y) log(1 - p)) with p = sigmoid(x @ w + b).")
        if np.isclose(loss, summed, rtol=1e-4):
            hint = "Average over the samples (np.mean), do not sum."
        elif np.isclose(loss, -expected, rtol=1e-4):
            hint = "Mind the minus sign: the loss is positive."
        fail(f"{call} gave loss {loss:.6g}", f"{expected:.6g}", hint)


@forbids_library_routines(GRADIENT_LIBRARY_ROUTINES, "loss_and_gradients",
                          hint=GRADIENT_HINT)
def check_gradients_numerically(loss_and_gradients):
    """Every partial derivative matches a centred numerical gradient.

    Example:

    >>> def loss_and_gradients(weights, bias, x, y):
    ...     return reference_loss(weights, bias, x, y), np.zeros_like(weights), 0.0
    >>> try:
    ...     check_gradients_numerically(loss_and_gradients)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +ELLIPSIS
    loss_and_gradients(... gave dL/dw[0] = 0 (all: [0., 0.])
    """
    weights, bias, x, y = _example()
    expect_loss_and_gradients(loss_and_gradients, weights, bias, x, y,
                              "4 samples, 2 features")


def _step_hint(weights, grad_weights, expected_weights, new_weights):
    if np.allclose(new_weights - weights, weights - expected_weights):
        return ("Step DOWNHILL: subtract learning_rate times the gradient "
                "from each weight.")
    if np.allclose(new_weights, weights - grad_weights):
        return "Scale the step by the learning rate."
    return ("One step moves every weight and the bias by learning_rate times "
            "its partial derivative, against the gradient.")


def expect_step(gradient_descent_step, weights, bias, grad_weights, grad_bias,
                learning_rate, expected_weights, expected_bias):
    """Call the student's step and compare with the expected new parameters."""
    call = (f"gradient_descent_step(weights={short(weights)}, bias={bias}, "
            f"grad_weights={short(grad_weights)}, grad_bias={grad_bias}, "
            f"learning_rate={learning_rate})")
    expected_weights = np.asarray(expected_weights, dtype=np.float64)
    result = call_student(gradient_descent_step, weights.copy(), bias,
                          grad_weights.copy(), grad_bias, learning_rate, call=call)
    new_weights, new_bias = _unpack(result, 2, ("new_weights", "new_bias"), call)
    new_weights = to_numpy(new_weights).astype(np.float64)
    if new_weights.shape != expected_weights.shape:
        fail(f"{call} gave new_weights of shape {new_weights.shape}",
             f"shape {expected_weights.shape}",
             "new_weights has the shape of weights: one value per weight.")
    if not np.allclose(new_weights, expected_weights, rtol=1e-6, atol=1e-7):
        fail(f"{call} gave new_weights {short(new_weights)}",
             short(expected_weights),
             _step_hint(weights, grad_weights, expected_weights, new_weights))
    new_bias = _scalar(new_bias, "new_bias", call)
    if not np.isclose(new_bias, expected_bias, rtol=1e-6, atol=1e-7):
        fail(f"{call} gave new_bias {new_bias:.6g}", f"{expected_bias:.6g}",
             "Update the bias too, with its own partial derivative.")


@forbids_library_routines(GRADIENT_LIBRARY_ROUTINES, "gradient_descent_step",
                          hint=GRADIENT_HINT)
def check_gradient_descent_step(gradient_descent_step):
    """One update: weights and bias move against their gradients.

    Example:

    >>> try:
    ...     check_gradient_descent_step(
    ...         lambda w, b, gw, gb, learning_rate: (w, b))  # does not move
    ... except CheckFailure as failure:
    ...     print(failure.expected)
    [ 0.95, -1.85, 0.5 ]
    """
    # Worked by hand: 1 - 0.5 * 0.1 = 0.95, -2 - 0.5 * -0.3 = -1.85, 0.5 stays;
    # the bias goes 0.5 - 0.5 * 0.2 = 0.4.
    expect_step(gradient_descent_step, np.array([1.0, -2.0, 0.5]), 0.5,
                np.array([0.1, -0.3, 0.0]), 0.2, 0.5,
                np.array([0.95, -1.85, 0.5]), 0.4)


def run_descent(loss_and_gradients, gradient_descent_step, weights, bias, x, y,
                learning_rate, num_steps):
    """Run the student's functions for `num_steps`; return the losses and parameters.

    The losses are computed by `reference_loss`, so a wrong loss value cannot
    hide a wrong update.
    """
    losses = [reference_loss(weights, bias, x, y)]
    for step in range(num_steps):
        result = call_student(loss_and_gradients, np.array(weights, copy=True), bias,
                              x.copy(), y.copy(), call="loss_and_gradients(...)")
        _, grad_weights, grad_bias = _unpack(
            result, 3, ("loss", "grad_weights", "grad_bias"), "loss_and_gradients(...)")
        result = call_student(gradient_descent_step, np.array(weights, copy=True),
                              bias, grad_weights, grad_bias, learning_rate,
                              call="gradient_descent_step(...)")
        weights, bias = _unpack(result, 2, ("new_weights", "new_bias"),
                                "gradient_descent_step(...)")
        weights = to_numpy(weights).astype(np.float64)
        bias = _scalar(bias, "new_bias", "gradient_descent_step(...)")
        losses.append(reference_loss(weights, bias, x, y))
    return np.array(losses), weights, bias


@forbids_library_routines(GRADIENT_LIBRARY_ROUTINES, "loss_and_gradients",
                          hint=GRADIENT_HINT)
@forbids_library_routines(GRADIENT_LIBRARY_ROUTINES, "gradient_descent_step",
                          hint=GRADIENT_HINT)
def check_gradient_descent_lowers_loss(loss_and_gradients, gradient_descent_step):
    """Twenty steps with learning rate 0.5 lower the loss at every step.

    Example:

    >>> try:
    ...     check_gradient_descent_lowers_loss(
    ...         lambda w, b, x, y: (0.0, np.zeros_like(w), 0.0),
    ...         lambda w, b, gw, gb, learning_rate: (w, b))
    ... except CheckFailure as failure:
    ...     print(failure.expected)
    a loss that falls at every step, to below 60% of its start
    """
    generator = np.random.default_rng(0)
    x = generator.normal(size=(40, 3))
    y = (x @ np.array([1.5, -2.0, 0.5]) + 0.3 > 0).astype(np.float64)
    with np.errstate(all="ignore"):
        losses, _, _ = run_descent(loss_and_gradients, gradient_descent_step,
                                   np.zeros(3), 0.0, x, y, 0.5, 20)
    if not (np.all(np.isfinite(losses)) and np.all(np.diff(losses) < 0)
            and losses[-1] < 0.6 * losses[0]):
        fail(f"over 20 steps the loss went {short(losses, max_items=6)}",
             "a loss that falls at every step, to below 60% of its start",
             "Move each weight against its partial derivative "
             "(subtract learning_rate times dL/dw) and check the gradients "
             "first.")
