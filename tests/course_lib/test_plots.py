"""Tests for course_lib.plots: each plot returns a Figure and needs no display."""

import doctest
import os
import subprocess
import sys
import textwrap

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from course_lib import plots  # noqa: E402
from course_lib.plots import (plot_gan_samples, plot_history,  # noqa: E402
                              plot_image_grid, plot_latent_space, plot_mode_coverage)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


class FakeHistory:
    """Stands in for keras.callbacks.History (only `.history` is used)."""

    def __init__(self, history):
        self.history = history


HISTORY = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7],
           "accuracy": [0.5, 0.7, 0.8]}


def test_plot_history_one_axes_per_metric():
    fig = plot_history(FakeHistory(HISTORY), metrics=("loss", "accuracy"))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    loss_axes, accuracy_axes = fig.axes
    assert len(loss_axes.lines) == 2  # training and validation
    assert len(accuracy_axes.lines) == 1  # no val_accuracy recorded
    np.testing.assert_array_equal(loss_axes.lines[0].get_ydata(),
                                  HISTORY["loss"])


def test_plot_history_accepts_dict_string_and_list_of_records():
    assert len(plot_history(HISTORY, metrics="loss").axes) == 1
    records = [{"discriminator_accuracy": 0.9, "generator_loss": 2.0},
               {"discriminator_accuracy": 0.6, "generator_loss": 1.2}]
    fig = plot_history(records, metrics=("discriminator_accuracy",
                                         "generator_loss"))
    assert len(fig.axes) == 2
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(),
                                  [0.9, 0.6])


def test_plot_history_names_the_recorded_metrics_when_one_is_missing():
    with pytest.raises(ValueError, match="records \\['accuracy', 'loss'"):
        plot_history(HISTORY, metrics=("acc",))
    with pytest.raises(ValueError, match="what `model.fit` returns"):
        plot_history([1, 2, 3])


@pytest.mark.parametrize("shape", [(10, 8, 8), (10, 8, 8, 1), (10, 6, 6, 3)])
def test_plot_image_grid_one_axes_per_image(shape):
    images = np.random.default_rng(0).random(shape)
    fig = plot_image_grid(images, labels=list(range(10)), ncols=4)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 10
    assert fig.axes[3].get_title() == "3"
    assert len(fig.axes[0].images) == 1


def test_plot_image_grid_fewer_images_than_columns():
    fig = plot_image_grid(np.zeros((3, 8, 8, 1)))
    assert len(fig.axes) == 3


def test_plot_image_grid_rejects_mismatched_labels_and_bad_shapes():
    with pytest.raises(ValueError, match="one label per image"):
        plot_image_grid(np.zeros((4, 8, 8)), labels=[1, 2])
    with pytest.raises(ValueError, match="\\(N, height, width\\)"):
        plot_image_grid(np.zeros((4, 64)))


def test_plot_latent_space_colours_each_label():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(60, 2))
    labels = np.arange(60) % 3
    fig = plot_latent_space(codes, labels)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    axis = fig.axes[0]
    assert len(axis.collections) == 3  # one scatter per label
    assert [text.get_text() for text in axis.get_legend().get_texts()] == [
        "0", "1", "2"]


def test_plot_latent_space_projects_wide_codes_and_handles_many_labels():
    rng = np.random.default_rng(0)
    fig = plot_latent_space(rng.normal(size=(50, 5)), np.arange(50))
    assert len(fig.axes) == 2  # the scatter and its colour bar
    assert "principal component" in fig.axes[0].get_xlabel()
    assert len(plot_latent_space(rng.normal(size=(20, 1)),
                                 np.arange(20) % 2).axes) == 1
    with pytest.raises(ValueError, match="one label per code"):
        plot_latent_space(rng.normal(size=(5, 2)), [0, 1])


def test_plot_gan_samples_points_overlay():
    rng = np.random.default_rng(0)
    fig = plot_gan_samples(rng.normal(size=(40, 2)),
                           rng.normal(size=(30, 2)) + 2)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].collections) == 2  # real and generated


def test_plot_gan_samples_images_two_rows():
    rng = np.random.default_rng(0)
    fig = plot_gan_samples(rng.random((10, 8, 8, 1)), rng.random((10, 8, 8, 1)),
                           max_images=5)
    assert len(fig.axes) == 10


def test_plot_gan_samples_rejects_different_kinds():
    with pytest.raises(ValueError, match="same kind of samples"):
        plot_gan_samples(np.zeros((5, 2)), np.zeros((5, 3)))


def test_docstring_examples_run():
    results = doctest.testmod(plots)
    assert results.attempted > 0
    assert results.failed == 0


def test_plots_work_without_a_display():
    """A fresh process with no DISPLAY and no backend chosen draws and saves."""
    script = textwrap.dedent("""
        import io
        import numpy as np
        import matplotlib.pyplot as plt
        from course_lib.plots import (plot_gan_samples, plot_history,
                                      plot_image_grid, plot_latent_space)
        rng = np.random.default_rng(0)
        figures = [
            plot_history({"loss": [1.0, 0.5], "val_loss": [1.2, 0.7]}),
            plot_image_grid(rng.random((5, 8, 8, 1)), labels=range(5)),
            plot_latent_space(rng.normal(size=(30, 2)), np.arange(30) % 3),
            plot_gan_samples(rng.normal(size=(30, 2)), rng.normal(size=(30, 2))),
        ]
        for figure in figures:
            figure.savefig(io.BytesIO(), format="png")
        print(plt.get_backend().lower())
    """)
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    finished = subprocess.run([sys.executable, "-c", script],
                              capture_output=True, text=True, timeout=120,
                              env=environment)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip().endswith("agg")


def test_plot_mode_coverage_titles_give_the_measurement():
    rng = np.random.default_rng(0)
    real = np.concatenate([centre + rng.normal(0, 0.3, (100, 2))
                           for centre in ([0, 0], [5, 0], [0, 5])])
    fig = plot_mode_coverage(real, {"all": real + 0.05, "one": real[:100]}, num_modes=3)
    assert isinstance(fig, Figure)
    assert [axis.get_title().split(",")[0] for axis in fig.axes] == [
        "all: 3 of 3 modes", "one: 1 of 3 modes"]


def test_plot_mode_coverage_wants_named_samples():
    with pytest.raises(ValueError, match="dict mapping a name"):
        plot_mode_coverage(np.zeros((10, 2)), np.zeros((10, 2)), num_modes=1)
