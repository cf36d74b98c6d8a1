"""Hidden checks for `relu(x)`: thorough comparisons with Keras' own ReLU.

The visible checks in `course_lib.checks.relu` teach; these grade. Values must
match `keras.activations.relu` exactly (the checks compare with
`np.maximum(x, 0)`, which tests/checks/test_relu.py shows is Keras' ReLU on
every input of `relu_inputs`). The output dtype is not graded: Keras
keeps the input dtype, while a correct `np.maximum(x, 0.0)` turns integers
into floats, and both are right. Zero's sign is not graded either
(`keras.activations.relu(-0.0)` is -0.0, `np.maximum(-0.0, 0)` is 0.0).
"""

import numpy as np

from course_lib.checks.core import call_student, fail, input_generator, short
from course_lib.checks.library_calls import forbids_library_routines, report_model_crash
from course_lib.checks.relu import RELU_HINT, RELU_LIBRARY_ROUTINES, expect_relu, relu_result


def relu_inputs():
    """Inputs covering shapes, dtypes, zeros, -0.0 and extreme values.

    The random ones are drawn afresh in every grading run (`input_generator`).
    """
    generator = input_generator(510)
    return [
        ("a 1-D float32 vector", generator.normal(size=7).astype(np.float32)),
        ("a 2-D float64 array", generator.normal(size=(4, 5))),
        ("a 3-D float32 array", generator.normal(size=(2, 3, 4)).astype(np.float32)),
        ("a 4-D image batch", generator.normal(size=(2, 4, 4, 3)).astype(np.float32)),
        ("an int32 vector", np.array([-5, -1, 0, 1, 7, 100], dtype=np.int32)),
        ("a 2-D int64 array", np.array([[-3, 4], [0, -9], [12, 1]], dtype=np.int64)),
        ("all zeros", np.zeros((3, 2))),
        ("negative zeros", np.array([-0.0, 0.0, -0.0, 1.0])),
        ("tiny and huge values",
         np.array([-1e-30, 1e-30, -1e30, 1e30, -6.5, 6.5, 1e4])),
    ]


@forbids_library_routines(RELU_LIBRARY_ROUTINES, "relu", hint=RELU_HINT)
def check_relu_matches_keras(relu):
    """relu equals keras.activations.relu on N-D float and integer inputs.

    Example:

    >>> import numpy as np
    >>> check_relu_matches_keras(lambda x: x * (x > 0))
    """
    for description, x in relu_inputs():
        expect_relu(relu, x, np.maximum(x, 0),
                    f"relu(x) for {description} x = {short(x)}")


@forbids_library_routines(RELU_LIBRARY_ROUTINES, "relu", hint=RELU_HINT)
def check_relu_input_unchanged(relu):
    """relu leaves its argument untouched (float and integer arrays).

    Example:

    >>> import numpy as np
    >>> check_relu_input_unchanged(lambda x: np.clip(x, 0, None))
    """
    generator = input_generator(7)
    for x in (generator.normal(size=(3, 4, 2)),
              np.array([[-2, 3], [4, -5]], dtype=np.int64)):
        original = x.copy()
        call_student(relu, x, call="relu(x)")
        if not np.array_equal(x, original):
            fail(f"after relu(x) the input x became {short(x)}",
                 f"x unchanged ({short(original)})",
                 "Do not assign into x (x[x < 0] = 0 edits the caller's "
                 "array); compute a new array instead.")


@forbids_library_routines(RELU_LIBRARY_ROUTINES, "relu", hint=RELU_HINT)
def check_relu_in_keras_model(relu):
    """relu as the activation of a small Keras model, on several shapes.

    Example:

    >>> import keras
    >>> check_relu_in_keras_model(lambda x: keras.ops.where(x > 0, x, 0.0))
    """
    import keras

    hint = ("Write relu with keras.ops (keras.ops.maximum(x, 0.0) or "
            "keras.ops.where(x > 0, x, 0.0)) so it works on the tensors a "
            "model passes it.")
    import tensorflow as tf

    relu_result(call_student(relu, tf.constant([[-1.0, 2.0]]), call="relu(tensor)"),
                "relu(tensor)")
    generator = input_generator(3)
    for shape in [(6,), (5, 5, 2)]:
        x = generator.normal(size=(4,) + shape).astype(np.float32)
        try:
            inputs = keras.Input(shape=shape)
            hidden = keras.layers.Lambda(relu)(inputs)
            outputs = keras.layers.Activation(relu)(hidden - 0.5)
            predicted = keras.Model(inputs, [hidden, outputs]).predict(x, verbose=0)
        except Exception as error:  # noqa: BLE001 - report the student's crash
            report_model_crash(error, "relu", hint)
        expected = [np.maximum(x, 0), np.maximum(np.maximum(x, 0) - 0.5, 0)]
        for got, want in zip(predicted, expected):
            if got.shape != want.shape or not np.allclose(got, want):
                fail(f"inside a model on inputs of shape {shape} relu gave "
                     f"{short(got)}", short(want), hint)
