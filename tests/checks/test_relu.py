"""The relu checks accept every correct relu and reject each known mistake.

Student answers are written as plain functions here or, where a notebook's
global names matter (a function that is itself called `relu`), compiled into
a fresh namespace with `exec`, which is what a notebook does.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from autograder.checks import relu as hidden
from course_lib.checks import library_calls
from course_lib.checks import relu as visible
from tests.checks.helpers import assert_fails, notebook_function

NUMERIC_CHECKS = [visible.check_relu_basic, visible.check_relu_keeps_shape,
                  hidden.check_relu_matches_keras, hidden.check_relu_input_unchanged]
MODEL_CHECKS = [visible.check_relu_symbolic, hidden.check_relu_in_keras_model]


def assert_passes_only(function, failing, checks=NUMERIC_CHECKS):
    """`function` fails exactly the checks in `failing` among `checks`."""
    for check in checks:
        if check in failing:
            assert_fails(check, function)
        else:
            check(function)


# Correct answers, ordinary and unusual ----------------------------------

def relu_maximum(x):
    return np.maximum(x, 0)


def relu_where(x):
    return np.where(x > 0, x, 0)


def relu_mask_product(x):
    return x * (x > 0)


def relu_clip(x):
    return np.clip(x, 0, None)


def relu_copy_and_assign(x):
    result = np.array(x, copy=True)
    result[result < 0] = 0
    return result


def relu_loop(x):
    result = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        result[index] = x[index] if x[index] > 0 else 0
    return result


def relu_float_maximum(x):
    return np.maximum(x, 0.0)


def relu_half_sum(x):
    return (x + np.abs(x)) / 2


def relu_keras_maximum(x):
    return keras.ops.maximum(x, 0.0)


def relu_keras_where(x):
    return keras.ops.where(x > 0, x, 0.0)


def relu_keras_cast(x):
    x = keras.ops.convert_to_tensor(x)
    return x * keras.ops.cast(x > 0, x.dtype)


def relu_float32(x):
    return keras.ops.maximum(keras.ops.cast(x, "float32"), 0.0)


def relu_heaviside(x):
    return np.heaviside(x, 0) * x


CORRECT = [relu_maximum, relu_where, relu_mask_product, relu_clip,
           relu_copy_and_assign, relu_loop, relu_float_maximum, relu_half_sum,
           relu_keras_maximum, relu_keras_where, relu_keras_cast, relu_float32,
           relu_heaviside]
KERAS_CORRECT = [relu_keras_maximum, relu_keras_where, relu_keras_cast]


@pytest.mark.parametrize("relu", CORRECT, ids=lambda f: f.__name__)
def test_correct_relu_passes_numeric_checks(relu):
    for check in NUMERIC_CHECKS:
        check(relu)


@pytest.mark.parametrize("relu", KERAS_CORRECT, ids=lambda f: f.__name__)
def test_keras_ops_relu_passes_model_checks(relu):
    for check in MODEL_CHECKS:
        check(relu)


def test_recursive_relu_named_relu_is_not_a_library_call():
    relu = notebook_function(
        "def relu(x):\n"
        "    if x.ndim > 1:\n"
        "        return relu(x.reshape(-1)).reshape(x.shape)\n"
        "    return np.array([value if value > 0 else 0 for value in x])\n",
        "relu")
    for check in NUMERIC_CHECKS:
        check(relu)


def test_relu_using_own_helper_passes():
    relu = notebook_function(
        "def positive_part(value):\n"
        "    return keras.ops.maximum(value, 0.0)\n"
        "def relu(x):\n"
        "    return positive_part(x)\n",
        "relu")
    for check in NUMERIC_CHECKS + MODEL_CHECKS:
        check(relu)


def test_keras_relu_is_np_maximum_on_the_hidden_inputs():
    for description, x in hidden.relu_inputs():
        expected = keras.ops.convert_to_numpy(keras.activations.relu(x))
        assert np.array_equal(expected, np.maximum(x, 0)), description


# Mistakes: each one fails the check written for it ----------------------

def test_relu_rejects_unfinished_stub():
    def relu(x):
        raise NotImplementedError()

    for check in NUMERIC_CHECKS + MODEL_CHECKS:
        assert_fails(check, relu, fragments=["NotImplementedError"])


def test_relu_rejects_missing_return():
    def relu(x):
        np.maximum(x, 0)

    assert_fails(visible.check_relu_basic, relu, fragments=["return"])


def test_relu_rejects_identity():
    message = assert_fails(visible.check_relu_basic, lambda x: x.copy(),
                           fragments=["unchanged"])
    assert "expected" in message
    assert_fails(hidden.check_relu_matches_keras, lambda x: x.copy())


def test_relu_rejects_abs():
    assert_fails(visible.check_relu_basic, np.abs, fragments=["absolute value"])
    assert_fails(hidden.check_relu_matches_keras, np.abs)


def test_relu_rejects_leaky_slope():
    def leaky(x):
        return np.where(x > 0, x, 0.01 * x)

    assert_fails(visible.check_relu_basic, leaky, fragments=["leaky"])
    assert_fails(hidden.check_relu_matches_keras, leaky)


def test_relu_rejects_tiny_leaky_slope():
    def barely_leaky(x):
        return np.where(x > 0, x, 1e-9 * x)

    assert_fails(hidden.check_relu_matches_keras, barely_leaky)


def test_relu_rejects_relu6_cap():
    def relu6(x):
        return np.minimum(np.maximum(x, 0), 6)

    assert_fails(visible.check_relu_basic, relu6, fragments=["no upper cap"])
    assert_fails(hidden.check_relu_matches_keras, relu6)


def test_relu_rejects_boolean_mask():
    assert_passes_only(lambda x: x > 0, {visible.check_relu_basic,
                                         visible.check_relu_keeps_shape,
                                         hidden.check_relu_matches_keras})
    assert_fails(visible.check_relu_basic, lambda x: x > 0, fragments=["boolean"])


@pytest.mark.parametrize("check", MODEL_CHECKS, ids=lambda check: check.__name__)
def test_mask_product_on_a_tensor_is_told_that_tensorflow_made_it_bool(check):
    """`x * (x > 0)` is right in NumPy; on a TensorFlow tensor it is a bool
    tensor. The message names that cause and the cast, not a raw TensorFlow
    error or advice to "use keras.ops"."""
    message = assert_fails(check, relu_mask_product,
                           fragments=["boolean", "keras.ops.cast(x > 0, x.dtype)"])
    assert "InvalidArgumentError" not in message


def test_relu_rejects_dtype_dropped_to_bool():
    assert_fails(visible.check_relu_basic,
                 lambda x: np.maximum(x, 0).astype(bool), fragments=["boolean"])


def test_relu_rejects_integer_truncation():
    assert_fails(visible.check_relu_basic,
                 lambda x: np.maximum(x, 0).astype(np.int64))


def test_relu_rejects_in_place_edit_of_input():
    def in_place(x):
        x[x < 0] = 0
        return x

    assert_passes_only(in_place, {visible.check_relu_keeps_shape,
                                  hidden.check_relu_input_unchanged})


def test_relu_rejects_maximum_with_out_argument():
    assert_passes_only(lambda x: np.maximum(x, 0, out=x),
                       {visible.check_relu_keeps_shape,
                        hidden.check_relu_input_unchanged})


def test_relu_rejects_works_only_on_1d():
    def only_vectors(x):
        return np.array([max(value, 0) for value in x])

    assert_passes_only(only_vectors, {visible.check_relu_keeps_shape,
                                      hidden.check_relu_matches_keras,
                                      hidden.check_relu_input_unchanged})


def test_relu_rejects_flattened_output():
    assert_passes_only(lambda x: np.maximum(x, 0).ravel(),
                       {visible.check_relu_keeps_shape,
                        hidden.check_relu_matches_keras})


def test_relu_rejects_returning_a_list():
    def as_list(x):
        return [max(value, 0) for value in x]

    assert_fails(visible.check_relu_basic, as_list, fragments=["list"])


def test_relu_rejects_zeroing_small_positives():
    assert_fails(visible.check_relu_basic, lambda x: np.where(x > 1, x, 0))


def test_relu_rejects_positive_zeroing():
    assert_fails(visible.check_relu_basic, lambda x: np.minimum(x, 0))


def test_relu_rejects_integer_input_breaking():
    # float-only code such as np.maximum(x, 0).astype(np.float32) is fine, but
    # rounding ints through float16 is not.
    assert_fails(hidden.check_relu_matches_keras,
                 lambda x: np.maximum(x, 0).astype(np.float16))


def test_relu_numpy_version_fails_only_model_checks():
    for check in MODEL_CHECKS:
        assert_fails(check, relu_where, fragments=["keras.ops"])


def test_relu_model_check_rejects_non_differentiable_relu():
    def detached(x):
        return tf.stop_gradient(keras.ops.maximum(x, 0.0))

    assert_fails(visible.check_relu_symbolic, detached, fragments=["gradient"])


LIBRARY_CALLS = {
    "tf.nn.relu": "def relu(x):\n    return tf.nn.relu(x)\n",
    "keras.activations.relu": "def relu(x):\n    return keras.activations.relu(x)\n",
    "keras.ops.relu": "def relu(x):\n    return keras.ops.relu(x)\n",
    "alias import": "from keras.ops import relu as r\ndef relu(x):\n    return r(x)\n",
    "import inside": "def relu(x):\n    from tensorflow.nn import relu as r\n    return r(x)\n",
    "layer": "def relu(x):\n    return keras.layers.ReLU()(x)\n",
    "by name": "def relu(x):\n    return keras.activations.get('relu')(x)\n",
    "hidden in helper": ("def helper(x):\n    return tf.nn.relu(x)\n"
                         "def relu(x):\n    return helper(x)\n"),
    "in a lambda": "def relu(x):\n    return (lambda v: keras.ops.relu(v))(x)\n",
    "relu6": "def relu(x):\n    return tf.nn.relu6(x)\n",
}


@pytest.mark.parametrize("source", LIBRARY_CALLS.values(), ids=LIBRARY_CALLS.keys())
def test_relu_rejects_library_call(source):
    relu = notebook_function(source, "relu")
    for check in NUMERIC_CHECKS + MODEL_CHECKS:
        assert_fails(check, relu, fragments=["no credit"])


def test_library_routine_decorator_keeps_the_check_and_its_message():
    import inspect

    assert visible.check_relu_basic.__name__ == "check_relu_basic"
    assert "positives kept" in visible.check_relu_basic.__doc__
    assert list(inspect.signature(visible.check_relu_basic).parameters) == ["relu"]
    message = assert_fails(visible.check_relu_basic, tf.nn.relu)
    assert message.startswith("your relu calls the library routine(s) [")
    assert ("expected your own implementation of relu (no credit for calling the "
            "library version). " + visible.RELU_HINT) in message
    with pytest.raises(ValueError, match="no parameter 'relu'"):
        library_calls.forbids_library_routines({"relu"}, "relu", hint="")(lambda x: x)


def test_library_scanner_allows_building_blocks():
    relu = notebook_function(
        "def relu(x):\n"
        "    x = keras.ops.convert_to_tensor(x)\n"
        "    return keras.ops.where(keras.ops.greater(x, 0), x, keras.ops.zeros_like(x))\n",
        "relu")
    assert library_calls.library_routines_used(relu, visible.RELU_LIBRARY_ROUTINES) == []


@pytest.mark.parametrize("library_relu", [tf.nn.relu, keras.activations.relu, keras.ops.relu],
                         ids=["tf.nn.relu", "keras.activations.relu", "keras.ops.relu"])
def test_relu_rejects_library_function_passed_directly(library_relu):
    for check in NUMERIC_CHECKS + MODEL_CHECKS:
        assert_fails(check, library_relu, fragments=["no credit"])


def test_decorated_student_relu_is_not_mistaken_for_a_library_routine():
    relu = notebook_function(
        "@np.vectorize\n"
        "def relu(value):\n"
        "    return max(value, 0.0)\n",
        "relu")
    for check in NUMERIC_CHECKS:
        check(relu)
    traced = notebook_function(
        "@tf.function\n"
        "def relu(x):\n"
        "    return keras.ops.maximum(x, 0.0)\n",
        "relu")
    for check in MODEL_CHECKS:
        check(traced)
    assert_fails(visible.check_relu_basic, notebook_function(
        "@tf.function\n"
        "def relu(x):\n"
        "    return tf.nn.relu(x)\n",
        "relu"), fragments=["no credit"])
