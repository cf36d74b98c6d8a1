"""Hidden checks for the autoencoder exercise: does the model learn?

`check_autoencoder_learns` builds the student's autoencoder itself, trains
it with a fixed, seeded recipe on the course's expression profiles and
grades the result. Training inside the check makes the verdict independent
of how (or whether) the student trained in the notebook, and repeatable.

The recipe (also stated in the notebook):

- data: `make_expression_profiles(num_cells=600, num_genes=50,
  num_cell_types=4, seed=0)`, raw log-expression values; the first 450
  cells train, the last 150 are held out (the cells come in random order);
- model: `build_autoencoder(input_dim=50, latent_dim=2)` after
  `set_seed(seed)`;
- training: Adam with learning rate 0.01, mean squared error, batches of 32,
  30 shuffled passes over the 450 training cells (fed as one long epoch,
  which is the same thing with less bookkeeping);
- grading: the mean squared reconstruction error on the held-out cells must
  be below `RECONSTRUCTION_BOUND` (0.35) and below the error of always
  predicting the mean training profile (about 0.55); k-means with 4
  clusters (`n_init=10`, `random_state=0`) on the 2-number codes of all 600
  cells must match the true cell types with an adjusted Rand index of at
  least `ARI_FLOOR` (0.7).

Measured over seeds 0-7: `make_autoencoder(50, 2)` (one hidden ReLU layer of
64 units) reaches an error of 0.22-0.23 and an index of 0.99-1.0; a smaller
hand-written one (32 ELU units) 0.23-0.29 and 0.95-1.0. An untrained model
has an error near 2.5 and an index of 0.17-0.40; a model with a frozen
decoder stays near 2.4.
"""

import warnings

import keras
import numpy as np

from course_lib.checks.autoencoder import (build_models,
                                           check_autoencoder_structure)
from course_lib.checks.core import fail

INPUT_DIM = 50
LATENT_DIM = 2
NUM_CELL_TYPES = 4
NUM_TRAIN = 450
LEARNING_RATE = 0.01
BATCH_SIZE = 32
PASSES = 30
RECONSTRUCTION_BOUND = 0.35
ARI_FLOOR = 0.7

# More (input_dim, latent_dim) pairs than the visible check tries.
EXTRA_STRUCTURE_CASES = ((7, 1), (100, 10), (64, 2))


def check_autoencoder_structure_any_size(build_autoencoder):
    """The builder honours `input_dim` and `latent_dim` for other sizes too.

    Raises:
        CheckFailure: As `check_autoencoder_structure`.
    """
    check_autoencoder_structure(build_autoencoder,
                                cases=EXTRA_STRUCTURE_CASES)


def expression_data():
    """The check's data: `(train, held_out, profiles, cell_types)`."""
    from course_lib.datasets import make_expression_profiles

    profiles, cell_types = make_expression_profiles(
        num_cells=600, num_genes=INPUT_DIM, num_cell_types=NUM_CELL_TYPES,
        seed=0)
    return profiles[:NUM_TRAIN], profiles[NUM_TRAIN:], profiles, cell_types


def train_autoencoder(autoencoder, train, seed=0):
    """Train `autoencoder` with the check's fixed recipe (in place).

    Args:
        autoencoder: A `keras.Model` mapping profiles to reconstructions.
        train: Training profiles, shape (N, input_dim).
        seed: Seed for the order of the examples.
    """
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(train))
                            for _ in range(PASSES)])
    autoencoder.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                        loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        autoencoder.fit(train[order], train[order], epochs=1,
                        batch_size=BATCH_SIZE, shuffle=False, verbose=0)


def latent_adjusted_rand_index(codes, labels, num_clusters=NUM_CELL_TYPES):
    """Adjusted Rand index of k-means clusters of `codes` against `labels`.

    Uses `KMeans(num_clusters, n_init=10, random_state=0)`, so the number is
    repeatable.

    Example:

    >>> codes = np.repeat(np.eye(3), 10, axis=0)
    >>> latent_adjusted_rand_index(codes, np.repeat([0, 1, 2], 10), 3)
    1.0
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    clusters = KMeans(n_clusters=num_clusters, n_init=10,
                      random_state=0).fit_predict(np.asarray(codes))
    return float(adjusted_rand_score(labels, clusters))


def _frozen_layers(model):
    """Names of layers that own weights but are marked non-trainable."""
    return [layer.name for layer in model.layers
            if layer.weights and not layer.trainable]


def train_and_score(build_autoencoder, seed=0):
    """Build, train and measure the student's autoencoder (the check's core).

    Args:
        build_autoencoder: The student's builder.
        seed: Seed for the weights and the order of the examples.

    Returns:
        A dict with `error` (held-out reconstruction MSE), `baseline` (MSE
        of the mean training profile), `adjusted_rand_index` (k-means on the
        codes of all cells) and `frozen` (names of non-trainable layers).

    Raises:
        CheckFailure: When the builder fails or the model has nothing to
            train.
    """
    from course_lib.seeding import set_seed

    set_seed(seed)
    call = (f"build_autoencoder(input_dim={INPUT_DIM}, "
            f"latent_dim={LATENT_DIM})")
    autoencoder, encoder = build_models(build_autoencoder, INPUT_DIM,
                                        LATENT_DIM)
    frozen = _frozen_layers(autoencoder)
    if not autoencoder.trainable_weights:
        fail(f"the autoencoder from {call} has no trainable weights "
             f"(frozen layers: {frozen})",
             "layers that training can change",
             "Do not set `trainable = False`; the check trains the model "
             "itself and a frozen model cannot learn.")
    train, held_out, profiles, cell_types = expression_data()
    train_autoencoder(autoencoder, train, seed)

    reconstruction = keras.ops.convert_to_numpy(
        autoencoder(held_out, training=False))
    if reconstruction.shape != held_out.shape:
        fail(f"the autoencoder returned shape {reconstruction.shape}",
             f"{held_out.shape}", "It must reproduce its input.")
    codes = keras.ops.convert_to_numpy(encoder(profiles, training=False))
    error = float(np.mean((reconstruction - held_out) ** 2))
    finite = bool(np.all(np.isfinite(codes)))
    return {
        "error": error if np.isfinite(error) else float("inf"),
        "baseline": float(np.mean((train.mean(axis=0) - held_out) ** 2)),
        "adjusted_rand_index": (latent_adjusted_rand_index(codes, cell_types)
                                if finite else 0.0),
        "frozen": frozen,
    }


def check_autoencoder_learns(build_autoencoder, seed=0):
    """Train the student's autoencoder and grade reconstruction and codes.

    See the module docstring for the exact recipe and bounds.

    Args:
        build_autoencoder: The student's builder
            `build_autoencoder(input_dim, latent_dim)`.
        seed: Seed for the weights and the order of the examples.

    Raises:
        CheckFailure: When the model cannot train (no trainable weights),
            reconstructs no better than the bound or the mean profile, or
            its codes do not separate the cell types.
    """
    score = train_and_score(build_autoencoder, seed)
    error, baseline = score["error"], score["baseline"]
    if error >= min(RECONSTRUCTION_BOUND, baseline):
        if score["frozen"]:
            hint = (f"The layers {score['frozen']} are frozen "
                    "(trainable=False), so the model cannot learn the data; "
                    "leave every layer trainable.")
        else:
            hint = ("The model did not learn to reconstruct. Use a linear "
                    "output layer (log-expression values are not limited "
                    "to [0, 1]), a linear code layer (a ReLU code can die), "
                    "and a nonlinear hidden layer, e.g. make_autoencoder("
                    "input_dim, latent_dim).")
        fail(f"after training (Adam 0.01, MSE, {PASSES} passes, batch "
             f"{BATCH_SIZE}) the held-out reconstruction error is "
             f"{error:.3f}",
             f"below {RECONSTRUCTION_BOUND} and below the mean-profile "
             f"baseline {baseline:.3f}", hint)
    index = score["adjusted_rand_index"]
    if index < ARI_FLOOR:
        fail(f"k-means on the trained {LATENT_DIM}-number codes matches the "
             f"cell types with adjusted Rand index {index:.2f}",
             f"at least {ARI_FLOOR}",
             "The reconstruction is fine but the codes mix the cell types. "
             "Keep the code layer linear (no ReLU at the bottleneck) and "
             "put a nonlinear hidden layer between the input and the code.")
