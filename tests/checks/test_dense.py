"""The dense-network checks accept correct answers and reject known mistakes."""

import keras
import numpy as np
import pytest

from autograder.checks import dense as hidden
from course_lib.checks import dense as visible
from tests.checks.helpers import assert_fails, notebook_function

DENSE_CHECKS = [visible.check_dense_layer, hidden.check_dense_layer_matches_keras]
COUNT_CHECKS = [visible.check_count_parameters, hidden.check_count_parameters_matches_keras]
WEIGHT_CHECKS = [visible.check_hidden_layer_weights, hidden.check_hidden_layer_weights_any_model]
LABEL_CHECKS = [visible.check_predict_labels, hidden.check_predict_labels_any_shape]


# dense_layer ---------------------------------------------------------------

@pytest.mark.parametrize("dense_layer", [
    lambda x, kernel, bias: x @ kernel + bias,
    lambda x, kernel, bias: np.dot(x, kernel) + bias[None, :],
    lambda x, kernel, bias: keras.ops.matmul(x, kernel) + bias,
    lambda x, kernel, bias: np.einsum("bi,iu->bu", x, kernel) + bias,
    lambda x, kernel, bias: np.array([[sum(row[i] * kernel[i, u] for i in range(len(row)))
                                       + bias[u] for u in range(kernel.shape[1])]
                                      for row in x]),
], ids=["matmul", "dot", "keras", "einsum", "loops"])
def test_correct_dense_layer_passes(dense_layer):
    for check in DENSE_CHECKS:
        check(dense_layer)


def test_dense_layer_rejects_missing_bias():
    for check in DENSE_CHECKS:
        assert_fails(check, lambda x, kernel, bias: x @ kernel, fragments=["bias"])


def test_dense_layer_rejects_transposed_kernel():
    def bug(x, kernel, bias):
        return x @ kernel.T + bias

    for check in DENSE_CHECKS:
        assert_fails(check, bug)


def test_dense_layer_rejects_kernel_before_x():
    def bug(x, kernel, bias):
        return (kernel.T @ x.T + bias[:, None])

    assert_fails(visible.check_dense_layer, bug, fragments=["transposed"])


def test_dense_layer_rejects_activation_applied():
    for check in DENSE_CHECKS:
        assert_fails(check, lambda x, kernel, bias: np.maximum(x @ kernel + bias, 0),
                     fragments=["activation"])


def test_dense_layer_rejects_keras_dense_layer():
    dense_layer = notebook_function(
        "def dense_layer(x, kernel, bias):\n"
        "    layer = keras.layers.Dense(kernel.shape[1])\n"
        "    layer.build(x.shape)\n"
        "    layer.set_weights([kernel, bias])\n"
        "    return layer(x)\n",
        "dense_layer")
    for check in DENSE_CHECKS:
        assert_fails(check, dense_layer, fragments=["no credit"])


# count_parameters ----------------------------------------------------------

def count_loop(input_dim, hidden_units, num_classes):
    total, previous = 0, input_dim
    for units in list(hidden_units) + [num_classes]:
        total += previous * units + units
        previous = units
    return total


@pytest.mark.parametrize("count_parameters", [
    count_loop,
    hidden.reference_parameter_count,
    lambda input_dim, hidden_units, num_classes: np.int64(count_loop(
        input_dim, hidden_units, num_classes)),
], ids=["loop", "zip", "numpy_int"])
def test_correct_count_parameters_passes(count_parameters):
    for check in COUNT_CHECKS:
        check(count_parameters)


def test_count_parameters_rejects_missing_biases():
    def bug(input_dim, hidden_units, num_classes):
        widths = [input_dim, *hidden_units, num_classes]
        return sum(a * b for a, b in zip(widths, widths[1:]))

    for check in COUNT_CHECKS:
        assert_fails(check, bug, fragments=["bias"])


def test_count_parameters_rejects_missing_output_layer():
    def bug(input_dim, hidden_units, num_classes):
        widths = [input_dim, *hidden_units]
        return sum((a + 1) * b for a, b in zip(widths, widths[1:]))

    for check in COUNT_CHECKS:
        assert_fails(check, bug, fragments=["output layer"])


def test_count_parameters_rejects_building_the_model():
    count_parameters = notebook_function(
        "from course_lib.builders import make_mlp\n"
        "def count_parameters(input_dim, hidden_units, num_classes):\n"
        "    return make_mlp(input_dim, num_classes, hidden_units).count_params()\n",
        "count_parameters")
    for check in COUNT_CHECKS:
        assert_fails(check, count_parameters, fragments=["no credit"])


# hidden_layer_weights ------------------------------------------------------

def weights_by_type(model):
    layer = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][0]
    kernel, bias = layer.get_weights()
    return kernel, bias


def weights_by_name(model):
    layer = model.get_layer("dense_1")
    return layer.kernel, layer.bias


def weights_from_model_weights(model):
    return model.weights[0].numpy(), model.weights[1].numpy()


@pytest.mark.parametrize("hidden_layer_weights",
                         [weights_by_type, weights_by_name, weights_from_model_weights],
                         ids=lambda f: f.__name__)
def test_correct_hidden_layer_weights_passes(hidden_layer_weights):
    for check in WEIGHT_CHECKS:
        check(hidden_layer_weights)


def test_hidden_layer_weights_rejects_output_layer():
    def bug(model):
        return tuple(model.layers[-1].get_weights())

    for check in WEIGHT_CHECKS:
        assert_fails(check, bug, fragments=["another layer"])


def test_hidden_layer_weights_rejects_transposed_kernel():
    def bug(model):
        kernel, bias = weights_by_type(model)
        return kernel.T, bias

    for check in WEIGHT_CHECKS:
        assert_fails(check, bug, fragments=["transpose"])


def test_hidden_layer_weights_rejects_swapped_order():
    def bug(model):
        kernel, bias = weights_by_type(model)
        return bias, kernel

    for check in WEIGHT_CHECKS:
        assert_fails(check, bug, fragments=["kernel first"])


def test_hidden_layer_weights_rejects_flatten_layer():
    def bug(model):
        return tuple(model.layers[1].get_weights())

    for check in WEIGHT_CHECKS:
        assert_fails(check, bug, fragments=["pair"])


def test_hidden_layer_weights_rejects_fresh_weights():
    def bug(model):
        kernel, bias = weights_by_type(model)
        return np.random.default_rng(0).normal(size=kernel.shape), bias

    assert_fails(visible.check_hidden_layer_weights, bug, fragments=["own weights"])


# predict_labels --------------------------------------------------------------

@pytest.mark.parametrize("predict_labels", [
    lambda probabilities: np.argmax(probabilities, axis=1),
    lambda probabilities: probabilities.argmax(axis=-1),
    lambda probabilities: keras.ops.argmax(probabilities, axis=1),
    lambda probabilities: np.array([list(row).index(max(row)) for row in probabilities]),
], ids=["argmax", "method", "keras", "loop"])
def test_correct_predict_labels_passes(predict_labels):
    for check in LABEL_CHECKS:
        check(predict_labels)


def test_predict_labels_rejects_wrong_axis():
    bug = lambda probabilities: np.argmax(probabilities, axis=0)  # noqa: E731
    for check in LABEL_CHECKS:
        assert_fails(check, bug)
    assert_fails(hidden.check_predict_labels_any_shape, bug, fragments=["axis=1"])


def test_predict_labels_rejects_max_probability():
    for check in LABEL_CHECKS:
        assert_fails(check, lambda probabilities: probabilities.max(axis=1),
                     fragments=["argmax"])


def test_predict_labels_rejects_one_based_labels():
    for check in LABEL_CHECKS:
        assert_fails(check, lambda probabilities: probabilities.argmax(axis=1) + 1,
                     fragments=["start at 0"])


def test_predict_labels_rejects_one_hot_output():
    def bug(probabilities):
        return np.eye(probabilities.shape[1])[probabilities.argmax(axis=1)]

    for check in LABEL_CHECKS:
        assert_fails(check, bug, fragments=["one-hot"])


def test_predict_labels_rejects_argmin():
    for check in LABEL_CHECKS:
        assert_fails(check, lambda probabilities: probabilities.argmin(axis=1),
                     fragments=["LARGEST"])


def test_dense_stubs_fail_cleanly():
    def stub(*arguments):
        raise NotImplementedError()

    for check in DENSE_CHECKS + COUNT_CHECKS + WEIGHT_CHECKS + LABEL_CHECKS:
        assert_fails(check, stub, fragments=["NotImplementedError"])


@pytest.mark.parametrize("layout", [(4, (5,), 3), *hidden.COUNT_LAYOUTS])
def test_visible_keras_count_matches_the_hidden_formula(layout):
    assert visible.keras_parameter_count(*layout) == hidden.reference_parameter_count(*layout)


@pytest.mark.parametrize("arguments", [arguments for arguments, _ in hidden.WEIGHT_MODELS])
def test_visible_first_hidden_weights_is_the_first_dense_layer(arguments):
    from course_lib.builders import make_mlp

    model = make_mlp(**arguments)
    assert model.get_layer("dense_1") is hidden.first_dense_layer(model)
    kernel, bias = visible.first_hidden_weights(model)
    expected_kernel, expected_bias = hidden.first_dense_layer(model).get_weights()
    assert np.array_equal(kernel, expected_kernel) and np.array_equal(bias, expected_bias)


@pytest.mark.parametrize("batch, inputs, units", [(4, 6, 3), (1, 2, 5), (7, 1, 1), (3, 4, 4)])
def test_keras_dense_is_the_matrix_product_plus_bias(batch, inputs, units):
    generator = np.random.default_rng(batch * inputs * units)
    x = generator.normal(size=(batch, inputs)).astype(np.float32)
    kernel = generator.normal(size=(inputs, units)).astype(np.float32)
    bias = generator.normal(size=units).astype(np.float32)
    assert np.allclose(hidden.keras_dense(x, kernel, bias), x @ kernel + bias, atol=1e-5)
