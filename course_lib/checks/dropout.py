"""Visible checks for dropout (exercise 2.3, before the GAN schedule).

The student writes `dropout(x, rate, training, seed)`, the rule of
`keras.layers.Dropout`: while training, every entry of `x` is set to 0 with
probability `rate`, independently, and the entries kept are divided by
`1 - rate`, so each entry keeps its expected value; at inference
(`training=False`) `x` passes unchanged. The random draws come from
`np.random.default_rng(seed)`, so the same seed drops the same entries (an
int, like the `seed` of `keras.layers.Dropout`).
"""

import numpy as np

from course_lib.checks.core import call_student, fail, short, to_numpy

# Entries per draw: the fraction dropped then lies within 0.02 of the rate
# with a probability above 1 - 1e-9 (about 6.5 standard deviations).
NUM_ENTRIES = 20_000
RATE_TOLERANCE = 0.02


def _dropped(result, x):
    return float(np.mean(result == 0)) if x.size else 0.0


def check_dropout(dropout):
    """Check inference, the fraction dropped, the scaling and the use of `seed`.

    Args:
        dropout: The student's function `dropout(x, rate, training, seed)`.

    Raises:
        CheckFailure: Naming the broken rule.

    Example, a dropout that forgets to scale what it keeps:

    >>> from course_lib.checks.core import CheckFailure
    >>> def dropout(x, rate, training, seed):
    ...     rng = np.random.default_rng(seed)
    ...     return x * (rng.random(x.shape) >= rate) if training else x
    >>> try:
    ...     check_dropout(dropout)
    ... except CheckFailure as failure:
    ...     print(failure.hint)  # doctest: +ELLIPSIS
    Divide the entries you keep by (1 - rate): ...
    """
    x = np.linspace(0.5, 2.0, NUM_ENTRIES).reshape(200, -1)
    for rate in (0.5, 0.2):
        call = f"dropout(x, rate={rate}, training=False, seed=0)"
        result = to_numpy(call_student(dropout, x.copy(), rate, False, 0, call=call))
        if result.shape != x.shape or not np.allclose(result, x):
            fail(f"{call} returned {short(result)}", f"x unchanged, {short(x)}",
                 "At inference (training=False) dropout does nothing: return x. "
                 "Keras scales during training instead, so nothing is left to "
                 "do afterwards.")
    for rate in (0.5, 0.2, 0.0):
        call = f"dropout(x, rate={rate}, training=True, seed=1)"
        result = to_numpy(call_student(dropout, x.copy(), rate, True, 1, call=call))
        if result.shape != x.shape:
            fail(f"{call} returned shape {result.shape}", f"the shape of x, {x.shape}",
                 "Drop entries of x itself: draw one random number per entry.")
        dropped = _dropped(result, x)
        if abs(dropped - rate) > RATE_TOLERANCE:
            hint = ("Drop each entry with probability `rate`, e.g. keep where "
                    "np.random.default_rng(seed).random(x.shape) >= rate.")
            if abs(dropped - (1 - rate)) <= RATE_TOLERANCE:
                hint = ("`rate` is the fraction dropped, not the fraction kept: "
                        "keep where np.random.default_rng(seed).random(x.shape) >= rate.")
            fail(f"{call} set {dropped:.1%} of the entries to 0",
                 f"about {rate:.0%} (within {RATE_TOLERANCE:.0%})", hint)
        kept = result != 0
        expected = x[kept] / (1 - rate)
        if not np.allclose(result[kept], expected, rtol=1e-5):
            ratio = float(np.median(result[kept] / x[kept]))
            fail(f"{call} kept entries at {ratio:.3g} times their value",
                 f"{1 / (1 - rate):.3g} times (1 / (1 - rate))",
                 "Divide the entries you keep by (1 - rate): with a fraction "
                 "`rate` set to 0, that keeps each entry's expected value, so "
                 "the next layer sees the same scale in training and at "
                 "inference (Keras' Dropout does this).")
    first, again, other = (to_numpy(call_student(
        dropout, x.copy(), 0.5, True, seed,
        call=f"dropout(x, rate=0.5, training=True, seed={seed})")) for seed in (3, 3, 4))
    if not np.array_equal(first == 0, again == 0):
        fail("two calls with seed=3 dropped different entries",
             "the same entries: the seed decides the mask",
             "Draw the mask from `np.random.default_rng(seed).random(x.shape)`, "
             "not from np.random's global functions or an unseeded generator.")
    if np.array_equal(first == 0, other == 0):
        fail("seed=3 and seed=4 dropped the same entries",
             "other entries for another seed",
             "Use the `seed` argument: `np.random.default_rng(seed)`, not a "
             "fixed seed of your own.")
