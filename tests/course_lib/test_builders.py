"""Tests for course_lib.builders: every builder builds, trains and says no clearly."""

import doctest

import keras
import numpy as np
import pytest

from course_lib import builders
from course_lib.builders import (make_autoencoder, make_cnn,
                                 make_discriminator, make_generator, make_mlp,
                                 make_sequence_model)


# ---------------------------------------------------------------------------
# Student-style building blocks written with keras.ops (as the notebooks ask)
# ---------------------------------------------------------------------------


def relu(x):
    """Elementwise max(x, 0), as a student writes it."""
    return keras.ops.maximum(x, 0.0)


def relu_by_mask(x):
    """An unusual but correct relu: multiply by a 0/1 mask."""
    return x * keras.ops.cast(x > 0, x.dtype)


def max_pool2d(x, pool_size=2, strides=None):
    """Channels-last max pooling with valid padding, written with loops."""
    strides = strides or pool_size
    height, width = x.shape[1], x.shape[2]
    rows = []
    for top in range(0, height - pool_size + 1, strides):
        row = [keras.ops.max(x[:, top:top + pool_size,
                               left:left + pool_size, :], axis=(1, 2))
               for left in range(0, width - pool_size + 1, strides)]
        rows.append(keras.ops.stack(row, axis=1))
    return keras.ops.stack(rows, axis=1)


def max_pool2d_by_reshape(x, pool_size=2, strides=None):
    """Vectorised max pooling for non-overlapping windows (strides = size)."""
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    out_height, out_width = height // pool_size, width // pool_size
    x = x[:, :out_height * pool_size, :out_width * pool_size, :]
    x = keras.ops.reshape(x, (-1, out_height, pool_size, out_width,
                              pool_size, channels))
    return keras.ops.max(x, axis=(2, 4))


# ---------------------------------------------------------------------------
# Shared test utilities
# ---------------------------------------------------------------------------


def weights_of(model):
    return [np.array(weight) for weight in model.get_weights()]


def train_one_step(model, x, y, loss):
    """Compile, take one optimizer step, return (loss, weights changed?)."""
    before = weights_of(model)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss=loss, run_eagerly=True)
    value = float(np.ravel(model.train_on_batch(x, y))[0])
    after = weights_of(model)
    changed = any(not np.array_equal(old, new)
                  for old, new in zip(before, after))
    return value, changed


def predict(model, x):
    """Inference without tracing a predict function (fast for tiny inputs)."""
    return keras.ops.convert_to_numpy(model(np.asarray(x, dtype=np.float32),
                                            training=False))


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------------------
# Each builder builds and trains one step
# ---------------------------------------------------------------------------


def test_make_mlp_builds_and_trains(rng):
    model = make_mlp(input_shape=(8, 8, 1), num_classes=3, hidden_units=(16,),
                     dropout_rate=0.2)
    assert isinstance(model, keras.Model)
    assert model.output_shape == (None, 3)
    assert "Dropout" in layer_types(model)
    assert model.layers[-1].activation is keras.activations.softmax
    x = rng.random((6, 8, 8, 1), dtype=np.float32)
    loss, changed = train_one_step(model, x, np.arange(6) % 3,
                                   "sparse_categorical_crossentropy")
    assert np.isfinite(loss) and changed
    probabilities = predict(model, x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_make_mlp_accepts_int_input_and_no_hidden_layers():
    model = make_mlp(input_shape=64, num_classes=10, hidden_units=())
    assert model.input_shape == (None, 64)
    assert model.count_params() == 64 * 10 + 10


def test_make_cnn_builds_and_trains(rng):
    model = make_cnn(input_shape=(8, 8, 1), num_classes=4, filters=(4, 8),
                     dropout_rate=0.25)
    assert model.output_shape == (None, 4)
    assert layer_types(model).count("Conv2D") == 2
    assert layer_types(model).count("MaxPooling2D") == 2
    x = rng.random((4, 8, 8, 1), dtype=np.float32)
    loss, changed = train_one_step(model, x, np.arange(4),
                                   "sparse_categorical_crossentropy")
    assert np.isfinite(loss) and changed


def test_make_cnn_average_pooling():
    model = make_cnn((8, 8, 3), 2, filters=(4,), pooling="average")
    assert "AveragePooling2D" in layer_types(model)
    assert model.get_layer("flatten").output.shape == (None, 4 * 4 * 4)


@pytest.mark.parametrize("activation", [relu, relu_by_mask],
                         ids=["maximum", "mask"])
@pytest.mark.parametrize("pool", [max_pool2d, max_pool2d_by_reshape],
                         ids=["loops", "reshape"])
def test_make_cnn_student_blocks_match_keras_blocks(activation, pool, rng):
    """A student's relu and max_pool2d drop in and compute what Keras does."""
    reference = make_cnn((8, 8, 1), 3, filters=(4, 8))
    custom = make_cnn((8, 8, 1), 3, filters=(4, 8), activation=activation,
                      pooling=lambda x: pool(x, pool_size=2))
    assert "Lambda" in layer_types(custom)
    assert "MaxPooling2D" not in layer_types(custom)
    custom.set_weights(reference.get_weights())
    x = rng.random((5, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(predict(custom, x),
                               predict(reference, x),
                               rtol=1e-5, atol=1e-6)


def test_make_cnn_symbolic_failure_gives_the_projects_advice():
    """A pooling that reads the batch size from x.shape works on a concrete
    batch and fails on the model's symbolic one: the message gives the same
    advice as project 1's text (sizes from x.shape[1:], -1 for the batch)."""
    def pool_with_batch_size(x):
        batch, height, width, channels = x.shape
        blocks = keras.ops.reshape(x, (batch * height // 2, 2, width // 2, 2, channels))
        return keras.ops.reshape(keras.ops.max(blocks, axis=(1, 3)),
                                 (batch, height // 2, width // 2, channels))

    with pytest.raises(ValueError) as error:
        make_cnn((8, 8, 1), 3, filters=(4,), pooling=pool_with_batch_size)
    message = str(error.value)
    assert "failed on a symbolic tensor" in message
    assert "x.shape[1:]" in message and "-1 for the batch axis" in message
    assert "keras.ops.shape(x)" not in message


def test_make_cnn_trains_with_student_relu_and_max_pool():
    """Gradients flow through the student's blocks: the loss goes down."""
    keras.utils.set_random_seed(0)
    model = make_cnn((8, 8, 1), 2, filters=(4,), activation=relu,
                     pooling=lambda x: max_pool2d(x, pool_size=2))
    x = np.zeros((8, 8, 8, 1), dtype=np.float32)
    x[4:, :4] = 1.0  # class 1: bright top half
    y = np.array([0] * 4 + [1] * 4)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05),
                  loss="sparse_categorical_crossentropy", run_eagerly=True)
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    assert all(np.any(weight != 0) for weight in weights_of(model))


def test_make_autoencoder_shapes_and_training(rng):
    autoencoder, encoder = make_autoencoder(input_dim=12, latent_dim=3,
                                            hidden_units=(8,))
    assert autoencoder.output_shape == (None, 12)
    assert encoder.output_shape == (None, 3)
    x = rng.random((6, 12), dtype=np.float32)
    loss, changed = train_one_step(autoencoder, x, x, "mse")
    assert np.isfinite(loss) and changed


def test_make_autoencoder_encoder_shares_weights(rng):
    autoencoder, encoder = make_autoencoder(input_dim=10, latent_dim=2,
                                            hidden_units=(6,))
    autoencoder_ids = {id(weight) for weight in autoencoder.weights}
    assert encoder.weights
    assert all(id(weight) in autoencoder_ids for weight in encoder.weights)
    # The encoder is the first half of the autoencoder, not a copy.
    code_layer = autoencoder.get_layer("code")
    assert encoder.get_layer("code") is code_layer

    x = rng.random((16, 10), dtype=np.float32)
    codes_before = predict(encoder, x)
    autoencoder.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05),
                        loss="mse", run_eagerly=True)
    for _ in range(3):
        autoencoder.train_on_batch(x, x)
    codes_after = predict(encoder, x)
    assert not np.allclose(codes_before, codes_after)


def test_make_autoencoder_custom_activation_and_sigmoid_output(rng):
    autoencoder, encoder = make_autoencoder(
        input_dim=6, latent_dim=2, hidden_units=(4,), activation=relu,
        output_activation="sigmoid")
    outputs = predict(autoencoder, rng.normal(size=(5, 6)))
    assert np.all((outputs >= 0) & (outputs <= 1))


def test_make_sequence_model_builds_and_trains(rng):
    model = make_sequence_model(sequence_length=12, units=4, num_classes=3,
                                dropout_rate=0.1)
    assert model.input_shape == (None, 12, 4)
    assert model.output_shape == (None, 3)
    assert "LSTM" in layer_types(model)
    x = np.eye(4, dtype=np.float32)[rng.integers(4, size=(6, 12))]
    loss, changed = train_one_step(model, x, np.arange(6) % 3,
                                   "sparse_categorical_crossentropy")
    assert np.isfinite(loss) and changed


def test_make_sequence_model_any_length():
    model = make_sequence_model(sequence_length=None, units=4)
    assert model.input_shape == (None, None, 4)
    short = predict(model, np.zeros((2, 5, 4)))
    long = predict(model, np.zeros((2, 9, 4)))
    assert short.shape == long.shape == (2, 2)


def test_make_generator_builds_and_trains(rng):
    generator = make_generator(latent_dim=5, output_dim=2, hidden_units=(8, 8))
    assert generator.output_shape == (None, 2)
    assert layer_types(generator).count("BatchNormalization") == 2
    assert generator.layers[-1].activation is keras.activations.linear
    noise = rng.normal(size=(8, 5)).astype(np.float32)
    targets = rng.normal(size=(8, 2)).astype(np.float32)
    loss, changed = train_one_step(generator, noise, targets, "mse")
    assert np.isfinite(loss) and changed


def test_make_generator_without_batch_normalization(rng):
    plain = make_generator(latent_dim=5, output_dim=2, hidden_units=(8, 8),
                           batch_normalization=False)
    assert "BatchNormalization" not in layer_types(plain)
    hidden = [layer for layer in plain.layers if layer.name.startswith("dense_")]
    assert len(hidden) == 2 and all(layer.use_bias for layer in hidden)
    noise = rng.normal(size=(8, 5)).astype(np.float32)
    loss, changed = train_one_step(plain, noise, rng.normal(size=(8, 2)).astype(np.float32),
                                   "mse")
    assert np.isfinite(loss) and changed


def test_make_discriminator_builds_and_trains(rng):
    discriminator = make_discriminator(input_dim=2, hidden_units=(8, 8))
    assert discriminator.output_shape == (None, 1)
    assert layer_types(discriminator).count("Dropout") == 2
    points = rng.normal(size=(8, 2)).astype(np.float32)
    probabilities = predict(discriminator, points)
    assert np.all((probabilities > 0) & (probabilities < 1))
    loss, changed = train_one_step(discriminator, points,
                                   np.array([0, 1] * 4, dtype=np.float32),
                                   "binary_crossentropy")
    assert np.isfinite(loss) and changed


def test_make_discriminator_without_dropout():
    discriminator = make_discriminator(input_dim=3, dropout_rate=0.0)
    assert "Dropout" not in layer_types(discriminator)


def test_docstring_examples_run():
    results = doctest.testmod(builders, optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0
    assert results.failed == 0


# ---------------------------------------------------------------------------
# Bad arguments are rejected with a message that says how to fix them
# ---------------------------------------------------------------------------


def numpy_relu(x):
    """A relu a student wrote with NumPy: works on arrays, not in a model."""
    return np.maximum(x, 0)


def unfinished_relu(x):
    raise NotImplementedError()


BAD_ARGUMENTS = [
    ("mlp_one_class", make_mlp, dict(input_shape=4, num_classes=1),
     "num_classes=2"),
    ("mlp_negative_units", make_mlp,
     dict(input_shape=4, num_classes=2, hidden_units=(16, -8)),
     "positive integer"),
    ("mlp_unknown_activation", make_mlp,
     dict(input_shape=4, num_classes=2, activation="rleu"),
     "Unknown `activation` 'rleu'"),
    ("mlp_non_callable_activation", make_mlp,
     dict(input_shape=4, num_classes=2, activation=3),
     "Keras activation name"),
    ("mlp_dropout_above_one", make_mlp,
     dict(input_shape=4, num_classes=2, dropout_rate=1.5), "[0, 1)"),
    ("mlp_zero_input", make_mlp, dict(input_shape=(0, 3), num_classes=2),
     "without the batch axis"),
    ("cnn_missing_channel_axis", make_cnn,
     dict(input_shape=(8, 8), num_classes=10), "x[..., None]"),
    ("cnn_unknown_pooling", make_cnn,
     dict(input_shape=(8, 8, 1), num_classes=10, pooling="min"),
     "Unknown `pooling` 'min'"),
    ("cnn_non_callable_pooling", make_cnn,
     dict(input_shape=(8, 8, 1), num_classes=10, pooling=2),
     "callable"),
    ("cnn_pooling_not_halving", make_cnn,
     dict(input_shape=(8, 8, 1), num_classes=10, pooling=lambda x: x),
     "must halve height and width"),
    ("cnn_numpy_activation", make_cnn,
     dict(input_shape=(8, 8, 1), num_classes=10, activation=numpy_relu),
     "keras.ops"),
    ("cnn_unfinished_activation", make_cnn,
     dict(input_shape=(8, 8, 1), num_classes=10, activation=unfinished_relu),
     "NotImplementedError"),
    ("cnn_too_many_blocks", make_cnn,
     dict(input_shape=(8, 8, 1), num_classes=10, filters=(8, 8, 8, 8)),
     "too small"),
    ("cnn_no_filters", make_cnn,
     dict(input_shape=(8, 8, 1), num_classes=10, filters=()),
     "at least one"),
    ("autoencoder_latent_not_smaller", make_autoencoder,
     dict(input_dim=4, latent_dim=4), "smaller than `input_dim`"),
    ("autoencoder_zero_latent", make_autoencoder,
     dict(input_dim=4, latent_dim=0), "latent_dim=2"),
    ("autoencoder_unknown_output_activation", make_autoencoder,
     dict(input_dim=4, latent_dim=2, output_activation="sigmoidal"),
     "Unknown `output_activation`"),
    ("sequence_negative_units", make_sequence_model,
     dict(sequence_length=10, units=-4), "units=32"),
    ("sequence_one_class", make_sequence_model,
     dict(sequence_length=10, num_classes=1), "at least 2"),
    ("sequence_fractional_length", make_sequence_model,
     dict(sequence_length=2.5), "None for any length"),
    ("generator_zero_latent", make_generator,
     dict(latent_dim=0, output_dim=2), "latent_dim=8"),
    ("generator_unknown_activation", make_generator,
     dict(latent_dim=4, output_dim=2, activation="lrelu"),
     "Unknown `activation`"),
    ("generator_batch_normalization_as_string", make_generator,
     dict(latent_dim=4, output_dim=2, batch_normalization="no"), "True or False"),
    ("discriminator_negative_dropout", make_discriminator,
     dict(input_dim=2, dropout_rate=-0.1), "[0, 1)"),
    ("discriminator_units_as_string", make_discriminator,
     dict(input_dim=2, hidden_units="32"), "(64, 32)"),
]


@pytest.mark.parametrize("builder, arguments, message",
                         [case[1:] for case in BAD_ARGUMENTS],
                         ids=[case[0] for case in BAD_ARGUMENTS])
def test_bad_arguments_raise_value_error_with_fix(builder, arguments,
                                                  message):
    with pytest.raises(ValueError) as raised:
        builder(**arguments)
    assert message in str(raised.value)


def test_imports_the_package_not_the_tests_folder():
    """tests/course_lib must not shadow course_lib (a namespace package).

    Without the repository root on sys.path (plain `pytest` instead of
    `python -m pytest`), `import course_lib` could resolve to this test
    folder; `pythonpath = ["."]` in the pytest settings prevents that.
    """
    import course_lib

    assert course_lib.__file__ is not None, (
        "course_lib resolved to the folder tests/course_lib; add "
        "pythonpath = [\".\"] to [tool.pytest.ini_options]")
    assert hasattr(course_lib, "__version__")
