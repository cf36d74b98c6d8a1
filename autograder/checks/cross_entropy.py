"""Hidden checks for `cross_entropy(y_true, y_pred)`: Keras' losses as the bar.

Values must match `keras.losses.categorical_crossentropy` (one-hot labels)
and `keras.losses.binary_crossentropy` (0/1 labels), per sample. The
comparison is with Keras' losses computed in float64, so a float32
computation passes as well as a float64 one. `reference_cross_entropy`, the
contract in NumPy, gives the clipping check its expected values;
tests/checks/test_cross_entropy.py compares it with Keras' losses.
"""

import numpy as np

from course_lib.checks.core import call_student, expect_shape, fail, short, to_numpy
from course_lib.checks.cross_entropy import (CROSS_ENTROPY_HINT,
                                             CROSS_ENTROPY_LIBRARY_ROUTINES,
                                             EPSILON, expect_cross_entropy)
from course_lib.checks.library_calls import forbids_library_routines


def reference_cross_entropy(y_true, y_pred):
    """The contract in float64 NumPy: clipped probabilities, per-sample loss.

    Example:

    >>> reference_cross_entropy(np.array([[0., 1., 0.]]),
    ...                         np.array([[0.2, 0.73, 0.07]])).round(4)
    array([0.3147])
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    probabilities = np.clip(np.asarray(y_pred, dtype=np.float64),
                            EPSILON, 1 - EPSILON)
    if y_true.ndim == 1:
        return -(y_true * np.log(probabilities)
                 + (1 - y_true) * np.log(1 - probabilities))
    return -np.sum(y_true * np.log(probabilities), axis=-1)


def _probabilities(generator, num_samples, num_classes, dtype):
    """Softmax of random logits, every probability kept between 0.05 and 0.95."""
    logits = generator.normal(scale=0.8, size=(num_samples, num_classes))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probabilities = np.clip(probabilities, 0.05, 0.95)
    return (probabilities / probabilities.sum(axis=1, keepdims=True)).astype(dtype)


@forbids_library_routines(CROSS_ENTROPY_LIBRARY_ROUTINES, "cross_entropy",
                          hint=CROSS_ENTROPY_HINT)
def check_cross_entropy_matches_keras_categorical(cross_entropy):
    """Per-sample loss equals keras.losses.categorical_crossentropy.

    Example:

    >>> check_cross_entropy_matches_keras_categorical(reference_cross_entropy)
    """
    generator = np.random.default_rng(2024)
    for num_samples, num_classes, dtype in [(6, 4, np.float64), (5, 2, np.float32),
                                            (9, 10, np.float32), (1, 3, np.float64)]:
        labels = generator.integers(0, num_classes, size=num_samples)
        y_true = np.eye(num_classes, dtype=dtype)[labels]
        y_pred = _probabilities(generator, num_samples, num_classes, dtype)
        expect_cross_entropy(
            cross_entropy, y_true, y_pred,
            f"cross_entropy(y_true, y_pred) for {num_samples} one-hot samples "
            f"of {num_classes} classes ({np.dtype(dtype).name}), "
            f"labels {labels.tolist()}")


@forbids_library_routines(CROSS_ENTROPY_LIBRARY_ROUTINES, "cross_entropy",
                          hint=CROSS_ENTROPY_HINT)
def check_cross_entropy_matches_keras_binary(cross_entropy):
    """Per-sample binary loss equals keras.losses.binary_crossentropy.

    Example:

    >>> check_cross_entropy_matches_keras_binary(reference_cross_entropy)
    """
    generator = np.random.default_rng(99)
    for num_samples, dtype in [(8, np.float64), (5, np.float32), (1, np.float64)]:
        y_true = generator.integers(0, 2, size=num_samples).astype(dtype)
        y_pred = generator.uniform(0.05, 0.95, size=num_samples).astype(dtype)
        expect_cross_entropy(
            cross_entropy, y_true, y_pred,
            f"cross_entropy(y_true, y_pred) for {num_samples} binary samples "
            f"({np.dtype(dtype).name}), y_true = {short(y_true)}, "
            f"y_pred = {short(y_pred)}")


@forbids_library_routines(CROSS_ENTROPY_LIBRARY_ROUTINES, "cross_entropy",
                          hint=CROSS_ENTROPY_HINT)
def check_cross_entropy_clipping(cross_entropy):
    """p = 0 and p = 1 give the clipped values (epsilon 1e-7), not inf or nan.

    A sure wrong prediction costs -ln(1e-7) = 16.12 (about 15.9 when
    1 - p is computed in float32, accepted); a sure right one about 0.

    Example:

    >>> check_cross_entropy_clipping(reference_cross_entropy)
    """
    hint = (f"Clip the probabilities to [{EPSILON}, 1 - {EPSILON}] (Keras' "
            "epsilon) before the log: a sure wrong prediction then costs "
            "-ln(1e-7) = 16.12, a sure right one about 0.")
    cases = [
        (np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
         np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]]),
         "one-hot labels with probabilities 0 and 1"),
        (np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.0, 1.0, 1.0, 0.0]),
         "binary labels [1, 0, 1, 0] with probabilities [0, 1, 1, 0]"),
        (np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32),
         np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32),
         "float32 one-hot labels with probabilities 0 and 1"),
    ]
    for y_true, y_pred, description in cases:
        call = f"cross_entropy for {description}"
        expected = reference_cross_entropy(y_true, y_pred)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = to_numpy(call_student(cross_entropy, y_true.copy(),
                                           y_pred.copy(), call=call))
        expect_shape(result, expected.shape, call,
                     "Return one loss per sample, shape (N,).")
        if not np.all(np.isfinite(result)):
            fail(f"{call} returned {short(result)}", short(expected), hint)
        # 0.3 absolute accepts float32 rounding of 1 - (1 - 1e-7) (15.94)
        # and rejects other epsilons (1e-6: 13.8, 1e-8: 18.4, 1e-15: 34.5).
        if not np.allclose(result.astype(np.float64), expected, rtol=0, atol=0.3):
            fail(f"{call} returned {short(result)}", short(expected), hint)
        if not np.allclose(result[expected < 1], expected[expected < 1],
                           rtol=0, atol=1e-5):
            fail(f"{call} returned {short(result)}", short(expected), hint)
