"""One call that makes a notebook's randomness repeatable.

Weight initialization, dropout masks, data shuffling and NumPy sampling all
draw random numbers. `set_seed` fixes every source the course uses, so that
running the same cells twice (on a CPU) gives the same weights, losses and
plots.
"""

import os
import random

import numpy as np


def set_seed(seed=0):
    """Seed Python, NumPy and Keras/TensorFlow and make TensorFlow deterministic.

    Call it once at the top of a notebook (and again before any training you
    want to repeat exactly). It seeds Python's `random`, NumPy's global
    generator and the backend through `keras.utils.set_random_seed`, which
    also resets Keras' global seed generator (used by layers that were given
    no seed). With the TensorFlow backend it additionally turns on
    `tf.config.experimental.enable_op_determinism()`, so operations whose
    result could depend on thread scheduling run in a fixed order. Two runs
    of the same code on a CPU then produce identical weights.

    Determinism stays on for the rest of the Python process. It can make some
    GPU operations slower or unavailable, which does not affect the course's
    CPU-sized models.

    Args:
        seed: Non-negative integer.

    Returns:
        None.

    Example:

    >>> set_seed(0)
    >>> first = np.random.rand()
    >>> set_seed(0)
    >>> first == np.random.rand()
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or seed < 0:
        raise ValueError(
            f"`seed` must be a non-negative integer; received seed={seed!r}. "
            "Use e.g. set_seed(0).")
    seed = int(seed)
    # Only affects Python processes started from here (e.g. data workers).
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)

    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
