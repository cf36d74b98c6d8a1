"""Project 1's training checks pass correct parts and reject broken ones.

Parts that agree with the reference training's calls take its result
(`tests/checks/test_training_trace.py`); every other training here is the
real check (3 epochs on the digits, about 1 s on a CPU), so the file keeps
to the few runs that prove the bar works.
"""

import keras
import numpy as np
import pytest

from autograder.checks import project1
from tests.checks.helpers import assert_fails
from tests.checks.test_max_pool import pool_keras_slices as max_pool2d, pool_keras_windows


def relu(x):
    return keras.ops.maximum(x, 0.0)


def cross_entropy(y_true, y_pred):
    p = keras.ops.clip(y_pred, 1e-7, 1 - 1e-7)
    if len(y_true.shape) == 1:
        return -(y_true * keras.ops.log(p) + (1 - y_true) * keras.ops.log(1 - p))
    return -keras.ops.sum(y_true * keras.ops.log(p), axis=-1)


def relu_where(x):
    return keras.ops.where(x > 0, x, keras.ops.zeros_like(x))


def cross_entropy_additive(y_true, y_pred):
    return -keras.ops.sum(y_true * keras.ops.log(y_pred + 1e-7), axis=-1)


def test_correct_parts_pass_both_training_checks():
    project1.check_project1_cnn(relu, max_pool2d, cross_entropy)
    project1.check_project1_cnn_other_split(relu, max_pool2d, cross_entropy)


def test_unusual_correct_parts_pass():
    project1.check_project1_cnn(relu_where, pool_keras_windows, cross_entropy_additive)


def test_builtin_parts_clear_the_stated_bar_on_the_same_budget():
    accuracy, _ = project1.train_digit_cnn("relu", "max", "categorical_crossentropy")
    assert accuracy >= project1.MIN_TEST_ACCURACY + 0.03


def test_project1_rejects_flipped_loss_sign():
    def flipped(y_true, y_pred):
        return -cross_entropy(y_true, y_pred)

    assert_fails(project1.check_project1_cnn, relu, max_pool2d, flipped,
                 fragments=["test accuracy", "0.90"])


def test_project1_rejects_unfinished_stub():
    def stub(*arguments):
        raise NotImplementedError()

    assert_fails(project1.check_project1_cnn, relu, stub, cross_entropy,
                 fragments=["NotImplementedError"])
    assert_fails(project1.check_project1_cnn_other_split, stub, max_pool2d,
                 cross_entropy, fragments=["NotImplementedError"])


def test_project1_rejects_numpy_parts():
    def numpy_relu(x):
        return np.maximum(x, 0)

    assert_fails(project1.check_project1_cnn, numpy_relu, max_pool2d, cross_entropy,
                 fragments=["keras.ops"])


def test_project1_rejects_library_parts():
    assert_fails(project1.check_project1_cnn, relu,
                 lambda x, pool_size=2: keras.layers.MaxPooling2D(pool_size)(x),
                 cross_entropy, fragments=["no credit"])
    assert_fails(project1.check_project1_cnn, relu, max_pool2d,
                 keras.losses.categorical_crossentropy)


def test_project1_rejects_a_missing_definition():
    assert_fails(project1.check_project1_cnn, relu, None, cross_entropy,
                 fragments=["not a function"])


NOTEBOOKS = ["solutions/exercises1/01_dense_network.ipynb",
             "solutions/exercises1/02_relu.ipynb",
             "solutions/exercises1/03_cross_entropy.ipynb",
             "solutions/exercises1/04_gradient_descent.ipynb",
             "solutions/exercises1/05_max_pooling.ipynb",
             "solutions/project1/project1.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_test_cells_only_import_and_call_existing_checks(path):
    import ast
    from pathlib import Path

    import nbformat

    notebook = nbformat.read(str(Path(__file__).parents[2] / path), as_version=4)
    # A cell that is graded and a solution is a written answer the TAs grade
    # by hand (test_course_notebooks checks those); the rest are test cells.
    graded = [cell for cell in notebook.cells
              if cell.metadata.get("nbgrader", {}).get("grade")
              and not cell.metadata["nbgrader"].get("solution")]
    assert graded, "every notebook has graded test cells"
    for cell in graded:
        meta = cell.metadata["nbgrader"]
        assert meta["grade_id"].startswith("test_") and meta["points"] > 0
        assert meta["locked"] and not meta["solution"]
        namespace = {}
        for statement in ast.parse(cell.source).body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                exec(compile(ast.Module([statement], []), path, "exec"), namespace)  # noqa: S102
            else:  # a call of an imported check on the student's function
                assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
                assert statement.value.func.id in namespace, statement.value.func.id
                assert statement.value.func.id.startswith("check_")
