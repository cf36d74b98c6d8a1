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


def _last_layer(model):
    """The layer that makes a model's output, inside nested models too."""
    layer = model.layers[-1] if model.layers else None
    while isinstance(layer, keras.Model) and layer.layers:
        layer = layer.layers[-1]
    return layer


def _input_width(layer):
    """The width of a layer's input, or None when Keras cannot tell."""
    try:
        return int(layer.input.shape[-1])
    except Exception:  # noqa: BLE001 - fall back to the layer's own weights
        kernel = getattr(layer, "kernel", None)
        return int(kernel.shape[0]) if kernel is not None else None


def _is_affine(function, width, seed):
    """Whether `function` maps (batch, width) inputs affinely.

    An affine map f satisfies f(2a - b) = 2 f(a) - f(b) for all a and b;
    inputs spread over [-6, 6] put ReLU, tanh and sigmoid units well into
    their bends, so none of them passes.
    """
    rng = np.random.default_rng(seed)
    first, second = (rng.normal(scale=3.0, size=(16, width)).astype("float32")
                     for _ in range(2))
    outputs = [to_numpy(function(value)).astype(np.float64)
               for value in (first, second, 2 * first - second)]
    scale = 1.0 + max(float(np.max(np.abs(output))) for output in outputs)
    return np.allclose(outputs[2], 2 * outputs[0] - outputs[1], atol=1e-4 * scale,
                       rtol=0)


def _describe(layer):
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None)
    kind = f"{type(layer).__name__} '{layer.name}'"
    return f"{kind} (activation {name})" if name else kind


def check_autoencoder_layer_rules(build_autoencoder):
    """Check the layer rules the task states: a linear code layer, a linear
    output layer, and a nonlinear hidden layer in the encoder.

    Each rule is checked on what the layers compute, whatever way they are
    written (an `activation=` argument, an `Activation` or `ReLU` layer, a
    nested model): the layer that makes the code, and the one that makes the
    reconstruction, must each be affine, f(2a - b) = 2 f(a) - f(b), on inputs
    spread over [-6, 6]; the encoder as a whole must not be.

    Args:
        build_autoencoder: The student's builder.

    Raises:
        CheckFailure: Naming the layer that breaks a rule.

    Example:

    >>> from course_lib.checks.core import CheckFailure
    >>> def build_autoencoder(input_dim, latent_dim):
    ...     inputs = keras.Input(shape=(input_dim,))
    ...     code = keras.layers.Dense(latent_dim, activation="relu", name="code")(
    ...         keras.layers.Dense(16, activation="relu")(inputs))
    ...     outputs = keras.layers.Dense(input_dim)(keras.layers.Dense(16, activation="relu")(code))
    ...     return keras.Model(inputs, outputs), keras.Model(inputs, code)
    >>> try:
    ...     check_autoencoder_layer_rules(build_autoencoder)
    ... except CheckFailure as failure:
    ...     print(failure.found)
    the code layer, Dense 'code' (activation relu), is not linear
    """
    input_dim, latent_dim = STRUCTURE_CASES[0]
    autoencoder, encoder = build_models(build_autoencoder, input_dim, latent_dim)
    rules = (
        ("code layer", encoder,
         "Give the code layer no activation, `Dense(latent_dim)`: a ReLU code "
         "unit that outputs 0 for every sample gets no gradient and never "
         "recovers (its codes then all equal 0, and standardizing them later "
         "divides by 0), and a sigmoid or tanh code is squeezed into a range."),
        ("output layer", autoencoder,
         "Give the last layer no activation, `Dense(input_dim)`: the "
         "log-expression values it rebuilds reach about 6, which a sigmoid "
         "(0 to 1), tanh or ReLU output cannot follow everywhere."),
    )
    for rule, model, hint in rules:
        layer = _last_layer(model)
        width = _input_width(layer) if layer is not None else None
        if width is None:
            fail(f"the {rule} of the model from build_autoencoder({input_dim}, "
                 f"{latent_dim}) could not be found",
                 "a model whose last layer has a known input size",
                 "Build the models from keras.Input and keras.layers.Dense "
                 "layers, as in the task.")
        if not _is_affine(layer, width, seed=2):
            fail(f"the {rule}, {_describe(layer)}, is not linear",
                 f"a linear {rule}: f(2a - b) = 2 f(a) - f(b)", hint)
    if _is_affine(encoder, input_dim, seed=3):
        fail("the encoder is linear from input to code (no nonlinear hidden "
             "layer)",
             "a hidden layer with a nonlinearity (ReLU, ELU, tanh) before the "
             "code layer",
             "Put `Dense(units, activation='relu')` between the input and the "
             "code: a linear encoder can only learn PCA's flat plane.")
