"""Visible checks for the dense-network exercise.

The student writes four small functions:

- `dense_layer(x, kernel, bias)`: what one dense layer computes before its
  activation, the matrix product of `x` and `kernel` plus `bias`: `x`
  `(batch, inputs)`, `kernel` `(inputs, units)`, `bias` `(units,)` ->
  `(batch, units)`.
- `count_parameters(input_dim, hidden_units, num_classes)`: how many weights
  and biases `course_lib.builders.make_mlp` creates for that layout (an int).
- `hidden_layer_weights(model)`: the `(kernel, bias)` of the first hidden
  `Dense` layer of a model from `make_mlp`, as arrays.
- `predict_labels(probabilities)`: the predicted label of every sample, the
  index of its largest output, shape `(N,)`.
"""

import numpy as np

from course_lib.checks.core import CheckFailure, call_student, expect_close, fail, short, to_numpy
from course_lib.checks.library_calls import forbids_library_routines

DENSE_LIBRARY_ROUTINES = frozenset({"Dense", "EinsumDense", "dense"})
COUNT_LIBRARY_ROUTINES = frozenset({"count_params", "make_mlp", "summary"})


def keras_parameter_count(input_dim, hidden_units, num_classes):
    """How many weights and biases `make_mlp` creates, as Keras counts them.

    Example:

    >>> keras_parameter_count(4, (5,), 3)
    43
    """
    from course_lib.builders import make_mlp

    return int(make_mlp(input_dim, num_classes, hidden_units=tuple(hidden_units))
               .count_params())


def first_hidden_weights(model):
    """The `(kernel, bias)` Keras holds for the layer `make_mlp` names "dense_1"."""
    kernel, bias = model.get_layer("dense_1").get_weights()
    return np.asarray(kernel), np.asarray(bias)


def expect_dense_layer(dense_layer, x, kernel, bias, expected, call):
    """Call the student's dense_layer on copies and compare with `expected`.

    `expected` is what `keras.layers.Dense` (no activation) returns with
    these weights (or a worked example's hard-coded answer).
    """
    expected = np.asarray(expected)
    result = to_numpy(call_student(dense_layer, x.copy(), kernel.copy(),
                                   bias.copy(), call=call))
    if result.shape != expected.shape:
        hint = "The output has one row per sample and one column per unit."
        if result.shape == expected.shape[::-1]:
            hint = ("Your output is transposed (units, batch): multiply x "
                    "(batch, inputs) by kernel (inputs, units) as x @ kernel.")
        fail(f"{call} returned shape {result.shape}", f"shape {expected.shape}",
             hint)
    if not np.allclose(result, expected, rtol=1e-5, atol=1e-6):
        positive = expected > 0
        if np.allclose(result + bias, expected, rtol=1e-5, atol=1e-6):
            hint = "Add the bias: every unit has its own offset."
        elif (np.allclose(result[positive], expected[positive], rtol=1e-5, atol=1e-6)
              and np.allclose(result[~positive], 0.0)):
            hint = ("Return the weighted sum itself; the activation (ReLU) is "
                    "applied afterwards by its own layer.")
        else:
            hint = "Each unit computes sum_i x_i * kernel[i, unit] + bias[unit]."
        fail(f"{call} returned {short(result)}", short(expected), hint)


@forbids_library_routines(DENSE_LIBRARY_ROUTINES, "dense_layer",
                          hint="Use a matrix product of x and kernel, then add the bias.")
def check_dense_layer(dense_layer):
    """A dense layer with 3 inputs and 2 units on a batch of 4 samples.

    Example:

    >>> try:
    ...     check_dense_layer(lambda x, kernel, bias: x @ kernel)  # no bias
    ... except CheckFailure as failure:
    ...     print(failure.hint)
    Add the bias: every unit has its own offset.
    """
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5], [2.0, 0.0, -1.0],
                  [-1.0, 1.0, 1.0]])
    kernel = np.array([[0.5, -1.0], [0.25, 0.0], [-0.5, 2.0]])
    bias = np.array([0.1, -0.2])
    # Worked by hand: row 1 gives 1 * 0.5 + 2 * 0.25 + 3 * -0.5 + 0.1 = -0.4
    # and 1 * -1 + 2 * 0 + 3 * 2 - 0.2 = 4.8.
    expected = np.array([[-0.4, 4.8], [-0.4, 0.8], [1.6, -4.2], [-0.65, 2.8]])
    expect_dense_layer(dense_layer, x, kernel, bias, expected,
                       "dense_layer(x, kernel, bias) for x of shape (4, 3), "
                       "kernel (3, 2), bias (2,)")


@forbids_library_routines(COUNT_LIBRARY_ROUTINES, "count_parameters",
                          hint="Add up (inputs + 1) * units for every layer by hand.")
def check_count_parameters(count_parameters):
    """Parameter counts for two small dense networks.

    Example:

    >>> try:
    ...     check_count_parameters(lambda input_dim, hidden_units, num_classes: 0)
    ... except CheckFailure as failure:
    ...     print(failure)  # doctest: +ELLIPSIS
    count_parameters(4, (5,), 3) returned 0; expected 43. ...
    """
    for arguments in [(4, (5,), 3), (64, (32,), 10)]:
        expect_parameter_count(count_parameters, *arguments)


def expect_parameter_count(count_parameters, input_dim, hidden_units, num_classes):
    """Call the student's count_parameters and compare with Keras' count."""
    from course_lib.builders import make_mlp

    call = f"count_parameters({input_dim}, {hidden_units}, {num_classes})"
    model = make_mlp(input_dim, num_classes, hidden_units=tuple(hidden_units))
    expected = int(model.count_params())
    result = to_numpy(call_student(count_parameters, input_dim, hidden_units,
                                   num_classes, call=call))
    if result.size != 1 or result.reshape(-1)[0] != expected:
        found = result.reshape(-1)[0] if result.size == 1 else None
        biases = sum(int(np.prod(weight.shape)) for weight in model.weights
                     if len(weight.shape) == 1)
        output_layer = int(model.get_layer("probabilities").count_params())
        if found == expected - biases:
            hint = "You counted the kernels only; every unit also has a bias."
        elif found == expected - output_layer:
            hint = "Count the output layer (num_classes units) too."
        else:
            hint = ("A dense layer from `inputs` to `units` has "
                    "inputs * units weights plus units biases.")
        fail(f"{call} returned {short(result)}", str(expected), hint)


def check_hidden_layer_weights(hidden_layer_weights):
    """(kernel, bias) of the first hidden layer of make_mlp(4, 3, (5,)).

    Example:

    >>> try:
    ...     check_hidden_layer_weights(lambda model: None)
    ... except CheckFailure as failure:
    ...     print(failure.hint)
    Return both arrays, e.g. `return kernel, bias`.
    """
    from course_lib.builders import make_mlp

    model = make_mlp(input_shape=4, num_classes=3, hidden_units=(5,))
    expect_hidden_layer_weights(hidden_layer_weights, model,
                                "hidden_layer_weights(make_mlp(4, 3, hidden_units=(5,)))")


def expect_hidden_layer_weights(hidden_layer_weights, model, call):
    """Compare the student's (kernel, bias) with the model's first Dense layer."""
    kernel, bias = first_hidden_weights(model)
    result = call_student(hidden_layer_weights, model, call=call)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"{call} returned {type(result).__name__}",
             "a pair (kernel, bias)",
             "Return both arrays, e.g. `return kernel, bias`.")
    found_kernel, found_bias = (to_numpy(part) for part in result)
    if found_kernel.shape == bias.shape and found_bias.shape == kernel.shape:
        fail(f"{call} returned shapes ({found_kernel.shape}, {found_bias.shape})",
             f"({kernel.shape}, {bias.shape})",
             "Return the kernel first and the bias second.")
    if found_kernel.shape != kernel.shape:
        hint = ("The kernel of the first hidden layer has shape (inputs, units)"
                " = " + str(kernel.shape) + ".")
        if found_kernel.shape == kernel.shape[::-1]:
            hint = "Return the kernel as Keras stores it, (inputs, units); do not transpose it."
        elif found_kernel.ndim == 2 and found_kernel.shape[1] != kernel.shape[1]:
            hint = ("That is another layer: take the FIRST Dense layer (the "
                    "hidden one), not the output layer.")
        fail(f"{call} returned a kernel of shape {found_kernel.shape}",
             f"shape {kernel.shape}", hint)
    expect_close(found_kernel, kernel, f"the kernel from {call}",
                 "Return the layer's own weights (layer.get_weights()), not "
                 "fresh or modified ones.", atol=1e-7)
    expect_close(found_bias, bias, f"the bias from {call}",
                 "The bias has one entry per hidden unit.", atol=1e-7)


def expect_predicted_labels(predict_labels, probabilities, expected, call):
    """Call the student's predict_labels and compare with the `expected` labels."""
    expected = np.asarray(expected)
    result = to_numpy(call_student(predict_labels, probabilities.copy(), call=call))
    if result.dtype == bool or not np.issubdtype(result.dtype, np.number):
        fail(f"{call} returned an array of dtype {result.dtype}",
             "integer labels", "Return the index of the largest probability.")
    if result.shape != expected.shape:
        hint = "Return one label per sample: the argmax over the classes (axis=1)."
        if result.shape == probabilities.shape:
            hint = ("Return the label itself (an index), not a one-hot row: "
                    "use argmax over axis 1.")
        fail(f"{call} returned shape {result.shape}", f"shape {expected.shape}", hint)
    if not np.array_equal(result, expected):
        hint = "The predicted label is the index of the largest output (argmax over axis 1)."
        if np.array_equal(result, expected + 1):
            hint = "Labels start at 0: the first output is label 0."
        elif np.allclose(result, probabilities.max(axis=1)):
            hint = "Return WHICH class is largest (argmax), not its probability (max)."
        elif np.issubdtype(result.dtype, np.integer) and np.all(
                (result >= 0) & (result < probabilities.shape[1])) and np.array_equal(
                probabilities[np.arange(len(result)), result], probabilities.min(axis=1)):
            hint = "Pick the LARGEST output (argmax), not the smallest."
        elif (probabilities.shape[0] == probabilities.shape[1]
              and np.issubdtype(result.dtype, np.integer)
              and np.all((result >= 0) & (result < probabilities.shape[0]))
              and np.array_equal(probabilities[result, np.arange(len(result))],
                                 probabilities.max(axis=0))):
            hint = "Take the argmax over the classes, axis=1, for each sample."
        fail(f"{call} returned {short(result)}", short(expected), hint)


def check_predict_labels(predict_labels):
    """Four samples of three classes: the label is the argmax of each row.

    Example:

    >>> try:
    ...     check_predict_labels(lambda probabilities: probabilities.max(axis=1))
    ... except CheckFailure as failure:
    ...     print(failure.hint)
    Return WHICH class is largest (argmax), not its probability (max).
    """
    probabilities = np.array([[0.1, 0.7, 0.2],
                              [0.8, 0.15, 0.05],
                              [0.2, 0.3, 0.5],
                              [0.3, 0.4, 0.3]])
    expect_predicted_labels(predict_labels, probabilities, np.array([1, 0, 2, 1]),
                            "predict_labels(probabilities) for 4 samples, 3 classes")
