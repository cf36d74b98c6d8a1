"""check_dropout accepts Keras' dropout rule written several ways and
rejects each known mistake with a message that names it."""

import keras
import numpy as np
import pytest

from course_lib.checks.dropout import check_dropout
from tests.checks.helpers import assert_fails


def dropout_mask(x, rate, training, seed):
    if not training:
        return x
    return x * (np.random.default_rng(seed).random(x.shape) >= rate) / (1 - rate)


def dropout_where(x, rate, training, seed):
    if not training or rate == 0:
        return x
    keep = np.random.default_rng(seed).uniform(size=x.shape) > rate
    return np.where(keep, x / (1 - rate), 0.0)


def dropout_binomial(x, rate, training, seed):
    if not training:
        return x
    rng = np.random.default_rng(seed)
    return x * rng.binomial(1, 1 - rate, size=x.shape) / (1 - rate)


@pytest.mark.parametrize("dropout", [dropout_mask, dropout_where, dropout_binomial],
                         ids=lambda function: function.__name__)
def test_correct_dropout_passes(dropout):
    check_dropout(dropout)


def test_the_rule_is_keras_dropout():
    """The rule checked is what keras.layers.Dropout does."""
    layer = keras.layers.Dropout(0.25, seed=0)
    x = np.ones((200, 100), dtype="float32")
    trained = keras.ops.convert_to_numpy(layer(x, training=True))
    assert abs(np.mean(trained == 0) - 0.25) < 0.02
    np.testing.assert_allclose(trained[trained != 0], 1 / 0.75, rtol=1e-5)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)


def mask(seed, shape):
    return np.random.default_rng(seed).random(shape)


MISTAKES = {
    "no scaling": (lambda x, rate, training, seed:
                   x * (mask(seed, x.shape) >= rate) if training else x,
                   "Divide the entries you keep by (1 - rate)"),
    "rate kept, not dropped": (lambda x, rate, training, seed:
                               x * (mask(seed, x.shape) < rate) / max(rate, 1e-9)
                               if training else x,
                               "fraction dropped, not the fraction kept"),
    "drops at inference too": (lambda x, rate, training, seed:
                               x * (mask(seed, x.shape) >= rate) / (1 - rate),
                               "At inference (training=False) dropout does nothing"),
    "old-style inference scaling": (lambda x, rate, training, seed:
                                    x * (mask(seed, x.shape) >= rate) if training
                                    else x * (1 - rate),
                                    "At inference"),
    "global np.random": (lambda x, rate, training, seed:
                         x * (np.random.random(x.shape) >= rate) / (1 - rate)
                         if training else x,
                         "two calls with seed=3 dropped different entries"),
    "one fixed mask": (lambda x, rate, training, seed:
                       x * (np.random.default_rng(0).random(x.shape) >= rate) / (1 - rate)
                       if training else x,
                       "seed=3 and seed=4 dropped the same entries"),
    "stub": (lambda x, rate, training, seed: (_ for _ in ()).throw(NotImplementedError()),
             "raise NotImplementedError()"),
}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_mistake_is_rejected_with_its_cause(name):
    dropout, fragment = MISTAKES[name]
    assert_fails(check_dropout, dropout, fragments=[fragment])
