"""The trusted judge and its data format, against a real IPython kernel.

One kernel (jupyter_client's own manager, no sandbox) holds the "student's"
functions; the judge's stand-ins call them across the process boundary.
"""

import numpy as np
import pytest
from jupyter_client import KernelManager

from autograder.grading.judge import (Judge, JudgeTimeout, KernelLink, NotJudgeable,
                                      RemoteFunction, StudentError, exception_for,
                                      judged_here, names_from_the_notebook)
from autograder.grading.observations import DTYPES, ObservationError, decode, encode

STUDENT_CODE = '''
import numpy as np
import keras

def relu(x):
    return keras.ops.maximum(x, 0.0)

def numpy_relu(x):
    return np.maximum(x, 0.0)

def max_pool2d(x, pool_size=2, strides=None):
    rows, columns = x.shape[1] // pool_size, x.shape[2] // pool_size
    blocks = keras.ops.reshape(x, (-1, rows, pool_size, columns, pool_size, x.shape[3]))
    return keras.ops.max(blocks, axis=(2, 4))

def cross_entropy(y_true, y_pred):
    p = keras.ops.clip(y_pred, 1e-7, 1 - 1e-7)
    return -keras.ops.sum(y_true * keras.ops.log(p), axis=-1)

def flipped_cross_entropy(y_true, y_pred):
    return -cross_entropy(y_true, y_pred)

def square_and_double(x):
    return x * x, 2.0 * x

def stub(x):
    raise NotImplementedError()

class ExamError(Exception):
    pass

def custom_error(x):
    raise ExamError("my own words")

def forever(x):
    while True:
        pass

threshold = np.array([0.5, 1.5])
import os as np_in_disguise

def first_weights(model):
    return [layer for layer in model.layers if layer.get_weights()][0].get_weights()[0]

def add_in_place(model, amount, steps, on_step=None):
    for step in range(steps):
        model.set_weights([weight + amount for weight in model.get_weights()])
        if on_step is not None:
            on_step("add", step=step)
    return "done"

def add_then_fail(model, on_step):
    add_in_place(model, 1.0, 2, on_step)
    raise ValueError("broke after two steps")

def shared_pair(input_dim, latent_dim):
    inputs = keras.Input(shape=(input_dim,))
    code = keras.layers.Dense(latent_dim, name="code")(
        keras.layers.Dense(8, activation="relu", name="hidden")(inputs))
    outputs = keras.layers.Dense(input_dim, name="out")(code)
    return keras.Model(inputs, outputs), keras.Model(inputs, code)

def separate_pair(input_dim, latent_dim):
    autoencoder, _ = shared_pair(input_dim, latent_dim)
    _, encoder = shared_pair(input_dim, latent_dim)
    return autoencoder, encoder

def lambda_model(input_dim):
    inputs = keras.Input(shape=(input_dim,))
    return keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))

def ignores_its_callback_stopping(model, on_step):
    calls = 0
    while calls < 100_000:
        try:
            on_step("again")
        except Exception:
            break
        calls += 1
    return calls
'''


def start_link(timeout=60):
    manager = KernelManager()
    manager.start_kernel()
    client = manager.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    reply = client.execute_interactive(STUDENT_CODE, timeout=120)
    assert reply["content"]["status"] == "ok"
    client.stop_channels()
    return manager, KernelLink(manager.get_connection_info(session=False),
                               manager.is_alive, timeout=timeout)


@pytest.fixture(scope="module")
def link():
    manager, kernel_link = start_link()
    yield kernel_link
    kernel_link.close()
    manager.shutdown_kernel(now=True)


def test_values_cross_as_data_both_ways(link):
    x = np.array([-2.0, 0.5, 3.0])
    assert np.array_equal(RemoteFunction(link, "numpy_relu")(x), [0.0, 0.5, 3.0])
    twice = RemoteFunction(link, "square_and_double")(x)
    assert isinstance(twice, tuple)
    assert np.allclose(twice[0], x * x) and np.allclose(twice[1], 2 * x)


def test_a_tensor_result_stays_a_tensor_and_an_array_stays_an_array(link):
    import tensorflow as tf

    x = tf.constant([-1.0, 2.0])
    assert tf.is_tensor(RemoteFunction(link, "relu")(x))
    assert not tf.is_tensor(RemoteFunction(link, "numpy_relu")(x))


def test_gradients_come_from_the_kernel(link):
    import tensorflow as tf

    x = tf.constant([[-1.0, 2.0, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        first, second = RemoteFunction(link, "square_and_double")(x)
        total = tf.reduce_sum(first) + tf.reduce_sum(second)
    assert np.allclose(tape.gradient(total, x).numpy(), 2 * x.numpy() + 2)
    # A NumPy detour has no gradient, as it would in the kernel.
    with tf.GradientTape() as tape:
        tape.watch(x)
        result = RemoteFunction(link, "numpy_relu")(x)
    assert not tf.is_tensor(result)


def test_keras_inputs_and_traced_graphs_work_and_train(link):
    import keras
    import tensorflow as tf

    relu = RemoteFunction(link, "relu")
    inputs = keras.Input(shape=(3,))
    symbolic = relu(inputs)
    assert tuple(symbolic.shape) == (None, 3)
    outputs = keras.layers.Dense(1)(keras.layers.Activation(relu)(keras.layers.Dense(4)(
        keras.layers.Lambda(relu)(inputs))))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = np.maximum(x, 0).sum(axis=1, keepdims=True)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]

    @tf.function
    def traced(value):
        return relu(value) * 2.0

    assert np.allclose(traced(tf.constant([-1.0, 1.5])).numpy(), [0.0, 3.0])


def test_errors_in_the_kernel_are_raised_by_name(link):
    with pytest.raises(NotImplementedError) as stub:
        RemoteFunction(link, "stub")(1.0)
    assert str(stub.value) == ""
    with pytest.raises(StudentError) as custom:
        RemoteFunction(link, "custom_error")(1.0)
    assert type(custom.value).__name__ == "ExamError"
    assert str(custom.value) == "my own words"
    with pytest.raises(NameError):
        RemoteFunction(link, "not_defined_anywhere")(1.0)


def test_an_assertion_from_the_kernel_is_never_a_check_of_ours():
    error = exception_for({"ename": "AssertionError", "evalue": "x", "builtin": True})
    assert not isinstance(error, AssertionError)
    assert isinstance(exception_for({"ename": "ValueError", "builtin": True}), ValueError)
    assert type(exception_for({"ename": "a b", "builtin": False})).__name__ == "StudentError"


def test_models_go_to_the_kernel_as_data(link):
    from course_lib.builders import make_mlp

    model = make_mlp(4, 3, hidden_units=(5,))
    kernel = RemoteFunction(link, "first_weights")(model)
    assert np.array_equal(kernel, model.get_layer("dense_1").get_weights()[0])


class Recorder:
    """A judge-side callback that copies the model's weights at every call."""

    def __init__(self, model, max_steps=None):
        self.model = model
        self.calls = []
        self.seen = []
        if max_steps is not None:
            self.max_steps = max_steps

    def __call__(self, *args, **kwargs):
        if len(self.calls) >= getattr(self, "max_steps", 10**9):
            raise RuntimeError(f"more than {self.max_steps} calls")
        self.calls.append((args, kwargs))
        self.seen.append([weight.copy() for weight in self.model.get_weights()])


def test_a_callback_runs_here_on_the_weights_of_each_moment(link):
    from course_lib.builders import make_mlp

    model = make_mlp(4, 3, hidden_units=(5,))
    start = model.get_weights()
    recorder = Recorder(model)
    assert RemoteFunction(link, "add_in_place")(model, 0.5, 3, on_step=recorder) == "done"
    assert recorder.calls == [(("add",), {"step": step}) for step in range(3)]
    for step, seen in enumerate(recorder.seen):
        assert all(np.allclose(now, before + 0.5 * (step + 1))
                   for now, before in zip(seen, start))
    # The model was trained in place, as the student's function did it there.
    assert all(np.allclose(now, before + 1.5) for now, before in zip(model.get_weights(), start))


def test_a_failing_function_still_has_its_callbacks_replayed_first(link):
    from course_lib.builders import make_mlp

    model = make_mlp(4, 3, hidden_units=(5,))
    recorder = Recorder(model)
    with pytest.raises(ValueError, match="broke after two steps"):
        RemoteFunction(link, "add_then_fail")(model, recorder)
    assert len(recorder.calls) == 2


def test_a_runaway_loop_stops_in_the_kernel_and_fails_here(link):
    from course_lib.builders import make_mlp

    model = make_mlp(4, 3, hidden_units=(5,))
    recorder = Recorder(model, max_steps=5)
    # The kernel allows one call more than the callback's `max_steps`; the
    # student's loop swallows the kernel's stop, but the replay here raises.
    with pytest.raises(RuntimeError, match="more than 5 calls"):
        RemoteFunction(link, "ignores_its_callback_stopping")(model, recorder)
    assert len(recorder.calls) == 5


def test_returned_models_are_rebuilt_here_sharing_what_they_shared(link):
    import keras

    autoencoder, encoder = RemoteFunction(link, "shared_pair")(6, 2)
    assert isinstance(autoencoder, keras.Model) and isinstance(encoder, keras.Model)
    assert autoencoder.output_shape == (None, 6) and encoder.output_shape == (None, 2)
    shared = {id(variable) for variable in autoencoder.weights}
    assert encoder.weights and all(id(variable) in shared for variable in encoder.weights)
    apart, alone = RemoteFunction(link, "separate_pair")(6, 2)
    assert not any(id(variable) in {id(other) for other in apart.weights}
                   for variable in alone.weights)


def test_a_returned_model_gets_its_weights_here_from_the_seed(link):
    import keras

    keras.utils.set_random_seed(3)
    first, _ = RemoteFunction(link, "shared_pair")(6, 2)
    keras.utils.set_random_seed(3)
    second, _ = RemoteFunction(link, "shared_pair")(6, 2)
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(),
                                                    second.get_weights()))


def test_a_model_with_python_code_is_not_rebuilt(link):
    from autograder.grading.judge import UnsupportedModel

    with pytest.raises(UnsupportedModel, match="Lambda"):
        RemoteFunction(link, "lambda_model")(4)


def test_a_check_given_something_that_cannot_cross_is_not_judged(link):
    with pytest.raises(NotJudgeable):
        RemoteFunction(link, "numpy_relu")(object())


def test_a_stuck_function_times_out():
    manager, stuck = start_link(timeout=2)
    try:
        with pytest.raises(JudgeTimeout):
            RemoteFunction(stuck, "forever")(1.0)
    finally:
        stuck.close()
        manager.shutdown_kernel(now=True)


def test_the_judge_runs_the_test_cell_here(link):
    judge = Judge(link, seed=7)
    good = judge.run("from course_lib.checks.core import expect_close\n"
                     "_ = expect_close(numpy_relu(np.array([-1.0, 2.0])), [0.0, 2.0], "
                     "'relu')\nprint('checked')", timeout=30)
    assert [output.output_type for output in good] == ["stream"]
    # `np` is the notebook's numpy, imported here afresh; values come as data.
    assert judge.namespace["np"] is np
    assert judge.run("assert float(np.sum(threshold)) == 2.0", timeout=30) == []
    # Only the course's libraries are imported under a notebook's name.
    assert judge.run("np_in_disguise.getcwd()", timeout=30)[-1].ename == "NameError"
    bad = judge.run("_ = expect_close(numpy_relu(np.array([-1.0])), [1.0], 'relu')",
                    timeout=30)
    assert bad[-1].ename == "CheckFailure"
    assert "relu returned [0.]" in bad[-1].evalue
    missing = judge.run("not_defined_anywhere(1)", timeout=30)
    assert missing[-1].ename == "NameError"


def test_a_training_check_takes_few_requests_for_parts_that_agree(link, monkeypatch):
    requests = []
    request = link.request
    monkeypatch.setattr(link, "request", lambda operation, *rest: (
        requests.append(operation), request(operation, *rest))[1])
    judge = Judge(link, seed=5)
    cell = ("from autograder.checks.project1 import check_project1_cnn\n"
            "check_project1_cnn(relu, max_pool2d, {loss})")
    assert judge.run(cell.format(loss="cross_entropy"), timeout=120) == []
    # Naming, scanning and calling each part once, building the model, then
    # per group of the reference's calls (2 relu, 2 pooling, 1 loss) its
    # trace, the stacked call and its gradient.
    assert requests.count("gradient") == 5 and len(requests) < 50, requests
    requests.clear()
    # A part that disagrees gets its own training, a request per step.
    failed = judge.run(cell.format(loss="flipped_cross_entropy"), timeout=300)
    assert failed[-1].ename == "CheckFailure" and "test accuracy" in failed[-1].evalue
    assert len(requests) > 500


def test_which_cells_the_judge_takes():
    assert judged_here("from autograder.checks.relu import check_relu_matches_keras")
    assert judged_here("from autograder.checks.gan import check_gan_labels")
    assert judged_here("import course_lib.checks.autoencoder")
    assert names_from_the_notebook("for x in data:\n    f(x)\nlambda y: y + g") == [
        "data", "f", "g"]


def test_a_check_module_can_be_left_to_the_kernel(monkeypatch):
    from autograder.grading import judge

    monkeypatch.setattr(judge, "IN_KERNEL_CHECKS", ("course_lib.checks.autoencoder",))
    assert not judge.judged_here("from course_lib.checks.autoencoder import build_models")
    assert judge.judged_here("from course_lib.checks.gan import run_train_gan")


@pytest.mark.parametrize("node, buffers, problem", [
    ({"t": "array", "dtype": "object", "shape": [1], "buffer": 0}, [b"x" * 8], "malformed"),
    ({"t": "array", "dtype": "float64", "shape": [2], "buffer": 0}, [b"x" * 8],
     "do not match"),
    ({"t": "array", "dtype": "float64", "shape": [1], "buffer": 3}, [b"x" * 8], "malformed"),
    ({"t": "model", "json": "{}", "weights": []}, [], "unknown kind"),
    ({"t": "value", "v": {"nested": "dict"}}, [], "not a number"),
    ({"t": "symbolic", "shape": [None], "dtype": "float32"}, [], "unknown kind"),
    ({"t": "list", "items": [{"t": "list", "items": []}] * 20_000}, [], "malformed"),
])
def test_a_malformed_observation_is_refused(node, buffers, problem):
    with pytest.raises(ObservationError, match=problem):
        decode(node, buffers)


def test_deep_nesting_and_object_arrays_are_refused():
    node = {"t": "none"}
    for _ in range(20):
        node = {"t": "list", "items": [node]}
    with pytest.raises(ObservationError):
        decode(node, [])
    with pytest.raises(ObservationError, match="dtype object"):
        encode(np.array([object()]), [])
    assert "object" not in DTYPES


def test_requests_take_the_observers_direct_socket_and_it_wants_signed_messages(link):
    import zmq

    RemoteFunction(link, "numpy_relu")(np.array([1.0]))
    assert link.direct, "the judge should have moved to the observer's own socket"
    address = link.direct.getsockopt(zmq.LAST_ENDPOINT).decode()
    intruder = zmq.Context.instance().socket(zmq.DEALER)
    intruder.setsockopt(zmq.LINGER, 0)
    intruder.connect(address)
    try:
        intruder.send_multipart([b"<IDS|MSG>", b"forged", b"{}", b"{}", b"{}",
                                 b'{"op": "forget"}'])
        assert not intruder.poll(1000), "an unsigned request was answered"
    finally:
        intruder.close()
    assert np.array_equal(RemoteFunction(link, "numpy_relu")(np.array([-1.0])), [0.0])


def test_a_kernel_cannot_send_the_judge_off_the_machine(link):
    assert link.open_direct("tcp://10.1.2.3:5555") is False
