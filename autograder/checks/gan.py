"""Hidden checks for `train_gan`: freezing, the stopping rule and the labels.

The contract, the history format and how the checks watch every update
(the `on_step` callback copying both networks' trainable weights) are
described in `course_lib.checks.gan`, whose models and recorder these
checks reuse.

- `check_gan_generator_phase`: every generator step changes the generator
  and leaves the discriminator's trainable weights bit-identical.
- `check_gan_discriminator_phase`: every discriminator step changes the
  discriminator and leaves the generator's trainable weights bit-identical
  (the generator's batch-normalization moving statistics may move).
- `check_gan_stopping_rule`: a discriminator right exactly half the time
  ends training after the first round; one that is always right runs
  exactly `max_rounds` rounds; the reported accuracies are those values.
- `check_gan_labels`: discriminator phases push its output up on real
  points and down on fakes (real = 1, fake = 0); generator phases push the
  discriminator's output on fakes up (the generator aims at "real").
"""

import math

import numpy as np

from course_lib.checks.core import fail, to_numpy
from course_lib.checks.gan import (
    LATENT_DIM,
    PHASES,
    seed_everything,
    expect_history_list,
    history_number,
    make_check_generator,
    make_linear_discriminator,
    make_real_points,
    run_on_learning_models,
    run_train_gan,
)


def _trained_steps(train_gan, seed):
    """Two rounds of two steps on tiny learning models; the recorder."""
    return run_on_learning_models(train_gan, seed)[1]


def _check_phase(train_gan, seed, phase):
    """Every `phase` step changes its own network and only that one."""
    recorder = _trained_steps(train_gan, seed)
    indices = [index for index, (name, _) in enumerate(recorder.calls)
               if name == phase]
    if not indices:
        fail(f"train_gan reported no {phase} steps through on_step "
             f"(calls: {[name for name, _ in recorder.calls][:8]})",
             f"steps_per_phase on_step({phase!r}, step) calls every round",
             f"Call on_step({phase!r}, step) right after each {phase} "
             "update.")
    other = "discriminator" if phase == "generator" else "generator"
    for position, index in enumerate(indices):
        generator_changed, discriminator_changed = recorder.changes(index)
        own_changed, other_changed = (
            (generator_changed, discriminator_changed)
            if phase == "generator"
            else (discriminator_changed, generator_changed))
        if other_changed:
            fail(f"{phase} step {position} changed the {other}'s trainable "
                 "weights",
                 f"the {other} frozen (bit-identical weights) during the "
                 f"{phase} phase",
                 f"Apply the gradients to `{phase}.trainable_variables` "
                 "only. In Keras 3 a `trainable` flag takes effect when a "
                 "model is compiled and its train function first built, so "
                 "after changing it call compile() again before "
                 "train_on_batch (or use tf.GradientTape).")
        if not own_changed:
            fail(f"{phase} step {position} left the {phase}'s weights "
                 "unchanged",
                 f"every {phase} step to update the {phase}",
                 f"Make each {phase} step apply gradients to the {phase} "
                 "and call on_step right after the update, not before it. "
                 "In Keras 3 a model compiled or first trained while "
                 "`trainable = False` has nothing to train until you set "
                 "`trainable = True` and compile it again.")


def check_gan_generator_phase(train_gan, seed=0):
    """Check that generator steps train the generator and only the generator.

    Args:
        train_gan: The student's function.
        seed: Seed for the models, the data and the `seed` argument.

    Example, a generator phase whose optimizer also updates the
    discriminator:

    >>> import keras
    >>> import tensorflow as tf
    >>> from course_lib.checks.core import CheckFailure
    >>> def train_gan(generator, discriminator, real_data, latent_dim,
    ...               steps_per_phase=5, on_step=None, **settings):
    ...     optimizer = keras.optimizers.SGD(0.1)
    ...     both = generator.trainable_variables + discriminator.trainable_variables
    ...     for step in range(steps_per_phase):
    ...         with tf.GradientTape() as tape:
    ...             fakes = generator(tf.ones((4, latent_dim)))
    ...             loss = -keras.ops.mean(keras.ops.log(discriminator(fakes)))
    ...         optimizer.apply_gradients(zip(tape.gradient(loss, both), both))
    ...         on_step("generator", step)
    ...     return []
    >>> try:
    ...     check_gan_generator_phase(train_gan)
    ... except CheckFailure as failure:
    ...     print(failure.found)
    generator step 0 changed the discriminator's trainable weights
    """
    _check_phase(train_gan, seed, "generator")


def check_gan_discriminator_phase(train_gan, seed=0):
    """Check that discriminator steps train the discriminator only.

    Args:
        train_gan: The student's function.
        seed: Seed for the models, the data and the `seed` argument.

    Example, a `train_gan` that reports its steps but trains nothing:

    >>> from course_lib.checks.core import CheckFailure
    >>> def train_gan(generator, discriminator, real_data, latent_dim,
    ...               steps_per_phase=5, max_rounds=20, on_step=None, **settings):
    ...     for round_index in range(max_rounds):
    ...         for phase in ("generator", "discriminator"):
    ...             for step in range(steps_per_phase):
    ...                 on_step(phase, step)
    ...     return []
    >>> try:
    ...     check_gan_discriminator_phase(train_gan)
    ... except CheckFailure as failure:
    ...     print(failure.found)
    discriminator step 0 left the discriminator's weights unchanged
    """
    _check_phase(train_gan, seed, "discriminator")


def _accuracy(entry, index):
    return history_number(entry, index, "discriminator_accuracy",
                          "Store the accuracy as a Python float.")


def _stopping_run(train_gan, seed, discriminator_weight, discriminator_bias,
                  max_rounds, steps_per_phase=2, tolerance=0.05):
    seed_everything(seed)
    generator = make_check_generator(seed)
    discriminator = make_linear_discriminator(discriminator_weight,
                                              discriminator_bias)
    history, recorder = run_train_gan(
        train_gan, generator, discriminator, make_real_points(seed=seed),
        steps_per_phase=steps_per_phase, max_rounds=max_rounds,
        tolerance=tolerance, seed=seed)
    return expect_history_list(history), recorder


def check_gan_stopping_rule(train_gan, seed=0):
    """Check when training stops and the accuracy that decides it.

    1. A discriminator that calls every sample "real" is right exactly half
       the time on a balanced batch: training must stop after the first
       round (history of 2 entries, accuracy 0.5 reported).
    2. A discriminator that always tells real from fake (accuracy 1.0) is
       never within tolerance: training must run exactly `max_rounds`
       rounds, for `max_rounds` = 3 and 1, and report accuracy 1.0.
    3. The bound is inclusive: the same always-right discriminator with
       `tolerance=0.5` is exactly within it (`abs(1.0 - 0.5) <= 0.5`), so
       training must stop after the first round; a strict `<` runs on.

    Args:
        train_gan: The student's function.
        seed: Seed for the models, the data and the `seed` argument.

    Example, a `train_gan` that always runs `max_rounds` rounds:

    >>> from course_lib.checks.core import CheckFailure
    >>> def train_gan(generator, discriminator, real_data, latent_dim,
    ...               steps_per_phase=5, max_rounds=20, **settings):
    ...     return [{"round": round_index, "phase": phase, "steps": steps_per_phase,
    ...              "loss": 0.7, "discriminator_accuracy": 0.5}
    ...             for round_index in range(max_rounds)
    ...             for phase in ("generator", "discriminator")]
    >>> try:
    ...     check_gan_stopping_rule(train_gan)
    ... except CheckFailure as failure:
    ...     print(failure.expected)
    exactly one round: ['generator', 'discriminator']
    """
    history, _ = _stopping_run(train_gan, seed, 0.0, 2.0, max_rounds=5)
    for index, entry in enumerate(history):
        accuracy = _accuracy(entry, index)
        if not math.isclose(accuracy, 0.5, abs_tol=1e-6):
            fail(f"with a discriminator that calls every sample real, "
                 f"history[{index}] reports accuracy {accuracy}",
                 "0.5 (all real samples right, all fakes wrong)",
                 "Measure accuracy on batch_size real AND batch_size "
                 "generated samples: a real sample is right when the "
                 "output is > 0.5, a fake one when it is <= 0.5.")
    if [entry.get("phase") for entry in history] != list(PHASES):
        fail(f"with a discriminator right half of the time (accuracy 0.5, "
             f"tolerance 0.05, max_rounds=5) the history has "
             f"{len(history)} entries: "
             f"{[entry.get('phase') for entry in history]}",
             "exactly one round: ['generator', 'discriminator']",
             "Check the stopping rule once per round, after the "
             "discriminator phase: stop when abs(accuracy - 0.5) <= "
             "tolerance.")
    for max_rounds in (3, 1):
        history, _ = _stopping_run(train_gan, seed, 2.0, 0.0,
                                          max_rounds=max_rounds)
        rounds = len(history) / 2
        if len(history) != 2 * max_rounds:
            fail(f"with a discriminator that is always right (accuracy "
                 f"1.0, tolerance 0.05) and max_rounds={max_rounds}, "
                 f"train_gan ran {rounds:g} rounds ({len(history)} history "
                 "entries)",
                 f"exactly {max_rounds} rounds ({2 * max_rounds} entries)",
                 "Stop early only when abs(accuracy - 0.5) <= tolerance; "
                 "otherwise run `for round_index in range(max_rounds)` to "
                 "the end.")
        for index, entry in enumerate(history):
            accuracy = _accuracy(entry, index)
            if not math.isclose(accuracy, 1.0, abs_tol=1e-6):
                fail(f"with a discriminator that is always right, "
                     f"history[{index}] reports accuracy {accuracy}",
                     "1.0",
                     "Count a real sample as right when the discriminator "
                     "says > 0.5 and a fake one when it says <= 0.5, over "
                     "a fresh batch of real and generated samples.")
    history, _ = _stopping_run(train_gan, seed, 2.0, 0.0, max_rounds=3,
                               tolerance=0.5)
    if len(history) != 2:
        fail(f"with a discriminator that is always right (accuracy 1.0), "
             f"tolerance=0.5 and max_rounds=3, train_gan ran "
             f"{len(history) / 2:g} rounds",
             "exactly one round: abs(1.0 - 0.5) <= 0.5 is within tolerance",
             "The stopping rule includes its bound: stop when "
             "abs(accuracy - 0.5) <= tolerance, not when it is < tolerance.")


def _probe_outputs(generator, discriminator, real_probe, noise_probe):
    """Mean discriminator output on fixed real points and fixed fakes."""
    real = to_numpy(discriminator(real_probe, training=False))
    fakes = generator(noise_probe, training=False)
    fake = to_numpy(discriminator(fakes, training=False))
    return float(np.mean(real)), float(np.mean(fake))


def check_gan_labels(train_gan, seed=0):
    """Check the labels: real = 1, fake = 0, and the generator aims at "real".

    Trains one round of three steps per phase with a logistic discriminator
    that starts unsure (outputs near 0.55 on real points, 0.45 on fakes)
    and watches its mean output on fixed real points and fixed fakes: the
    discriminator phase must raise it on real points and lower it on
    fakes; the generator phase must raise it on fakes.

    Args:
        train_gan: The student's function.
        seed: Seed for the models, the data and the `seed` argument.

    Example, a `train_gan` that never calls `on_step`:

    >>> from course_lib.checks.core import CheckFailure
    >>> try:
    ...     check_gan_labels(lambda *arguments, **settings: [])
    ... except CheckFailure as failure:
    ...     print(failure.found)
    train_gan reported no generator steps through on_step
    """
    seed_everything(seed)
    real_data = make_real_points(seed=seed, center=2.0)
    real_probe = make_real_points(num_points=64, seed=seed + 100, center=2.0)
    noise = np.random.default_rng(seed + 200).normal(size=(32, LATENT_DIM))
    noise_probe = np.concatenate([noise, -noise]).astype(np.float32)
    generator = make_check_generator(seed, center=-2.0)
    discriminator = make_linear_discriminator(weight=0.05)

    def probe(generator, discriminator):
        return _probe_outputs(generator, discriminator, real_probe,
                              noise_probe)

    steps_per_phase = 3
    history, recorder = run_train_gan(
        train_gan, generator, discriminator, real_data,
        steps_per_phase=steps_per_phase, max_rounds=1, tolerance=0.05,
        seed=seed, probe=probe)
    phases = [name for name, _ in recorder.calls]
    for phase in PHASES:
        indices = [index for index, name in enumerate(phases)
                   if name == phase]
        if not indices:
            fail(f"train_gan reported no {phase} steps through on_step",
                 f"{steps_per_phase} {phase} steps",
                 f"Call on_step({phase!r}, step) after each {phase} update.")
        # The first phase of this kind: its run of consecutive calls.
        last = indices[0]
        while last + 1 < len(phases) and phases[last + 1] == phase:
            last += 1
        # probes[i] is measured before call i's update, probes[i + 1] after.
        (real_before, fake_before) = recorder.probes[indices[0]]
        (real_after, fake_after) = recorder.probes[last + 1]
        if phase == "discriminator":
            if not real_after > real_before:
                fail("during the discriminator phase its mean output on "
                     f"real points went from {real_before:.5f} to "
                     f"{real_after:.5f}",
                     "a rise (real samples are labelled 1)",
                     "Train the discriminator with label 1 for real "
                     "samples and 0 for generated ones.")
            if not fake_after < fake_before:
                fail("during the discriminator phase its mean output on "
                     f"generated points went from {fake_before:.5f} to "
                     f"{fake_after:.5f}",
                     "a fall (generated samples are labelled 0)",
                     "Label the generated samples 0 (fake) when training "
                     "the discriminator, never 1.")
        elif not fake_after > fake_before:
            fail("during the generator phase the discriminator's mean "
                 f"output on generated points went from {fake_before:.5f} "
                 f"to {fake_after:.5f}",
                 "a rise (the generator learns to make fakes look real)",
                 "Train the generator with label 1 ('real') on its own "
                 "samples: its loss is binary cross-entropy between 1 and "
                 "discriminator(generator(noise)).")
