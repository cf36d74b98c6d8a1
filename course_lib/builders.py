"""Keras model builders used throughout the course.

Every builder uses the functional API and returns an *uncompiled*
`keras.Model`, so a notebook chooses its own optimizer, loss and metrics.
Arguments are plain Python values (ints, tuples, strings) with defaults that
train well on the course's small datasets. A bad argument raises `ValueError`
with a message that says what was wrong and how to fix it.

Where a topic asks students to write a building block themselves (`relu`,
`max_pool2d`), the builder accepts it as a plain callable so the student's
version can be dropped into a real model and trained.
"""

import keras
import numpy as np

POOLING_NAMES = ("max", "average")


# ---------------------------------------------------------------------------
# Argument validation (shared by all builders)
# ---------------------------------------------------------------------------


def _check_positive_int(value, name, hint=""):
    """Return `value` as an int, or raise ValueError unless it is an int >= 1.

    `name` is an argument name ("units") or a phrase ("each entry of
    `filters`") used in the message.
    """
    is_int = isinstance(value, int) or hasattr(value, "__index__")
    if isinstance(value, bool) or not is_int or int(value) < 1:
        subject = name.capitalize() if " " in name else f"`{name}`"
        message = (f"{subject} must be a positive integer; received "
                   f"{value!r}.")
        raise ValueError(message + (f" {hint}" if hint else ""))
    return int(value)


def _check_units(hidden_units, name="hidden_units", allow_empty=True):
    """Return `hidden_units` as a tuple of positive ints."""
    if isinstance(hidden_units, int) and not isinstance(hidden_units, bool):
        hidden_units = (hidden_units,)
    if not isinstance(hidden_units, (tuple, list)):
        raise ValueError(
            f"`{name}` must be a tuple of layer widths such as (64, 32); "
            f"received {name}={hidden_units!r}.")
    if not hidden_units and not allow_empty:
        raise ValueError(
            f"`{name}` must list at least one layer width, e.g. (16, 32); "
            f"received {name}={hidden_units!r}.")
    for units in hidden_units:
        _check_positive_int(
            units, f"each entry of `{name}`",
            hint=f"Use widths such as (64, 32); received {name}="
                 f"{tuple(hidden_units)!r}.")
    return tuple(int(units) for units in hidden_units)


def _check_num_classes(num_classes):
    """Return `num_classes`, or raise unless it is an int >= 2."""
    num_classes = _check_positive_int(
        num_classes, "num_classes",
        hint="Pass the number of distinct labels, e.g. num_classes=10.")
    if num_classes < 2:
        raise ValueError(
            f"`num_classes` must be at least 2 for a softmax classifier; "
            f"received num_classes={num_classes}. For a yes/no task pass "
            "num_classes=2 and use integer labels 0 and 1.")
    return num_classes


def _check_dropout_rate(dropout_rate):
    """Return `dropout_rate` as a float in [0, 1)."""
    if isinstance(dropout_rate, bool) or not isinstance(dropout_rate,
                                                        (int, float)):
        raise ValueError(
            "`dropout_rate` must be a number in [0, 1); received "
            f"dropout_rate={dropout_rate!r}. Use e.g. 0.2, or 0.0 for none.")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(
            f"`dropout_rate` must be in [0, 1); received dropout_rate="
            f"{dropout_rate!r}. It is the fraction of units dropped, e.g. "
            "0.2; 0.0 disables dropout.")
    return float(dropout_rate)


def _check_activation(activation, name="activation"):
    """Return `activation` if it is a known Keras name or a callable."""
    if callable(activation):
        return activation
    if isinstance(activation, str):
        try:
            keras.activations.get(activation)
        except ValueError:
            raise ValueError(
                f"Unknown `{name}` {activation!r}. Use a Keras activation "
                "name such as 'relu', 'tanh', 'sigmoid', 'leaky_relu' or "
                "'linear', or pass a function that maps a tensor to a tensor "
                "(written with keras.ops).") from None
        return activation
    raise ValueError(
        f"`{name}` must be a Keras activation name (e.g. 'relu') or a "
        f"callable tensor -> tensor; received {activation!r} of type "
        f"{type(activation).__name__}.")


def _probe_callable(function, argument, x, expected_shape, hint):
    """Run a user-supplied callable on a small random batch before building.

    Calling it eagerly first shows the function's own error (an unfinished
    stub, a typo) instead of Keras' generic "could not infer the output
    shape", and catches a wrong output shape while the message can still
    name the argument.
    """
    batch_shape = (2,) + tuple(x.shape[1:])
    probe = keras.ops.convert_to_tensor(
        np.random.default_rng(0).standard_normal(batch_shape), "float32")
    try:
        result = function(probe)
    except NotImplementedError as error:
        raise ValueError(
            f"The `{argument}` callable raised NotImplementedError on a "
            f"tensor of shape {batch_shape}: finish writing it (replace the "
            "`raise NotImplementedError()` line) before using it in a "
            "model.") from error
    except Exception as error:  # noqa: BLE001 - explain a broken callable
        raise ValueError(
            f"The `{argument}` callable raised {type(error).__name__}: "
            f"{error} when called on a tensor of shape {batch_shape}. Make "
            "it map one tensor to one tensor, written with keras.ops.") \
            from error
    if result is None:
        raise ValueError(
            f"The `{argument}` callable returned None; it must return a "
            "tensor. Did you forget the `return` statement?")
    try:
        found = tuple(np.shape(keras.ops.convert_to_numpy(result)))
    except Exception as error:  # noqa: BLE001 - explain a non-tensor result
        raise ValueError(
            f"The `{argument}` callable returned {type(result).__name__}; it "
            "must return a tensor (use keras.ops).") from error
    expected = (2,) + tuple(expected_shape[1:])
    if found != expected:
        raise ValueError(
            f"The `{argument}` callable turned a tensor of shape "
            f"{batch_shape} into shape {found}; expected {expected}. {hint}")


def _apply_callable(function, x, argument, expected_shape, name, hint):
    """Wrap a user callable in a `Lambda` layer and apply it to `x`."""
    _probe_callable(function, argument, x, expected_shape, hint)
    try:
        function(x)  # a symbolic dry run shows the function's own error
        return keras.layers.Lambda(function, name=name)(x)
    except Exception as error:  # noqa: BLE001 - explain a broken callable
        raise ValueError(
            f"The `{argument}` callable works on concrete values but failed "
            f"on a symbolic tensor of shape {tuple(x.shape)} inside a model "
            f"({type(error).__name__}: {error}). Write it with keras.ops "
            "(e.g. keras.ops.maximum), not NumPy, so Keras can trace and "
            "differentiate it. Inside a model the batch size is None: take "
            "sizes from x.shape[1:] only, and pass -1 for the batch axis to "
            "keras.ops.reshape.") from error


def _activate(x, activation, name):
    """Apply a Keras activation name or a callable (e.g. a student's relu).

    A name becomes a `keras.layers.Activation`; a callable is checked on a
    small batch (it must keep the shape) and wrapped in a `Lambda` layer.
    """
    if callable(activation):
        return _apply_callable(
            activation, x, "activation", tuple(x.shape), name,
            hint="An activation acts on each element, so it must keep the "
                 "shape.")
    return keras.layers.Activation(activation, name=name)(x)


def _dense(x, units, activation, name):
    """`Dense(units)` followed by `activation` (a name or a callable)."""
    if callable(activation):
        x = keras.layers.Dense(units, name=name)(x)
        return _activate(x, activation, name=f"{name}_activation")
    return keras.layers.Dense(units, activation=activation, name=name)(x)


def _check_input_shape(input_shape, name="input_shape"):
    """Return `input_shape` as a tuple of positive ints (an int is a 1-tuple)."""
    if isinstance(input_shape, int) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or not input_shape:
        raise ValueError(
            f"`{name}` must be an int or a tuple of ints such as (8, 8, 1) "
            f"(no batch axis); received {name}={input_shape!r}.")
    for size in input_shape:
        _check_positive_int(
            size, f"each entry of `{name}`",
            hint=f"Pass the shape of ONE example without the batch axis; "
                 f"received {name}={tuple(input_shape)!r}.")
    return tuple(int(size) for size in input_shape)


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def make_mlp(input_shape, num_classes, hidden_units=(32,), activation="relu",
             dropout_rate=0.0):
    """Build a fully connected (dense) classifier.

    The input is flattened, passed through one `Dense` layer per entry of
    `hidden_units` (each followed by `activation` and, if `dropout_rate > 0`,
    `Dropout`), and ends in `Dense(num_classes, activation="softmax")`, so
    the model outputs one probability per class. Train it with
    `loss="sparse_categorical_crossentropy"` on integer labels.

    Args:
        input_shape: Shape of one example without the batch axis, an int
            (number of features) or a tuple such as `(8, 8, 1)`.
        num_classes: Number of classes, at least 2.
        hidden_units: Width of each hidden layer, e.g. `(64, 32)`. `()` gives
            multinomial logistic regression.
        activation: Keras activation name or a callable tensor -> tensor.
        dropout_rate: Fraction of hidden units dropped while training, in
            `[0, 1)`.

    Returns:
        An uncompiled `keras.Model` mapping `(batch, *input_shape)` to
        `(batch, num_classes)` probabilities.

    Example:

    >>> model = make_mlp(input_shape=64, num_classes=10, hidden_units=(32,))
    >>> model.output_shape
    (None, 10)
    """
    input_shape = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    hidden_units = _check_units(hidden_units)
    activation = _check_activation(activation)
    dropout_rate = _check_dropout_rate(dropout_rate)

    inputs = keras.Input(shape=input_shape, name="features")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for index, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, name=f"dense_{index}")(x)
        x = _activate(x, activation, name=f"activation_{index}")
        if dropout_rate > 0:
            x = keras.layers.Dropout(dropout_rate, name=f"dropout_{index}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax",
                                 name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mlp")


def _pooling_layer(pooling, name):
    """Return the Keras layer for a pooling name ("max" or "average")."""
    if pooling == "max":
        return keras.layers.MaxPooling2D(pool_size=2, name=name)
    return keras.layers.AveragePooling2D(pool_size=2, name=name)


def _check_pooling(pooling):
    """Return `pooling` if it is "max", "average" or a callable."""
    if callable(pooling):
        return pooling
    if isinstance(pooling, str):
        if pooling in POOLING_NAMES:
            return pooling
        raise ValueError(
            f"Unknown `pooling` {pooling!r}. Use 'max', 'average', or a "
            "function tensor -> tensor that halves height and width, e.g. "
            "`lambda x: max_pool2d(x, pool_size=2)`.")
    raise ValueError(
        "`pooling` must be 'max', 'average' or a callable tensor -> tensor; "
        f"received {pooling!r} of type {type(pooling).__name__}.")


def make_cnn(input_shape, num_classes, filters=(16, 32), activation="relu",
             pooling="max", dropout_rate=0.0):
    """Build a small convolutional image classifier.

    One block per entry of `filters`: `Conv2D(filters, 3, padding="same")`,
    then `activation`, then a 2x2 pooling step that halves height and width.
    The feature maps are flattened, optionally passed through `Dropout`, and
    classified by `Dense(num_classes, activation="softmax")`.

    Both `activation` and `pooling` are pluggable, so your own building blocks
    can replace the Keras ones: `activation=relu` (your `relu` written with
    `keras.ops`) and `pooling=lambda x: max_pool2d(x, pool_size=2)` (your
    channels-last `max_pool2d`) are wrapped in layers and train like the
    built-in versions.

    Args:
        input_shape: `(height, width, channels)` of one image, channels last.
        num_classes: Number of classes, at least 2.
        filters: Number of convolution filters in each block, e.g. `(16, 32)`.
        activation: Keras activation name or a callable tensor -> tensor.
        pooling: `"max"`, `"average"`, or a callable tensor -> tensor that
            maps `(batch, height, width, channels)` to
            `(batch, height // 2, width // 2, channels)`.
        dropout_rate: Fraction of flattened features dropped while training,
            in `[0, 1)`.

    Returns:
        An uncompiled `keras.Model` mapping `(batch, height, width, channels)`
        images to `(batch, num_classes)` probabilities.

    Example:

    >>> model = make_cnn(input_shape=(8, 8, 1), num_classes=10)
    >>> model.output_shape
    (None, 10)
    >>> def my_relu(x):
    ...     return keras.ops.maximum(x, 0.0)
    >>> model = make_cnn((8, 8, 1), 10, activation=my_relu, pooling="average")
    >>> model.count_params()
    6090
    """
    input_shape = _check_input_shape(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            "`input_shape` must be (height, width, channels) for a CNN; "
            f"received input_shape={input_shape!r}. For grayscale images "
            "add a channel axis, e.g. (8, 8) -> (8, 8, 1) with "
            "x[..., None].")
    num_classes = _check_num_classes(num_classes)
    filters = _check_units(filters, name="filters", allow_empty=False)
    activation = _check_activation(activation)
    pooling = _check_pooling(pooling)
    dropout_rate = _check_dropout_rate(dropout_rate)
    height, width, _ = input_shape
    smallest_side = min(height, width)
    if smallest_side < 2 ** len(filters):
        raise ValueError(
            f"input_shape={input_shape!r} is too small for {len(filters)} "
            f"pooling steps (each halves height and width, so the image "
            f"needs sides of at least {2 ** len(filters)}). Use fewer "
            "entries in `filters` or larger images.")

    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for index, num_filters in enumerate(filters, start=1):
        x = keras.layers.Conv2D(num_filters, kernel_size=3, padding="same",
                                name=f"conv_{index}")(x)
        x = _activate(x, activation, name=f"activation_{index}")
        height, width, channels = x.shape[1:]
        expected = (None, height // 2, width // 2, channels)
        if callable(pooling):
            x = _apply_callable(
                pooling, x, "pooling", expected, name=f"pooling_{index}",
                hint="Pooling must halve height and width and keep the "
                     "channels (channels last), e.g. "
                     "`lambda x: max_pool2d(x, pool_size=2)`.")
        else:
            x = _pooling_layer(pooling, name=f"pooling_{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if dropout_rate > 0:
        x = keras.layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax",
                                 name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cnn")


def make_autoencoder(input_dim, latent_dim, hidden_units=(64,),
                     activation="relu", output_activation="linear"):
    """Build a dense autoencoder and the encoder that shares its weights.

    The encoder maps `input_dim` features through one `Dense` layer per entry
    of `hidden_units` to a linear `latent_dim`-wide bottleneck (the code).
    The decoder mirrors it (`hidden_units` reversed) back to `input_dim`
    values with `output_activation`. Both returned models are built on the
    same layers, so training the autoencoder (input -> reconstruction, e.g.
    with `loss="mse"`) also trains the encoder you use afterwards to get
    low-dimensional codes for clustering or plotting.

    Args:
        input_dim: Number of input features, e.g. genes per cell.
        latent_dim: Width of the code, `0 < latent_dim < input_dim`.
        hidden_units: Encoder layer widths from input to code, e.g.
            `(64, 16)`; the decoder uses them in reverse order.
        activation: Keras activation name or callable for the hidden layers.
        output_activation: Activation of the reconstruction, e.g. `"linear"`
            for unbounded values or `"sigmoid"` for values in [0, 1].

    Returns:
        A tuple `(autoencoder, encoder)` of uncompiled `keras.Model`s:
        `autoencoder` maps `(batch, input_dim)` to `(batch, input_dim)`,
        `encoder` maps `(batch, input_dim)` to `(batch, latent_dim)`.

    Example:

    >>> autoencoder, encoder = make_autoencoder(input_dim=50, latent_dim=2)
    >>> autoencoder.output_shape, encoder.output_shape
    ((None, 50), (None, 2))
    """
    input_dim = _check_positive_int(
        input_dim, "input_dim", hint="Pass the number of input features.")
    latent_dim = _check_positive_int(
        latent_dim, "latent_dim",
        hint="Pass the width of the code, e.g. latent_dim=2.")
    if latent_dim >= input_dim:
        raise ValueError(
            f"`latent_dim` must be smaller than `input_dim` so the "
            f"autoencoder has to compress; received latent_dim={latent_dim} "
            f"and input_dim={input_dim}. Choose e.g. latent_dim=2.")
    hidden_units = _check_units(hidden_units)
    activation = _check_activation(activation)
    output_activation = _check_activation(output_activation,
                                          name="output_activation")

    inputs = keras.Input(shape=(input_dim,), name="features")
    x = inputs
    for index, units in enumerate(hidden_units, start=1):
        x = _dense(x, units, activation, name=f"encoder_dense_{index}")
    code = keras.layers.Dense(latent_dim, name="code")(x)
    x = code
    for index, units in enumerate(reversed(hidden_units), start=1):
        x = _dense(x, units, activation, name=f"decoder_dense_{index}")
    reconstruction = _dense(x, input_dim, output_activation,
                            name="reconstruction")
    autoencoder = keras.Model(inputs, reconstruction, name="autoencoder")
    encoder = keras.Model(inputs, code, name="encoder")
    return autoencoder, encoder


def make_sequence_model(sequence_length, num_features=4, units=32,
                        num_classes=2, dropout_rate=0.0):
    """Build an LSTM classifier for one-hot sequences such as DNA.

    An `LSTM(units)` reads the sequence one position at a time and passes
    its final hidden state (optionally through `Dropout`) to
    `Dense(num_classes, activation="softmax")`. Because the LSTM carries a
    memory along the sequence, it can learn rules that depend on order, such
    as "motif X matters only if motif Y came before it".

    Args:
        sequence_length: Number of positions per sequence, or `None` to
            accept sequences of any length.
        num_features: Size of each position's one-hot vector (4 for A, C, G,
            T).
        units: Width of the LSTM's hidden and cell state.
        num_classes: Number of classes, at least 2.
        dropout_rate: Fraction of the final state dropped while training, in
            `[0, 1)`.

    Returns:
        An uncompiled `keras.Model` mapping
        `(batch, sequence_length, num_features)` to `(batch, num_classes)`
        probabilities.

    Example:

    >>> model = make_sequence_model(sequence_length=40, units=16)
    >>> model.output_shape
    (None, 2)
    """
    if sequence_length is not None:
        sequence_length = _check_positive_int(
            sequence_length, "sequence_length",
            hint="Pass the number of positions, or None for any length.")
    num_features = _check_positive_int(
        num_features, "num_features",
        hint="Pass the one-hot width, 4 for DNA.")
    units = _check_positive_int(units, "units",
                                hint="Use e.g. units=32.")
    num_classes = _check_num_classes(num_classes)
    dropout_rate = _check_dropout_rate(dropout_rate)

    inputs = keras.Input(shape=(sequence_length, num_features),
                         name="sequences")
    x = keras.layers.LSTM(units, name="lstm")(inputs)
    if dropout_rate > 0:
        x = keras.layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax",
                                 name="probabilities")(x)
    return keras.Model(inputs, outputs, name="sequence_model")


def make_generator(latent_dim, output_dim, hidden_units=(32, 32),
                   activation="relu", batch_normalization=True):
    """Build a GAN generator: random noise in, fake samples out.

    One block per entry of `hidden_units`: `Dense` (no bias, the
    normalization supplies it), `BatchNormalization` and `activation`.
    The lecture recommends batch normalization against a generator that
    produces the same sample over and over; `batch_normalization=False`
    builds the same network without it (each `Dense` then has its bias), to
    measure what it changes. A linear `Dense(output_dim)` produces the sample.

    Args:
        latent_dim: Width of the noise vector fed to the generator.
        output_dim: Width of one generated sample (2 for 2-D points).
        hidden_units: Width of each hidden block, e.g. `(32, 32)`.
        activation: Keras activation name or callable for the hidden blocks.
        batch_normalization: Whether each hidden block normalizes its
            `Dense` outputs over the batch.

    Returns:
        An uncompiled `keras.Model` mapping `(batch, latent_dim)` noise to
        `(batch, output_dim)` samples.

    Example:

    >>> generator = make_generator(latent_dim=8, output_dim=2)
    >>> noise = keras.random.normal((4, 8), seed=0)
    >>> tuple(generator(noise).shape)
    (4, 2)
    >>> plain = make_generator(latent_dim=8, output_dim=2, batch_normalization=False)
    >>> [layer.name for layer in plain.layers if "batch_norm" in layer.name]
    []
    """
    latent_dim = _check_positive_int(
        latent_dim, "latent_dim", hint="Use e.g. latent_dim=8.")
    output_dim = _check_positive_int(
        output_dim, "output_dim",
        hint="Pass the width of one sample, e.g. 2 for 2-D points.")
    hidden_units = _check_units(hidden_units)
    activation = _check_activation(activation)
    if not isinstance(batch_normalization, bool):
        raise ValueError(f"batch_normalization must be True or False, got "
                         f"{batch_normalization!r}.")

    inputs = keras.Input(shape=(latent_dim,), name="noise")
    x = inputs
    for index, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, use_bias=not batch_normalization,
                               name=f"dense_{index}")(x)
        if batch_normalization:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(x)
        x = _activate(x, activation, name=f"activation_{index}")
    outputs = keras.layers.Dense(output_dim, name="samples")(x)
    return keras.Model(inputs, outputs, name="generator")


def make_discriminator(input_dim, hidden_units=(32, 32), dropout_rate=0.3,
                       activation="leaky_relu"):
    """Build a GAN discriminator: a sample in, the probability it is real out.

    One block per entry of `hidden_units`: `Dense`, `activation` (leaky ReLU
    by default, so gradients still reach the generator through negative
    inputs) and `Dropout`, which keeps the discriminator from memorizing the
    real samples. `Dense(1, activation="sigmoid")` outputs the probability
    that the sample is real; train it with `loss="binary_crossentropy"`.

    Args:
        input_dim: Width of one sample (2 for 2-D points).
        hidden_units: Width of each hidden block, e.g. `(32, 32)`.
        dropout_rate: Fraction of hidden units dropped while training, in
            `[0, 1)`.
        activation: Keras activation name or callable for the hidden blocks.

    Returns:
        An uncompiled `keras.Model` mapping `(batch, input_dim)` to
        `(batch, 1)` probabilities of "real".

    Example:

    >>> discriminator = make_discriminator(input_dim=2)
    >>> discriminator.output_shape
    (None, 1)
    """
    input_dim = _check_positive_int(
        input_dim, "input_dim",
        hint="Pass the width of one sample, e.g. 2 for 2-D points.")
    hidden_units = _check_units(hidden_units)
    dropout_rate = _check_dropout_rate(dropout_rate)
    activation = _check_activation(activation)

    inputs = keras.Input(shape=(input_dim,), name="samples")
    x = inputs
    for index, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, name=f"dense_{index}")(x)
        x = _activate(x, activation, name=f"activation_{index}")
        if dropout_rate > 0:
            x = keras.layers.Dropout(dropout_rate, name=f"dropout_{index}")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid",
                                 name="probability_real")(x)
    return keras.Model(inputs, outputs, name="discriminator")
