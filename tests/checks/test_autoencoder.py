"""Tests for the autoencoder checks: correct builders pass, each known bug is
rejected by the right check with a message that names it."""

import keras
import numpy as np
import pytest

from autograder.checks.autoencoder import (
    check_autoencoder_learns, check_autoencoder_structure_any_size,
    latent_adjusted_rand_index)
from course_lib.builders import make_autoencoder
from course_lib.checks.autoencoder import (check_autoencoder_layer_rules,
                                           check_autoencoder_shares_weights,
                                           check_autoencoder_structure)
from tests.checks.helpers import assert_fails

STRUCTURE_CHECKS = (check_autoencoder_structure,
                    check_autoencoder_structure_any_size)


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def build_with_library(input_dim, latent_dim):
    return make_autoencoder(input_dim, latent_dim)


def build_by_hand(input_dim, latent_dim):
    """Functional API, different widths and activation."""
    inputs = keras.Input(shape=(input_dim,))
    hidden = keras.layers.Dense(32, activation="elu")(inputs)
    code = keras.layers.Dense(latent_dim)(hidden)
    hidden = keras.layers.Dense(32, activation="elu")(code)
    outputs = keras.layers.Dense(input_dim)(hidden)
    return keras.Model(inputs, outputs), keras.Model(inputs, code)


def build_nested(input_dim, latent_dim):
    """Encoder and decoder as separate models, chained."""
    encoder = keras.Sequential([
        keras.Input(shape=(input_dim,)),
        keras.layers.Dense(48, activation="tanh"),
        keras.layers.Dense(latent_dim)])
    decoder = keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        keras.layers.Dense(48, activation="tanh"),
        keras.layers.Dense(input_dim)])
    inputs = keras.Input(shape=(input_dim,))
    return keras.Model(inputs, decoder(encoder(inputs))), encoder


def build_without_bottleneck(input_dim, latent_dim):
    """Bug: the "code" is as wide as the input."""
    inputs = keras.Input(shape=(input_dim,))
    hidden = keras.layers.Dense(64, activation="relu")(inputs)
    code = keras.layers.Dense(input_dim)(hidden)
    outputs = keras.layers.Dense(input_dim)(
        keras.layers.Dense(64, activation="relu")(code))
    return keras.Model(inputs, outputs), keras.Model(inputs, code)


def build_with_separate_encoder(input_dim, latent_dim):
    """Bug: the encoder is a second copy with its own layers."""
    autoencoder, _ = make_autoencoder(input_dim, latent_dim)
    _, encoder = make_autoencoder(input_dim, latent_dim)
    return autoencoder, encoder


def build_encoder_is_autoencoder(input_dim, latent_dim):
    """Bug: the encoder returns the reconstruction."""
    autoencoder, _ = make_autoencoder(input_dim, latent_dim)
    return autoencoder, autoencoder


def build_encoder_ends_at_output(input_dim, latent_dim):
    """Bug: a separate Model object, but ending at the reconstruction."""
    autoencoder, _ = make_autoencoder(input_dim, latent_dim)
    return autoencoder, keras.Model(autoencoder.input, autoencoder.output)


def build_fixed_code_width(input_dim, latent_dim):
    """Bug: ignores latent_dim."""
    return make_autoencoder(input_dim, 2)


def build_frozen(input_dim, latent_dim):
    """Bug (untrained): every layer frozen, so training changes nothing."""
    autoencoder, encoder = make_autoencoder(input_dim, latent_dim)
    for layer in autoencoder.layers:
        layer.trainable = False
    return autoencoder, encoder


def build_frozen_decoder(input_dim, latent_dim):
    """Bug (untrained): the decoder cannot learn."""
    autoencoder, encoder = make_autoencoder(input_dim, latent_dim)
    for layer in autoencoder.layers:
        if layer.name.startswith("decoder") or layer.name == "reconstruction":
            layer.trainable = False
    return autoencoder, encoder


def build_sigmoid_output(input_dim, latent_dim):
    """Bug: outputs squashed to [0, 1] while the data reach about 6."""
    return make_autoencoder(input_dim, latent_dim,
                            output_activation="sigmoid")


def build_bypass(input_dim, latent_dim):
    """Bug: the reconstruction skips the code entirely."""
    inputs = keras.Input(shape=(input_dim,))
    code = keras.layers.Dense(latent_dim)(inputs)
    outputs = keras.layers.Dense(input_dim)(
        keras.layers.Dense(16, activation="relu")(inputs))
    return keras.Model(inputs, outputs), keras.Model(inputs, code)


# ---------------------------------------------------------------------------
# Correct builders pass every check
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("builder", [build_with_library, build_by_hand,
                                     build_nested])
def test_correct_builders_pass_structure_checks(builder):
    for check in STRUCTURE_CHECKS:
        check(builder)
    check_autoencoder_shares_weights(builder)


@pytest.mark.parametrize("builder", [build_with_library, build_nested])
def test_correct_builders_learn(builder):
    check_autoencoder_learns(builder)


def test_stub_fails_cleanly():
    def build_autoencoder(input_dim, latent_dim):
        raise NotImplementedError()

    for check in (*STRUCTURE_CHECKS, check_autoencoder_shares_weights,
                  check_autoencoder_learns):
        assert_fails(check, build_autoencoder, fragments=["NotImplementedError"])


def test_builder_returning_none_fails_cleanly():
    assert_fails(check_autoencoder_structure, lambda input_dim, latent_dim: None,
                 fragments=["a pair (autoencoder, encoder)"])


def test_adjusted_rand_index_is_label_permutation_invariant():
    codes = np.repeat(np.eye(4) * 5, 25, axis=0)
    labels = np.repeat([2, 0, 3, 1], 25)
    assert latent_adjusted_rand_index(codes, labels) == pytest.approx(1.0)


# ---------------------------------------------------------------------------
# Each bug is rejected by the right check
# ---------------------------------------------------------------------------


def test_autoencoder_rejects_no_bottleneck():
    for check in STRUCTURE_CHECKS:
        assert_fails(check, build_without_bottleneck, fragments=["there is no bottleneck"])
    check_autoencoder_shares_weights(build_without_bottleneck)


def test_autoencoder_rejects_decoder_not_sharing_encoder():
    message = assert_fails(check_autoencoder_shares_weights,
                           build_with_separate_encoder)
    assert "the decoder does not share the encoder" in message
    for check in STRUCTURE_CHECKS:
        check(build_with_separate_encoder)


def test_autoencoder_rejects_encoder_returning_reconstruction():
    for builder in (build_encoder_is_autoencoder,
                    build_encoder_ends_at_output):
        for check in STRUCTURE_CHECKS:
            assert_fails(check, builder,
                         fragments=["the encoder returns the reconstruction"])
        check_autoencoder_shares_weights(builder)


def test_autoencoder_rejects_untrained_frozen_model():
    for check in STRUCTURE_CHECKS:
        check(build_frozen)
    check_autoencoder_shares_weights(build_frozen)
    message = assert_fails(check_autoencoder_learns, build_frozen)
    assert "no trainable weights" in message


def test_autoencoder_rejects_untrained_frozen_decoder():
    check_autoencoder_structure(build_frozen_decoder)
    check_autoencoder_shares_weights(build_frozen_decoder)
    message = assert_fails(check_autoencoder_learns, build_frozen_decoder)
    assert "reconstruction error" in message
    assert "frozen" in message and "decoder_dense_1" in message


def test_autoencoder_rejects_sigmoid_output():
    check_autoencoder_structure(build_sigmoid_output)
    message = assert_fails(check_autoencoder_learns, build_sigmoid_output)
    assert "reconstruction error" in message and "linear output" in message


def test_autoencoder_rejects_fixed_code_width():
    message = assert_fails(check_autoencoder_structure, build_fixed_code_width)
    assert "latent_dim argument" in message


def test_autoencoder_rejects_reconstruction_bypassing_code():
    message = assert_fails(check_autoencoder_shares_weights, build_bypass)
    assert "the decoder does not share the encoder" in message


def test_learning_check_is_repeatable():
    from autograder.checks.autoencoder import train_and_score

    first = train_and_score(build_with_library, seed=3)
    second = train_and_score(build_with_library, seed=3)
    assert first == second


# ---------------------------------------------------------------------------
# The stated layer rules: linear code, linear output, nonlinear hidden layer
# ---------------------------------------------------------------------------


def _functional(input_dim, latent_dim, code_activation=None, output_activation=None,
                hidden_activation="relu", code_layer=None):
    inputs = keras.Input(shape=(input_dim,))
    code = keras.layers.Dense(latent_dim, activation=code_activation)(
        keras.layers.Dense(24, activation=hidden_activation)(inputs))
    if code_layer is not None:
        code = code_layer(code)
    outputs = keras.layers.Dense(input_dim, activation=output_activation)(
        keras.layers.Dense(24, activation="relu")(code))
    return keras.Model(inputs, outputs), keras.Model(inputs, code)


@pytest.mark.parametrize("builder", [build_with_library, build_by_hand, build_nested])
def test_correct_builders_keep_the_layer_rules(builder):
    check_autoencoder_layer_rules(builder)


@pytest.mark.parametrize("code_activation", ["relu", "sigmoid", "tanh"])
def test_layer_rules_reject_a_nonlinear_code_layer(code_activation):
    message = assert_fails(
        check_autoencoder_layer_rules,
        lambda input_dim, latent_dim: _functional(input_dim, latent_dim,
                                                  code_activation=code_activation),
        fragments=["the code layer", f"activation {code_activation}", "is not linear"])
    assert "never recovers" in message


def test_layer_rules_reject_a_relu_layer_after_a_linear_code():
    assert_fails(check_autoencoder_layer_rules,
                 lambda input_dim, latent_dim: _functional(
                     input_dim, latent_dim, code_layer=keras.layers.ReLU()),
                 fragments=["the code layer, ReLU"])


def test_layer_rules_reject_a_sigmoid_output():
    assert_fails(check_autoencoder_layer_rules, build_sigmoid_output,
                 fragments=["the output layer", "activation sigmoid"])


def test_layer_rules_reject_a_linear_encoder():
    assert_fails(check_autoencoder_layer_rules,
                 lambda input_dim, latent_dim: _functional(
                     input_dim, latent_dim, hidden_activation=None),
                 fragments=["the encoder is linear"])


def test_a_relu_code_builder_passes_the_structure_checks():
    """The rule needs its own check: shapes and shared weights are fine."""
    def relu_code(input_dim, latent_dim):
        return _functional(input_dim, latent_dim, code_activation="relu")

    for check in STRUCTURE_CHECKS:
        check(relu_code)
    check_autoencoder_shares_weights(relu_code)
