"""Hidden checks for project 1: a digit CNN built from the student's own parts.

`check_project1_cnn` puts the student's `relu` (activation), `max_pool2d`
(pooling step, through `lambda x: max_pool2d(x, 2)`) and `cross_entropy`
(loss) into `course_lib.builders.make_cnn`, trains it with a fixed seed on
`course_lib.datasets.load_digit_images` for a fixed small budget (3 epochs,
batch 32, Adam with learning rate 0.01) and requires a held-out accuracy of
at least 0.90. Correct parts reach 0.95-0.98 on every seed tried, as
Keras' built-in ReLU, MaxPooling2D and categorical cross-entropy do, so the
bar leaves room while a broken part (a flipped loss sign, a pooling that
loses the image) cannot pass. `check_project1_cnn_other_split` repeats it on
another split, seed and network width.

The grade does not need a training with the student's parts when they
answer, on every input of one training with correct parts, as correct
parts do (`autograder.checks.training_trace`): that training is then the
student's, and its result stands. That training runs once per grading
process (`reference_training`); parts that disagree anywhere get the
training of their own, and its numbers in the message.

Correct parts, written with `keras.ops`, pass both:

>>> import keras
>>> def relu(x):
...     return keras.ops.maximum(x, 0.0)
>>> def max_pool2d(x, pool_size=2, strides=None):
...     rows, columns = x.shape[1] // pool_size, x.shape[2] // pool_size
...     blocks = keras.ops.reshape(
...         x, (-1, rows, pool_size, columns, pool_size, x.shape[3]))
...     return keras.ops.max(blocks, axis=(2, 4))
>>> def cross_entropy(y_true, y_pred):
...     p = keras.ops.clip(y_pred, 1e-7, 1 - 1e-7)
...     return -keras.ops.sum(y_true * keras.ops.log(p), axis=-1)
>>> check_project1_cnn(relu, max_pool2d, cross_entropy)
>>> check_project1_cnn_other_split(relu, max_pool2d, cross_entropy)
"""

import functools

import numpy as np

from autograder.checks.training_trace import (TracedPart, agrees, max_pool_gradient_rule,
                                              relu_gradient_rule)
from course_lib.checks.core import call_student, fail
from course_lib.checks.cross_entropy import (CROSS_ENTROPY_HINT,
                                             CROSS_ENTROPY_LIBRARY_ROUTINES, EPSILON)
from course_lib.checks.max_pool import MAX_POOL_HINT, MAX_POOL_LIBRARY_ROUTINES
from course_lib.checks.library_calls import forbids_library_routines, report_model_crash
from course_lib.checks.relu import RELU_HINT, RELU_LIBRARY_ROUTINES

MIN_TEST_ACCURACY = 0.90
EPOCHS = 3
BATCH_SIZE = 32
LEARNING_RATE = 0.01
# Convolution filters per block of the first check's network (the reference
# training records it with these, and the student's parts build it again).
FILTERS = (16, 32)


def train_digit_cnn(relu, max_pool2d, cross_entropy, seed=0, test_fraction=0.25,
                    filters=FILTERS):
    """Train make_cnn with the given parts on the digits; return test accuracy.

    Pass Keras names ("relu", "max", "categorical_crossentropy") instead of
    functions to train the built-in reference the same way.

    Args:
        relu: Activation, a callable or a Keras activation name.
        max_pool2d: Pooling function `(x, pool_size) -> pooled`, or "max".
        cross_entropy: Loss function `(y_true, y_pred) -> (batch,)` or a name.
        seed: Seed of the split, the weights and the shuffling.
        test_fraction: Share of the images held out.
        filters: Convolution filters per block.

    Returns:
        `(test_accuracy, history)`.

    Example:

    >>> accuracy, _ = train_digit_cnn("relu", "max", "categorical_crossentropy")
    >>> accuracy > 0.9
    True
    """
    import keras

    from course_lib.datasets import load_digit_images
    from course_lib.seeding import set_seed

    set_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digit_images(
        test_fraction=test_fraction, seed=seed)
    model = build_digit_cnn(relu, max_pool2d, cross_entropy, filters, x_train.shape[1:])
    history = model.fit(x_train, keras.utils.to_categorical(y_train, 10),
                        epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
    probabilities = model.predict(x_test, verbose=0)
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y_test))
    return accuracy, history


def build_digit_cnn(relu, max_pool2d, cross_entropy, filters=FILTERS,
                    input_shape=(8, 8, 1)):
    """The checks' CNN built and compiled with the given parts (not trained).

    Args:
        relu, max_pool2d, cross_entropy: As for `train_digit_cnn`.
        filters: Convolution filters per block.
        input_shape: One image's shape.

    Returns:
        A compiled `keras.Model`.

    Example:

    >>> build_digit_cnn("relu", "max", "categorical_crossentropy").output_shape
    (None, 10)
    """
    import keras

    from course_lib.builders import make_cnn

    pooling = max_pool2d if isinstance(max_pool2d, str) else (
        lambda x: max_pool2d(x, 2))
    model = make_cnn(tuple(input_shape), 10, filters=tuple(filters), activation=relu,
                     pooling=pooling)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                  loss=cross_entropy, metrics=["accuracy"])
    return model


# The course's correct parts, in keras.ops so the model can be built from them.
def _reference_relu(x):
    import keras

    return keras.ops.relu(x)


def _reference_max_pool(x):
    import keras

    return keras.ops.max_pool(x, pool_size=2, strides=2, padding="valid")


def _reference_cross_entropy(y_true, y_pred):
    import keras

    probabilities = keras.ops.clip(y_pred, EPSILON, 1 - EPSILON)
    return -keras.ops.sum(y_true * keras.ops.log(probabilities), axis=-1)


def reference_training(seed=0, test_fraction=0.25, filters=FILTERS):
    """Train with correct parts, keeping every part's calls; once per process.

    Args:
        seed, test_fraction, filters: As for `train_digit_cnn`.

    Returns:
        `(test_accuracy, losses, parts)`: `parts` maps "relu", "max_pool2d"
        and "cross_entropy" to the `TracedPart` that recorded its calls.

    Example:

    >>> accuracy, losses, parts = reference_training()
    >>> accuracy > 0.9, sorted(parts)
    (True, ['cross_entropy', 'max_pool2d', 'relu'])
    """
    return _recorded_training(seed, test_fraction, tuple(filters))


@functools.lru_cache(maxsize=None)
def _recorded_training(seed, test_fraction, filters):
    parts = {"relu": TracedPart("relu", _reference_relu, gradient_rule=relu_gradient_rule),
             "max_pool2d": TracedPart("max_pool2d", _reference_max_pool,
                                      gradient_rule=max_pool_gradient_rule),
             "cross_entropy": TracedPart("cross_entropy", _reference_cross_entropy,
                                         differentiated=(1,))}
    accuracy, history = train_digit_cnn(
        parts["relu"], lambda x, pool_size: parts["max_pool2d"](x), parts["cross_entropy"],
        seed=seed, test_fraction=test_fraction, filters=filters)
    return accuracy, history.history["loss"], parts


def _agree_with_the_reference(relu, max_pool2d, cross_entropy, **settings):
    """Whether the parts answer as correct ones on all of the reference training's calls.

    They must also build the model, as the training would (a part that
    works on numbers but not on Keras' symbolic tensors does not).
    """
    accuracy, losses, parts = reference_training(**settings)
    if accuracy < MIN_TEST_ACCURACY or not np.all(np.isfinite(losses)):
        return False
    try:
        build_digit_cnn(relu, max_pool2d, cross_entropy, settings.get("filters", FILTERS))
    except Exception:  # noqa: BLE001 - the training builds it again and reports why
        return False
    with np.errstate(all="ignore"):
        return (agrees(parts["relu"], relu)
                and agrees(parts["max_pool2d"], lambda x: max_pool2d(x, 2))
                and agrees(parts["cross_entropy"], cross_entropy))


def _call_each_once(relu, max_pool2d, cross_entropy):
    """Call every part on small tensors first, so a stub fails with a clear message."""
    import tensorflow as tf

    call_student(relu, tf.constant([[-1.0, 2.0]]), call="relu(tensor)")
    call_student(max_pool2d, tf.zeros((1, 4, 4, 1)), 2, call="max_pool2d(tensor, 2)")
    call_student(cross_entropy, tf.constant([[0.0, 1.0]]), tf.constant([[0.3, 0.7]]),
                 call="cross_entropy(y_true, y_pred) on tensors")


@forbids_library_routines(RELU_LIBRARY_ROUTINES, "relu", hint=RELU_HINT)
@forbids_library_routines(MAX_POOL_LIBRARY_ROUTINES, "max_pool2d", hint=MAX_POOL_HINT)
@forbids_library_routines(CROSS_ENTROPY_LIBRARY_ROUTINES, "cross_entropy",
                          hint=CROSS_ENTROPY_HINT)
def _expect_accuracy(relu, max_pool2d, cross_entropy, description, **settings):
    for function, name in [(relu, "relu"), (max_pool2d, "max_pool2d"),
                           (cross_entropy, "cross_entropy")]:
        if not callable(function):
            fail(f"{name} is {type(function).__name__}, not a function",
                 "a function", "Run the cell that defines it first.")
    hint = ("Write relu, max_pool2d and cross_entropy with keras.ops; run the "
            "visible checks of each first.")
    _call_each_once(relu, max_pool2d, cross_entropy)
    if _agree_with_the_reference(relu, max_pool2d, cross_entropy, **settings):
        return
    try:
        with np.errstate(all="ignore"):
            accuracy, history = train_digit_cnn(relu, max_pool2d, cross_entropy,
                                                **settings)
    except Exception as error:  # noqa: BLE001 - report the student's crash
        report_model_crash(error, "relu, max_pool2d and cross_entropy", hint)
    losses = history.history["loss"]
    if not np.all(np.isfinite(losses)):
        fail(f"training {description} gave losses {losses}", "finite losses",
             "Clip the probabilities in cross_entropy before the log.")
    if accuracy < MIN_TEST_ACCURACY:
        fail(f"the CNN {description} reached a test accuracy of {accuracy:.3f} "
             f"(training losses {[round(loss, 3) for loss in losses]})",
             f"at least {MIN_TEST_ACCURACY:.2f} after {EPOCHS} epochs",
             "Correct parts reach about 0.95; check the sign of your loss "
             "(it must fall during training) and that max_pool2d keeps the "
             "largest value of each window.")


def check_project1_cnn(relu, max_pool2d, cross_entropy):
    """Digits CNN with the student's parts: test accuracy >= 0.90 (seed 0).

    The module docstring trains it with correct parts. Before any training,
    a part that calls the library routine is refused.

    Example:

    >>> import keras
    >>> from course_lib.checks.core import CheckFailure
    >>> try:
    ...     check_project1_cnn(keras.activations.relu, None, None)
    ... except CheckFailure as failure:
    ...     print(failure.expected)
    your own implementation of relu (no credit for calling the library version)
    """
    _expect_accuracy(relu, max_pool2d, cross_entropy,
                     "built with make_cnn((8, 8, 1), 10) and your parts (seed 0)",
                     seed=0)


def check_project1_cnn_other_split(relu, max_pool2d, cross_entropy):
    """The same on another split (30% test, seed 3) with filters (8, 16).

    The module docstring trains it with correct parts. Every part is first
    called once on a small tensor, so an unfinished one fails before any
    training.

    Example:

    >>> import keras
    >>> from course_lib.checks.core import CheckFailure
    >>> def max_pool2d(x, pool_size=2, strides=None):
    ...     raise NotImplementedError()
    >>> try:
    ...     check_project1_cnn_other_split(lambda x: keras.ops.maximum(x, 0.0),
    ...                                    max_pool2d, lambda y_true, y_pred: y_pred)
    ... except CheckFailure as failure:
    ...     print(failure.found)
    max_pool2d(tensor, 2) raised NotImplementedError
    """
    _expect_accuracy(relu, max_pool2d, cross_entropy,
                     "with filters (8, 16) on a 30% test split (seed 3)",
                     seed=3, test_fraction=0.3, filters=(8, 16))
