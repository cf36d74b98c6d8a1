"""Visible checks for the LSTM exercise: `lstm_step` and `lstm_forward`.

The student writes one LSTM step and the loop over time in NumPy, with the
weights laid out exactly as `keras.layers.LSTM` stores them:

- `kernel` (features, 4 * units) multiplies the input `x_t`,
- `recurrent_kernel` (units, 4 * units) multiplies the previous hidden state,
- `bias` (4 * units,),

each split into four blocks of `units` columns in the order input gate `i`,
forget gate `f`, cell candidate `c~` (written `g` below) and output gate `o`:

    z   = x_t W + h_prev U + b    (W the kernel, U the recurrent kernel)
    i, f, o are the sigmoid of their blocks of z, g the tanh of its block
    c_t = f c_prev + i g          (elementwise products)
    h_t = o tanh(c_t)

The reference is Keras itself, run in float64 (`keras.layers.LSTMCell` with
`dtype="float64"` and the same weights), so a correct answer agrees to 1e-8.

When an answer disagrees, a plain "mismatch" would not tell the student
where to look, so the checks then *localise* the fault by ablation: they
feed weights in which every gate block but one is saturated (a bias of +40
makes a sigmoid or a tanh exactly 1), or in which the kernel, the recurrent
kernel or the bias is switched off, and compare the student's answer with
the reference under the same ablation. Which probe fails, and which simple
alternative the answer matches there, names the faulty part ("the forget
gate looks wrong", "the bias is ignored", "the sequence is processed in
reverse", ...). `diagnose_lstm_step` and `diagnose_lstm_forward` expose that
reasoning; the hidden checks reuse them.
"""

import collections

import keras
import numpy as np

from course_lib.checks.core import CheckFailure, call_student, fail, short, to_numpy
from course_lib.checks.library_calls import forbids_library_routines

# Names of library routines that already implement an LSTM.
FORBIDDEN_NAMES = {"LSTM", "LSTMCell", "lstm", "RNN", "rnn", "GRU",
                   "dynamic_rnn", "static_rnn"}
GATE_NAMES = ("input gate", "forget gate", "cell candidate", "output gate")
# A bias of +/-SATURATION drives a sigmoid to exactly 1 / 0 and a tanh to
# exactly +/-1 in float64 (1 - sigmoid(40) is about 4e-18).
SATURATION = 40.0
# A correct float64 answer agrees with Keras to this tolerance.
TOLERANCE = 1e-8
# Looser tolerance used when the inputs themselves are float32.
FLOAT32_TOLERANCE = 1e-5

PRE_ACTIVATION = ("z = x_t W + h_prev U + b, with W the kernel and U the "
                  "recurrent kernel")
_HINT_EQUATIONS = (
    "The step is z = x_t W + h_prev U + b (W the kernel, U the recurrent "
    "kernel, b the bias); "
    "split z into four blocks of `units` columns in the order i, f, c~, o; "
    "i, f, o = sigmoid(...), c~ = tanh(...); c_t = f * c_prev + i * c~; "
    "h_t = o * tanh(c_t).")

Diagnosis = collections.namedtuple("Diagnosis", "found expected hint")
Diagnosis.__doc__ = "A localised verdict: the three parts of a CheckFailure."


# ---------------------------------------------------------------------------
# Reference (Keras in float64) and random test data
# ---------------------------------------------------------------------------

_CELLS = {}


def _keras_cell(features, units):
    """A float64 `keras.layers.LSTMCell`, cached per (features, units)."""
    key = (features, units)
    if key not in _CELLS:
        cell = keras.layers.LSTMCell(units, dtype="float64")
        cell.build((None, features))
        _CELLS[key] = cell
    return _CELLS[key]


def keras_lstm_states(x, kernel, recurrent_kernel, bias, initial_h=None,
                      initial_c=None):
    """Run Keras' LSTM cell in float64 over a sequence; return h and c.

    `keras.layers.LSTM(units, return_sequences=True)` only returns the hidden
    states; the checks also need the cell states, so this steps a float64
    `keras.layers.LSTMCell` with the given weights through time.

    Args:
        x: Inputs, shape (batch, time, features).
        kernel: Input weights, shape (features, 4 * units).
        recurrent_kernel: Recurrent weights, shape (units, 4 * units).
        bias: Bias, shape (4 * units,).
        initial_h: Hidden state before the first step, (batch, units);
            zeros when None.
        initial_c: Cell state before the first step, (batch, units); zeros
            when None.

    Returns:
        A pair `(h_seq, c_seq)` of float64 arrays of shape
        (batch, time, units).

    Example:

    >>> x = np.ones((2, 3, 1))
    >>> h_seq, c_seq = keras_lstm_states(x, np.zeros((1, 4)),
    ...                                  np.zeros((1, 4)), np.zeros(4))
    >>> h_seq.shape, float(abs(h_seq).max())
    ((2, 3, 1), 0.0)
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    recurrent_kernel = np.asarray(recurrent_kernel, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    batch, time, features = x.shape
    units = recurrent_kernel.shape[0]
    cell = _keras_cell(features, units)
    cell.set_weights([kernel, recurrent_kernel, bias])
    h = (np.zeros((batch, units)) if initial_h is None
         else np.asarray(initial_h, dtype=np.float64))
    c = (np.zeros((batch, units)) if initial_c is None
         else np.asarray(initial_c, dtype=np.float64))
    hs, cs = [], []
    for t in range(time):
        _, (h, c) = cell(x[:, t], [h, c])
        h = np.asarray(keras.ops.convert_to_numpy(h))
        c = np.asarray(keras.ops.convert_to_numpy(c))
        hs.append(h)
        cs.append(c)
    if time == 0:
        empty = np.zeros((batch, 0, units))
        return empty, empty
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


def keras_lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    """One float64 step of `keras.layers.LSTMCell`; returns `(h_t, c_t)`."""
    h_seq, c_seq = keras_lstm_states(np.asarray(x_t)[:, None, :], kernel,
                                     recurrent_kernel, bias, h_prev, c_prev)
    return h_seq[:, 0], c_seq[:, 0]


def random_lstm_weights(features, units, rng, scale=0.5):
    """Random `(kernel, recurrent_kernel, bias)` in Keras' layout.

    Example:

    >>> kernel, recurrent_kernel, bias = random_lstm_weights(
    ...     3, 2, np.random.default_rng(0))
    >>> kernel.shape, recurrent_kernel.shape, bias.shape
    ((3, 8), (2, 8), (8,))
    """
    kernel = rng.normal(0.0, scale, size=(features, 4 * units))
    recurrent_kernel = rng.normal(0.0, scale, size=(units, 4 * units))
    bias = rng.normal(0.0, scale, size=(4 * units,))
    return kernel, recurrent_kernel, bias


def _close(actual, expected, tolerance=1e-6):
    """True when two arrays have the same shape and (nearly) equal values."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return (actual.shape == expected.shape
            and bool(np.allclose(actual, expected, atol=tolerance,
                                 rtol=tolerance)))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------
# Calling the student's functions
# ---------------------------------------------------------------------------


def run_student_step(lstm_step, x_t, h_prev, c_prev, kernel,
                     recurrent_kernel, bias):
    """Call `lstm_step` on copies of its inputs; return `(h_t, c_t)` arrays.

    Fails with a readable message when the function crashes, returns
    something other than a pair, returns the wrong shapes, or writes into
    its inputs.
    """
    arguments = [np.array(value) for value in
                 (x_t, h_prev, c_prev, kernel, recurrent_kernel, bias)]
    originals = [value.copy() for value in arguments]
    result = call_student(lstm_step, *arguments,
                          call="lstm_step(x_t, h_prev, c_prev, kernel, "
                               "recurrent_kernel, bias)")
    names = ("x_t", "h_prev", "c_prev", "kernel", "recurrent_kernel", "bias")
    for name, before, after in zip(names, originals, arguments):
        if not np.array_equal(before, after):
            fail(f"lstm_step changed its argument `{name}` in place",
                 "inputs left untouched",
                 "Compute new arrays (e.g. `c_t = f * c_prev + i * g`) "
                 "instead of updating with `+=` or slice assignment.")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        found = (f"a {type(result).__name__}" if not hasattr(result, "shape")
                 else f"one array of shape {tuple(np.shape(result))}")
        fail(f"lstm_step returned {found}", "a pair (h_t, c_t)",
             "End with `return h_t, c_t`: the next step needs both states.")
    h_t, c_t = (to_numpy(value) for value in result)
    expected_shape = np.shape(h_prev)
    for name, value in (("h_t", h_t), ("c_t", c_t)):
        if value.shape != expected_shape:
            fail(f"lstm_step returned {name} of shape {value.shape}",
                 f"shape {expected_shape} (batch, units)",
                 "Each state has one row per example and one column per "
                 "unit; check which blocks of z you slice and which axis.")
    return h_t, c_t


def run_student_forward(lstm_forward, x, kernel, recurrent_kernel, bias):
    """Call `lstm_forward` on copies of its inputs; return `h_seq`.

    Fails with a readable message on a crash, on a changed input and on a
    wrong output shape (naming the usual cause: only the last state, a
    time-major result, or a `(h, c)` pair).
    """
    arguments = [np.array(value) for value in
                 (x, kernel, recurrent_kernel, bias)]
    originals = [value.copy() for value in arguments]
    result = call_student(lstm_forward, *arguments,
                          call="lstm_forward(x, kernel, recurrent_kernel, "
                               "bias)")
    for name, before, after in zip(
            ("x", "kernel", "recurrent_kernel", "bias"), originals,
            arguments):
        if not np.array_equal(before, after):
            fail(f"lstm_forward changed its argument `{name}` in place",
                 "inputs left untouched",
                 "Build new arrays instead of writing into the inputs.")
    if isinstance(result, (tuple, list)):
        fail(f"lstm_forward returned a {type(result).__name__} of "
             f"{len(result)} items",
             "one array h_seq of shape (batch, time, units)",
             "Return only the stacked hidden states, not (h, c).")
    h_seq = to_numpy(result)
    batch, time, _ = np.shape(x)
    units = np.shape(recurrent_kernel)[0]
    expected = (batch, time, units)
    if h_seq.shape == expected:
        return h_seq
    if h_seq.shape == (batch, units):
        hint = ("You return only the last hidden state; collect h_t at "
                "every step and stack them with np.stack(..., axis=1).")
    elif h_seq.shape == (time, batch, units):
        hint = ("Your result is time-major; stack the steps along axis 1 "
                "(np.stack(states, axis=1)) so the batch axis comes first.")
    else:
        hint = ("Collect the (batch, units) hidden state of every step and "
                "stack them along axis 1.")
    fail(f"lstm_forward returned shape {h_seq.shape}",
         f"shape {expected} (batch, time, units)", hint)


# ---------------------------------------------------------------------------
# Localising a fault: gate-block ablation (shared by step and forward)
# ---------------------------------------------------------------------------

# Which part of the cell update a block plays: "write" (i or c~, they enter
# only as the product i * c~), "keep" (f) or "show" (o).
_ROLES = ("write", "keep", "write", "show")
_EXPECTED_ACTIVATION = ("sigmoid", "sigmoid", "tanh", "sigmoid")
_ACTIVATIONS = {"sigmoid": _sigmoid, "tanh": np.tanh}


_BLOCK_OF_ROLE = {"write": 0, "keep": 1, "show": 3}
_GATE_CELLS = {}


def _keras_gate_states(role, activation, values, initial_c, steps):
    """Keras' cell states when one gate plays `role` with `activation`.

    The kernels are switched off, so every step sees the same
    pre-activation, the bias: `values` in the block of `role` and
    +SATURATION elsewhere (exactly 1 under either squashing function).
    Keras' `recurrent_activation` squashes the input, forget and output
    gates, so setting it to `activation` makes the varied gate use it.

    Returns:
        `(h, c)` float64 arrays of shape (batch, steps, units).
    """
    initial_c = np.asarray(initial_c, dtype=np.float64)
    batch, units = initial_c.shape
    key = (units, activation)
    if key not in _GATE_CELLS:
        cell = keras.layers.LSTMCell(units, recurrent_activation=activation,
                                     dtype="float64")
        cell.build((None, 1))
        _GATE_CELLS[key] = cell
    cell = _GATE_CELLS[key]
    cell.set_weights([np.zeros((1, 4 * units)), np.zeros((units, 4 * units)),
                      _block_bias(units, _BLOCK_OF_ROLE[role], values)])
    h, c = np.zeros((batch, units)), initial_c
    hs, cs = [], []
    for _ in range(steps):
        _, (h, c) = cell(np.zeros((batch, 1)), [h, c])
        h = np.asarray(keras.ops.convert_to_numpy(h))
        c = np.asarray(keras.ops.convert_to_numpy(c))
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


def _block_hypotheses(values, initial_c, steps):
    """What a cell produces when the varied block plays each possible role.

    The other three blocks are saturated at +40, i.e. exactly 1 under either
    the sigmoid or tanh, so only the varied block's role and squashing
    function matter.

    Returns:
        A dict mapping (role, activation) to `(h, c)` arrays of shape
        (batch, steps, units).
    """
    return {(role, name): _keras_gate_states(role, name, values, initial_c,
                                             steps)
            for role in ("write", "keep", "show")
            for name in _ACTIVATIONS}


def _block_bias(units, block, values):
    """A bias with `values` in gate block `block` and +40 everywhere else."""
    bias = np.full(4 * units, SATURATION)
    bias[block * units:(block + 1) * units] = values
    return bias


def _classify_block(block, student, student_flipped, hypotheses, compare):
    """Say how the student's cell treats one gate block.

    Args:
        block: 0..3 (i, f, c~, o).
        student: The student's outputs with the block varied.
        student_flipped: The outputs with the block's values negated (to see
            whether the block has any effect at all).
        hypotheses: From `_block_hypotheses`.
        compare: `compare(student, hypothesis) -> bool`.

    Returns:
        One of ("ok",), ("activation", name), ("acts_as", role, name),
        ("no_effect",) or ("unknown",).
    """
    expected_role = _ROLES[block]
    expected_activation = _EXPECTED_ACTIVATION[block]
    if compare(student, hypotheses[(expected_role, expected_activation)]):
        return ("ok",)
    if compare(student, student_flipped):
        return ("no_effect",)
    for (role, name), hypothesis in hypotheses.items():
        if compare(student, hypothesis):
            if role == expected_role:
                return ("activation", name)
            return ("acts_as", role, name)
    return ("unknown",)


def _role_block_name(role, activation):
    """The gate that plays `role` with `activation` in a correct LSTM."""
    if role == "keep":
        return "forget gate"
    if role == "show":
        return "output gate"
    return "cell candidate" if activation == "tanh" else "input gate"


def _describe_blocks(findings):
    """Turn per-block findings into one sentence (or None when all are ok)."""
    sentences = []
    handled = set()
    if (findings[0][:2] == ("acts_as", "keep")
            and findings[1][:2] == ("acts_as", "write")):
        sentences.append(
            "the input gate and the forget gate are swapped: Keras orders "
            "the blocks i, f, c~, o, so columns [0:units] are the input "
            "gate and [units:2*units] the forget gate")
        handled.update({0, 1})
    if (findings[2][:2] == ("acts_as", "show")
            and findings[3][:2] == ("acts_as", "write")):
        sentences.append(
            "the output gate and the cell candidate are swapped: Keras "
            "orders the blocks i, f, c~, o (not i, f, o, c~ as some other "
            "libraries do), so columns [2*units:3*units] are the cell "
            "candidate and [3*units:4*units] the output gate")
        handled.update({2, 3})
    tanh_gates = [GATE_NAMES[block] for block in (0, 1, 3)
                  if block not in handled
                  and findings[block] == ("activation", "tanh")]
    if tanh_gates:
        names = _join(tanh_gates)
        verb = "looks" if len(tanh_gates) == 1 else "look"
        sentences.append(
            f"the {names} {verb} wrong: tanh is used where a gate needs the "
            "sigmoid (a gate is a fraction between 0 and 1)")
        handled.update(block for block in (0, 1, 3)
                       if findings[block] == ("activation", "tanh"))
    for block, finding in enumerate(findings):
        if block in handled or finding == ("ok",):
            continue
        name = GATE_NAMES[block]
        columns = f"columns [{block}*units:{block + 1}*units]"
        if finding == ("activation", "sigmoid"):
            sentences.append(
                f"the {name} looks wrong: the sigmoid is used where the cell "
                "candidate needs tanh (values between -1 and 1)")
        elif finding[0] == "activation":
            sentences.append(f"the {name} looks wrong: it uses "
                             f"{finding[1]} instead of the "
                             f"{_EXPECTED_ACTIVATION[block]}")
        elif finding[0] == "acts_as":
            other = _role_block_name(finding[1], finding[2])
            sentences.append(
                f"the {name} looks wrong: block {block} of the weights "
                f"({columns}) behaves like the {other}")
        elif finding == ("no_effect",):
            extra = (" (so the previous cell state is not used)"
                     if block == 1 else "")
            sentences.append(
                f"the {name} looks wrong: changing block {block} of the "
                f"bias ({columns}) has no effect{extra}")
        else:
            sentences.append(
                f"the {name} looks wrong: with only block {block} of the "
                f"weights ({columns}) active the result differs from Keras")
    return "; ".join(sentences) or None


def _join(names):
    if len(names) == 1:
        return names[0]
    return ", the ".join(names[:-1]) + " and the " + names[-1]


# ---------------------------------------------------------------------------
# Diagnosing lstm_step
# ---------------------------------------------------------------------------


def diagnose_lstm_step(lstm_step):
    """Localise what is wrong in a student's `lstm_step`, by ablation.

    Runs a fixed sequence of probes, each switching off or saturating parts
    of the cell, and compares the student's answer with Keras under the same
    ablation. The first probe that fails names the faulty part.

    Args:
        lstm_step: The student's function.

    Returns:
        A `Diagnosis(found, expected, hint)`, or None when every probe
        agrees with Keras.

    Example:

    >>> def unchanged_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    ...     return h_prev, c_prev
    >>> diagnose_lstm_step(unchanged_step) is None
    False
    """
    rng = np.random.default_rng(2024)
    batch, units = 3, 4
    features = units  # equal sizes let a swapped kernel still run
    kernel, recurrent_kernel, bias = random_lstm_weights(features, units, rng)
    x_t = rng.normal(size=(batch, features))
    h_prev = rng.normal(size=(batch, units))
    c_prev = rng.normal(size=(batch, units))

    def student(x_t=x_t, h_prev=h_prev, c_prev=c_prev, kernel=kernel,
                recurrent_kernel=recurrent_kernel, bias=bias):
        return run_student_step(lstm_step, x_t, h_prev, c_prev, kernel,
                                recurrent_kernel, bias)

    def reference(x_t=x_t, h_prev=h_prev, c_prev=c_prev, kernel=kernel,
                  recurrent_kernel=recurrent_kernel, bias=bias):
        return keras_lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel,
                               bias)

    def same(first, second):
        return all(_close(a, b) for a, b in zip(first, second))

    call = "lstm_step"
    student_h, student_c = base = student()
    reference_h, reference_c = reference()
    if same(base, (reference_h, reference_c)):
        return None

    # 1. Which state is returned.
    if _close(student_h, h_prev) and _close(student_c, c_prev):
        return Diagnosis(
            f"{call} returned h_prev and c_prev unchanged",
            "the new states (h_t, c_t)",
            "Compute the gates from x_t and h_prev, then the new cell state "
            "and the new hidden state, and return those.")
    if _close(student_h, reference_c) and _close(student_c, reference_h):
        return Diagnosis(
            f"{call} returned the states in the order (c_t, h_t)",
            "(h_t, c_t)", "Return `h_t, c_t` in that order.")
    if _close(student_h, reference_c):
        return Diagnosis(
            f"you return c instead of h: the first value {call} returned, "
            f"{short(student_h)}, is the new cell state",
            f"the hidden state h_t = o * tanh(c_t) = {short(reference_h)}",
            "The hidden state is the output gate times tanh of the new cell "
            "state; return `h_t, c_t`.")

    # 2. Is every input used? (change one input, the answer must change)
    other_bias = rng.normal(0.0, 0.5, size=bias.shape)
    if same(student(bias=other_bias), base):
        return Diagnosis(
            f"the bias is ignored: {call} returned the same states for two "
            "different biases",
            "states that change with the bias",
            "Add `bias` to the pre-activation: z = x_t @ kernel + "
            "h_prev @ recurrent_kernel + bias.")
    other_c = rng.normal(size=c_prev.shape)
    if same(student(c_prev=other_c), base):
        return Diagnosis(
            f"the previous cell state is not used: {call} returned the same "
            "states for two different c_prev",
            "c_t = f * c_prev + i * c~, which depends on c_prev",
            "The forget gate decides how much of c_prev is kept; include "
            "the term f * c_prev.")
    other_h = rng.normal(size=h_prev.shape)
    if same(student(h_prev=other_h), base):
        other_recurrent = rng.normal(0.0, 0.5, size=recurrent_kernel.shape)
        if not same(student(recurrent_kernel=other_recurrent), base):
            return Diagnosis(
                f"the recurrent kernel is applied to x: {call} ignores "
                "h_prev although the recurrent kernel changes the result",
                PRE_ACTIVATION,
                "The recurrent kernel multiplies the previous hidden state "
                "h_prev, not the input x_t.")
        return Diagnosis(
            f"the previous hidden state is not used: {call} returned the "
            "same states for two different h_prev",
            "states that depend on h_prev through the recurrent kernel",
            "Add h_prev @ recurrent_kernel to the pre-activation.")
    if same(base, reference(x_t=h_prev, h_prev=x_t)):
        return Diagnosis(
            f"the recurrent kernel is applied to x and the kernel to h_prev "
            f"in {call}",
            PRE_ACTIVATION,
            "`kernel` has one row per input feature and multiplies x_t; "
            "`recurrent_kernel` has one row per unit and multiplies h_prev.")
    if same(student(x_t=rng.normal(size=x_t.shape)), base):
        return Diagnosis(
            f"the input is not used: {call} returned the same states for two "
            "different x_t", "states that depend on x_t",
            "Add x_t @ kernel to the pre-activation.")

    # 3. From the cell to the output: every gate saturated open.
    zero_kernel = np.zeros_like(kernel)
    zero_recurrent = np.zeros_like(recurrent_kernel)
    open_bias = np.full(4 * units, SATURATION)
    probe_c = np.tile(np.linspace(-0.9, 0.9, units), (batch, 1))
    got_h, got_c = student(kernel=zero_kernel,
                           recurrent_kernel=zero_recurrent,
                           bias=open_bias, c_prev=probe_c)
    want_h, want_c = reference(kernel=zero_kernel,
                               recurrent_kernel=zero_recurrent,
                               bias=open_bias, c_prev=probe_c)
    setting = ("with every gate saturated open (i = f = o = 1, c~ = 1) "
               "and c_prev")
    if not _close(got_c, want_c):
        return Diagnosis(
            f"the cell update looks wrong: {setting} = {short(probe_c[0])}, "
            f"{call} returned c_t = {short(got_c[0])}",
            f"c_t = c_prev + 1 = {short(want_c[0])}",
            "The new cell state is c_t = f * c_prev + i * c~.")
    if not _close(got_h, want_h):
        if _close(got_h, want_c):
            cause = ("the tanh on the cell is missing in the output "
                     "(h_t = o * c_t)")
            hint = "Squash the new cell state: h_t = o * tanh(c_t)."
        elif _close(got_h, _sigmoid(want_c)):
            cause = "the output squashes the cell with the sigmoid"
            hint = "Use tanh on the cell: h_t = o * tanh(c_t)."
        elif _close(got_h, np.tanh(probe_c)):
            cause = "the output uses the previous cell state"
            hint = "Use the new cell state: h_t = o * tanh(c_t)."
        else:
            cause = "the output h_t looks wrong"
            hint = "The output is h_t = o * tanh(c_t)."
        return Diagnosis(
            f"{cause}: {setting} = {short(probe_c[0])}, {call} returned "
            f"h_t = {short(got_h[0])}",
            f"tanh(c_t) = {short(want_h[0])}", hint)

    # 4. One gate block at a time (kernels off, the other blocks saturated).
    values = np.linspace(-2.5, 2.5, units)
    findings = []
    for block in range(4):
        block_bias = _block_bias(units, block, values)
        flipped_bias = _block_bias(units, block, -values)
        common = dict(kernel=zero_kernel, recurrent_kernel=zero_recurrent,
                      c_prev=probe_c)
        got = student(bias=block_bias, **common)
        flipped = student(bias=flipped_bias, **common)
        hypotheses = {key: (h[:, 0], c[:, 0]) for key, (h, c) in
                      _block_hypotheses(values, probe_c, 1).items()}
        findings.append(_classify_block(block, got, flipped, hypotheses,
                                        same))
    sentence = _describe_blocks(findings)
    if sentence:
        return Diagnosis(
            f"{sentence} (probe: kernels set to zero, one bias block varied "
            "from -2.5 to 2.5, the other blocks saturated at +40)",
            "each block to play its own part", _HINT_EQUATIONS)

    # 5. The kernel and the recurrent kernel on their own.
    zero_bias = np.zeros_like(bias)
    if not same(student(recurrent_kernel=zero_recurrent, bias=zero_bias),
                reference(recurrent_kernel=zero_recurrent, bias=zero_bias)):
        return Diagnosis(
            f"the kernel is applied incorrectly: with the recurrent kernel "
            f"and bias set to zero, {call} differs from Keras",
            "z = x_t @ kernel, split into blocks i, f, c~, o",
            "Use x_t @ kernel (shape (batch, 4 * units)) and slice its "
            "columns into four blocks of `units`.")
    if not same(student(kernel=zero_kernel, bias=zero_bias),
                reference(kernel=zero_kernel, bias=zero_bias)):
        return Diagnosis(
            f"the recurrent kernel is applied incorrectly: with the kernel "
            f"and bias set to zero, {call} differs from Keras",
            "z = h_prev @ recurrent_kernel, split into blocks i, f, c~, o",
            "Use h_prev @ recurrent_kernel (shape (batch, 4 * units)) and "
            "slice its columns like the kernel's.")
    return None


# ---------------------------------------------------------------------------
# Diagnosing lstm_forward
# ---------------------------------------------------------------------------


def _forward_transposed_diagnosis(lstm_forward, rng):
    """Check for a loop over the batch axis (needs batch == time to run)."""
    size, units = 4, 3
    kernel, recurrent_kernel, bias = random_lstm_weights(units, units, rng)
    x = rng.normal(size=(size, size, units))
    try:
        got = run_student_forward(lstm_forward, x, kernel, recurrent_kernel,
                                  bias)
    except CheckFailure:
        return None
    # Sequence j read along the batch axis: x[0, j], x[1, j], ...
    along_batch = keras_lstm_states(x.transpose(1, 0, 2), kernel,
                                    recurrent_kernel, bias)[0]
    if _close(got, along_batch) or _close(got, along_batch.transpose(1, 0, 2)):
        return Diagnosis(
            "lstm_forward steps over the batch axis instead of the time axis",
            "x[:, t] as the input of step t (x has shape "
            "(batch, time, features))",
            "Loop `for t in range(x.shape[1])` and feed x[:, t, :].")
    return None


def diagnose_lstm_forward(lstm_forward):
    """Localise what is wrong in a student's `lstm_forward`, by ablation.

    Probes, in order: the direction of time and which state is returned,
    whether the initial state is zero, whether each input (bias, recurrent
    kernel, previous cell state) is used, the output squashing, each gate
    block on its own, then the kernels on their own.

    Args:
        lstm_forward: The student's function.

    Returns:
        A `Diagnosis(found, expected, hint)`, or None when every probe
        agrees with Keras.

    Example:

    >>> def all_zero(x, kernel, recurrent_kernel, bias):
    ...     return np.zeros((x.shape[0], x.shape[1], recurrent_kernel.shape[0]))
    >>> diagnose_lstm_forward(all_zero) is None
    False
    """
    rng = np.random.default_rng(4048)
    batch, time, units = 3, 5, 4
    features = units  # equal sizes let a swapped kernel still run
    kernel, recurrent_kernel, bias = random_lstm_weights(features, units, rng)
    x = rng.normal(size=(batch, time, features))
    call = "lstm_forward"

    def student(x=x, kernel=kernel, recurrent_kernel=recurrent_kernel,
                bias=bias):
        return run_student_forward(lstm_forward, x, kernel, recurrent_kernel,
                                   bias)

    def reference(x=x, kernel=kernel, recurrent_kernel=recurrent_kernel,
                  bias=bias, initial_h=None, initial_c=None):
        return keras_lstm_states(x, kernel, recurrent_kernel, bias,
                                 initial_h, initial_c)

    try:
        base = student()
    except CheckFailure:
        transposed = _forward_transposed_diagnosis(lstm_forward, rng)
        if transposed is not None:
            return transposed
        raise
    reference_h, reference_c = reference()
    if _close(base, reference_h):
        return None

    # 1. Direction of time, which state, state carried between steps.
    reversed_h = reference(x=x[:, ::-1])[0]
    if _close(base, reversed_h) or _close(base, reversed_h[:, ::-1]):
        return Diagnosis(
            f"the sequence is processed in reverse: {call} matches Keras "
            "run on x[:, ::-1]",
            "steps t = 0, 1, ..., time - 1 in order, h_seq[:, t] after "
            "reading x[:, t]",
            "Loop over `range(x.shape[1])` from the first position on.")
    if _close(base, reference_c):
        return Diagnosis(
            f"you return c instead of h: {call} returned the cell states",
            "the hidden states h_t = o * tanh(c_t)",
            "Collect h_t (the first value of each step), not c_t.")
    transposed = _forward_transposed_diagnosis(lstm_forward, rng)
    if transposed is not None:
        return transposed
    fresh = np.concatenate([reference(x=x[:, t:t + 1])[0]
                            for t in range(time)], axis=1)
    if _close(base, fresh):
        return Diagnosis(
            f"the state is not carried between steps: {call} restarts "
            "every step from zeros",
            "h and c of step t fed into step t + 1",
            "Initialise h and c to zeros once, before the loop, and "
            "overwrite them with the new states at each step.")

    # 2. The initial state: with x = 0 and no bias, a zero start stays zero.
    zero_x = np.zeros_like(x)
    zero_kernel = np.zeros_like(kernel)
    zero_recurrent = np.zeros_like(recurrent_kernel)
    closed_forget = np.zeros(4 * units)
    closed_forget[units:2 * units] = -SATURATION
    quiet_without_state = _close(
        student(x=zero_x, recurrent_kernel=zero_recurrent,
                bias=closed_forget), np.zeros_like(base))
    with_state = student(x=zero_x, bias=np.zeros(4 * units))
    if quiet_without_state and not _close(with_state, np.zeros_like(base)):
        return Diagnosis(
            f"the initial state is not zero: with x = 0 and a zero bias, "
            f"{call} returned h_seq[:, 0] = {short(with_state[:, 0])}",
            "all zeros (a zero state and zero input give z = 0, "
            "c~ = tanh(0) = 0, so c and h stay 0)",
            "Start from h = np.zeros((batch, units)) and "
            "c = np.zeros((batch, units)).")

    # 3. Is every input used?
    other_bias = rng.normal(0.0, 0.5, size=bias.shape)
    if _close(student(bias=other_bias), base):
        return Diagnosis(
            f"the bias is ignored: {call} returned the same states for two "
            "different biases", "states that change with the bias",
            "Add `bias` to the pre-activation at every step.")
    other_recurrent = rng.normal(0.0, 0.5, size=recurrent_kernel.shape)
    if _close(student(recurrent_kernel=other_recurrent), base):
        return Diagnosis(
            f"the recurrent kernel is never used: {call} returned the same "
            "states for two different recurrent kernels",
            PRE_ACTIVATION,
            "Feed the previous hidden state back through the recurrent "
            "kernel at every step.")
    if _close(base, reference(kernel=kernel + recurrent_kernel,
                              recurrent_kernel=zero_recurrent)[0]):
        return Diagnosis(
            f"the recurrent kernel is applied to x: {call} computes "
            "x_t @ recurrent_kernel instead of h_prev @ recurrent_kernel",
            PRE_ACTIVATION,
            "The recurrent kernel multiplies the previous hidden state.")
    if _close(base, reference(kernel=recurrent_kernel,
                              recurrent_kernel=kernel)[0]):
        return Diagnosis(
            f"the recurrent kernel is applied to x and the kernel to h_prev "
            f"in {call}",
            PRE_ACTIVATION,
            "`kernel` multiplies x_t; `recurrent_kernel` multiplies h_prev.")
    no_forget = (kernel.copy(), recurrent_kernel.copy(), bias.copy())
    for weights in no_forget[:2]:
        weights[:, units:2 * units] = 0.0
    no_forget[2][units:2 * units] = -SATURATION
    if _close(base, reference(kernel=no_forget[0],
                              recurrent_kernel=no_forget[1],
                              bias=no_forget[2])[0]):
        return Diagnosis(
            f"the previous cell state is not used: {call} matches an LSTM "
            "whose forget gate is always 0 (c_t = i * c~)",
            "c_t = f * c_prev + i * c~",
            "Carry the cell state from step to step and keep the fraction "
            "f of it.")

    # 4. From the cell to the output: every gate saturated open, c_t = t.
    open_bias = np.full(4 * units, SATURATION)
    got = student(kernel=zero_kernel, recurrent_kernel=zero_recurrent,
                  bias=open_bias)
    want_h, want_c = reference(kernel=zero_kernel,
                               recurrent_kernel=zero_recurrent,
                               bias=open_bias)
    setting = ("with every gate saturated open (i = f = o = 1, c~ = 1) the "
               f"cell state counts up c_t = 1, 2, ..., {time} and")
    if not _close(got, want_h):
        if _close(got, want_c):
            # o = 1 here, so h = c could also be the cell state returned in
            # place of h; half-open the output gate to tell them apart.
            half_open = open_bias.copy()
            half_open[3 * units:] = 0.0
            if _close(student(kernel=zero_kernel,
                              recurrent_kernel=zero_recurrent,
                              bias=half_open), want_c):
                return Diagnosis(
                    f"you return c instead of h: with the output gate at "
                    f"0.5, {call} still returned the cell states "
                    f"{short(want_c[0, :, 0])}",
                    "the hidden states h_t = o * tanh(c_t)",
                    "Each step must return h_t = o * tanh(c_t) as the new "
                    "hidden state (and c_t as the new cell state).")
            cause = ("the tanh on the cell is missing in the output "
                     "(h_t = o * c_t)")
            hint = "Squash the new cell state: h_t = o * tanh(c_t)."
        elif _close(got, _sigmoid(want_c)):
            cause = "the output squashes the cell with the sigmoid"
            hint = "Use tanh on the cell: h_t = o * tanh(c_t)."
        else:
            cause = "the cell update or the output looks wrong"
            hint = "c_t = f * c_prev + i * c~ and h_t = o * tanh(c_t)."
        return Diagnosis(
            f"{cause}: {setting} {call} returned h over time "
            f"{short(got[0, :, 0])}",
            f"tanh(c_t) = {short(want_h[0, :, 0])}", hint)

    # 5. One gate block at a time.
    values = np.linspace(-2.5, 2.5, units)
    steps = 3
    probe_x = x[:, :steps]
    start = np.zeros((batch, units))
    hypotheses = {key: h for key, (h, c) in
                  _block_hypotheses(values, start, steps).items()}
    findings = []
    for block in range(4):
        common = dict(x=probe_x, kernel=zero_kernel,
                      recurrent_kernel=zero_recurrent)
        got = student(bias=_block_bias(units, block, values), **common)
        flipped = student(bias=_block_bias(units, block, -values), **common)
        findings.append(_classify_block(block, got, flipped, hypotheses,
                                        _close))
    sentence = _describe_blocks(findings)
    if sentence:
        return Diagnosis(
            f"{sentence} (probe: kernels set to zero, one bias block varied "
            "from -2.5 to 2.5, the other blocks saturated at +40, "
            f"{steps} steps)",
            "each block to play its own part", _HINT_EQUATIONS)

    # 6. The kernels on their own.
    zero_bias = np.zeros_like(bias)
    if not _close(student(recurrent_kernel=zero_recurrent, bias=zero_bias),
                  reference(recurrent_kernel=zero_recurrent,
                            bias=zero_bias)[0]):
        return Diagnosis(
            f"the kernel is applied incorrectly: with the recurrent kernel "
            f"and bias set to zero, {call} differs from Keras",
            "z = x_t @ kernel, split into blocks i, f, c~, o",
            "Use x[:, t] @ kernel and slice its columns into four blocks.")
    if not _close(student(kernel=zero_kernel), reference(
            kernel=zero_kernel)[0]):
        return Diagnosis(
            f"the recurrent kernel is applied incorrectly: with the kernel "
            f"set to zero, {call} differs from Keras",
            "z = h_prev @ recurrent_kernel + bias",
            "Use h_prev @ recurrent_kernel and slice it like the kernel.")
    return None


# ---------------------------------------------------------------------------
# Comparing with Keras (shared with the hidden checks)
# ---------------------------------------------------------------------------


def _raise_mismatch(diagnose, function, call, got, want, tolerance):
    """Explain a disagreement with Keras as precisely as possible."""
    diagnosis = diagnose(function)
    if diagnosis is not None:
        fail(*diagnosis)
    got = np.asarray(got)
    error = float(np.max(np.abs(got.astype(np.float64) - want)))
    if tolerance <= TOLERANCE and (got.dtype != np.float64 or error < 1e-4):
        fail(f"{call} returned dtype {got.dtype} and agrees with Keras only "
             f"to about {error:.1e}",
             f"agreement to {tolerance:g} in float64",
             "Keep the computation in float64: do not cast the inputs or "
             "the result to float32.")
    fail(f"{call} returned {short(got)}",
         f"{short(want)} (Keras with the same weights)", _HINT_EQUATIONS)


def _explain_crash(diagnose, function, failure):
    """A crash on some shapes may come from a bug the probes can name.

    The probes use as many input features as units, where e.g. a recurrent
    kernel applied to x still runs; if they localise a fault, report it
    together with the original error.
    """
    if "raised" not in failure.found or failure.found.endswith("raised NotImplementedError"):
        return
    try:
        diagnosis = diagnose(function)
    except CheckFailure:
        return
    if diagnosis is not None:
        fail(diagnosis.found, diagnosis.expected,
             f"{diagnosis.hint} (With other shapes it crashed: "
             f"{failure.found}.)")


def compare_step_with_keras(lstm_step, x_t, h_prev, c_prev, kernel,
                            recurrent_kernel, bias, tolerance=TOLERANCE):
    """Fail unless `lstm_step` equals Keras' LSTM cell on these inputs.

    On a mismatch the message comes from `diagnose_lstm_step`, so it names
    the faulty part.
    """
    try:
        got_h, got_c = run_student_step(lstm_step, x_t, h_prev, c_prev,
                                        kernel, recurrent_kernel, bias)
    except CheckFailure as failure:
        _explain_crash(diagnose_lstm_step, lstm_step, failure)
        raise
    want_h, want_c = keras_lstm_step(x_t, h_prev, c_prev, kernel,
                                     recurrent_kernel, bias)
    shape = (f"x_t {np.shape(x_t)}, units {np.shape(recurrent_kernel)[0]}, "
             f"dtype {np.asarray(x_t).dtype}")
    for name, got, want in (("h_t", got_h, want_h), ("c_t", got_c, want_c)):
        if not _close(got, want, tolerance):
            _raise_mismatch(diagnose_lstm_step, lstm_step,
                            f"lstm_step ({shape}) {name}", got, want,
                            tolerance)


def compare_forward_with_keras(lstm_forward, x, kernel, recurrent_kernel,
                               bias, tolerance=TOLERANCE):
    """Fail unless `lstm_forward` equals `keras.layers.LSTM` on these inputs.

    The reference is `keras.layers.LSTM(units, return_sequences=True,
    dtype="float64")` with the given weights. On a mismatch the message comes
    from `diagnose_lstm_forward`.
    """
    x = np.asarray(x)
    try:
        got = run_student_forward(lstm_forward, x, kernel, recurrent_kernel,
                                  bias)
    except CheckFailure as failure:
        _explain_crash(diagnose_lstm_forward, lstm_forward, failure)
        raise
    want = keras_lstm_layer_output(x, kernel, recurrent_kernel, bias)
    if not _close(got, want, tolerance):
        shape = (f"x {x.shape}, units {np.shape(recurrent_kernel)[0]}, "
                 f"dtype {x.dtype}")
        _raise_mismatch(diagnose_lstm_forward, lstm_forward,
                        f"lstm_forward ({shape})", got, want, tolerance)


def keras_lstm_layer_output(x, kernel, recurrent_kernel, bias):
    """`keras.layers.LSTM(units, return_sequences=True)` in float64.

    Example:

    >>> out = keras_lstm_layer_output(np.zeros((2, 3, 1)), np.zeros((1, 8)),
    ...                               np.zeros((2, 8)), np.zeros(8))
    >>> out.shape
    (2, 3, 2)
    """
    x = np.asarray(x, dtype=np.float64)
    units = np.shape(recurrent_kernel)[0]
    layer = keras.layers.LSTM(units, return_sequences=True, dtype="float64")
    layer.build((None, None, x.shape[-1]))
    layer.set_weights([np.asarray(w, dtype=np.float64)
                       for w in (kernel, recurrent_kernel, bias)])
    return np.asarray(keras.ops.convert_to_numpy(layer(x)))


# ---------------------------------------------------------------------------
# Visible checks
# ---------------------------------------------------------------------------


@forbids_library_routines(FORBIDDEN_NAMES, "lstm_step",
                          hint="Write the step with NumPy: matrix products, "
                               "np.tanh and a sigmoid 1 / (1 + np.exp(-z)).")
def check_lstm_step(lstm_step):
    """Check one LSTM step against Keras on a small random example.

    Calls `lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias)`
    with batch 3, 5 input features and 4 units (float64) and compares
    `(h_t, c_t)` with `keras.layers.LSTMCell` holding the same weights, to
    1e-8. A library LSTM may not be used. On a mismatch the message names
    the part that looks wrong (a gate, the bias, the previous cell state,
    ...).

    Args:
        lstm_step: The student's function.

    Raises:
        CheckFailure: With what was found, what was expected and a hint.

    Example:

    >>> def lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    ...     return h_prev, c_prev        # forgets to compute anything
    >>> try:
    ...     check_lstm_step(lstm_step)
    ... except CheckFailure as failure:
    ...     print(failure.found)
    lstm_step returned h_prev and c_prev unchanged
    """
    rng = np.random.default_rng(0)
    batch, features, units = 3, 5, 4
    kernel, recurrent_kernel, bias = random_lstm_weights(features, units, rng)
    x_t = rng.normal(size=(batch, features))
    h_prev = rng.normal(0.0, 0.5, size=(batch, units))
    c_prev = rng.normal(0.0, 1.0, size=(batch, units))
    compare_step_with_keras(lstm_step, x_t, h_prev, c_prev, kernel,
                            recurrent_kernel, bias)


@forbids_library_routines(FORBIDDEN_NAMES, "lstm_forward",
                          hint="Loop over time in Python and call your lstm_step.")
def check_lstm_forward(lstm_forward):
    """Check the LSTM over a whole sequence against `keras.layers.LSTM`.

    Calls `lstm_forward(x, kernel, recurrent_kernel, bias)` with x of shape
    (batch 2, time 6, features 3) and 5 units (float64) and compares the
    hidden states with `keras.layers.LSTM(5, return_sequences=True)` holding
    the same weights, to 1e-8. On a mismatch the message names the part that
    looks wrong (the initial state, the direction of time, a gate, ...).

    Args:
        lstm_forward: The student's function.

    Raises:
        CheckFailure: With what was found, what was expected and a hint.
    """
    rng = np.random.default_rng(1)
    batch, time, features, units = 2, 6, 3, 5
    kernel, recurrent_kernel, bias = random_lstm_weights(features, units, rng)
    x = rng.normal(size=(batch, time, features))
    compare_forward_with_keras(lstm_forward, x, kernel, recurrent_kernel,
                               bias)
