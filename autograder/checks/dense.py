"""Hidden checks for the dense-network exercise: Keras itself as the reference."""

import numpy as np

from course_lib.checks.dense import (COUNT_LIBRARY_ROUTINES, DENSE_LIBRARY_ROUTINES,
                                     expect_dense_layer, expect_hidden_layer_weights,
                                     expect_parameter_count, expect_predicted_labels)
from course_lib.checks.library_calls import forbids_library_routines


# (input_dim, hidden_units, num_classes) layouts whose parameters are counted.
COUNT_LAYOUTS = ((784, (128, 64), 10), (2, (), 2), (10, (8, 8, 8), 4), (1, (1,), 2))
# make_mlp arguments, and how the message shows them, for the weight check.
WEIGHT_MODELS = (
    (dict(input_shape=(8, 8), num_classes=10, hidden_units=(16, 8), dropout_rate=0.2),
     "make_mlp((8, 8), 10, (16, 8), dropout_rate=0.2)"),
    (dict(input_shape=6, num_classes=2, hidden_units=(3,), activation="tanh"),
     "make_mlp(6, 2, (3,), activation='tanh')"),
)


def reference_parameter_count(input_dim, hidden_units, num_classes):
    """Weights plus biases of a dense network: sum of (inputs + 1) * units.

    Example:

    >>> reference_parameter_count(4, (5,), 3)
    43
    """
    widths = [input_dim, *hidden_units, num_classes]
    return sum((inputs + 1) * units for inputs, units in zip(widths, widths[1:]))


def keras_dense(x, kernel, bias):
    """What a `keras.layers.Dense` with these weights (no activation) makes of `x`.

    Example:

    >>> keras_dense(np.ones((1, 2)), np.ones((2, 3)), np.arange(3.0))
    array([[2., 3., 4.]], dtype=float32)
    """
    import keras

    layer = keras.layers.Dense(np.shape(kernel)[1])
    layer.build((None, np.shape(kernel)[0]))
    layer.set_weights([kernel, bias])
    return keras.ops.convert_to_numpy(layer(x))


def first_dense_layer(model):
    """The first `keras.layers.Dense` layer of `model` (the first hidden layer)."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            return layer
    raise ValueError("the model has no Dense layer")


@forbids_library_routines(DENSE_LIBRARY_ROUTINES, "dense_layer",
                          hint="Use a matrix product of x and kernel, then add the bias.")
def check_dense_layer_matches_keras(dense_layer):
    """dense_layer equals keras.layers.Dense (no activation) given the same weights.

    Example:

    >>> check_dense_layer_matches_keras(lambda x, kernel, bias: x @ kernel + bias)
    """
    generator = np.random.default_rng(5)
    for batch, inputs, units in [(4, 6, 3), (1, 2, 5), (7, 1, 1), (3, 4, 4)]:
        x = generator.normal(size=(batch, inputs)).astype(np.float32)
        kernel = generator.normal(size=(inputs, units)).astype(np.float32)
        bias = generator.normal(size=units).astype(np.float32)
        expect_dense_layer(dense_layer, x, kernel, bias, keras_dense(x, kernel, bias),
                           f"dense_layer(x, kernel, bias) for x of shape {x.shape}, "
                           f"kernel {kernel.shape}, bias {bias.shape}")


@forbids_library_routines(COUNT_LIBRARY_ROUTINES, "count_parameters",
                          hint="Add up (inputs + 1) * units for every layer by hand.")
def check_count_parameters_matches_keras(count_parameters):
    """count_parameters equals make_mlp(...).count_params() for several layouts.

    Example:

    >>> check_count_parameters_matches_keras(reference_parameter_count)
    """
    for input_dim, hidden_units, num_classes in COUNT_LAYOUTS:
        expect_parameter_count(count_parameters, input_dim, hidden_units, num_classes)


def check_hidden_layer_weights_any_model(hidden_layer_weights):
    """(kernel, bias) of the first hidden layer for image input, dropout, tanh.

    Example:

    >>> check_hidden_layer_weights_any_model(
    ...     lambda model: tuple(first_dense_layer(model).get_weights()))
    """
    from course_lib.builders import make_mlp

    for arguments, described in WEIGHT_MODELS:
        model = make_mlp(**arguments)
        expect_hidden_layer_weights(hidden_layer_weights, model,
                                    f"hidden_layer_weights({described})")


def check_predict_labels_any_shape(predict_labels):
    """Argmax labels for one sample, many classes, square inputs and float32.

    Example:

    >>> check_predict_labels_any_shape(lambda probabilities: probabilities.argmax(1))
    """
    generator = np.random.default_rng(8)
    cases = [generator.dirichlet(np.ones(10), size=1),
             generator.dirichlet(np.ones(4), size=4).astype(np.float32),
             generator.dirichlet(np.ones(2), size=9),
             generator.dirichlet(np.ones(7), size=30)]
    for probabilities in cases:
        expect_predicted_labels(predict_labels, probabilities,
                                np.argmax(probabilities, axis=1),
                                f"predict_labels(probabilities) for shape "
                                f"{probabilities.shape}")
