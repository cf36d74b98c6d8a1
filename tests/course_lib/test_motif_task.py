"""The motif task needs order: an LSTM solves it, order-blind models do not.

`make_motif_sequences` promises that the label depends on which motif comes
first. These tests hold it to that promise on held-out data: a small LSTM from
`make_sequence_model` reaches high accuracy within a few epochs, while
logistic regression on order-free summaries of the same sequences (nucleotide
counts, motif counts, a bag of k-mers) stays near chance.
"""

import numpy as np
import pytest

from course_lib.datasets import (MOTIF_X, MOTIF_Y, decode_sequences,
                                 make_motif_sequences)

# Small enough to train in seconds on two CPU cores, large enough that the
# held-out accuracy is measured to within a few percent.
SEQUENCE_LENGTH = 24
NUM_TRAIN = 300
NUM_TEST = 200
ORDER_BLIND_LIMIT = 0.65
LSTM_TARGET = 0.9


@pytest.fixture(scope="module")
def motif_split():
    """Training and held-out sequences from different seeds."""
    train = make_motif_sequences(NUM_TRAIN, SEQUENCE_LENGTH, seed=0)
    test = make_motif_sequences(NUM_TEST, SEQUENCE_LENGTH, seed=1)
    return train, test


def nucleotide_counts(sequences):
    """How often each of A, C, G, T occurs: no order at all."""
    return sequences.sum(axis=1)


def motif_counts(sequences):
    """How often each motif occurs, ignoring where."""
    texts = decode_sequences(sequences)
    return np.array([[text.count(MOTIF_Y), text.count(MOTIF_X)]
                     for text in texts], dtype=float)


def held_out_accuracy(features, motif_split):
    """Accuracy of logistic regression on held-out sequences."""
    from sklearn.linear_model import LogisticRegression

    (x_train, y_train), (x_test, y_test) = motif_split
    classifier = LogisticRegression(max_iter=2000)
    classifier.fit(features(x_train), y_train)
    return classifier.score(features(x_test), y_test)


@pytest.mark.parametrize("features", [nucleotide_counts, motif_counts],
                         ids=["nucleotide_counts", "motif_counts"])
def test_order_blind_summary_stays_near_chance(features, motif_split):
    accuracy = held_out_accuracy(features, motif_split)
    assert accuracy < ORDER_BLIND_LIMIT, (
        f"{features.__name__} reached {accuracy:.3f}: the labels leak "
        "through composition, not order")


def test_bag_of_kmers_stays_near_chance(motif_split):
    from sklearn.feature_extraction.text import CountVectorizer

    # k-mers up to the motif length: each motif is one 5-mer, and the
    # k-mers around it are as likely in either order.
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, len(MOTIF_X)),
                                 lowercase=False)
    (x_train, y_train), (x_test, y_test) = motif_split
    vectorizer.fit(decode_sequences(x_train))

    def kmer_counts(sequences):
        return vectorizer.transform(decode_sequences(sequences))

    accuracy = held_out_accuracy(kmer_counts, motif_split)
    assert accuracy < ORDER_BLIND_LIMIT, (
        f"a bag of k-mers reached {accuracy:.3f}: the labels leak through "
        "k-mer counts (e.g. motifs touching the sequence ends)")


def test_lstm_learns_the_order_rule(motif_split):
    import keras

    from course_lib.builders import make_sequence_model
    from course_lib.seeding import set_seed

    (x_train, y_train), (x_test, y_test) = motif_split
    set_seed(0)
    model = make_sequence_model(SEQUENCE_LENGTH, units=16)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= LSTM_TARGET, (
        f"the LSTM reached only {accuracy:.3f} held-out accuracy")
