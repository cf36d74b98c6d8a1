"""Visible checks for the cross-entropy exercise and the loss of project 1.

The student writes `cross_entropy(y_true, y_pred)`, one loss value per sample
(shape `(N,)`):

- 2-D one-hot `y_true` `(N, M)` with probabilities `(N, M)`:
  `-sum_c y_c log p_c`;
- 1-D `y_true` of 0/1 with 1-D probabilities of class 1:
  `-(y log p + (1 - y) log(1 - p))`.

Probabilities are first clipped to `[1e-7, 1 - 1e-7]` (Keras' epsilon), so a
probability of exactly 0 or 1 still gives a finite loss.
"""

import numpy as np

from course_lib.checks.core import (CheckFailure, call_student, expect_shape, fail, short,
                                    student_gradient, to_numpy)
from course_lib.checks.library_calls import forbids_library_routines, report_model_crash

EPSILON = 1e-7
CROSS_ENTROPY_LIBRARY_ROUTINES = frozenset({
    "categorical_crossentropy", "binary_crossentropy",
    "sparse_categorical_crossentropy", "CategoricalCrossentropy",
    "BinaryCrossentropy", "SparseCategoricalCrossentropy",
    "categorical_focal_crossentropy", "binary_focal_crossentropy",
    "CategoricalFocalCrossentropy", "BinaryFocalCrossentropy",
    "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2",
    "sigmoid_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits", "log_loss",
})
CROSS_ENTROPY_HINT = ("Write the formula yourself: clip the probabilities, take "
                      "their log, multiply by the labels and sum over classes "
                      "(np.log / keras.ops.log, np.clip / keras.ops.clip, "
                      "np.sum / keras.ops.sum).")
# Tolerances: values are compared to a float64 reference. rtol 1e-5 accepts a
# float32 computation and the common variant log(p + 1e-7) on the
# probabilities these checks use (all >= 0.05 away from the clipped edges).
RTOL = 1e-5
ATOL = 1e-6


def keras_cross_entropy(y_true, y_pred):
    """Keras' per-sample cross-entropy in float64 (what every check compares with).

    2-D one-hot labels go to `keras.losses.categorical_crossentropy`, 1-D 0/1
    labels to `keras.losses.binary_crossentropy`. Called as functions (not
    as the `CategoricalCrossentropy` classes) these losses are not averaged
    over the batch; the binary one averages over its last axis, so 1-D
    inputs are passed as one column, shape (N, 1).

    Example:

    >>> keras_cross_entropy(np.array([[0., 1., 0.]]),
    ...                     np.array([[0.2, 0.73, 0.07]])).round(4)
    array([0.3147])
    """
    import keras

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        values = keras.losses.binary_crossentropy(y_true[:, None], y_pred[:, None])
    else:
        values = keras.losses.categorical_crossentropy(y_true, y_pred)
    return np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float64)


def _mistake_hint(y_true, y_pred, result):
    """Name the usual mistake that turns (y_true, y_pred) into `result`.

    Each mistake is rebuilt from Keras' own losses, fed what the mistaken
    code effectively computes with.
    """
    import keras

    expected = keras_cross_entropy(y_true, y_pred)
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    result = np.asarray(result, dtype=np.float64)
    if result.shape != expected.shape:
        if y.ndim == 1 and result.ndim == 0:
            # Multiclass code given the binary case: on 1-D labels axis=-1
            # is the batch axis, so the sum runs over the samples.
            return ("These are 1-D 0/1 labels with p the probability of class "
                    "1 (the binary case), so axis=-1 is the batch: summing "
                    "y log p over it adds the samples up. Handle 1-D labels "
                    "on their own (if y_true.ndim == 1) with the binary loss "
                    "-(y log p + (1 - y) log(1 - p)), one value per sample.")
        return ("Return one loss per sample, shape (N,): sum over the classes "
                "(axis=-1) only, not over the batch.")
    if np.all(expected > 0) and np.any(expected > 1e-3):
        ratio = result[expected > 1e-3] / expected[expected > 1e-3]
        for factor, mistake in [(-1.0, "The sign is flipped: cross-entropy is "
                                       "MINUS the sum of y log p, so it is >= 0."),
                                (1 / np.log(2), "That is log base 2; use the "
                                                "natural log (np.log)."),
                                (1 / np.log(10), "That is log base 10; use the "
                                                 "natural log (np.log).")]:
            if np.allclose(ratio, factor, rtol=1e-3):
                return mistake
    with np.errstate(all="ignore"):
        if y.ndim == 2:
            softmax = np.asarray(keras.ops.convert_to_numpy(keras.ops.softmax(p)))
            variants = {
                "Use log(p), not log(1 - p), in the multiclass sum.":
                    lambda: keras_cross_entropy(np.zeros(len(y)), np.sum(y * p, axis=-1)),
                "y_pred already holds probabilities; do not apply softmax again.":
                    lambda: keras_cross_entropy(y, softmax),
                "The multiclass loss is -sum_c y_c log p_c; the binary "
                "(1 - y) log(1 - p) term is only for 1-D labels.":
                    lambda: y.shape[-1] * np.asarray(keras.ops.convert_to_numpy(
                        keras.losses.binary_crossentropy(y, p))),
            }
        else:
            variants = {
                "The binary loss needs both terms: -(y log p + (1 - y) log(1 - p)); "
                "without the second one every y = 0 sample costs nothing.":
                    lambda: y * expected,
                "Use log(p) for y = 1 and log(1 - p) for y = 0, not the other way "
                "round.":
                    lambda: keras_cross_entropy(y, 1 - p),
                "y_pred is already a probability; do not apply a sigmoid again.":
                    lambda: keras_cross_entropy(y, 1 / (1 + np.exp(-p))),
            }
        for mistake, values in variants.items():
            if np.allclose(result, values(), rtol=1e-4, atol=1e-6):
                return mistake
    return ("Cross-entropy is -sum_c y_c log(p_c) per sample (binary: "
            "-(y log p + (1 - y) log(1 - p))), with p clipped to "
            "[1e-7, 1 - 1e-7].")


def expect_cross_entropy(cross_entropy, y_true, y_pred, call, rtol=RTOL,
                         atol=ATOL):
    """Call the student's function on copies and compare with the contract."""
    expected = keras_cross_entropy(y_true, y_pred)
    value = call_student(cross_entropy, np.array(y_true, copy=True),
                         np.array(y_pred, copy=True), call=call)
    result = to_numpy(value)
    if not np.issubdtype(result.dtype, np.number):
        fail(f"{call} returned an array of dtype {result.dtype}",
             "a float array", "Return the loss values as numbers.")
    expect_shape(result, expected.shape, call, _mistake_hint(y_true, y_pred, result))
    if not np.all(np.isfinite(result)):
        fail(f"{call} returned {short(result)}", f"finite values {short(expected)}",
             "Clip the probabilities to [1e-7, 1 - 1e-7] before taking the "
             "log (np.clip / keras.ops.clip); log(0) is -inf and 0 * log(0) "
             "is nan.")
    if not np.allclose(result.astype(np.float64), expected, rtol=rtol, atol=atol):
        fail(f"{call} returned {short(result)}", short(expected),
             _mistake_hint(y_true, y_pred, result))
    return result


@forbids_library_routines(CROSS_ENTROPY_LIBRARY_ROUTINES, "cross_entropy",
                          hint=CROSS_ENTROPY_HINT)
def check_cross_entropy_lecture_example(cross_entropy):
    """The lecture's example: true class 2 predicted with probability 0.73.

    Subtraction would say the error is 1 - 0.73 = 0.27; cross-entropy says
    -ln(0.73) = 0.315.

    Example:

    >>> def cross_entropy(y_true, y_pred):
    ...     return np.sum(y_true * (1 - y_pred), axis=-1)  # the naive error
    >>> try:
    ...     check_cross_entropy_lecture_example(cross_entropy)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +ELLIPSIS
    cross_entropy([[0, 1, 0]], ...) returned [0.27]
    """
    y_true = np.array([[0.0, 1.0, 0.0]])
    y_pred = np.array([[0.2, 0.73, 0.07]])
    expect_cross_entropy(
        cross_entropy, y_true, y_pred,
        "cross_entropy([[0, 1, 0]], [[0.2, 0.73, 0.07]]) (true class 2 at "
        "0.73: the naive error 1 - 0.73 is 0.27, cross-entropy is -ln 0.73)")


@forbids_library_routines(CROSS_ENTROPY_LIBRARY_ROUTINES, "cross_entropy",
                          hint=CROSS_ENTROPY_HINT)
def check_cross_entropy_per_sample(cross_entropy):
    """A batch of four one-hot samples gives four losses, shape (4,).

    Example:

    >>> def cross_entropy(y_true, y_pred):
    ...     return np.sum(y_true * (1 - y_pred), axis=-1)  # the naive error
    >>> try:
    ...     check_cross_entropy_per_sample(cross_entropy)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +ELLIPSIS
    cross_entropy(y_true, y_pred) for 4 samples and 3 classes returned [0.3, 0.4, 0.5, 0.9]
    """
    y_true = np.eye(3)[[0, 2, 1, 2]]
    y_pred = np.array([[0.7, 0.2, 0.1],
                       [0.1, 0.3, 0.6],
                       [0.25, 0.5, 0.25],
                       [0.6, 0.3, 0.1]])
    expect_cross_entropy(cross_entropy, y_true, y_pred,
                         "cross_entropy(y_true, y_pred) for 4 samples and 3 classes")


@forbids_library_routines(CROSS_ENTROPY_LIBRARY_ROUTINES, "cross_entropy",
                          hint=CROSS_ENTROPY_HINT)
def check_cross_entropy_binary(cross_entropy):
    """1-D 0/1 labels with 1-D probabilities of class 1 use the binary form.

    Example:

    >>> def cross_entropy(y_true, y_pred):
    ...     return np.sum(y_true * (1 - y_pred), axis=-1)  # the naive error
    >>> try:
    ...     check_cross_entropy_binary(cross_entropy)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +ELLIPSIS
    cross_entropy([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.7]) returned shape ()
    """
    y_true = np.array([1.0, 0.0, 1.0, 0.0])
    y_pred = np.array([0.9, 0.2, 0.6, 0.7])
    expect_cross_entropy(cross_entropy, y_true, y_pred,
                         "cross_entropy([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.7])")


@forbids_library_routines(CROSS_ENTROPY_LIBRARY_ROUTINES, "cross_entropy",
                          hint=CROSS_ENTROPY_HINT)
def check_cross_entropy_confident_mistakes(cross_entropy):
    """The more confident a wrong prediction, the larger its loss.

    Example:

    >>> def cross_entropy(y_true, y_pred):
    ...     return np.sum(y_true * (1 - y_pred), axis=-1)  # the naive error
    >>> try:
    ...     check_cross_entropy_confident_mistakes(cross_entropy)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +ELLIPSIS
    cross_entropy for predictions giving the true class ... returned [0.05, 0.3 , 0.6 , 0.9 , 0.99]
    """
    true_class_probability = np.array([0.95, 0.7, 0.4, 0.1, 0.01])
    y_true = np.tile([1.0, 0.0], (5, 1))
    y_pred = np.stack([true_class_probability, 1 - true_class_probability], axis=1)
    call = ("cross_entropy for predictions giving the true class "
            "0.95, 0.7, 0.4, 0.1, 0.01")
    losses = expect_cross_entropy(cross_entropy, y_true, y_pred, call)
    if not np.all(np.diff(losses) > 0):
        fail(f"{call} returned {short(losses)}", "strictly increasing losses",
             "A confident wrong prediction must cost more than a hesitant one.")
    binary = expect_cross_entropy(
        cross_entropy, np.zeros(3), np.array([0.1, 0.6, 0.99]),
        "cross_entropy([0, 0, 0], [0.1, 0.6, 0.99])")
    if not np.all(np.diff(binary) > 0):
        fail(f"cross_entropy([0, 0, 0], [0.1, 0.6, 0.99]) returned {short(binary)}",
             "strictly increasing losses",
             "For y = 0 the loss is -log(1 - p): it grows as p approaches 1.")


@forbids_library_routines(CROSS_ENTROPY_LIBRARY_ROUTINES, "cross_entropy",
                          hint=CROSS_ENTROPY_HINT)
def check_cross_entropy_finite(cross_entropy):
    """Probabilities of exactly 0 and 1 give finite losses (clipping).

    Example:

    >>> def cross_entropy(y_true, y_pred):
    ...     return np.sum(y_true * (1 - y_pred), axis=-1)  # the naive error
    >>> try:
    ...     check_cross_entropy_finite(cross_entropy)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +ELLIPSIS
    cross_entropy([[1, 0], [0, 1]], [[0, 1], [0, 1]]) returned [1., 0.]
    """
    hint = ("Clip the probabilities to [1e-7, 1 - 1e-7] before the log "
            "(np.clip / keras.ops.clip): log(0) is -inf and 0 * log(0) is nan.")
    cases = [
        (np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [0.0, 1.0]]),
         "cross_entropy([[1, 0], [0, 1]], [[0, 1], [0, 1]])"),
        (np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.0, 1.0, 1.0, 0.0]),
         "cross_entropy([1, 0, 1, 0], [0, 1, 1, 0])"),
    ]
    for y_true, y_pred, call in cases:
        expected = keras_cross_entropy(y_true, y_pred)
        with np.errstate(divide="ignore", invalid="ignore"):
            result = to_numpy(call_student(cross_entropy, y_true.copy(),
                                           y_pred.copy(), call=call))
        expect_shape(result, expected.shape, call,
                     "Return one loss per sample, shape (N,).")
        if not np.all(np.isfinite(result)):
            fail(f"{call} returned {short(result)}",
                 f"finite values close to {short(expected)}", hint)
        wrong = expected > 1
        if not (np.all(result[wrong] > 10) and np.all(np.abs(result[~wrong]) < 1e-3)):
            fail(f"{call} returned {short(result)}",
                 f"values close to {short(expected)}",
                 "A sure wrong prediction should cost about -ln(1e-7) = 16.1 "
                 "and a sure right one about 0. " + hint)


@forbids_library_routines(CROSS_ENTROPY_LIBRARY_ROUTINES, "cross_entropy",
                          hint=CROSS_ENTROPY_HINT)
def check_cross_entropy_differentiable(cross_entropy):
    """cross_entropy runs on tensors, trains a model and passes gradients.

    Project 1 compiles a model with `loss=cross_entropy`, so the function
    must be written with `keras.ops`: Keras calls it on tensors of shape
    (batch, num_classes) and differentiates it.

    Example:

    >>> def cross_entropy(y_true, y_pred):
    ...     y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)  # NumPy only
    ...     return np.sum(y_true * (1 - y_pred), axis=-1)
    >>> try:
    ...     check_cross_entropy_differentiable(cross_entropy)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +ELLIPSIS
    cross_entropy on tensors returned ndarray
    """
    import keras
    import tensorflow as tf

    hint = ("Write cross_entropy with keras.ops (keras.ops.clip, keras.ops.log, "
            "keras.ops.sum); NumPy functions turn tensors into arrays and "
            "break the gradient.")
    y_true = np.eye(3, dtype=np.float32)[[0, 2, 1, 1]]
    logits = tf.Variable([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3],
                          [-1.0, 1.5, 0.0], [3.0, -2.0, 0.5]])
    loss, gradient = student_gradient(
        cross_entropy, logits, lambda: (tf.constant(y_true), tf.nn.softmax(logits)),
        "cross_entropy(y_true, y_pred) on tensors", hint, "cross_entropy",
        source="the predictions", label="cross_entropy on tensors")
    expected = keras_cross_entropy(y_true, tf.nn.softmax(logits).numpy())
    result = loss.numpy()
    if result.shape != expected.shape or not np.allclose(result, expected,
                                                         rtol=1e-4, atol=1e-5):
        fail(f"cross_entropy on tensors returned {short(result)}",
             short(expected), "Return one loss per sample, shape (N,).")
    if not np.all(np.isfinite(gradient)) or np.allclose(gradient, 0):
        fail(f"the gradient of cross_entropy is {short(gradient)}",
             "finite and not all zero",
             "Avoid operations without a slope (rounding, argmax) on y_pred.")
    try:
        inputs = keras.Input(shape=(3,))
        outputs = keras.layers.Dense(3, activation="softmax")(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="sgd", loss=cross_entropy)
        x = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5],
                      [-1.0, 2.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
        evaluated = model.evaluate(x, y_true, verbose=0)
        predicted = model.predict(x, verbose=0)
    except Exception as error:  # noqa: BLE001 - report the student's crash
        report_model_crash(error, "cross_entropy", hint)
    expected_mean = float(np.mean(keras_cross_entropy(y_true, predicted)))
    if not np.isclose(evaluated, expected_mean, rtol=1e-4, atol=1e-5):
        fail(f"model.compile(loss=cross_entropy) evaluated a loss of {evaluated:.5f}",
             f"{expected_mean:.5f}",
             "Keras averages the per-sample losses your function returns.")
