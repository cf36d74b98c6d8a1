"""Small datasets for the course, generated or loaded entirely offline.

Nothing in this module touches the network: the digit images ship with
scikit-learn, and every other dataset is simulated with NumPy. Each function
takes a `seed` and returns exactly the same arrays for the same arguments, so
results in a notebook are repeatable. Features are `float32` and labels are
`int64`, ready for Keras.

- `load_digit_images`: 8x8 handwritten digits (images, CNNs).
- `make_expression_profiles`: cells with gene-expression-like profiles
  from a few cell types (autoencoders, clustering).
- `make_motif_sequences`: one-hot DNA-like sequences whose label depends on
  the ORDER of two motifs (recurrent networks).
- `make_gan_data`: 2-D points from a mixture of Gaussians (GANs).
- `standardize_columns`: mean 0, spread 1 per column (codes for a GAN).
"""

import numpy as np

ALPHABET = "ACGT"
"""The nucleotides, in the order of the one-hot axis of `make_motif_sequences`."""

MOTIF_Y = "TATAA"
"""The motif that must come first for a sequence to be positive."""

MOTIF_X = "CAGGT"
"""The motif that counts only when `MOTIF_Y` occurred earlier."""

MIN_MOTIF_GAP = 4
"""Fewest background nucleotides before, between and after the motifs.

The margins at both ends matter: a motif touching the start or end of a
sequence would lose the k-mers that overlap its flank, a subtle position cue
that an order-blind bag of k-mers could exploit.
"""

SINGLE_MOTIF_FRACTION = 0.1
"""Share of negative sequences that contain only one of the two motifs."""


def _check_count(value, name, minimum=1, hint=""):
    """Return `value` as an int, or raise ValueError unless it is >= minimum."""
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value,
                                                                     bool)
    if not is_int or value < minimum:
        message = (f"`{name}` must be an integer >= {minimum}; received "
                   f"{name}={value!r}.")
        raise ValueError(message + (f" {hint}" if hint else ""))
    return int(value)


def _check_seed(seed):
    """Return `seed` as an int, or raise ValueError for anything else."""
    return _check_count(seed, "seed", minimum=0,
                        hint="Use a non-negative integer such as seed=0.")


def load_digit_images(test_fraction=0.25, seed=0):
    """Load scikit-learn's 8x8 handwritten digits as a train/test split.

    The 1,797 grayscale digit images ship with scikit-learn, so nothing is
    downloaded. Pixel values (0..16 in the original) are scaled to [0, 1] and
    a channel axis is added so the images feed straight into a `Conv2D`. The
    split is stratified (every digit keeps its share in both parts) and
    shuffled by `seed`.

    Args:
        test_fraction: Share of the images held out for testing, in (0, 1).
        seed: Integer that fixes the shuffle.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: `x_*` float32 arrays of
        shape `(N, 8, 8, 1)` with values in [0, 1]; `y_*` int64 arrays of
        shape `(N,)` with digits 0..9.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_digit_images(seed=0)
    >>> x_train.shape, x_train.dtype.name, y_train.dtype.name
    ((1347, 8, 8, 1), 'float32', 'int64')
    >>> x_test.shape
    (450, 8, 8, 1)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if isinstance(test_fraction, bool) or not isinstance(
            test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ValueError(
            "`test_fraction` must be a number strictly between 0 and 1; "
            f"received test_fraction={test_fraction!r}. Use e.g. 0.25 to "
            "hold out a quarter of the images.")
    seed = _check_seed(seed)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, stratify=labels,
        shuffle=True, random_state=seed)
    return (x_train, y_train), (x_test, y_test)


def make_expression_profiles(num_cells=600, num_genes=50, num_cell_types=4,
                             seed=0):
    """Simulate single-cell gene-expression profiles from a few cell types.

    Each cell type switches on its own gene program (a random set of genes
    that rise together) on top of a weak shared program that varies from
    cell to cell. Counts are drawn from a Poisson distribution around
    `exp(baseline + activity @ programs)` and log-transformed with `log1p`,
    as is usual for expression data. The profiles therefore lie near a
    low-dimensional structure (one direction per program) with count noise
    on top: an autoencoder with a small `latent_dim` followed by k-means
    recovers the cell types.

    Args:
        num_cells: Number of cells (rows), at least `num_cell_types`.
        num_genes: Number of genes (columns), at least 2.
        num_cell_types: Number of cell types (clusters), at least 2.
        seed: Integer that fixes the simulation.

    Returns:
        `(profiles, cell_types)`: `profiles` float32 of shape
        `(num_cells, num_genes)` with non-negative log-expression values;
        `cell_types` int64 of shape `(num_cells,)` with values
        `0..num_cell_types - 1`, each type about equally common.

    Example:

    >>> profiles, cell_types = make_expression_profiles(num_cells=100)
    >>> profiles.shape, profiles.dtype.name, cell_types.dtype.name
    ((100, 50), 'float32', 'int64')
    >>> sorted(set(cell_types.tolist()))
    [0, 1, 2, 3]
    """
    num_cell_types = _check_count(
        num_cell_types, "num_cell_types", minimum=2,
        hint="Clustering needs at least two cell types.")
    num_cells = _check_count(
        num_cells, "num_cells", minimum=num_cell_types,
        hint="Every cell type needs at least one cell.")
    num_genes = _check_count(num_genes, "num_genes", minimum=2)
    seed = _check_seed(seed)
    rng = np.random.default_rng(seed)

    # Program 0 is shared by all cells; programs 1..K are one per cell type.
    num_programs = num_cell_types + 1
    genes_per_program = max(2, num_genes // 4)
    programs = np.zeros((num_programs, num_genes))
    for program in range(num_programs):
        genes = rng.choice(num_genes, size=genes_per_program, replace=False)
        programs[program, genes] = rng.gamma(shape=4.0, scale=0.35,
                                             size=genes_per_program)
    baseline = rng.normal(loc=0.5, scale=0.5, size=num_genes)

    cell_types = rng.permutation(np.arange(num_cells) % num_cell_types)
    activity = np.zeros((num_cells, num_programs))
    activity[:, 0] = rng.uniform(0.0, 0.5, size=num_cells)
    activity[np.arange(num_cells), cell_types + 1] = rng.normal(
        loc=1.0, scale=0.15, size=num_cells)
    activity[:, 1:] += np.abs(rng.normal(scale=0.1, size=(num_cells,
                                                          num_cell_types)))
    rates = np.exp(baseline + activity @ programs)
    counts = rng.poisson(rates)
    profiles = np.log1p(counts).astype(np.float32)
    return profiles, cell_types.astype(np.int64)


def _find_all(text, motif):
    """Start positions of every (possibly overlapping) `motif` in `text`."""
    starts = []
    start = text.find(motif)
    while start != -1:
        starts.append(start)
        start = text.find(motif, start + 1)
    return starts


def decode_sequences(sequences):
    """Turn one-hot sequences back into strings over A, C, G, T.

    Args:
        sequences: Array of shape `(N, sequence_length, 4)`, one-hot over
            `ALPHABET`, or a single sequence of shape `(sequence_length, 4)`.

    Returns:
        A list of `N` strings (or one string for a single sequence).

    Example:

    >>> sequences, labels = make_motif_sequences(num_sequences=2, seed=0)
    >>> len(decode_sequences(sequences)[0])
    40
    """
    sequences = np.asarray(sequences)
    if sequences.ndim not in (2, 3) or sequences.shape[-1] != len(ALPHABET):
        raise ValueError(
            "`sequences` must have shape (N, sequence_length, 4) or "
            f"(sequence_length, 4); received shape {sequences.shape}.")
    letters = np.array(list(ALPHABET))[sequences.argmax(axis=-1)]
    if letters.ndim == 1:
        return "".join(letters)
    return ["".join(row) for row in letters]


def make_motif_sequences(num_sequences=1000, sequence_length=40, seed=0):
    """Simulate DNA-like sequences whose label depends on motif ORDER.

    A sequence is positive (label 1) when motif X (`MOTIF_X`) occurs after an
    earlier, non-overlapping motif Y (`MOTIF_Y`): "X matters only if Y came
    before". Half the sequences are positive and hold Y, then X. Most
    negatives hold the very same two motifs in the wrong order (X, then Y), so
    they have the same nucleotide and motif composition; the rest
    (`SINGLE_MOTIF_FRACTION` of the negatives) hold only one of the two.
    A model that ignores order (nucleotide or motif counts, a bag of k-mers)
    therefore cannot do much better than chance, while a recurrent network
    that remembers having seen Y can.

    The background is uniformly random; a background that would create an
    extra copy of either motif is redrawn, so every sequence contains exactly
    the motifs planted in it and the label follows the rule exactly. At least
    `MIN_MOTIF_GAP` background positions separate the motifs from each other
    and from both ends of the sequence.

    Args:
        num_sequences: Number of sequences, at least 2.
        sequence_length: Positions per sequence, at least
            `len(MOTIF_Y) + len(MOTIF_X) + 3 * MIN_MOTIF_GAP` (22).
        seed: Integer that fixes the simulation.

    Returns:
        `(sequences, labels)`: `sequences` float32 of shape
        `(num_sequences, sequence_length, 4)`, one-hot over `ALPHABET`
        ("ACGT"); `labels` int64 of shape `(num_sequences,)`, 1 when X
        follows an earlier Y and 0 otherwise (half of each).

    Example:

    >>> sequences, labels = make_motif_sequences(num_sequences=4,
    ...                                          sequence_length=30, seed=0)
    >>> sequences.shape, sequences.dtype.name, labels.dtype.name
    ((4, 30, 4), 'float32', 'int64')
    >>> text = decode_sequences(sequences[labels == 1][0])
    >>> text.index(MOTIF_Y) < text.index(MOTIF_X)
    True
    """
    num_sequences = _check_count(num_sequences, "num_sequences", minimum=2)
    shortest = len(MOTIF_Y) + len(MOTIF_X) + 3 * MIN_MOTIF_GAP
    sequence_length = _check_count(
        sequence_length, "sequence_length", minimum=shortest,
        hint=f"A sequence must hold both motifs ({MOTIF_Y!r} and "
             f"{MOTIF_X!r}) with {MIN_MOTIF_GAP} background nucleotides "
             "before, between and after them.")
    seed = _check_seed(seed)
    rng = np.random.default_rng(seed)

    labels = rng.permutation(np.arange(num_sequences) % 2)
    # Pairs of (first start, second start) that fit with the minimum gap.
    motif_length = len(MOTIF_Y)  # both motifs have the same length
    first_start = MIN_MOTIF_GAP
    last_start = sequence_length - MIN_MOTIF_GAP - motif_length
    pairs = [(first, second)
             for first in range(first_start, last_start + 1)
             for second in range(first + motif_length + MIN_MOTIF_GAP,
                                 last_start + 1)]
    indices = np.empty((num_sequences, sequence_length), dtype=np.int64)
    for row, label in enumerate(labels):
        if label == 1:
            planted = (MOTIF_Y, MOTIF_X)
        elif rng.random() >= SINGLE_MOTIF_FRACTION:
            planted = (MOTIF_X, MOTIF_Y)
        else:
            planted = (MOTIF_X,) if rng.random() < 0.5 else (MOTIF_Y,)
        if len(planted) == 2:
            starts = pairs[rng.integers(len(pairs))]
        else:
            starts = (int(rng.integers(first_start, last_start + 1)),)
        while True:
            letters = list(rng.choice(list(ALPHABET), size=sequence_length))
            for motif, start in zip(planted, starts):
                letters[start:start + motif_length] = motif
            text = "".join(letters)
            if (len(_find_all(text, MOTIF_Y)) == planted.count(MOTIF_Y)
                    and len(_find_all(text, MOTIF_X))
                    == planted.count(MOTIF_X)):
                break
        indices[row] = [ALPHABET.index(letter) for letter in text]
    sequences = np.eye(len(ALPHABET), dtype=np.float32)[indices]
    return sequences, labels.astype(np.int64)


def make_gan_data(num_samples=1000, seed=0, num_modes=3):
    """Sample 2-D points from a mixture of Gaussians, the "real" GAN data.

    The `num_modes` Gaussians (standard deviation 0.25) sit evenly spaced on
    a circle of radius 2 around the origin and are equally likely. A
    generator that captures only some of them ("mode collapse") is easy to
    spot in a scatter plot.

    Args:
        num_samples: Number of points, at least 1.
        seed: Integer that fixes the sample.
        num_modes: Number of Gaussians, at least 1.

    Returns:
        A float32 array of shape `(num_samples, 2)`.

    Example:

    >>> points = make_gan_data(num_samples=500, seed=0)
    >>> points.shape, points.dtype.name
    ((500, 2), 'float32')
    """
    num_samples = _check_count(num_samples, "num_samples")
    seed = _check_seed(seed)
    num_modes = _check_count(num_modes, "num_modes")
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(num_modes) / num_modes + np.pi / 2
    centers = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    modes = rng.integers(num_modes, size=num_samples)
    points = centers[modes] + rng.normal(scale=0.25, size=(num_samples, 2))
    return points.astype(np.float32)


def standardize_columns(values, name="values"):
    """Shift and scale every column to mean 0 and standard deviation 1.

    Used to put an encoder's codes on the scale a generator starts from. A
    column that never changes cannot be scaled (its spread is 0), so it is
    reported with its likely cause instead of turning into NaN further on.

    Args:
        values: Array `(num_samples, num_columns)`.
        name: What the values are, for the error message.

    Returns:
        A float32 array of the same shape.

    Raises:
        ValueError: When a column is constant or a value is not finite.

    Example:

    >>> standardize_columns(np.array([[1.0, 10.0], [3.0, 30.0]]))
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
    >>> standardize_columns(np.array([[0.0, 1.0], [0.0, 3.0]]), name="codes")
    Traceback (most recent call last):
    ...
    ValueError: codes column 0 has the same value (0) for every sample, so it cannot be standardized. An encoder code unit that is 0 everywhere is usually a ReLU on the code layer that died: make the code layer linear (Dense(latent_dim) without an activation), rebuild and retrain.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples, columns); "
                         f"received shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} hold NaN or infinite values; check the model "
                         "that made them (a diverged training run?).")
    spread = values.std(axis=0)
    constant = np.flatnonzero(spread == 0)
    if constant.size:
        column = int(constant[0])
        raise ValueError(
            f"{name} column {column} has the same value "
            f"({values[0, column]:g}) for every sample, so it cannot be "
            "standardized. An encoder code unit that is 0 everywhere is "
            "usually a ReLU on the code layer that died: make the code layer "
            "linear (Dense(latent_dim) without an activation), rebuild and "
            "retrain.")
    return ((values - values.mean(axis=0)) / spread).astype(np.float32)
