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

import keras
import numpy as np

from course_lib.checks.core import call_student, fail, short, to_numpy

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


@keras.saving.register_keras_serializable(package="course_lib")
class TrainablePoint(keras.layers.Layer):
    """Outputs one trainable 2-D point for every row of its input.

    Registered with Keras so a model holding it can be rebuilt from its
    configuration (the grader sends the checks' models to the kernel so).

    Args:
        point: The point's starting value.
    """

    def __init__(self, point=(0.0, 0.0), **kwargs):
        super().__init__(**kwargs)
        self.start = [float(value) for value in point]

    def build(self, input_shape):
        self.point = self.add_weight(shape=(2,), name="point",
                                     initializer=keras.initializers.Constant(self.start))

    def call(self, noise):
        return keras.ops.zeros_like(noise[:, :2]) + self.point

    def get_config(self):
        return {**super().get_config(), "point": self.start}


def make_point_generator(point, latent_dim=LATENT_DIM):
    """A generator whose every fake is one trainable 2-D point.

    The noise is multiplied by zero, so every update moves only the point
    and every batch of fakes is the same: with one repeated real point
    (`POINT_REAL`) and a logistic discriminator, each step's loss and each
    accuracy is a known function of the weights the recorder copies, so a
    check can work out what `train_gan` should report.
    """
    inputs = keras.Input(shape=(latent_dim,))
    return keras.Model(inputs, TrainablePoint(point)(inputs))


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
                  batch_size=BATCH_SIZE, seed=0, probe=None,
                  learning_rate=LEARNING_RATE):
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
            f"max_rounds={max_rounds}, tolerance={tolerance}, "
            f"learning_rate={learning_rate}, seed={seed})")
    history = call_student(
        train_gan, generator, discriminator, real_data,
        latent_dim=LATENT_DIM, steps_per_phase=steps_per_phase,
        batch_size=batch_size, tolerance=tolerance, max_rounds=max_rounds,
        learning_rate=learning_rate, seed=seed, on_step=recorder, call=call)
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


def history_number(entry, index, key, hint):
    """`entry[key]` of `history[index]` as a float; a failure when it is none."""
    try:
        return float(to_numpy(entry.get(key)))
    except (TypeError, ValueError):
        fail(f"history[{index}][{key!r}] is {entry.get(key)!r}", "a number", hint)


def run_on_learning_models(train_gan, seed, run_seed=None):
    """Two rounds of two steps on small models that learn; `(history, recorder)`.

    The models and real points come from `seed`; `run_seed` (default: `seed`)
    is the `seed` argument `train_gan` gets.
    """
    seed_everything(seed)
    generator = make_check_generator(seed, batch_norm=True)
    discriminator = make_learning_discriminator(seed)
    return run_train_gan(
        train_gan, generator, discriminator, make_real_points(seed=seed),
        steps_per_phase=2, max_rounds=2, tolerance=0.0,
        seed=seed if run_seed is None else run_seed)


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


# --------------------------------------------------------------------------
# The stated settings and reported values: `seed`, `learning_rate`, the
# phase's mean loss and the accuracy measured after the phase.
# --------------------------------------------------------------------------

# The point set-up: every real sample is POINT_REAL, every fake is one
# trainable point starting at POINT_FAKE, and the discriminator is
# sigmoid(POINT_WEIGHT * x[0] + POINT_BIAS). Adam's first update moves each
# weight that has a gradient by the learning rate, so with POINT_LEARNING_RATE
# the generator's update carries the fake across the discriminator's
# boundary (accuracy 1 -> 0.5) and the discriminator's update carries the
# boundary back past it (0.5 -> 1): an accuracy measured before a phase's
# last update is not the one measured after it.
POINT_REAL = (2.0, 0.0)
POINT_FAKE = (-1.0, 0.0)
POINT_WEIGHT = 1.0
POINT_BIAS = 0.95
POINT_LEARNING_RATE = 0.1
# Adam's default learning rate, named in a hint when a run moves by it.
ADAM_DEFAULT_LEARNING_RATE = 0.001


def _point_run(train_gan, steps_per_phase, learning_rate, seed):
    """One round on the point set-up; the history (unchecked) and the recorder."""
    seed_everything(seed)
    generator = make_point_generator(POINT_FAKE)
    discriminator = make_linear_discriminator(POINT_WEIGHT, POINT_BIAS)
    real_data = np.tile(np.asarray(POINT_REAL, np.float32), (64, 1))
    history, recorder = run_train_gan(
        train_gan, generator, discriminator, real_data,
        steps_per_phase=steps_per_phase, max_rounds=1, tolerance=0.05,
        learning_rate=learning_rate, seed=seed)
    return history, recorder


def _point_outputs(recorder, index):
    """Discriminator outputs on the real point and the fake point.

    With the weights the recorder copied after `index` updates (index 0:
    before training). Returns `(on_real, on_fake)`.
    """
    (point,) = recorder.generator_values[index]
    kernel, bias = recorder.discriminator_values[index]

    def output(sample):
        logit = float(np.dot(np.asarray(sample, np.float64),
                             kernel.reshape(-1)) + bias.reshape(-1)[0])
        return 1.0 / (1.0 + math.exp(-logit))

    return output(POINT_REAL), output(point)


def _point_step_loss(recorder, index):
    """The loss update `index` should report, from the weights before it.

    Binary cross-entropy as Keras computes it (probabilities clipped to
    [1e-7, 1 - 1e-7]): the generator's is that of its fake labelled 1, the
    discriminator's the mean over a batch of real (1) and fake (0) samples.
    """
    on_real, on_fake = (min(max(value, 1e-7), 1 - 1e-7)
                        for value in _point_outputs(recorder, index))
    if recorder.calls[index][0] == "generator":
        return -math.log(on_fake)
    return 0.5 * (-math.log(on_real) - math.log(1.0 - on_fake))


def _point_accuracy(recorder, index):
    on_real, on_fake = _point_outputs(recorder, index)
    return (float(on_real > 0.5) + float(on_fake <= 0.5)) / 2


def _phase_calls(history, recorder, steps_per_phase):
    """The recorder's call indices of each history entry's phase."""
    calls = recorder.calls
    expected = expected_calls(steps_per_phase, len(history) // 2)
    if len(history) % 2 or calls != expected:
        fail(f"with steps_per_phase={steps_per_phase} the on_step calls "
             f"{describe_calls(calls)} do not line up with the "
             f"{len(history)} history entries",
             f"{steps_per_phase} on_step calls per phase and one history "
             "entry per phase",
             "Make check_gan_phase_order pass first.")
    return [range(start, start + steps_per_phase)
            for start in range(0, len(calls), steps_per_phase)]


def _close(value, target):
    return math.isclose(value, target, rel_tol=2e-3, abs_tol=1e-5)


def check_gan_reported_values(train_gan, seed=0):
    """Check each phase's `loss` (the mean) and accuracy (after the phase).

    Runs one round on a set-up where every step's loss and every accuracy
    follow from the weights the `on_step` recorder copies: one real point,
    a generator whose every fake is one trainable point, and a logistic
    discriminator (see `POINT_REAL`). `loss` must be the mean of the phase's
    step losses (for the discriminator also accepted: twice it, the sum of a
    real and a fake mean), and `discriminator_accuracy` the accuracy of the
    discriminator as it is after the phase's last update. The set-up is
    chosen so that the accuracy before the last update differs.

    Args:
        train_gan: The student's function.
        seed: The `seed` argument passed on (the set-up draws nothing that
            changes the verdict).

    Example, a `train_gan` that reports the last step's loss:

    >>> import tensorflow as tf
    >>> from course_lib.checks.core import CheckFailure
    >>> def train_gan(generator, discriminator, real_data, latent_dim,
    ...               steps_per_phase=5, batch_size=32, learning_rate=0.001,
    ...               on_step=None, **settings):
    ...     history = []
    ...     for phase in ("generator", "discriminator"):
    ...         model = generator if phase == "generator" else discriminator
    ...         optimizer = keras.optimizers.Adam(learning_rate)
    ...         for step in range(steps_per_phase):
    ...             fakes = generator(tf.zeros((batch_size, latent_dim)))
    ...             with tf.GradientTape() as tape:
    ...                 on_fake = discriminator(generator(tf.zeros((batch_size, latent_dim))))
    ...                 on_real = discriminator(real_data[:batch_size])
    ...                 loss = (-keras.ops.mean(keras.ops.log(on_fake)) if phase == "generator"
    ...                         else -0.5 * keras.ops.mean(keras.ops.log(on_real))
    ...                         - 0.5 * keras.ops.mean(keras.ops.log(1 - on_fake)))
    ...             gradients = tape.gradient(loss, model.trainable_variables)
    ...             optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    ...             on_step(phase, step)
    ...         on_real = discriminator(real_data[:batch_size])
    ...         on_fake = discriminator(generator(tf.zeros((batch_size, latent_dim))))
    ...         accuracy = (keras.ops.mean(on_real > 0.5) + keras.ops.mean(on_fake <= 0.5)) / 2
    ...         history.append({"round": 0, "phase": phase, "steps": steps_per_phase,
    ...                         "loss": float(loss), "discriminator_accuracy": float(accuracy)})
    ...     return history
    >>> import keras
    >>> try:
    ...     check_gan_reported_values(train_gan)
    ... except CheckFailure as failure:
    ...     print(failure.hint)  # doctest: +ELLIPSIS
    Collect the loss of every update of the phase in a list and store ...
    """
    for steps_per_phase in (3, 1):
        history, recorder = _point_run(train_gan, steps_per_phase,
                                       POINT_LEARNING_RATE, seed)
        history = expect_history_list(history)
        phases = _phase_calls(history, recorder, steps_per_phase)
        for index, (entry, calls) in enumerate(zip(history, phases)):
            loss, accuracy = (history_number(entry, index, key,
                                             "Make check_gan_history_format pass first.")
                              for key in ("loss", "discriminator_accuracy"))
            losses = [_point_step_loss(recorder, call) for call in calls]
            mean = float(np.mean(losses))
            scales = (1.0, 2.0) if entry.get("phase") == "discriminator" else (1.0,)
            if not any(_close(loss, scale * mean) for scale in scales):
                if steps_per_phase > 1 and any(_close(loss, scale * losses[-1])
                                               for scale in scales):
                    found = (f"history[{index}]['loss'] is {loss:.5f}, the loss of "
                             f"the {entry.get('phase')} phase's last step only")
                else:
                    found = f"history[{index}]['loss'] is {loss:.5f}"
                fail(found,
                     f"the mean of the phase's {steps_per_phase} step losses "
                     f"{[round(value, 5) for value in losses]}: {mean:.5f}",
                     "Collect the loss of every update of the phase in a list "
                     "and store `float(np.mean(losses))` when the phase ends.")
            after = _point_accuracy(recorder, calls[-1] + 1)
            before = _point_accuracy(recorder, calls[-1])
            if not math.isclose(accuracy, after, abs_tol=1e-6):
                where = (" (what the discriminator scored before the phase's "
                         "last update, as on the last training batch)"
                         if math.isclose(accuracy, before, abs_tol=1e-6) else "")
                fail(f"history[{index}]['discriminator_accuracy'] is "
                     f"{accuracy:g}{where}",
                     f"{after:g}, the accuracy after the {entry.get('phase')} "
                     "phase's last update",
                     "When the phase's loop has ended, draw a fresh batch of "
                     "batch_size real and batch_size generated samples and "
                     "measure the discriminator on it; the predictions made "
                     "during a training step come from the weights before "
                     "that step's update.")


def _largest_change(before, after):
    return max(float(np.max(np.abs(new - old))) for old, new in zip(before, after))


def check_gan_learning_rate(train_gan, seed=0):
    """Check that both Adam optimizers use the `learning_rate` argument.

    Adam's first update moves every weight that has a gradient by the
    learning rate (its step is the gradient divided by its own size), so in
    a one-step round on the point set-up the generator's update and the
    discriminator's update must each move their largest weight change by
    `learning_rate`, for two different learning rates.

    Args:
        train_gan: The student's function.
        seed: The `seed` argument passed on.

    Example, a `train_gan` whose optimizers keep Adam's default rate:

    >>> import tensorflow as tf
    >>> from course_lib.checks.core import CheckFailure
    >>> def train_gan(generator, discriminator, real_data, latent_dim,
    ...               steps_per_phase=5, batch_size=32, on_step=None, **settings):
    ...     for phase in ("generator", "discriminator"):
    ...         model = generator if phase == "generator" else discriminator
    ...         optimizer = keras.optimizers.Adam()
    ...         for step in range(steps_per_phase):
    ...             with tf.GradientTape() as tape:
    ...                 on_fake = discriminator(generator(tf.zeros((batch_size, latent_dim))))
    ...                 loss = keras.ops.mean(on_fake) * (-1 if phase == "generator" else 1)
    ...             gradients = tape.gradient(loss, model.trainable_variables)
    ...             optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    ...             on_step(phase, step)
    ...     return []
    >>> import keras
    >>> try:
    ...     check_gan_learning_rate(train_gan)
    ... except CheckFailure as failure:
    ...     print(failure.found)
    with learning_rate=0.1 the first generator update moved a weight by at most 0.001
    """
    for learning_rate in (POINT_LEARNING_RATE, 0.03):
        _, recorder = _point_run(train_gan, 1, learning_rate, seed)
        for phase, values in (("generator", recorder.generator_values),
                              ("discriminator", recorder.discriminator_values)):
            index = next((index for index, (name, _) in enumerate(recorder.calls)
                          if name == phase), None)
            if index is None:
                fail(f"train_gan reported no {phase} step through on_step",
                     f"one {phase} step", "Make check_gan_phase_order pass first.")
            change = _largest_change(values[index], values[index + 1])
            if not math.isclose(change, learning_rate, rel_tol=0.05):
                hint = ("Create both optimizers as "
                        "`keras.optimizers.Adam(learning_rate)` with the "
                        "argument, in every phase and every compile().")
                if math.isclose(change, ADAM_DEFAULT_LEARNING_RATE, rel_tol=0.05):
                    hint += (f" A change of {ADAM_DEFAULT_LEARNING_RATE} is "
                             "Adam's default learning rate: the argument was "
                             "not passed on.")
                else:
                    hint += (" Another optimizer (SGD, RMSprop) moves the "
                             "weights by other amounts.")
                fail(f"with learning_rate={learning_rate} the first {phase} "
                     f"update moved a weight by at most {change:.3g}",
                     f"about {learning_rate} (Adam's first step moves each "
                     "weight by the learning rate)", hint)


def _seeded_losses(train_gan, check_seed, run_seed):
    history, _ = run_on_learning_models(train_gan, check_seed, run_seed)
    return [history_number(entry, index, "loss", "Make check_gan_history_format pass first.")
            for index, entry in enumerate(expect_history_list(history))]


def check_gan_seed(train_gan, seed=0):
    """Check that the `seed` argument, and only it, decides the random draws.

    Trains the same freshly built models three times: twice with
    `seed=seed + 5`, which must report the same losses, and once with
    `seed=seed + 6`, which must report different ones (other noise and
    other real batches).

    Args:
        train_gan: The student's function.
        seed: Seed for the check's models and data.

    Example, a `train_gan` that draws from an unseeded generator:

    >>> from course_lib.checks.core import CheckFailure
    >>> def train_gan(generator, discriminator, real_data, latent_dim, on_step=None,
    ...               steps_per_phase=5, max_rounds=20, **settings):
    ...     rng = np.random.default_rng()
    ...     history = []
    ...     for round_index in range(max_rounds):
    ...         for phase in ("generator", "discriminator"):
    ...             for step in range(steps_per_phase):
    ...                 on_step(phase, step)
    ...             history.append({"round": round_index, "phase": phase,
    ...                             "steps": steps_per_phase, "loss": rng.normal(),
    ...                             "discriminator_accuracy": 1.0})
    ...     return history
    >>> try:
    ...     check_gan_seed(train_gan)
    ... except CheckFailure as failure:
    ...     print(failure.expected)
    the same losses: the same seed draws the same noise and real batches
    """
    first = _seeded_losses(train_gan, seed, seed + 5)
    again = _seeded_losses(train_gan, seed, seed + 5)
    other = _seeded_losses(train_gan, seed, seed + 6)
    if len(first) != len(again) or not np.allclose(first, again, rtol=1e-5, atol=1e-6):
        fail(f"two runs with seed={seed + 5} on identical fresh models reported "
             f"the losses {short(np.asarray(first))} and {short(np.asarray(again))}",
             "the same losses: the same seed draws the same noise and real "
             "batches",
             "Make one generator from the argument, `rng = "
             "np.random.default_rng(seed)`, and draw every noise batch and "
             "every real batch from it; `np.random.default_rng()` without "
             "the seed starts from fresh entropy each time.")
    if len(first) == len(other) and np.allclose(first, other, rtol=1e-6, atol=1e-7):
        fail(f"seed={seed + 5} and seed={seed + 6} reported the same losses "
             f"{short(np.asarray(first))}",
             "different losses: another seed draws other noise and other "
             "real batches",
             "Use the `seed` argument: `rng = np.random.default_rng(seed)`, "
             "and draw the noise and real batches from `rng`, not from the "
             "global `np.random` functions or an unseeded generator.")
