"""Visible checks for the autoencoder exercise.

The student writes a builder

    build_autoencoder(input_dim, latent_dim) -> (autoencoder, encoder)

that returns two `keras.Model`s built on the same layers: `autoencoder`
maps `(batch, input_dim)` to a reconstruction of the same shape, `encoder`
maps `(batch, input_dim)` to the `(batch, latent_dim)` code at the
bottleneck.

These checks look at structure only (shapes, the bottleneck, shared
weights) and run in a fraction of a second. Whether the model actually
learns is checked by `autograder.checks.autoencoder`, which trains it.
"""

import keras
import numpy as np

from course_lib.checks.core import call_student, fail, to_numpy

# (input_dim, latent_dim) pairs the builder is tried with.
STRUCTURE_CASES = ((50, 2), (20, 3))


def build_models(build_autoencoder, input_dim, latent_dim):
    """Call the student's builder and check it returns two Keras models.

    Args:
        build_autoencoder: The student's builder.
        input_dim: Number of input features.
        latent_dim: Requested width of the code.

    Returns:
        The pair `(autoencoder, encoder)`.

    Raises:
        CheckFailure: When the builder crashes or returns something else.
    """
    call = f"build_autoencoder(input_dim={input_dim}, latent_dim={latent_dim})"
    result = call_student(build_autoencoder, input_dim, latent_dim, call=call)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"{call} returned {type(result).__name__}",
             "a pair (autoencoder, encoder)",
             "End the builder with `return autoencoder, encoder`.")
    autoencoder, encoder = result
    for name, model in (("autoencoder", autoencoder), ("encoder", encoder)):
        if not isinstance(model, keras.Model):
            fail(f"{call} returned a {type(model).__name__} as the {name}",
                 "a keras.Model",
                 "Build both with keras.Model(inputs, outputs).")
    return autoencoder, encoder


def _output_width(model, name, call):
    """The last axis of a model's single output (fails on several outputs)."""
    shape = model.output_shape
    if isinstance(shape, list) or (isinstance(shape, tuple) and shape
                                   and isinstance(shape[0], tuple)):
        fail(f"the {name} from {call} has several outputs {shape}",
             "one output", f"Give the {name} a single output tensor.")
    return shape


def _predict(model, x):
    return to_numpy(model(x, training=False))


def check_autoencoder_structure(build_autoencoder, cases=STRUCTURE_CASES):
    """Check shapes and the bottleneck of `build_autoencoder`'s two models.

    For each `(input_dim, latent_dim)` in `cases` the builder must
    return `(autoencoder, encoder)` where both take `(batch, input_dim)`,
    the autoencoder's output has the input's shape and the encoder's output
    is the `(batch, latent_dim)` code, narrower than the input.

    Args:
        build_autoencoder: The student's builder
            `build_autoencoder(input_dim, latent_dim)`.
        cases: The `(input_dim, latent_dim)` pairs to try.

    Raises:
        CheckFailure: Naming what is wrong ("there is no bottleneck", "the
            encoder returns the reconstruction", a wrong shape, ...).

    Example:

    >>> from course_lib.checks.core import CheckFailure
    >>> try:
    ...     check_autoencoder_structure(lambda input_dim, latent_dim: None)
    ... except CheckFailure as failure:
    ...     print(failure.expected)
    a pair (autoencoder, encoder)
    """
    rng = np.random.default_rng(0)
    for input_dim, latent_dim in cases:
        call = (f"build_autoencoder(input_dim={input_dim}, "
                f"latent_dim={latent_dim})")
        autoencoder, encoder = build_models(build_autoencoder, input_dim,
                                            latent_dim)
        for name, model in (("autoencoder", autoencoder),
                            ("encoder", encoder)):
            if tuple(model.input_shape) != (None, input_dim):
                fail(f"the {name} from {call} takes inputs of shape "
                     f"{model.input_shape}",
                     f"(None, {input_dim})",
                     "Start both models from keras.Input(shape="
                     "(input_dim,)).")
        autoencoder_shape = _output_width(autoencoder, "autoencoder", call)
        encoder_shape = _output_width(encoder, "encoder", call)
        x = rng.normal(size=(4, input_dim)).astype("float32")
        if tuple(encoder_shape) == (None, input_dim):
            same_output = (encoder is autoencoder or np.allclose(
                _predict(encoder, x), _predict(autoencoder, x), atol=1e-6))
            if same_output:
                fail(f"the encoder returns the reconstruction: the encoder "
                     f"from {call} has output shape {encoder_shape}, the "
                     "same values as the autoencoder",
                     f"the code at the bottleneck, shape (None, {latent_dim})",
                     "Build the encoder as keras.Model(inputs, code), where "
                     "`code` is the narrow layer in the middle, not the "
                     "final reconstruction.")
        if encoder_shape[-1] is None or encoder_shape[-1] >= input_dim:
            fail(f"there is no bottleneck: the encoder from {call} outputs "
                 f"{encoder_shape[-1]} values per example for {input_dim} "
                 "inputs",
                 f"a code of width latent_dim={latent_dim} < {input_dim}",
                 "The code layer must be Dense(latent_dim): squeezing the "
                 "data through fewer numbers than it has is what forces the "
                 "autoencoder to learn its structure.")
        if tuple(encoder_shape) != (None, latent_dim):
            fail(f"the encoder from {call} has output shape {encoder_shape}",
                 f"(None, {latent_dim})",
                 "Use the latent_dim argument for the width of the code "
                 "layer instead of a fixed number.")
        if tuple(autoencoder_shape) != (None, input_dim):
            fail(f"the autoencoder from {call} has output shape "
                 f"{autoencoder_shape}",
                 f"(None, {input_dim}), the shape of its input",
                 "The last decoder layer must be Dense(input_dim): the "
                 "autoencoder reproduces its input.")
        reconstruction = _predict(autoencoder, x)
        code = _predict(encoder, x)
        if reconstruction.shape != x.shape or code.shape != (4, latent_dim):
            fail(f"on a batch of shape {x.shape} the models from {call} "
                 f"returned {reconstruction.shape} and {code.shape}",
                 f"{x.shape} and {(4, latent_dim)}",
                 "Check the layers between the input and each output.")


def check_autoencoder_shares_weights(build_autoencoder):
    """Check that the encoder is part of the autoencoder (shared weights).

    The encoder is only useful if training the autoencoder trains it, so
    every weight of the encoder must be the very same variable as one of the
    autoencoder's, and changing the encoder's weights must change the
    autoencoder's reconstruction.

    Args:
        build_autoencoder: The student's builder.

    Raises:
        CheckFailure: When the encoder has weights of its own, or when the
            autoencoder does not pass through the encoder.

    Example:

    >>> from course_lib.checks.core import CheckFailure
    >>> try:
    ...     check_autoencoder_shares_weights(lambda input_dim, latent_dim: (1, 2))
    ... except CheckFailure as failure:
    ...     print(failure.expected)
    a keras.Model
    """
    input_dim, latent_dim = STRUCTURE_CASES[0]
    call = f"build_autoencoder(input_dim={input_dim}, latent_dim={latent_dim})"
    autoencoder, encoder = build_models(build_autoencoder, input_dim,
                                        latent_dim)
    if not encoder.weights:
        fail(f"the encoder from {call} has no weights",
             "an encoder made of trainable layers (at least the code layer)",
             "Map the input to the code with Dense layers.")
    autoencoder_ids = {id(variable) for variable in autoencoder.weights}
    own = [variable.path for variable in encoder.weights
           if id(variable) not in autoencoder_ids]
    if own:
        fail("the decoder does not share the encoder: the encoder's weights "
             f"{own} are not used by the autoencoder",
             "the encoder built on the same layer objects as the autoencoder",
             "Create each layer once; build the autoencoder as input -> "
             "encoder layers -> code -> decoder layers, and the encoder as "
             "keras.Model(inputs, code) from the SAME tensors. Training the "
             "autoencoder then trains the encoder too.")
    x = np.random.default_rng(1).normal(size=(8, input_dim)).astype("float32")
    before = _predict(autoencoder, x)
    saved = [np.array(variable.numpy()) for variable in encoder.weights]
    try:
        for variable, value in zip(encoder.weights, saved):
            variable.assign(value + 0.5)
        after = _predict(autoencoder, x)
    finally:
        for variable, value in zip(encoder.weights, saved):
            variable.assign(value)
    if np.allclose(before, after):
        fail("changing the encoder's weights does not change the "
             "autoencoder's output",
             "a reconstruction computed from the encoder's code",
             "The decoder must start from the code (the encoder's output), "
             "not from the input or another branch.")
