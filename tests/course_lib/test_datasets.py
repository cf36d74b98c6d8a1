"""Tests for course_lib.datasets: documented shapes, dtypes, ranges and seeding."""

import doctest

import numpy as np
import pytest

from course_lib import datasets
from course_lib.datasets import (ALPHABET, MIN_MOTIF_GAP, MOTIF_X, MOTIF_Y,
                                 decode_sequences, load_digit_images,
                                 make_expression_profiles, make_gan_data,
                                 make_motif_sequences, standardize_columns)


def flatten_arrays(result):
    """All arrays in a (possibly nested) tuple, in order."""
    if isinstance(result, np.ndarray):
        return [result]
    return [array for part in result for array in flatten_arrays(part)]


def same_result(first, second):
    first, second = flatten_arrays(first), flatten_arrays(second)
    return len(first) == len(second) and all(
        np.array_equal(a, b) for a, b in zip(first, second))


SMALL_CALLS = {
    "digits": lambda seed: load_digit_images(seed=seed),
    "expression": lambda seed: make_expression_profiles(num_cells=60,
                                                        seed=seed),
    "motifs": lambda seed: make_motif_sequences(num_sequences=40,
                                                sequence_length=30,
                                                seed=seed),
    "gan": lambda seed: make_gan_data(num_samples=50, seed=seed),
}


@pytest.mark.parametrize("name", sorted(SMALL_CALLS))
def test_same_seed_same_data_other_seed_other_data(name):
    make = SMALL_CALLS[name]
    assert same_result(make(0), make(0))
    assert not same_result(make(0), make(1))


def test_no_network_access(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("a dataset tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for make in SMALL_CALLS.values():
        make(3)


# ---------------------------------------------------------------------------
# Digits
# ---------------------------------------------------------------------------


def test_load_digit_images_shapes_dtypes_ranges():
    (x_train, y_train), (x_test, y_test) = load_digit_images(
        test_fraction=0.25, seed=0)
    assert x_train.shape[1:] == x_test.shape[1:] == (8, 8, 1)
    assert len(x_train) + len(x_test) == 1797
    assert len(x_test) == pytest.approx(0.25 * 1797, abs=1)
    assert len(y_train) == len(x_train) and len(y_test) == len(x_test)
    assert x_train.dtype == x_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    for images in (x_train, x_test):
        assert images.min() == 0.0 and images.max() == 1.0
    assert set(y_train.tolist()) == set(y_test.tolist()) == set(range(10))


def test_load_digit_images_is_stratified():
    (_, y_train), (_, y_test) = load_digit_images(test_fraction=0.3, seed=2)
    train_share = np.bincount(y_train) / len(y_train)
    test_share = np.bincount(y_test) / len(y_test)
    np.testing.assert_allclose(train_share, test_share, atol=0.01)


@pytest.mark.parametrize("test_fraction", [0, 1, 1.5, -0.2, "0.2"])
def test_load_digit_images_rejects_bad_fraction(test_fraction):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        load_digit_images(test_fraction=test_fraction)


# ---------------------------------------------------------------------------
# Expression profiles
# ---------------------------------------------------------------------------


def test_make_expression_profiles_shapes_dtypes_ranges():
    profiles, cell_types = make_expression_profiles(
        num_cells=90, num_genes=30, num_cell_types=3, seed=0)
    assert profiles.shape == (90, 30) and profiles.dtype == np.float32
    assert cell_types.shape == (90,) and cell_types.dtype == np.int64
    assert np.all(np.isfinite(profiles)) and profiles.min() >= 0.0
    assert np.bincount(cell_types).tolist() == [30, 30, 30]


def test_make_expression_profiles_clusters_are_recoverable():
    """Low-dimensional structure: 4 principal components + k-means suffice."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score

    profiles, cell_types = make_expression_profiles(seed=0)
    codes = PCA(n_components=4, random_state=0).fit_transform(profiles)
    clusters = KMeans(n_clusters=4, n_init=10,
                      random_state=0).fit_predict(codes)
    assert adjusted_rand_score(cell_types, clusters) > 0.9


@pytest.mark.parametrize("arguments, message", [
    (dict(num_cell_types=1), "at least two cell types"),
    (dict(num_cells=3, num_cell_types=4), "at least one cell"),
    (dict(num_genes=0), "num_genes"),
    (dict(seed=-1), "non-negative integer"),
])
def test_make_expression_profiles_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        make_expression_profiles(**arguments)


# ---------------------------------------------------------------------------
# Motif sequences
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def motif_data():
    return make_motif_sequences(num_sequences=400, sequence_length=30,
                                seed=0)


def test_make_motif_sequences_shapes_dtypes_one_hot(motif_data):
    sequences, labels = motif_data
    assert sequences.shape == (400, 30, 4) and sequences.dtype == np.float32
    assert labels.shape == (400,) and labels.dtype == np.int64
    assert set(np.unique(sequences).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(sequences.sum(axis=-1), 1.0)
    assert labels.sum() == 200  # half positive


def first_motif_order(text):
    """'YX', 'XY', 'X', 'Y' or '' from where the motifs occur."""
    positions = sorted((text.find(motif), name)
                       for motif, name in ((MOTIF_Y, "Y"), (MOTIF_X, "X"))
                       if motif in text)
    return "".join(name for _, name in positions)


def test_make_motif_sequences_label_follows_the_order_rule(motif_data):
    sequences, labels = motif_data
    texts = decode_sequences(sequences)
    assert all(set(text) <= set(ALPHABET) for text in texts)
    for text, label in zip(texts, labels):
        assert text.count(MOTIF_X) <= 1 and text.count(MOTIF_Y) <= 1
        y_start, x_start = text.find(MOTIF_Y), text.find(MOTIF_X)
        follows = y_start >= 0 and x_start >= y_start + len(MOTIF_Y)
        assert label == int(follows), text


def test_make_motif_sequences_negatives_mostly_swap_the_order(motif_data):
    sequences, labels = motif_data
    orders = [first_motif_order(text)
              for text in decode_sequences(sequences[labels == 0])]
    shares = {order: orders.count(order) / len(orders)
              for order in set(orders)}
    assert set(shares) <= {"XY", "X", "Y"}
    assert 0.8 <= shares["XY"] < 1.0  # most negatives: same motifs, swapped
    assert shares.get("X", 0) > 0 and shares.get("Y", 0) > 0


def test_make_motif_sequences_keep_motifs_off_the_ends(motif_data):
    sequences, _ = motif_data
    for text in decode_sequences(sequences):
        for motif in (MOTIF_X, MOTIF_Y):
            start = text.find(motif)
            if start >= 0:
                assert MIN_MOTIF_GAP <= start <= (
                    len(text) - len(motif) - MIN_MOTIF_GAP)


def test_decode_sequences_round_trip():
    one_hot = np.eye(4, dtype=np.float32)[[[0, 1, 2, 3, 3]]]
    assert decode_sequences(one_hot) == ["ACGTT"]
    assert decode_sequences(one_hot[0]) == "ACGTT"
    with pytest.raises(ValueError, match="sequence_length, 4"):
        decode_sequences(np.zeros((2, 5, 3)))


@pytest.mark.parametrize("arguments, message", [
    (dict(sequence_length=12), "background nucleotides"),
    (dict(num_sequences=1), "num_sequences"),
    (dict(num_sequences=10.0), "integer"),
])
def test_make_motif_sequences_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        make_motif_sequences(**arguments)


# ---------------------------------------------------------------------------
# GAN data
# ---------------------------------------------------------------------------


def test_make_gan_data_shape_dtype_and_modes():
    from sklearn.cluster import KMeans

    points = make_gan_data(num_samples=600, seed=0)
    assert points.shape == (600, 2) and points.dtype == np.float32
    assert np.all(np.isfinite(points))
    radii = np.linalg.norm(points, axis=1)
    assert 1.8 < radii.mean() < 2.2  # modes sit on a circle of radius 2
    centers = KMeans(n_clusters=3, n_init=5,
                     random_state=0).fit(points).cluster_centers_
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0,
                               atol=0.15)


def test_make_gan_data_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_samples"):
        make_gan_data(num_samples=0)
    with pytest.raises(ValueError, match="seed"):
        make_gan_data(seed="zero")


def test_docstring_examples_run():
    results = doctest.testmod(datasets)
    assert results.attempted > 0
    assert results.failed == 0


def test_standardize_columns_gives_mean_zero_and_unit_spread():
    values = np.random.default_rng(0).normal(3.0, 5.0, size=(200, 3))
    standardized = standardize_columns(values)
    np.testing.assert_allclose(standardized.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(standardized.std(axis=0), 1.0, atol=1e-5)


def test_standardize_columns_names_a_dead_code_unit_instead_of_making_nan():
    codes = np.random.default_rng(0).normal(size=(50, 2))
    codes[:, 1] = 0.0  # a ReLU code unit that died
    with pytest.raises(ValueError, match="column 1 has the same value.*code layer linear"):
        standardize_columns(codes, name="codes")


def test_standardize_columns_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        standardize_columns(np.array([[np.nan, 1.0], [2.0, 3.0]]))
