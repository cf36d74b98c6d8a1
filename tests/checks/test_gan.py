"""Tests for the GAN training-schedule checks (visible and hidden).

Every check must pass a correct `train_gan` written two different ways (an
explicit tf.GradientTape loop and a Keras `train_on_batch` loop that
recompiles after each `trainable` change) and must reject the bug it exists
for. The bugs include the Keras 3 trap of freezing a model by toggling
`trainable` without compiling again, written exactly as a student would.
"""

import functools

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from autograder.checks.gan import (  # noqa: E402
    check_gan_discriminator_phase,
    check_gan_generator_phase,
    check_gan_labels,
    check_gan_stopping_rule,
)
from course_lib.checks.gan import (  # noqa: E402
    check_gan_history_format,
    check_gan_learning_rate,
    check_gan_phase_order,
    check_gan_reported_values,
    check_gan_seed,
)
from tests.checks.helpers import assert_fails  # noqa: E402

ALL_CHECKS = {
    "history_format": check_gan_history_format,
    "phase_order": check_gan_phase_order,
    "generator_phase": check_gan_generator_phase,
    "discriminator_phase": check_gan_discriminator_phase,
    "stopping_rule": check_gan_stopping_rule,
    "labels": check_gan_labels,
    "reported_values": check_gan_reported_values,
    "learning_rate": check_gan_learning_rate,
    "seed": check_gan_seed,
}


# --------------------------------------------------------------------------
# Shared pieces of the implementations under test.
# --------------------------------------------------------------------------

def _sampler(real_data, latent_dim, batch_size, seed, rng_source="seed"):
    """Noise and real-batch draws; `rng_source` picks a seed bug.

    "seed": `np.random.default_rng(seed)` (correct); "unseeded":
    `np.random.default_rng()`; "global": NumPy's global functions, which
    the check's own seeding fixes, so every seed draws the same batches.
    """
    real_data = np.asarray(real_data, dtype="float32")
    if rng_source == "global":
        def noise():
            return np.random.normal(
                size=(batch_size, latent_dim)).astype("float32")

        def real_batch():
            return real_data[np.random.randint(len(real_data),
                                               size=batch_size)]

        return noise, real_batch
    rng = np.random.default_rng(seed if rng_source == "seed" else None)

    def noise():
        return rng.normal(size=(batch_size, latent_dim)).astype("float32")

    def real_batch():
        return real_data[rng.integers(len(real_data), size=batch_size)]

    return noise, real_batch


def _accuracy(generator, discriminator, noise, real_batch):
    real = keras.ops.convert_to_numpy(
        discriminator(real_batch(), training=False))
    fakes = generator(noise(), training=False)
    fake = keras.ops.convert_to_numpy(discriminator(fakes, training=False))
    correct = np.sum(real > 0.5) + np.sum(fake <= 0.5)
    return float(correct / (real.size + fake.size))


def _entry(round_index, phase, steps, losses, accuracy, last_loss=False):
    return {"round": round_index, "phase": phase, "steps": steps,
            "loss": float(losses[-1] if last_loss else np.mean(losses)),
            "discriminator_accuracy": accuracy}


def make_tape_train_gan(
        discriminator_not_frozen=False, generator_trained_in_d_phase=False,
        both_at_once=False, generator_phase_only=False, one_step=False,
        never_stops=False, stops_at_once=False, fake_labelled_real=False,
        generator_aims_at_fake=False, swapped_order=False,
        extra_round=False, stop_check_after_generator=False,
        no_history=False, ignores_round_limit=False, strict_tolerance=False,
        rng_source="seed", default_learning_rate=False, last_step_loss=False,
        accuracy_before_last_update=False):
    """A tf.GradientTape `train_gan`, correct unless a bug flag is set."""

    def train_gan(generator, discriminator, real_data, latent_dim,
                  steps_per_phase=5, batch_size=32, tolerance=0.05,
                  max_rounds=20, learning_rate=0.001, seed=0, on_step=None):
        noise, real_batch = _sampler(real_data, latent_dim, batch_size, seed,
                                     rng_source)
        loss_fn = keras.losses.BinaryCrossentropy()
        if default_learning_rate:
            learning_rate = 0.001
        generator_optimizer = keras.optimizers.Adam(learning_rate)
        discriminator_optimizer = keras.optimizers.Adam(learning_rate)
        both_optimizer = keras.optimizers.Adam(learning_rate)
        ones = np.ones((batch_size, 1), "float32")
        zeros = np.zeros((batch_size, 1), "float32")
        steps = 1 if one_step else steps_per_phase
        history = []

        def generator_step():
            with tf.GradientTape() as tape:
                fake = generator(noise(), training=True)
                target = zeros if generator_aims_at_fake else ones
                loss = loss_fn(target, discriminator(fake, training=True))
            variables = list(generator.trainable_variables)
            if discriminator_not_frozen:
                variables += discriminator.trainable_variables
            gradients = tape.gradient(loss, variables)
            optimizer = (both_optimizer if discriminator_not_frozen
                         else generator_optimizer)
            optimizer.apply_gradients(zip(gradients, variables))
            return float(loss)

        def discriminator_step():
            with tf.GradientTape() as tape:
                fake = generator(noise(), training=True)
                x = tf.concat([real_batch(), fake], axis=0)
                y = np.concatenate(
                    [ones, ones if fake_labelled_real else zeros])
                loss = loss_fn(y, discriminator(x, training=True))
            variables = list(discriminator.trainable_variables)
            if generator_trained_in_d_phase:
                variables += generator.trainable_variables
            gradients = tape.gradient(loss, variables)
            optimizer = (both_optimizer if generator_trained_in_d_phase
                         else discriminator_optimizer)
            optimizer.apply_gradients(zip(gradients, variables))
            return float(loss)

        def simultaneous_step():
            with tf.GradientTape(persistent=True) as tape:
                fake = generator(noise(), training=True)
                generator_loss = loss_fn(
                    ones, discriminator(fake, training=True))
                x = tf.concat([real_batch(), fake], axis=0)
                discriminator_loss = loss_fn(
                    np.concatenate([ones, zeros]),
                    discriminator(x, training=True))
            for loss, model, optimizer in (
                    (generator_loss, generator, generator_optimizer),
                    (discriminator_loss, discriminator,
                     discriminator_optimizer)):
                gradients = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(
                    zip(gradients, model.trainable_variables))
            return float(generator_loss)

        def run_phase(round_index, phase):
            step_function = (
                simultaneous_step if both_at_once
                else generator_step if phase == "generator"
                else discriminator_step)
            losses = []
            for step in range(steps):
                if accuracy_before_last_update and step == steps - 1:
                    accuracy = _accuracy(generator, discriminator, noise,
                                         real_batch)
                losses.append(step_function())
                if on_step is not None:
                    on_step(phase, step)
            if not accuracy_before_last_update:
                accuracy = _accuracy(generator, discriminator, noise,
                                     real_batch)
            history.append(_entry(round_index, phase, steps, losses,
                                  accuracy, last_loss=last_step_loss))
            return accuracy

        def within(accuracy):
            if strict_tolerance:
                return abs(accuracy - 0.5) < tolerance
            return abs(accuracy - 0.5) <= tolerance

        order = ("generator", "discriminator")
        if swapped_order:
            order = order[::-1]
        if generator_phase_only:
            order = ("generator",)
        rounds = max_rounds + 1 if extra_round else max_rounds
        round_index = 0
        while ignores_round_limit or round_index < rounds:
            for phase in order:
                accuracy = run_phase(round_index, phase)
                if stop_check_after_generator and within(accuracy):
                    return None if no_history else history
            if stops_at_once:
                break
            if not never_stops and within(accuracy):
                break
            round_index += 1
        return None if no_history else history

    return train_gan


def make_keras_train_gan(recompile=True, freeze_once=False,
                         freeze_before_first_use=False):
    """A `train_on_batch` `train_gan` on a combined generator+discriminator.

    `recompile=True` is the correct Keras 3 way: set the `trainable` flags,
    then compile the model that is trained next. The two traps, both written
    the way Keras 2 code was, compile each model once:

    - `freeze_once`: freeze the discriminator, build and compile the
      combined model, unfreeze it again so it can train itself. In Keras 2
      the combined model kept the discriminator frozen; in Keras 3 the flag
      is read when the train function is first built, so the combined model
      trains both networks.
    - `freeze_before_first_use`: compile the discriminator, freeze it, build
      and compile the combined model and never unfreeze. In Keras 2 the
      discriminator still trained itself; in Keras 3 it has no trainable
      weights when its train function is first built and never learns.
    """

    def train_gan(generator, discriminator, real_data, latent_dim,
                  steps_per_phase=5, batch_size=32, tolerance=0.05,
                  max_rounds=20, learning_rate=0.001, seed=0, on_step=None):
        noise, real_batch = _sampler(real_data, latent_dim, batch_size, seed)
        ones = np.ones((batch_size, 1), "float32")
        zeros = np.zeros((batch_size, 1), "float32")
        combined = keras.Sequential([generator, discriminator])
        if not recompile:
            discriminator.compile(keras.optimizers.Adam(learning_rate),
                                  "binary_crossentropy")
            discriminator.trainable = False
            combined.compile(keras.optimizers.Adam(learning_rate),
                             "binary_crossentropy")
            if freeze_once:
                discriminator.trainable = True
        history = []
        for round_index in range(max_rounds):
            if recompile:
                generator.trainable = True
                discriminator.trainable = False
                combined.compile(keras.optimizers.Adam(learning_rate),
                                 "binary_crossentropy")
            losses = []
            for step in range(steps_per_phase):
                losses.append(float(combined.train_on_batch(noise(), ones)))
                if on_step is not None:
                    on_step("generator", step)
            accuracy = _accuracy(generator, discriminator, noise, real_batch)
            history.append(_entry(round_index, "generator", steps_per_phase,
                                  losses, accuracy))
            if recompile:
                discriminator.trainable = True
                discriminator.compile(keras.optimizers.Adam(learning_rate),
                                      "binary_crossentropy")
            losses = []
            for step in range(steps_per_phase):
                fakes = generator.predict(noise(), verbose=0)
                x = np.concatenate([real_batch(), fakes])
                y = np.concatenate([ones, zeros])
                losses.append(float(discriminator.train_on_batch(x, y)))
                if on_step is not None:
                    on_step("discriminator", step)
            accuracy = _accuracy(generator, discriminator, noise, real_batch)
            history.append(_entry(round_index, "discriminator",
                                  steps_per_phase, losses, accuracy))
            if abs(accuracy - 0.5) <= tolerance:
                break
        generator.trainable = True
        discriminator.trainable = True
        return history

    return train_gan


def stub_train_gan(generator, discriminator, real_data, latent_dim,
                   steps_per_phase=5, batch_size=32, tolerance=0.05,
                   max_rounds=20, learning_rate=0.001, seed=0, on_step=None):
    raise NotImplementedError()


def _assert_rejected_by(train_gan, check_name, others_pass=()):
    message = assert_fails(ALL_CHECKS[check_name], train_gan)
    for name in others_pass:
        ALL_CHECKS[name](train_gan)
    return message


# --------------------------------------------------------------------------
# Correct implementations pass every check.
# --------------------------------------------------------------------------

@pytest.mark.parametrize("check_name", sorted(ALL_CHECKS))
def test_gradient_tape_solution_passes(check_name):
    ALL_CHECKS[check_name](make_tape_train_gan())


@pytest.mark.parametrize("check_name", sorted(ALL_CHECKS))
def test_recompile_per_phase_solution_passes(check_name):
    ALL_CHECKS[check_name](make_keras_train_gan(recompile=True))


@pytest.mark.parametrize("seed", [1, 2])
def test_verdicts_do_not_depend_on_seed(seed):
    correct = make_tape_train_gan()
    for check in ALL_CHECKS.values():
        check(correct, seed=seed)
    assert_fails(functools.partial(check_gan_generator_phase, seed=seed),
                 make_tape_train_gan(discriminator_not_frozen=True))
    assert_fails(functools.partial(check_gan_labels, seed=seed),
                 make_tape_train_gan(fake_labelled_real=True))


@pytest.mark.parametrize("check_name", sorted(ALL_CHECKS))
def test_unfinished_stub_fails_cleanly(check_name):
    assert_fails(ALL_CHECKS[check_name], stub_train_gan,
                 fragments=["NotImplementedError"])


# --------------------------------------------------------------------------
# Keras 3 freezing traps, run for real.
# --------------------------------------------------------------------------

def test_generator_phase_rejects_keras3_freeze_once_then_unfreeze():
    _assert_rejected_by(
        make_keras_train_gan(recompile=False, freeze_once=True),
        "generator_phase",
        others_pass=("discriminator_phase", "phase_order"))


def test_discriminator_phase_rejects_keras3_frozen_before_first_train():
    _assert_rejected_by(
        make_keras_train_gan(recompile=False, freeze_before_first_use=True),
        "discriminator_phase",
        others_pass=("generator_phase", "phase_order"))


# --------------------------------------------------------------------------
# One test per bug, each rejected by the check that exists for it.
# --------------------------------------------------------------------------

def test_generator_phase_rejects_discriminator_not_frozen():
    _assert_rejected_by(
        make_tape_train_gan(discriminator_not_frozen=True),
        "generator_phase",
        others_pass=("discriminator_phase", "phase_order", "stopping_rule"))


def test_discriminator_phase_rejects_generator_trained_in_discriminator_phase():
    _assert_rejected_by(
        make_tape_train_gan(generator_trained_in_d_phase=True),
        "discriminator_phase",
        others_pass=("generator_phase", "phase_order", "stopping_rule"))


def test_freezing_checks_reject_both_nets_trained_at_once():
    train_gan = make_tape_train_gan(both_at_once=True)
    _assert_rejected_by(train_gan, "generator_phase")
    _assert_rejected_by(train_gan, "discriminator_phase",
                        others_pass=("phase_order", "history_format"))


def test_phase_order_rejects_one_phase_only():
    _assert_rejected_by(make_tape_train_gan(generator_phase_only=True),
                        "phase_order", others_pass=("generator_phase",))


def test_phase_order_rejects_steps_per_phase_ignored():
    _assert_rejected_by(make_tape_train_gan(one_step=True), "phase_order",
                        others_pass=("generator_phase", "discriminator_phase",
                                     "stopping_rule", "labels"))


def test_phase_order_rejects_swapped_phase_order():
    _assert_rejected_by(make_tape_train_gan(swapped_order=True),
                        "phase_order",
                        others_pass=("generator_phase", "discriminator_phase"))


def test_stopping_rule_rejects_never_stopping():
    _assert_rejected_by(make_tape_train_gan(never_stops=True),
                        "stopping_rule",
                        others_pass=("phase_order", "generator_phase",
                                     "labels"))


def test_stopping_rule_rejects_stopping_at_once():
    _assert_rejected_by(make_tape_train_gan(stops_at_once=True),
                        "stopping_rule",
                        others_pass=("phase_order", "discriminator_phase",
                                     "labels"))


def test_stopping_rule_rejects_round_limit_off_by_one():
    _assert_rejected_by(make_tape_train_gan(extra_round=True),
                        "stopping_rule",
                        others_pass=("phase_order", "labels"))


def test_stopping_rule_rejects_stop_checked_after_generator_phase():
    _assert_rejected_by(make_tape_train_gan(stop_check_after_generator=True),
                        "stopping_rule", others_pass=("phase_order",))


def test_runaway_loop_fails_instead_of_hanging():
    train_gan = make_tape_train_gan(never_stops=True, ignores_round_limit=True)
    assert_fails(check_gan_stopping_rule, train_gan, fragments=["kept training past"])


def test_labels_rejects_fake_labelled_real_for_discriminator():
    _assert_rejected_by(make_tape_train_gan(fake_labelled_real=True),
                        "labels",
                        others_pass=("generator_phase", "discriminator_phase",
                                     "stopping_rule", "phase_order"))


def test_labels_rejects_generator_aiming_at_fake():
    _assert_rejected_by(make_tape_train_gan(generator_aims_at_fake=True),
                        "labels",
                        others_pass=("generator_phase", "discriminator_phase",
                                     "stopping_rule"))


def test_history_format_rejects_missing_history():
    _assert_rejected_by(make_tape_train_gan(no_history=True),
                        "history_format",
                        others_pass=("generator_phase",
                                     "discriminator_phase"))


def test_history_format_rejects_missing_key():
    correct = make_tape_train_gan()

    def train_gan(*args, **kwargs):
        history = correct(*args, **kwargs)
        for entry in history:
            del entry["discriminator_accuracy"]
        return history

    _assert_rejected_by(train_gan, "history_format")


def test_stopping_rule_rejects_accuracy_with_swapped_labels():
    correct = make_tape_train_gan()

    def train_gan(*args, **kwargs):
        history = correct(*args, **kwargs)
        for entry in history:
            entry["discriminator_accuracy"] = (
                1.0 - entry["discriminator_accuracy"])
        return history

    _assert_rejected_by(train_gan, "stopping_rule")


def test_phase_order_rejects_on_step_never_called():
    correct = make_tape_train_gan()

    def train_gan(*args, on_step=None, **kwargs):
        return correct(*args, on_step=None, **kwargs)

    _assert_rejected_by(train_gan, "phase_order")


# --------------------------------------------------------------------------
# The stated settings and reported values (seed, learning_rate, the phase's
# mean loss, the accuracy after the phase, the inclusive stopping bound).
# --------------------------------------------------------------------------

# bug: (its flags, the check that rejects it, checks it still passes, a fragment
# the message must contain)
STATED_RULE_BUGS = {
    "strict_tolerance": ({"strict_tolerance": True}, "stopping_rule",
                         ("phase_order", "reported_values", "seed"),
                         "not when it is < tolerance"),
    "unseeded_generator": ({"rng_source": "unseeded"}, "seed",
                           ("phase_order", "reported_values", "learning_rate",
                            "stopping_rule"),
                           "np.random.default_rng()"),
    "global_numpy_random": ({"rng_source": "global"}, "seed",
                            ("phase_order", "reported_values", "learning_rate",
                             "stopping_rule"),
                            "reported the same losses"),
    "adam_default_rate": ({"default_learning_rate": True}, "learning_rate",
                          ("phase_order", "reported_values", "seed", "stopping_rule"),
                          "Adam's default learning rate"),
    "last_step_loss": ({"last_step_loss": True}, "reported_values",
                       ("phase_order", "learning_rate", "seed", "stopping_rule"),
                       "last step only"),
    "accuracy_before_last_update": ({"accuracy_before_last_update": True},
                                    "reported_values",
                                    ("phase_order", "learning_rate", "seed"),
                                    "before the phase's last update"),
}


@pytest.mark.parametrize("bug", sorted(STATED_RULE_BUGS))
def test_a_broken_stated_rule_is_rejected_by_its_check_only(bug):
    flags, check_name, others_pass, fragment = STATED_RULE_BUGS[bug]
    message = _assert_rejected_by(make_tape_train_gan(**flags), check_name,
                                  others_pass=others_pass)
    assert fragment in message
