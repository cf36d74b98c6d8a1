"""mode_coverage tells a collapsed, an off-target and a covering generator apart."""

import numpy as np
import pytest

from course_lib.modes import mode_coverage

CENTRES = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])


@pytest.fixture(name="real")
def real_fixture():
    rng = np.random.default_rng(0)
    return np.concatenate([centre + rng.normal(0, 0.4, (200, 2)) for centre in CENTRES])


def around(centres, count, seed=1, spread=0.4):
    rng = np.random.default_rng(seed)
    return np.concatenate([centre + rng.normal(0, spread, (count, 2)) for centre in centres])


def test_all_modes_covered(real):
    coverage = mode_coverage(real, around(CENTRES, 100), num_modes=3)
    assert coverage.modes_reached == 3 and coverage.inside > 0.95
    assert np.allclose(np.sort(coverage.shares), 1 / 3, atol=0.03)
    assert np.isclose(coverage.shares.sum(), coverage.inside)


def test_collapse_onto_one_mode(real):
    coverage = mode_coverage(real, around(CENTRES[:1], 300), num_modes=3)
    assert coverage.modes_reached == 1 and np.sort(coverage.shares)[-1] > 0.95


def test_a_mode_below_the_minimum_share_is_not_reached(real):
    samples = np.concatenate([around(CENTRES[:2], 100), around(CENTRES[2:], 4)])
    assert mode_coverage(real, samples, num_modes=3).modes_reached == 2
    assert mode_coverage(real, samples, num_modes=3, min_share=0.01).modes_reached == 3


def test_points_between_the_modes_are_not_inside(real):
    between = around([[3.0, 3.0]], 200, spread=0.1)
    coverage = mode_coverage(real, between, num_modes=3)
    assert (coverage.modes_reached, coverage.inside) == (0, 0.0)


@pytest.mark.parametrize("samples, message", [
    (np.zeros((10, 3)), "same features"),
    (np.full((10, 2), np.nan), "diverged"),
])
def test_bad_samples_are_named(real, samples, message):
    with pytest.raises(ValueError, match=message):
        mode_coverage(real, samples, num_modes=3)
