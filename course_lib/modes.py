"""How well a generator's samples cover the modes of the real data.

A GAN that has *collapsed* produces samples from only some of the modes
(clouds, cell types) of the real data. `mode_coverage` measures that for
point data: it finds the modes with k-means on the real samples and counts
the generated samples that fall inside each one.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ModeCoverage:
    """The share of generated samples inside each mode of the real data.

    Args:
        shares: Per mode, the fraction of all generated samples inside it
            (the shares sum to `inside`).
        inside: Fraction of generated samples inside some mode.
        min_share: The share a mode needs to count as reached.
    """

    shares: np.ndarray
    inside: float
    min_share: float

    @property
    def modes_reached(self):
        """Number of modes holding at least `min_share` of the samples."""
        return int(np.sum(self.shares >= self.min_share))


def mode_coverage(real, samples, num_modes, min_share=0.05, seed=0):
    """Measure which modes of the real data the generated samples reach.

    The modes are `num_modes` k-means clusters of `real`. Their radius is
    the root mean square distance of the real samples to their nearest
    centre; a generated sample is inside a mode when it lies within twice
    that radius of the mode's centre (the nearest one).

    Args:
        real: Real samples, `(N, features)`.
        samples: Generated samples, `(M, features)`.
        num_modes: Number of modes of the real data (3 clouds, 4 cell types).
        min_share: Share of the samples a mode needs to count as reached.
        seed: Seed of the k-means initialization.

    Returns:
        A `ModeCoverage`.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    >>> real = np.concatenate([centre + rng.normal(0, 0.3, (100, 2)) for centre in centres])
    >>> collapsed = centres[0] + rng.normal(0, 0.3, (90, 2))
    >>> coverage = mode_coverage(real, collapsed, num_modes=3)
    >>> coverage.modes_reached, coverage.inside > 0.95
    (1, True)
    """
    from sklearn.cluster import KMeans

    real = np.asarray(real, dtype=float)
    samples = np.asarray(samples, dtype=float)
    if real.ndim != 2 or samples.ndim != 2 or real.shape[1] != samples.shape[1]:
        raise ValueError(f"real {real.shape} and samples {samples.shape} must both have "
                         "shape (number of samples, features) with the same features; "
                         "pass e.g. generator.predict(noise).")
    if not np.all(np.isfinite(samples)):
        raise ValueError("the generated samples contain NaN or infinity: the generator "
                         "diverged. Train again with a smaller learning rate.")
    clusters = KMeans(num_modes, n_init=10, random_state=seed).fit(real)
    radius = np.sqrt(np.mean(np.min(clusters.transform(real), axis=1) ** 2))
    distances = clusters.transform(samples)
    inside = distances.min(axis=1) < 2 * radius
    shares = np.bincount(distances.argmin(axis=1)[inside], minlength=num_modes) / len(samples)
    return ModeCoverage(shares, float(inside.mean()), min_share)
