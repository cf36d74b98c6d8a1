"""Exercise 2.3's worked example shows what its text claims, whatever the seed.

The test runs the notebook's own cells (setup, data, the solution's
`train_gan`, the two training runs) with `set_seed(0)` replaced by other
seeds, and measures what the text says about the samples: the run stopped by
the lecture's rule reaches at most one of the three clouds; 200 more rounds
reach all three, with most generated points inside a cloud. The batch
normalization comparison (the same GAN with and without it) is rerun for the
seeds its text names and must give the numbers the text gives.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import matplotlib
import nbformat
import numpy as np
import pytest
from sklearn.cluster import KMeans

from autograder.grading.course import repository_root
from autograder.grading.notebooks import without_region_markers

matplotlib.use("Agg")
NOTEBOOK = repository_root() / "solutions" / "exercises2" / "03_gan.ipynb"
SEEDS = (0, 1, 2)


def demo_cells():
    """Setup, data, train_gan and the two runs of the worked example, in order."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    code = [cell for cell in cells if cell.cell_type == "code"]
    answer = without_region_markers(next(
        cell.source for cell in code
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "gan_train_gan"))
    data = next(cell.source for cell in code if "make_gan_data(" in cell.source)
    first = next(cell.source for cell in code if "first_history = train_gan(" in cell.source)
    second = next(cell.source for cell in code if "second_history = train_gan(" in cell.source)
    assert "set_seed(0)" in first
    return code[0].source, data, answer, first, second


def clouds_reached(real_points, generator, latent_dim):
    """`(clouds with at least 5 % of the fakes, share of fakes inside a cloud)`.

    A fake is inside a cloud when it lies within twice the clouds' root mean
    square radius of the nearest cloud centre (k-means on the real points).
    """
    clouds = KMeans(3, n_init=10, random_state=0).fit(real_points)
    radius = np.sqrt(np.mean(np.min(clouds.transform(real_points), axis=1) ** 2))
    noise = np.random.default_rng(1).normal(size=(500, latent_dim))
    distances = clouds.transform(generator.predict(noise, verbose=0))
    inside = distances.min(axis=1) < 2 * radius
    shares = np.bincount(distances.argmin(axis=1)[inside], minlength=3) / len(inside)
    return int(np.sum(shares >= 0.05)), float(inside.mean())


@pytest.mark.parametrize("seed", SEEDS)
def test_the_worked_example_shows_what_the_text_says(seed):
    import matplotlib.pyplot as plt

    setup, data, answer, first, second = demo_cells()
    namespace = {}
    for source in (setup, data, answer):
        exec(source, namespace)  # noqa: S102 - the course's own notebook
    exec(first.replace("set_seed(0)", f"set_seed({seed})"), namespace)  # noqa: S102
    reached, inside = clouds_reached(namespace["real_points"], namespace["generator"],
                                     namespace["latent_dim"])
    assert len(namespace["first_history"]) // 2 <= 10
    assert reached <= 1 and inside < 0.3, (reached, inside)
    exec(second, namespace)  # noqa: S102
    reached, inside = clouds_reached(namespace["real_points"], namespace["generator"],
                                     namespace["latent_dim"])
    assert len(namespace["second_history"]) == 2 * 200
    assert reached == 3 and inside > 0.7, (reached, inside)
    plt.close("all")


PROJECT2 = repository_root() / "solutions" / "project2" / "project2.ipynb"


@pytest.fixture(scope="module")
def project2_codes():
    """The namespace after project 2's Part 1 (trained autoencoder, its codes)."""
    cells = [cell for cell in nbformat.read(PROJECT2, as_version=4).cells
             if cell.cell_type == "code"]
    answers = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in cells}
    namespace = {}
    for source in (cells[0].source,
                   next(cell.source for cell in cells if "make_expression_profiles(" in cell.source),
                   without_region_markers(answers["project2_solution_autoencoder"]),
                   next(cell.source for cell in cells if "autoencoder.fit(" in cell.source),
                   without_region_markers(answers["project2_solution_train_gan"])):
        exec(source, namespace)  # noqa: S102 - the course's own notebook
    gan = next(cell.source for cell in cells if "gan_history = train_gan(" in cell.source)
    types = next(cell.source for cell in cells if "type_finder = KMeans" in cell.source)
    return namespace, gan, types


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_project2_generator_makes_what_the_text_says(seed, project2_codes):
    """Seed 0 makes all four types; seeds 1 and 3 (which drop one at this
    budget) still make at least three, as the text says."""
    import matplotlib.pyplot as plt

    namespace, gan, types = project2_codes
    assert "set_seed(0)" in gan and "max_rounds=400" in gan
    exec(gan.replace("set_seed(0)", f"set_seed({seed})"), namespace)  # noqa: S102
    exec(types, namespace)  # noqa: S102
    made = int(np.sum(namespace["fake_share"] > 0.05))
    assert len(namespace["gan_history"]) == 2 * 400
    assert made == 4 if seed == 0 else made >= 3, namespace["fake_share"]
    plt.close("all")


BATCH_NORM_SEEDS = (0, 1, 2)


def batch_norm_cells():
    """Exercise 2.3's batch normalization comparison cell and the text after it."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    index = next(index for index, cell in enumerate(cells)
                 if "batch_normalization=batch_normalization" in cell.source)
    return cells[index].source, cells[index + 1].source


def batch_norm_run(seed):
    """{name: (clouds reached, % inside)} of exercise 2.3's batch normalization
    cell, run with `set_seed(seed)` and `seed=seed` (both 0 in the notebook)."""
    import matplotlib.pyplot as plt

    from course_lib.modes import mode_coverage

    setup, data, answer, _, _ = demo_cells()
    comparison, _ = batch_norm_cells()
    assert comparison.count("set_seed(0)") == 1 and comparison.count("seed=0") == 1
    namespace = {"latent_dim": 4}
    for source in (setup, data, answer):
        exec(source, namespace)  # noqa: S102 - the course's own notebook
    exec(comparison.replace("set_seed(0)", f"set_seed({seed})")  # noqa: S102
         .replace("seed=0", f"seed={seed}"), namespace)
    plt.close("all")
    coverages = {name: mode_coverage(namespace["real_points"], points, num_modes=3)
                 for name, points in namespace["samples"].items()}
    return {name: (coverage.modes_reached, round(100 * coverage.inside))
            for name, coverage in coverages.items()}


def test_batch_normalization_text_says_what_was_measured():
    """What the text after the comparison cell says held, seed by seed (two
    seeds at a time, in spawned workers: TensorFlow is not fork-safe)."""
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = dict(zip(BATCH_NORM_SEEDS, pool.map(batch_norm_run, BATCH_NORM_SEEDS)))
    with_it, without = "with batch normalization", "without"
    # The same seed is not bit-identical from run to run (TensorFlow's
    # threaded CPU sums), so the text claims only what held over repeated
    # runs: all three clouds every time with it, most points inside a cloud.
    assert all(run[with_it][0] == 3 for run in runs.values()), runs
    assert all(run[with_it][1] >= 70 for run in runs.values()), runs
    # Without it a cloud may be lost, never two (the text: "a cloud").
    assert all(run[without][0] >= 2 for run in runs.values()), runs
    text = " ".join(batch_norm_cells()[1].split())
    for claim in ("reached all three clouds every time", "75-92 %", "76-83 %",
                  "lost a cloud in one run of two"):
        assert claim in text, claim
