"""Tests for the LSTM checks: correct answers pass, each known bug is caught
by the right check with a message that names the faulty part."""

import keras
import numpy as np
import pytest
from scipy.special import expit

from autograder.checks.lstm import (check_lstm_forward_matches_keras,
                                    check_lstm_step_matches_keras)
from course_lib.checks.lstm import (check_lstm_forward, check_lstm_step,
                                    diagnose_lstm_forward, diagnose_lstm_step,
                                    keras_lstm_states, keras_lstm_step,
                                    random_lstm_weights)
from tests.checks.helpers import assert_fails

STEP_CHECKS = (check_lstm_step, check_lstm_step_matches_keras)
FORWARD_CHECKS = (check_lstm_forward, check_lstm_forward_matches_keras)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------
# Implementations: a correct one with switchable bugs, and unusual correct ones
# ---------------------------------------------------------------------------


def make_step(order="ifco", gate=sigmoid, candidate=np.tanh,
              output=np.tanh, use_c_prev=True, use_bias=True,
              recurrent_on_x=False, return_c=False):
    """An lstm_step with the named defects switched on."""

    def lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
        recurrent_input = x_t if recurrent_on_x else h_prev
        z = x_t @ kernel + recurrent_input @ recurrent_kernel
        if use_bias:
            z = z + bias
        blocks = dict(zip(order, np.split(z, 4, axis=-1)))
        i, f, o = gate(blocks["i"]), gate(blocks["f"]), gate(blocks["o"])
        g = candidate(blocks["c"])
        c_t = (f * c_prev if use_c_prev else 0.0) + i * g
        h_t = o * output(c_t)
        return (c_t, c_t) if return_c else (h_t, c_t)

    return lstm_step


def make_forward(step=None, reverse=False, reverse_output=False,
                 initial=0.0, return_c=False, carry_state=True):
    """An lstm_forward (looping over `step`) with the named defects."""
    step = step or make_step()

    def lstm_forward(x, kernel, recurrent_kernel, bias):
        batch, time, _ = x.shape
        units = recurrent_kernel.shape[0]
        h = np.full((batch, units), initial)
        c = np.full((batch, units), initial)
        order = range(time - 1, -1, -1) if reverse else range(time)
        hs, cs = [], []
        for t in order:
            if not carry_state:
                h, c = np.zeros((batch, units)), np.zeros((batch, units))
            h, c = step(x[:, t], h, c, kernel, recurrent_kernel, bias)
            hs.append(h)
            cs.append(c)
        states = cs if return_c else hs
        if reverse and reverse_output:
            states = states[::-1]
        return np.stack(states, axis=1)

    return lstm_forward


def step_sliced(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    """Slices the columns by hand and uses scipy's expit."""
    units = h_prev.shape[1]
    z = np.dot(x_t, kernel) + np.dot(h_prev, recurrent_kernel) + bias
    i = expit(z[:, :units])
    f = expit(z[:, units:2 * units])
    g = np.tanh(z[:, 2 * units:3 * units])
    o = expit(z[:, 3 * units:])
    c_t = f * c_prev + i * g
    return o * np.tanh(c_t), c_t


def step_per_gate(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    """One small matrix product per gate, in a loop, with einsum."""
    units = h_prev.shape[1]
    gates = []
    for block in range(4):
        columns = slice(block * units, (block + 1) * units)
        z = (np.einsum("bf,fu->bu", x_t, kernel[:, columns])
             + np.einsum("bv,vu->bu", h_prev, recurrent_kernel[:, columns])
             + bias[columns])
        gates.append(np.tanh(z) if block == 2 else 0.5 * (1 + np.tanh(z / 2)))
    i, f, g, o = gates
    c_t = f * c_prev + i * g
    return o * np.tanh(c_t), c_t


def step_keras_ops(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    """Returns Keras tensors (allowed: the checks convert them)."""
    z = keras.ops.matmul(x_t, kernel) + keras.ops.matmul(
        h_prev, recurrent_kernel) + bias
    i, f, g, o = keras.ops.split(z, 4, axis=-1)
    c_t = (keras.ops.sigmoid(f) * c_prev
           + keras.ops.sigmoid(i) * keras.ops.tanh(g))
    return keras.ops.sigmoid(o) * keras.ops.tanh(c_t), c_t


def forward_precomputed(x, kernel, recurrent_kernel, bias):
    """Projects all inputs at once, time-major internally, fills an array."""
    batch, time, _ = x.shape
    units = recurrent_kernel.shape[0]
    projected = np.einsum("btf,fk->tbk", x, kernel) + bias
    h = np.zeros((batch, units), dtype=np.result_type(x, kernel))
    c = np.zeros_like(h)
    out = np.empty((batch, time, units), dtype=h.dtype)
    for t in range(time):
        z = projected[t] + h @ recurrent_kernel
        i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out[:, t] = h
    return out


def forward_float32(x, kernel, recurrent_kernel, bias):
    """Works in whatever dtype it is given (float32 in, float32 out)."""
    return make_forward(step_sliced)(x, kernel, recurrent_kernel, bias)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def assert_passes(checks, function):
    for check in checks:
        check(function)


def assert_rejected(checks, function, *phrases):
    """Every check rejects `function` and each message holds the phrases."""
    for check in checks:
        assert_fails(check, function, fragments=phrases)


# ---------------------------------------------------------------------------
# The reference itself
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch,time,features,units",
                         [(1, 1, 1, 1), (3, 6, 2, 4), (2, 4, 5, 3)])
def test_reference_equals_keras_lstm_layer(batch, time, features, units):
    rng = np.random.default_rng(batch + time)
    kernel, recurrent_kernel, bias = random_lstm_weights(features, units, rng)
    x = rng.normal(size=(batch, time, features))
    layer = keras.layers.LSTM(units, return_sequences=True, dtype="float64")
    layer.build((None, time, features))
    layer.set_weights([kernel, recurrent_kernel, bias])
    expected = keras.ops.convert_to_numpy(layer(x))
    h_seq, c_seq = keras_lstm_states(x, kernel, recurrent_kernel, bias)
    np.testing.assert_allclose(h_seq, expected, atol=1e-12)
    assert h_seq.dtype == np.float64
    # and the NumPy equations written out
    np.testing.assert_allclose(make_forward()(x, kernel, recurrent_kernel,
                                              bias), expected, atol=1e-12)
    h_t, c_t = keras_lstm_step(x[:, 0], h_seq[:, 0] * 0, c_seq[:, 0] * 0,
                               kernel, recurrent_kernel, bias)
    np.testing.assert_allclose(h_t, h_seq[:, 0], atol=1e-12)
    np.testing.assert_allclose(c_t, c_seq[:, 0], atol=1e-12)


# ---------------------------------------------------------------------------
# Correct answers pass
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("step", [make_step(), step_sliced, step_per_gate,
                                  step_keras_ops])
def test_correct_steps_pass(step):
    assert_passes(STEP_CHECKS, step)
    assert diagnose_lstm_step(step) is None


@pytest.mark.parametrize("forward", [
    make_forward(), make_forward(step_per_gate), forward_precomputed,
    forward_float32])
def test_correct_forwards_pass(forward):
    assert_passes(FORWARD_CHECKS, forward)
    assert diagnose_lstm_forward(forward) is None


def test_stub_fails_cleanly():
    def lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
        raise NotImplementedError()

    def lstm_forward(x, kernel, recurrent_kernel, bias):
        raise NotImplementedError()

    assert_rejected(STEP_CHECKS, lstm_step, "NotImplementedError")
    assert_rejected(FORWARD_CHECKS, lstm_forward, "NotImplementedError")


def test_library_lstm_is_refused():
    def lstm_forward(x, kernel, recurrent_kernel, bias):
        layer = keras.layers.LSTM(recurrent_kernel.shape[0],
                                  return_sequences=True)
        return layer(x)

    assert_rejected(FORWARD_CHECKS, lstm_forward, "library routine")


# ---------------------------------------------------------------------------
# Each bug in lstm_step is caught and localised (and lstm_forward built on a
# buggy step is localised the same way)
# ---------------------------------------------------------------------------


def check_step_bug(phrases, **bug):
    step = make_step(**bug)
    assert_rejected(STEP_CHECKS, step, *phrases)
    assert_rejected(FORWARD_CHECKS, make_forward(step), *phrases)


def test_lstm_rejects_input_forget_swapped():
    check_step_bug(["input gate and the forget gate are swapped"],
                   order="fico")


def test_lstm_rejects_output_candidate_swapped():
    check_step_bug(["output gate and the cell candidate are swapped"],
                   order="ifoc")


def test_lstm_rejects_tanh_on_gates():
    check_step_bug(["the input gate, the forget gate and the output gate "
                    "look wrong", "tanh is used where a gate needs the "
                    "sigmoid"], gate=np.tanh)


def test_lstm_rejects_tanh_on_forget_gate_only():
    def forget_tanh_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
        z = x_t @ kernel + h_prev @ recurrent_kernel + bias
        i, f, g, o = np.split(z, 4, axis=-1)
        c_t = np.tanh(f) * c_prev + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c_t), c_t

    assert_rejected(STEP_CHECKS, forget_tanh_step,
                    "the forget gate looks wrong")
    assert_rejected(FORWARD_CHECKS, make_forward(forget_tanh_step),
                    "the forget gate looks wrong")


def test_lstm_rejects_sigmoid_on_candidate():
    check_step_bug(["the cell candidate looks wrong", "needs tanh"],
                   candidate=sigmoid)


def test_lstm_rejects_missing_tanh_on_output():
    check_step_bug(["tanh on the cell is missing"], output=lambda c: c)


def test_lstm_rejects_sigmoid_on_output():
    check_step_bug(["squashes the cell with the sigmoid"], output=sigmoid)


def test_lstm_rejects_c_prev_ignored():
    check_step_bug(["the previous cell state is not used"], use_c_prev=False)


def test_lstm_rejects_bias_ignored():
    check_step_bug(["the bias is ignored"], use_bias=False)


def test_lstm_rejects_recurrent_kernel_on_x():
    # x_t @ recurrent_kernel only runs when features == units; elsewhere it
    # crashes, and the checks still name the cause.
    check_step_bug(["the recurrent kernel is applied to x"],
                   recurrent_on_x=True)


def test_lstm_rejects_kernels_swapped():
    def swapped(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
        return make_step()(h_prev, x_t, c_prev, kernel, recurrent_kernel,
                           bias)

    assert "kernel to h_prev" in diagnose_lstm_step(swapped).found
    assert "kernel to h_prev" in diagnose_lstm_forward(
        make_forward(swapped)).found
    assert_rejected(STEP_CHECKS, swapped)


def test_lstm_rejects_h_prev_ignored():
    def no_recurrence(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
        return make_step()(x_t, np.zeros_like(h_prev), c_prev, kernel,
                           recurrent_kernel, bias)

    assert_rejected(STEP_CHECKS, no_recurrence,
                    "the previous hidden state is not used")
    assert_rejected(FORWARD_CHECKS, make_forward(no_recurrence),
                    "the recurrent kernel is never used")


def test_lstm_rejects_returns_c_instead_of_h():
    check_step_bug(["you return c instead of h"], return_c=True)


def test_lstm_step_rejects_states_in_wrong_order():
    def step(*args):
        h_t, c_t = make_step()(*args)
        return c_t, h_t

    assert_rejected(STEP_CHECKS, step, "order (c_t, h_t)")


def test_lstm_step_rejects_single_return_value():
    def step(*args):
        return make_step()(*args)[0]

    assert_rejected(STEP_CHECKS, step, "a pair (h_t, c_t)")


def test_lstm_step_rejects_float32_cast():
    def step(*args):
        return make_step()(*[np.asarray(a, np.float32) for a in args])

    assert_rejected(STEP_CHECKS, step, "float64")


def test_lstm_step_rejects_in_place_update():
    def step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
        h_t, c_t = make_step()(x_t, h_prev, c_prev, kernel,
                               recurrent_kernel, bias)
        c_prev[...] = c_t
        return h_t, c_prev

    assert_rejected(STEP_CHECKS, step, "in place")


def test_lstm_step_rejects_kernel_split_by_rows():
    # Splits each weight matrix as if its columns were interleaved per unit.
    def step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
        units = h_prev.shape[1]
        regroup = lambda w: w.reshape(*w.shape[:-1], units, 4).swapaxes(
            -1, -2).reshape(w.shape)
        return make_step()(x_t, h_prev, c_prev, regroup(kernel),
                           recurrent_kernel, bias)

    assert_rejected(STEP_CHECKS, step, "the kernel is applied incorrectly")


# ---------------------------------------------------------------------------
# Bugs in the loop over time (with a correct step)
# ---------------------------------------------------------------------------


def test_lstm_rejects_time_reversed():
    forward = make_forward(reverse=True)
    assert_rejected(FORWARD_CHECKS, forward,
                    "the sequence is processed in reverse")
    assert_passes(STEP_CHECKS, make_step())


def test_lstm_rejects_time_reversed_output_realigned():
    assert_rejected(FORWARD_CHECKS, make_forward(reverse=True,
                                                 reverse_output=True),
                    "the sequence is processed in reverse")


def test_lstm_rejects_nonzero_initial_state():
    assert_rejected(FORWARD_CHECKS, make_forward(initial=1.0),
                    "the initial state is not zero")


def test_lstm_rejects_random_initial_state():
    def forward(x, kernel, recurrent_kernel, bias):
        units = recurrent_kernel.shape[0]
        rng = np.random.default_rng(0)
        h = rng.normal(size=(x.shape[0], units))
        c = rng.normal(size=(x.shape[0], units))
        hs = []
        for t in range(x.shape[1]):
            h, c = make_step()(x[:, t], h, c, kernel, recurrent_kernel, bias)
            hs.append(h)
        return np.stack(hs, axis=1)

    assert_rejected(FORWARD_CHECKS, forward, "the initial state is not zero")


def test_lstm_forward_rejects_returning_cell_states():
    assert_rejected(FORWARD_CHECKS, make_forward(return_c=True),
                    "you return c instead of h")


def test_lstm_forward_rejects_state_not_carried():
    assert_rejected(FORWARD_CHECKS, make_forward(carry_state=False),
                    "the state is not carried between steps")


def test_lstm_forward_rejects_last_state_only():
    def forward(x, kernel, recurrent_kernel, bias):
        return make_forward()(x, kernel, recurrent_kernel, bias)[:, -1]

    assert_rejected(FORWARD_CHECKS, forward, "only the last hidden state")


def test_lstm_forward_rejects_time_major_output():
    def forward(x, kernel, recurrent_kernel, bias):
        return make_forward()(x, kernel, recurrent_kernel,
                              bias).transpose(1, 0, 2)

    assert_rejected(FORWARD_CHECKS, forward, "time-major")


def test_lstm_forward_rejects_loop_over_batch_axis():
    def forward(x, kernel, recurrent_kernel, bias):
        units = recurrent_kernel.shape[0]
        h = np.zeros((x.shape[1], units))
        c = np.zeros((x.shape[1], units))
        hs = []
        for t in range(x.shape[0]):
            h, c = make_step()(x[t], h, c, kernel, recurrent_kernel, bias)
            hs.append(h)
        return np.stack(hs, axis=0)

    assert_rejected(FORWARD_CHECKS, forward, "batch axis instead of the time")


def test_lstm_forward_rejects_returning_pair():
    def forward(x, kernel, recurrent_kernel, bias):
        return make_forward()(x, kernel, recurrent_kernel, bias), None

    assert_rejected(FORWARD_CHECKS, forward, "not (h, c)")


def test_lstm_forward_rejects_loop_over_batch_axis_that_crashes():
    def forward(x, kernel, recurrent_kernel, bias):
        units = recurrent_kernel.shape[0]
        h = np.zeros((x.shape[0], units))
        c = np.zeros((x.shape[0], units))
        hs = []
        for t in range(x.shape[0]):
            h, c = make_step()(x[t], h, c, kernel, recurrent_kernel, bias)
            hs.append(h)
        return np.stack(hs, axis=1)

    assert_rejected(FORWARD_CHECKS, forward, "batch axis instead of the time")
