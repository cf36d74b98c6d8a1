"""Parts checked on one reference training's own inputs: correct ones agree, wrong ones not.

`autograder.checks.project1` takes the reference training's result for
parts that agree, so every way a part can be wrong on a training's inputs
(forward or backward) must disagree, and every correct way of writing it
must agree (or the check only gets slower, which the project 1 tests below
also see).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from autograder.checks import project1
from autograder.checks.training_trace import (TracedPart, agrees, max_pool_gradient_rule,
                                              relu_gradient_rule)
from tests.checks.helpers import assert_fails
from tests.checks.test_max_pool import pool_keras_reshape, pool_keras_slices, pool_keras_windows
from tests.checks.test_project1 import cross_entropy, cross_entropy_additive, relu, relu_where


@pytest.fixture(scope="module")
def parts():
    _, _, traced = project1.reference_training()
    return traced


@tf.custom_gradient
def relu_without_slope(x):
    return tf.maximum(x, 0.0), lambda upstream: tf.zeros_like(upstream)


@tf.custom_gradient
def relu_with_slope_everywhere(x):
    return tf.maximum(x, 0.0), lambda upstream: upstream


@tf.custom_gradient
def pool_spreading_its_gradient(x):
    def gradient(upstream):
        return tf.repeat(tf.repeat(upstream, 2, axis=1), 2, axis=2) / 4.0

    return pool_keras_reshape(x, 2), gradient


def test_every_part_met_real_training_calls_forward_and_back(parts):
    for part in parts.values():
        assert len(part.calls) > 100 and len(part.upstream) > 100
        for inputs, upstream in part.groups():
            assert len(inputs[0]) == len(upstream) > 1000
    assert sorted({tuple(inputs[0].shape[1:]) for inputs, _ in parts["relu"].groups()}) == [
        (4, 4, 32), (8, 8, 16)]


@pytest.mark.parametrize("candidate", [relu, relu_where, keras.ops.relu])
def test_correct_relus_agree(parts, candidate):
    assert agrees(parts["relu"], candidate)


@pytest.mark.parametrize("candidate", [
    lambda x: keras.ops.where(x > 0, x, 0.1 * x),       # leaky
    lambda x: keras.ops.abs(x),                           # keeps the negatives' size
    relu_without_slope,                                   # right forward, no gradient
    relu_with_slope_everywhere,                           # right forward, wrong gradient
    lambda x: tf.stop_gradient(tf.maximum(x, 0.0)),       # no gradient at all
    lambda x: np.maximum(x, 0.0),                         # NumPy: not a tensor
    lambda x: keras.ops.maximum(x, 0.0)[:1],              # wrong shape
    lambda x: keras.ops.maximum(x, 0.0) if x.numpy().size else x,  # eager only
])
def test_wrong_relus_disagree(parts, candidate):
    assert not agrees(parts["relu"], candidate)


@pytest.mark.parametrize("candidate", [
    lambda x: pool_keras_reshape(x, 2), lambda x: pool_keras_slices(x, 2), lambda x: pool_keras_windows(x, 2)])
def test_correct_poolings_agree_however_they_split_ties(parts, candidate):
    assert agrees(parts["max_pool2d"], candidate)


@pytest.mark.parametrize("candidate", [
    lambda x: keras.ops.average_pool(x, 2, 2),
    lambda x: -pool_keras_reshape(-x, 2),                          # the smallest value
    lambda x: pool_keras_reshape(x, 2)[:, ::-1],                   # windows out of order
    pool_spreading_its_gradient,                          # right forward, wrong gradient
])
def test_wrong_poolings_disagree(parts, candidate):
    assert not agrees(parts["max_pool2d"], candidate)


@pytest.mark.parametrize("candidate", [
    cross_entropy, cross_entropy_additive,
    lambda y_true, y_pred: -keras.ops.sum(
        y_true * keras.ops.log(keras.ops.clip(y_pred, 1e-12, 1.0)), axis=-1)])
def test_correct_cross_entropies_agree(parts, candidate):
    assert agrees(parts["cross_entropy"], candidate)


@pytest.mark.parametrize("candidate", [
    lambda y_true, y_pred: -cross_entropy(y_true, y_pred),            # flipped sign
    lambda y_true, y_pred: keras.ops.mean(cross_entropy(y_true, y_pred)),  # one number
    lambda y_true, y_pred: -keras.ops.sum(
        y_pred * keras.ops.log(keras.ops.clip(y_true, 1e-7, 1.0)), axis=-1),  # swapped
    lambda y_true, y_pred: keras.ops.sum((y_true - y_pred) ** 2, axis=-1),  # squared error
])
def test_wrong_cross_entropies_disagree(parts, candidate):
    assert not agrees(parts["cross_entropy"], candidate)


def branching_relu(x):
    if float(keras.ops.min(x)) >= 0:
        return x
    return keras.ops.maximum(x, 0.0)


def tensorflow_relu(x):
    return tf.maximum(x, 0.0)


@pytest.mark.parametrize("candidate", [branching_relu, tensorflow_relu])
def test_parts_that_cannot_build_the_model_are_trained_with_and_fail(candidate):
    """Right numbers, but not on Keras' symbolic tensors: the training says so."""
    assert agrees(project1.reference_training()[2]["relu"], candidate)
    assert not project1._agree_with_the_reference(candidate, pool_keras_reshape,
                                                  cross_entropy, seed=0)
    assert_fails(project1.check_project1_cnn, candidate, pool_keras_reshape,
                 cross_entropy, fragments=["symbolic"])


def test_a_crashing_part_disagrees_so_the_training_reports_it(parts):
    def crashes(x):
        raise ValueError("broken")

    assert not agrees(parts["relu"], crashes)


def test_the_relu_rule_leaves_only_the_kink_free():
    x = np.array([[-1.0, 0.0, 2.0]], np.float32)
    expected = [np.array([[0.0, 0.0, 1.0]], np.float32)]
    assert relu_gradient_rule([x], None, [np.array([[0.0, 1.0, 1.0]])], expected)
    assert not relu_gradient_rule([x], None, [np.array([[0.1, 0.0, 1.0]])], expected)
    assert not relu_gradient_rule([x], None, [np.array([[0.0, 0.0, 0.5]])], expected)


def test_the_pooling_rule_takes_any_split_of_a_tie_and_nothing_else():
    x = np.array([1.0, 1.0, 0.0, -1.0], np.float32).reshape(1, 2, 2, 1)
    upstream = np.array([2.0], np.float32).reshape(1, 1, 1, 1)

    def rule(shares):
        return max_pool_gradient_rule([x], upstream,
                                      [np.array(shares, np.float32).reshape(1, 2, 2, 1)],
                                      None)

    assert rule([2.0, 0.0, 0.0, 0.0]) and rule([1.0, 1.0, 0.0, 0.0])
    assert rule([0.0, 2.0, 0.0, 0.0])
    assert not rule([1.0, 0.0, 1.0, 0.0])       # a share on a smaller value
    assert not rule([1.0, 0.5, 0.0, 0.0])       # shares that do not add up
    assert not rule([0.5, 0.5, 0.5, 0.5])


def test_a_recorded_part_builds_models_and_records_only_real_calls():
    part = TracedPart("relu", keras.ops.relu)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation=part)(inputs))
    assert part.calls == []
    model.predict(np.ones((5, 3), np.float32), verbose=0)
    assert [inputs[0].shape for inputs in part.calls] == [(5, 2)]
    (stacked, upstream), = part.groups()
    assert not upstream.any()          # a prediction: no gradient came back


def test_agreeing_parts_are_not_trained_with_and_others_are(monkeypatch):
    project1.reference_training()        # recorded once per process, before
    trained = []
    train = project1.train_digit_cnn
    monkeypatch.setattr(project1, "train_digit_cnn", lambda *used, **settings: (
        trained.append(used), train(*used, **settings))[1])
    calls = []

    def counting_relu(x):
        calls.append(x.shape)
        return keras.ops.maximum(x, 0.0)

    project1.check_project1_cnn(counting_relu, pool_keras_reshape, cross_entropy)
    assert trained == []
    # A call on a small tensor, the model's building, and one call per
    # group of the reference's calls (traced once); no training batch.
    stacked = [tuple(shape[1:]) for shape in calls if (shape[0] or 0) > 1000]
    assert stacked == [(8, 8, 16), (4, 4, 32)] and len(calls) < 15, calls
    assert not any(shape[0] == project1.BATCH_SIZE for shape in calls), calls
    # A cross-entropy written as one number per batch trains as well but is
    # not per example, so it disagrees: the check trains with it, and passes.
    def mean_loss(y_true, y_pred):
        return keras.ops.mean(cross_entropy(y_true, y_pred))

    project1.check_project1_cnn(relu, pool_keras_reshape, mean_loss)
    assert len(trained) == 1 and trained[0][2] is mean_loss
