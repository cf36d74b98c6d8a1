"""The shared check machinery: stub and crash reporting, compact arrays."""

import numpy as np
import pytest

from course_lib.checks.core import CheckFailure, call_student, short

STUB_HINT = "Replace the `raise NotImplementedError()` line"


def failure_of(function, *args, call="f(x)"):
    with pytest.raises(CheckFailure) as failure:
        call_student(function, *args, call=call)
    return failure.value


def test_call_student_returns_the_result():
    assert call_student(lambda x: x + 1, 2, call="f(2)") == 3


def test_bare_not_implemented_error_is_the_unfinished_stub():
    def stub(x):
        raise NotImplementedError()

    failure = failure_of(stub, 1.0)
    assert STUB_HINT in failure.hint
    assert failure.found == "f(x) raised NotImplementedError"


def test_bare_not_implemented_error_class_is_the_unfinished_stub():
    def stub(x):
        raise NotImplementedError

    assert STUB_HINT in failure_of(stub, 1.0).hint


def test_not_implemented_error_with_a_message_is_reported_as_a_crash():
    message = ("Cannot convert a symbolic tf.Tensor (x:0) to a numpy array. "
               "This error may indicate that you're trying to pass a Tensor "
               "to a NumPy call, which is not supported.")

    def numpy_on_symbolic_tensor(x):
        raise NotImplementedError(message)

    failure = failure_of(numpy_on_symbolic_tensor, 1.0)
    assert STUB_HINT not in str(failure)
    assert "raised NotImplementedError: Cannot convert a symbolic tf.Tensor" in failure.found
    assert "the traceback shows the line" in failure.hint


def test_other_crashes_show_type_and_message():
    failure = failure_of(lambda x: x @ np.ones((3, 2)), np.ones((2, 2)))
    assert failure.found.startswith("f(x) raised ValueError: ")
    assert STUB_HINT not in str(failure)


def test_check_failure_raised_inside_is_passed_through():
    def nested(x):
        raise CheckFailure("inner", "outer")

    assert failure_of(nested, 1.0).found == "inner"


def test_call_student_rejects_a_non_function():
    assert "not a function" in failure_of(None, 1.0).found


def test_short_shows_small_arrays_in_full():
    assert short(np.array([1.0, -2.0, 3.5])) == "[ 1. , -2. , 3.5]"
    assert short(np.array(2.5)) == "2.5"


def test_short_summarises_long_vectors_and_matrices():
    assert "..." in short(np.arange(100.0))
    matrix = short(np.arange(10_000.0).reshape(100, 100))
    assert "..." in matrix and matrix.count(",") < 50


@pytest.mark.parametrize("shape", [(8, 4, 4, 3), (2, 2, 2, 2, 2, 2), (32, 28, 28, 1),
                                   (2, 4, 4, 2), (3, 5, 5)])
def test_short_summarises_n_d_arrays_with_short_axes(shape):
    array = np.random.default_rng(0).normal(size=shape)
    text = short(array)
    assert "..." in text
    assert len(text) <= 160, text


def test_short_keeps_a_small_4d_array_whole():
    array = np.arange(4.0).reshape(1, 2, 2, 1)
    assert short(array) == "[[[[0.], [1.]], [[2.], [3.]]]]"


def test_student_gradient_returns_the_output_and_its_gradient():
    import tensorflow as tf

    from course_lib.checks.core import student_gradient

    x = tf.constant([1.0, -2.0, 3.0])
    output, gradient = student_gradient(lambda t: t * t, x, lambda: (x,), "square(x)",
                                        "hint", "square")
    np.testing.assert_allclose(output.numpy(), [1.0, 4.0, 9.0])
    np.testing.assert_allclose(gradient, [2.0, -4.0, 6.0])


def test_student_gradient_rejects_arrays_and_missing_gradients():
    import tensorflow as tf

    from course_lib.checks.core import student_gradient

    x = tf.constant([1.5, -2.5])
    with pytest.raises(CheckFailure) as array:
        student_gradient(lambda t: np.square(np.asarray(t)), x, lambda: (x,), "square(x)",
                         "use keras.ops", "square")
    assert array.value.found == "square(x) returned ndarray"
    with pytest.raises(CheckFailure) as detached:
        student_gradient(lambda t: tf.stop_gradient(t) * 2.0, x, lambda: (x,), "double(x)",
                         "use keras.ops", "double", source="the predictions")
    assert detached.value.found == ("the gradient of double is None (no path back to the "
                                    "predictions)")
    assert detached.value.hint == "use keras.ops"


def test_a_long_error_is_cut_at_a_word_boundary():
    words = " ".join(f"word{index}" for index in range(200))

    def crash(x):
        raise ValueError(words)

    found = failure_of(crash, 1.0).found
    assert found.endswith(" ...")
    last = found[:-len(" ...")].rsplit(" ", 1)[-1]
    assert last in words.split(), last
    assert len(found) < len("f(x) raised ValueError: ") + 505
