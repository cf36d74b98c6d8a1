"""Visible checks for `train_gan`, the alternating GAN training schedule.

The contract a student implements:

    train_gan(generator, discriminator, real_data, latent_dim,
              steps_per_phase=5, batch_size=32, tolerance=0.05,
              max_rounds=20, learning_rate=0.001, seed=0, on_step=None)
        -> history

Each round runs a generator phase (`steps_per_phase` updates of the
generator, discriminator frozen) and then a discriminator phase
(`steps_per_phase` updates of the discriminator, generator frozen). After
each phase the discriminator's accuracy is measured on a fresh batch of
`batch_size` real and `batch_size` generated samples (a sample counts as
called "real" when the discriminator outputs more than 0.5). Training stops
after the discriminator phase of the first round whose accuracy is within
`tolerance` of 0.5, and after `max_rounds` rounds at the latest. Both models
are trained in place. `history` is a list with one dict per phase:

    {"round": 0, "phase": "generator", "steps": 5, "loss": 0.71,
     "discriminator_accuracy": 0.62}

with `round` counting from 0, `phase` either "generator" or
"discriminator", `steps` the number of updates made in that phase, `loss`
the mean training loss of the phase (generator loss or discriminator loss)
and `discriminator_accuracy` the fresh-batch accuracy measured after it.

How the checks observe the phases: they pass their own tiny, seeded models
and an `on_step` callback, which `train_gan` calls as `on_step(phase, step)`
right after every single update (`step` = 0, 1, ... within the phase). At
each call the callback copies the trainable weights of both networks, so a
check sees exactly what every update changed. "Frozen" means bit-identical
trainable weights: the optimizer must not touch them. Non-trainable state
may change, e.g. the moving mean and variance of the generator's batch
normalization when it runs in training mode to make fakes for the
discriminator, or a dropout layer's random-seed state. The callback also
stops a run that takes far more steps than `max_rounds` allows, so a loop
that never ends fails instead of hanging.

The hidden checks in `autograder.checks.gan` reuse the models and the
recorder defined here.
"""

import math

import numpy as np

from course_lib.checks.core import call_student, fail, to_numpy

PHASES = ("generator", "discriminator")
HISTORY_KEYS = ("round", "phase", "steps", "loss", "discriminator_accuracy")

# Settings shared by every check: small enough to run in seconds on a CPU.
LATENT_DIM = 3
BATCH_SIZE = 16
LEARNING_RATE = 0.001
REAL_CENTER = 3.0  # real points sit around (+3, 0) ...
FAKE_CENTER = -3.0  # ... and the checks' generators start around (-3, 0)
# A run may take this many times the steps `max_rounds` allows before the
# recorder stops it as runaway.
RUNAWAY_FACTOR = 4


# --------------------------------------------------------------------------
# Tiny deterministic models and data the checks hand to `train_gan`.
# --------------------------------------------------------------------------

def make_real_points(num_points=128, center=REAL_CENTER, seed=0):
    """Real samples for the checks: 2-D points around `(center, 0)`."""
    rng = np.random.default_rng(seed)
    points = rng.normal(scale=0.3, size=(num_points, 2))
    points[:, 0] += center
    return points.astype(np.float32)


def make_check_generator(seed=0, batch_norm=False, center=FAKE_CENTER,
                         latent_dim=LATENT_DIM):
    """A tiny generator whose fakes start around `(center, 0)`.

    With `batch_norm=True` it has a hidden `Dense` + `BatchNormalization`
    block like the course's generator (so frozen-weight checks meet moving
    statistics); otherwise it is a single small `Dense` layer.
    """
    import keras

    inputs = keras.Input(shape=(latent_dim,))
    x = inputs
    if batch_norm:
        x = keras.layers.Dense(
            8, kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("tanh")(x)
    outputs = keras.layers.Dense(
        2,
        kernel_initializer=keras.initializers.RandomNormal(
            stddev=0.1, seed=seed + 1),
        bias_initializer=keras.initializers.Constant([center, 0.0]))(x)
    return keras.Model(inputs, outputs)


def make_learning_discriminator(seed=0, dropout_rate=0.2):
    """A tiny trainable discriminator with dropout, like the course's one."""
    import keras

    inputs = keras.Input(shape=(2,))
    x = keras.layers.Dense(
        8, activation="tanh",
        kernel_initializer=keras.initializers.GlorotUniform(seed + 2))(inputs)
    x = keras.layers.Dropout(dropout_rate, seed=seed + 3)(x)
    outputs = keras.layers.Dense(
        1, activation="sigmoid",
        kernel_initializer=keras.initializers.GlorotUniform(seed + 4))(x)
    return keras.Model(inputs, outputs)


def make_linear_discriminator(weight, bias=0.0):
    """A logistic discriminator `sigmoid(weight * x[0] + bias)`.

    `weight=2` tells the checks' real points (x[0] near +3) from their fakes
    (x[0] near -3) every time without saturating; `weight=0, bias=2` says
    "real" to everything, so it is right exactly half the time on a
    balanced batch.
    """
    import keras

    inputs = keras.Input(shape=(2,))
    outputs = keras.layers.Dense(
        1, activation="sigmoid",
        kernel_initializer=keras.initializers.Constant([[weight], [0.0]]),
        bias_initializer=keras.initializers.Constant(bias))(inputs)
    return keras.Model(inputs, outputs)


def seed_everything(seed):
    """Seed Python, NumPy and the backend so a check repeats exactly."""
    import keras

    keras.utils.set_random_seed(seed)


# --------------------------------------------------------------------------
# The `on_step` callback that records what every update changed.
# --------------------------------------------------------------------------

def _values(variables):
    return [np.array(to_numpy(variable), copy=True) for variable in variables]


class StepRecorder:
    """The `on_step(phase, step)` callback the checks pass to `train_gan`.

    It keeps the trainable variables both models had before training (the
    same variable objects, whatever `trainable` flags the student toggles),
    and after each call it stores their values, so `changes(index)` says
    which network the update moved. An optional `probe(generator,
    discriminator)` function is evaluated before training and after every
    step (e.g. mean discriminator outputs on fixed points).

    Args:
        generator: The generator handed to `train_gan`.
        discriminator: The discriminator handed to `train_gan`.
        max_steps: Number of calls after which the run counts as runaway;
            the next call raises `CheckFailure`, which ends `train_gan`.
        probe: Optional function of `(generator, discriminator)`.
    """

    def __init__(self, generator, discriminator, max_steps, probe=None):
        self.generator = generator
        self.discriminator = discriminator
        self.generator_variables = list(generator.trainable_variables)
        self.discriminator_variables = list(discriminator.trainable_variables)
        self.max_steps = max_steps
        self.probe = probe
        self.calls = []
        self.generator_values = [_values(self.generator_variables)]
        self.discriminator_values = [_values(self.discriminator_variables)]
        self.probes = [self._probe()]

    def _probe(self):
        if self.probe is None:
            return None
        return self.probe(self.generator, self.discriminator)

    def __call__(self, phase, step=None):
        if len(self.calls) >= self.max_steps:
            fail(f"train_gan kept training past {self.max_steps} steps",
                 "training to stop after at most max_rounds rounds",
                 "Loop over rounds with `for round_index in "
                 "range(max_rounds)` and `break` once the discriminator's "
                 "accuracy is within tolerance of 0.5.")
        self.calls.append((phase, step))
        self.generator_values.append(_values(self.generator_variables))
        self.discriminator_values.append(_values(self.discriminator_variables))
        self.probes.append(self._probe())

    def changes(self, index):
        """Which networks the update reported by call `index` changed.

        Returns:
            `(generator_changed, discriminator_changed)`, comparing the
            trainable weights bit for bit before and after that update.
        """
        def differ(before, after):
            return any(not np.array_equal(old, new, equal_nan=True)
                       for old, new in zip(before, after))

        return (differ(self.generator_values[index],
                       self.generator_values[index + 1]),
                differ(self.discriminator_values[index],
                       self.discriminator_values[index + 1]))


def run_train_gan(train_gan, generator, discriminator, real_data, *,
                  steps_per_phase, max_rounds, tolerance=0.05,
                  batch_size=BATCH_SIZE, seed=0, probe=None):
    """Call the student's `train_gan` with a `StepRecorder` as `on_step`.

    Every argument of the contract is passed by keyword, so the result does
    not depend on the student's defaults.

    Returns:
        `(history, recorder)`.
    """
    recorder = StepRecorder(
        generator, discriminator,
        max_steps=RUNAWAY_FACTOR * 2 * steps_per_phase * max_rounds,
        probe=probe)
    call = (f"train_gan(..., steps_per_phase={steps_per_phase}, "
            f"max_rounds={max_rounds}, tolerance={tolerance})")
    history = call_student(
        train_gan, generator, discriminator, real_data,
        latent_dim=LATENT_DIM, steps_per_phase=steps_per_phase,
        batch_size=batch_size, tolerance=tolerance, max_rounds=max_rounds,
        learning_rate=LEARNING_RATE, seed=seed, on_step=recorder, call=call)
    return history, recorder


def expect_history_list(history, call="train_gan(...)"):
    """Fail unless `history` is a non-empty list of dicts; return it."""
    if history is None:
        fail(f"{call} returned None", "a list with one dict per phase",
             "Append a dict to a `history` list after every phase and "
             "`return history` at the end.")
    if not isinstance(history, list):
        fail(f"{call} returned {type(history).__name__}",
             "a list with one dict per phase",
             "Collect the phases in a plain Python list.")
    if not history:
        fail(f"{call} returned an empty list",
             "one dict per phase (at least one round: two entries)",
             "Append a dict after every generator and discriminator phase.")
    for index, entry in enumerate(history):
        if not isinstance(entry, dict):
            fail(f"history[{index}] is {type(entry).__name__}", "a dict",
                 f"Each entry is a dict with the keys {list(HISTORY_KEYS)}.")
    return history


def expected_calls(steps_per_phase, rounds):
    """The `on_step` calls `rounds` complete rounds should make."""
    one_round = ([("generator", step) for step in range(steps_per_phase)]
                 + [("discriminator", step)
                    for step in range(steps_per_phase)])
    return one_round * rounds


def describe_calls(calls, limit=8):
    """Short text for a list of `(phase, step)` calls."""
    shown = ", ".join(f"{phase}:{step}" for phase, step in calls[:limit])
    if len(calls) > limit:
        shown += f", ... ({len(calls)} calls)"
    return f"[{shown}]"


# --------------------------------------------------------------------------
# Visible checks.
# --------------------------------------------------------------------------

def check_gan_history_format(train_gan, seed=0):
    """Check that `train_gan` returns one well-formed dict per phase.

    Trains two tiny models for at most two rounds of two steps and checks
    that the history is a list of dicts with the keys `round`, `phase`,
    `steps`, `loss` and `discriminator_accuracy`, that `round` and `steps`
    are whole numbers, `phase` is "generator" or "discriminator", `loss` is
    a finite number and the accuracy lies in [0, 1].

    Args:
        train_gan: The student's function.
        seed: Seed for the models, the data and the `seed` argument.

    Example:

    >>> from course_lib.checks.core import CheckFailure
    >>> def train_gan(generator, discriminator, real_data, latent_dim, **settings):
    ...     return [{"round": 0, "phase": "generator", "steps": 2, "loss": 0.7}]
    >>> try:
    ...     check_gan_history_format(train_gan)
    ... except CheckFailure as failure:
    ...     print(failure.expected)  # doctest: +NORMALIZE_WHITESPACE
    the keys ['round', 'phase', 'steps', 'loss', 'discriminator_accuracy']
    (missing ['discriminator_accuracy'])
    """
    seed_everything(seed)
    generator = make_check_generator(seed, batch_norm=True)
    discriminator = make_learning_discriminator(seed)
    history, _ = run_train_gan(
        train_gan, generator, discriminator, make_real_points(seed=seed),
        steps_per_phase=2, max_rounds=2, seed=seed)
    expect_history_list(history)
    for index, entry in enumerate(history):
        missing = [key for key in HISTORY_KEYS if key not in entry]
        if missing:
            fail(f"history[{index}] has the keys {sorted(entry)}",
                 f"the keys {list(HISTORY_KEYS)} (missing {missing})",
                 "Record every phase as {'round': ..., 'phase': ..., "
                 "'steps': ..., 'loss': ..., 'discriminator_accuracy': ...}.")
        for key in ("round", "steps"):
            value = entry[key]
            if isinstance(value, bool) or not isinstance(
                    value, (int, np.integer)):
                fail(f"history[{index}][{key!r}] is {value!r}",
                     "a whole number (int)",
                     f"Store the loop counter itself as {key!r}.")
        if entry["phase"] not in PHASES:
            fail(f"history[{index}]['phase'] is {entry['phase']!r}",
                 "'generator' or 'discriminator'",
                 "Name each phase after the network it trains.")
        for key in ("loss", "discriminator_accuracy"):
            try:
                value = float(to_numpy(entry[key]))
            except (TypeError, ValueError):
                fail(f"history[{index}][{key!r}] is {entry[key]!r}",
                     "a single number",
                     "Store a Python float, e.g. `float(loss)`.")
            if not math.isfinite(value):
                fail(f"history[{index}][{key!r}] is {value}",
                     "a finite number",
                     "Use keras.losses.BinaryCrossentropy(), which clips "
                     "probabilities so log(0) never happens.")
        accuracy = float(to_numpy(entry["discriminator_accuracy"]))
        if not 0.0 <= accuracy <= 1.0:
            fail(f"history[{index}]['discriminator_accuracy'] is {accuracy}",
                 "a fraction between 0 and 1",
                 "Divide the number of correct calls by the number of "
                 "samples (real plus fake).")


def check_gan_phase_order(train_gan, seed=0):
    """Check the schedule: k generator steps, then k discriminator steps.

    Runs `train_gan` twice (k = 2 and k = 3) with a discriminator that
    always tells the checks' real and fake points apart, so no run stops
    early, and checks the order of the `on_step(phase, step)` calls: each
    round is `steps_per_phase` generator steps numbered 0, 1, ... followed
    by as many discriminator steps, and the history has one entry per phase
    in the same order with the matching `round` and `steps`.

    Args:
        train_gan: The student's function.
        seed: Seed for the models, the data and the `seed` argument.

    Example:

    >>> from course_lib.checks.core import CheckFailure
    >>> def train_gan(generator, discriminator, real_data, latent_dim,
    ...               steps_per_phase=5, on_step=None, **settings):
    ...     for phase in ("discriminator", "generator"):  # the wrong way round
    ...         for step in range(steps_per_phase):
    ...             on_step(phase, step)  # (a real step would train first)
    ...     return []
    >>> try:
    ...     check_gan_phase_order(train_gan)
    ... except CheckFailure as failure:
    ...     print(failure.found)  # doctest: +NORMALIZE_WHITESPACE
    with steps_per_phase=2 the steps came in the order [discriminator:0,
    discriminator:1, generator:0, generator:1] (first difference at step 0)
    """
    for steps_per_phase in (2, 3):
        seed_everything(seed)
        generator = make_check_generator(seed)
        discriminator = make_linear_discriminator(weight=2.0)
        history, recorder = run_train_gan(
            train_gan, generator, discriminator, make_real_points(seed=seed),
            steps_per_phase=steps_per_phase, max_rounds=2, seed=seed)
        calls = recorder.calls
        if not calls:
            fail("train_gan never called on_step",
                 "on_step(phase, step) after every training step",
                 "Add `if on_step is not None: on_step('generator', step)` "
                 "(or 'discriminator') right after each update.")
        rounds = max(1, -(-len(calls) // (2 * steps_per_phase)))
        expected = expected_calls(steps_per_phase, rounds)
        if calls != expected:
            first = next((index for index, (got, want)
                          in enumerate(zip(calls, expected)) if got != want),
                         min(len(calls), len(expected)))
            fail(f"with steps_per_phase={steps_per_phase} the steps came in "
                 f"the order {describe_calls(calls)} (first difference at "
                 f"step {first})",
                 f"{describe_calls(expected)}: {steps_per_phase} generator "
                 f"steps, then {steps_per_phase} discriminator steps, each "
                 "round",
                 "Run the generator phase first, then the discriminator "
                 "phase, each a loop of `range(steps_per_phase)` updates "
                 "that calls on_step(phase, step) after every update.")
        expect_history_list(history)
        phases = [entry.get("phase") for entry in history]
        expected_phases = list(PHASES) * rounds
        if phases != expected_phases:
            fail(f"the history lists the phases {phases}",
                 f"{expected_phases} (one entry per phase, as trained)",
                 "Append one history entry at the end of every phase.")
        for index, entry in enumerate(history):
            if entry.get("round") != index // 2:
                fail(f"history[{index}]['round'] is {entry.get('round')!r}",
                     f"{index // 2} (rounds count from 0)",
                     "Store the round counter of the loop the phase ran in.")
            if entry.get("steps") != steps_per_phase:
                fail(f"history[{index}]['steps'] is {entry.get('steps')!r} "
                     f"with steps_per_phase={steps_per_phase}",
                     f"{steps_per_phase}",
                     "Record how many updates the phase made.")
