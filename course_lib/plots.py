"""Plots the course notebooks share: training curves, images, codes, GAN samples.

Every function draws into a new figure made with `matplotlib.pyplot.subplots`
and returns that `Figure`. None of them calls `plt.show()`: in a notebook the
figure appears inline on its own, and without a display (a grading server,
the `Agg` backend) nothing tries to open a window. Save a figure with
`fig.savefig(path)` and free it with `plt.close(fig)` when you make many.

Tip: end a notebook cell with `fig = plot_...(...)` (or a trailing `;`) so the
figure is not shown twice, once by the inline backend and once as the cell's
value.
"""

import math

import matplotlib.pyplot as plt
import numpy as np


def _as_array(values, name):
    """Convert arrays, lists and eager tensors to a NumPy array."""
    try:
        return np.asarray(values)
    except Exception as error:  # noqa: BLE001 - explain what was passed
        raise ValueError(
            f"`{name}` must be an array, list or tensor; received "
            f"{type(values).__name__} ({error}).") from error


def _history_dict(history):
    """Return a {name: list of values} dict from the forms a history takes."""
    if hasattr(history, "history") and isinstance(history.history, dict):
        return history.history  # keras.callbacks.History from model.fit
    if isinstance(history, dict):
        return history
    if isinstance(history, (list, tuple)) and history and all(
            isinstance(record, dict) for record in history):
        names = [name for name in history[0]]
        return {name: [record.get(name, np.nan) for record in history]
                for name in names}
    raise ValueError(
        "`history` must be what `model.fit` returns (a keras History), a "
        "dict such as {'loss': [...]}, or a list of per-step dicts; "
        f"received {type(history).__name__}.")


def plot_history(history, metrics=("loss",)):
    """Plot training curves, one panel per metric.

    Each panel shows the metric per epoch and, when the history also has
    `"val_<metric>"` (from `validation_data` or `validation_split`), the
    validation curve next to it, so over-fitting is visible as the two
    curves parting.

    Args:
        history: The `keras.callbacks.History` returned by `model.fit`, a
            dict mapping names to per-epoch values, or a list of dicts (one
            per epoch or training phase).
        metrics: A metric name or a tuple of names present in the history,
            e.g. `("loss", "accuracy")`.

    Returns:
        The matplotlib `Figure`, with one axes per metric.

    Example:

    >>> fig = plot_history({"loss": [0.9, 0.5, 0.4],
    ...                     "val_loss": [1.0, 0.7, 0.6]})
    >>> len(fig.axes)
    1
    """
    values = _history_dict(history)
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    if not metrics:
        raise ValueError(
            "`metrics` is empty; pass at least one name such as ('loss',).")
    missing = [metric for metric in metrics if metric not in values]
    if missing:
        raise ValueError(
            f"The history has no {missing}; it records {sorted(values)}. "
            "Pass names from that list, and compile the model with "
            "metrics=[...] to record more.")

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2),
                             squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        train = np.asarray(values[metric], dtype=float)
        epochs = np.arange(1, len(train) + 1)
        axis.plot(epochs, train, marker="o", markersize=3, label="training")
        if f"val_{metric}" in values:
            validation = np.asarray(values[f"val_{metric}"], dtype=float)
            axis.plot(np.arange(1, len(validation) + 1), validation,
                      marker="o", markersize=3, label="validation")
            axis.legend()
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.set_title(metric)
        axis.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _image_stack(images, name="images"):
    """Return images as (N, height, width) or (N, height, width, 3|4)."""
    images = _as_array(images, name).astype(float)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4
                                     and images.shape[-1] not in (3, 4)):
        raise ValueError(
            f"`{name}` must have shape (N, height, width), (N, height, width,"
            f" 1) or (N, height, width, 3); received shape {images.shape}.")
    if len(images) == 0:
        raise ValueError(f"`{name}` is empty; pass at least one image.")
    return images


def _draw_images(axes, images, titles, value_range):
    """Show each image on its axes with a shared grey scale."""
    for axis, image, title in zip(axes, images, titles):
        if image.ndim == 2:
            axis.imshow(image, cmap="gray_r", vmin=value_range[0],
                        vmax=value_range[1])
        else:
            axis.imshow(np.clip(image, 0.0, 1.0))
        if title is not None:
            axis.set_title(str(title), fontsize=9)
        axis.set_axis_off()


def plot_image_grid(images, labels=None, ncols=8):
    """Show images in a grid, optionally with a title (label) above each.

    Grayscale images share one colour scale (dark = high values), so
    brightness is comparable across the grid; RGB images must hold values
    in [0, 1].

    Args:
        images: Array of shape `(N, height, width)`,
            `(N, height, width, 1)` or `(N, height, width, 3)`.
        labels: Optional sequence of `N` labels or strings shown as titles,
            e.g. true digits or "3 -> 8" for mistakes.
        ncols: Number of images per row.

    Returns:
        The matplotlib `Figure`, with exactly one axes per image.

    Example:

    >>> fig = plot_image_grid(np.zeros((10, 8, 8, 1)), labels=range(10),
    ...                       ncols=5)
    >>> len(fig.axes)
    10
    """
    images = _image_stack(images)
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) \
            or ncols < 1:
        raise ValueError(
            f"`ncols` must be a positive integer; received ncols={ncols!r}.")
    if labels is None:
        titles = [None] * len(images)
    else:
        titles = list(labels)
        if len(titles) != len(images):
            raise ValueError(
                f"Got {len(images)} images but {len(titles)} labels; pass "
                "one label per image (or labels=None).")
    ncols = min(int(ncols), len(images))
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.5 * nrows),
                             squeeze=False)
    axes = axes.ravel()
    for unused in axes[len(images):]:
        fig.delaxes(unused)
    _draw_images(axes, images, titles, (images.min(), images.max()))
    fig.tight_layout()
    return fig


def _project_to_2d(codes):
    """Return 2-D coordinates and axis names for codes of any width."""
    if codes.shape[1] == 1:
        return codes[:, 0], None, ("code", None)
    if codes.shape[1] == 2:
        return codes[:, 0], codes[:, 1], ("code 1", "code 2")
    centered = codes - codes.mean(axis=0)
    _, _, components = np.linalg.svd(centered, full_matrices=False)
    projected = centered @ components[:2].T
    return (projected[:, 0], projected[:, 1],
            ("principal component 1 of the code",
             "principal component 2 of the code"))


def plot_latent_space(codes, labels=None):
    """Scatter encoder codes, coloured by label, to see whether classes separate.

    Two-dimensional codes are plotted as they are. Wider codes are projected
    onto their first two principal components (the axis labels say so); a
    one-dimensional code is plotted against the label.

    Args:
        codes: Array of shape `(N, latent_dim)`, e.g. `encoder.predict(x)`.
        labels: Optional `(N,)` labels (cell types, digits, k-means
            clusters) used for the colours and the legend.

    Returns:
        The matplotlib `Figure` with one axes (plus a colour bar when there
        are more than 20 distinct labels).

    Example:

    >>> codes = np.random.default_rng(0).normal(size=(100, 2))
    >>> fig = plot_latent_space(codes, labels=np.arange(100) % 4)
    >>> len(fig.axes)
    1
    """
    codes = _as_array(codes, "codes").astype(float)
    if codes.ndim == 1:
        codes = codes[:, np.newaxis]
    if codes.ndim != 2 or len(codes) == 0:
        raise ValueError(
            "`codes` must have shape (N, latent_dim) with N >= 1; received "
            f"shape {codes.shape}.")
    if labels is not None:
        labels = _as_array(labels, "labels").ravel()
        if len(labels) != len(codes):
            raise ValueError(
                f"Got {len(codes)} codes but {len(labels)} labels; pass one "
                "label per code.")
    first, second, (x_name, y_name) = _project_to_2d(codes)
    if second is None:
        second = (np.zeros(len(codes)) if labels is None
                  else np.unique(labels, return_inverse=True)[1])
        y_name = "label"

    fig, axis = plt.subplots(figsize=(5, 4.2))
    if labels is None:
        axis.scatter(first, second, s=10, alpha=0.7)
    else:
        classes = np.unique(labels)
        if len(classes) <= 20:
            colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
            for index, label in enumerate(classes):
                chosen = labels == label
                axis.scatter(first[chosen], second[chosen], s=10, alpha=0.7,
                             color=colours(index), label=str(label))
            axis.legend(title="label", fontsize=8, markerscale=1.5,
                        loc="best")
        else:
            points = axis.scatter(first, second, s=10, alpha=0.7,
                                  c=labels.astype(float), cmap="viridis")
            fig.colorbar(points, ax=axis, label="label")
    axis.set_xlabel(x_name)
    axis.set_ylabel(y_name)
    axis.set_title("latent space")
    fig.tight_layout()
    return fig


def plot_gan_samples(real, fake, max_images=8):
    """Compare real samples with the generator's samples.

    2-D points (the course's GAN data) are overlaid in one scatter plot, so
    missing modes (mode collapse) and off-target samples stand out. Images
    are shown as a grid: real ones in the top row, generated ones below.
    Samples with one feature are compared as histograms; wider feature
    vectors by their first two features.

    Args:
        real: Real samples, `(N, features)` or `(N, height, width[, 1|3])`.
        fake: Generated samples of the same kind, e.g.
            `generator.predict(noise)`.
        max_images: For images, how many of each to show.

    Returns:
        The matplotlib `Figure`: one axes for points, `2 * columns` axes for
        images.

    Example:

    >>> points = np.random.default_rng(0).normal(size=(200, 2))
    >>> fig = plot_gan_samples(points, points + 1.0)
    >>> len(fig.axes)
    1
    """
    real = _as_array(real, "real").astype(float)
    fake = _as_array(fake, "fake").astype(float)
    if real.ndim != fake.ndim or real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            f"`real` has samples of shape {real.shape[1:]} but `fake` has "
            f"{fake.shape[1:]}; pass the same kind of samples, e.g. "
            "generator.predict(noise) for noise of the generator's latent "
            "size.")
    if real.ndim >= 3:
        real = _image_stack(real, "real")
        fake = _image_stack(fake, "fake")
        ncols = max(1, min(int(max_images), len(real), len(fake)))
        fig, axes = plt.subplots(2, ncols, figsize=(1.3 * ncols, 3.0),
                                 squeeze=False)
        both = np.concatenate([real[:ncols], fake[:ncols]])
        value_range = (both.min(), both.max())
        _draw_images(axes[0], real[:ncols], ["real"] + [None] * ncols,
                     value_range)
        _draw_images(axes[1], fake[:ncols], ["generated"] + [None] * ncols,
                     value_range)
        fig.tight_layout()
        return fig
    if real.ndim != 2 or len(real) == 0 or len(fake) == 0:
        raise ValueError(
            "`real` and `fake` must have shape (N, features) or be images; "
            f"received shapes {real.shape} and {fake.shape}.")

    fig, axis = plt.subplots(figsize=(5, 4.5))
    if real.shape[1] == 1:
        bins = np.histogram_bin_edges(np.concatenate([real, fake]), bins=30)
        axis.hist(real[:, 0], bins=bins, alpha=0.5, label="real")
        axis.hist(fake[:, 0], bins=bins, alpha=0.5, label="generated")
        axis.set_xlabel("value")
        axis.set_ylabel("count")
    else:
        axis.scatter(real[:, 0], real[:, 1], s=8, alpha=0.5, label="real")
        axis.scatter(fake[:, 0], fake[:, 1], s=8, alpha=0.5, marker="x",
                     label="generated")
        axis.set_xlabel("feature 1")
        axis.set_ylabel("feature 2")
        axis.set_aspect("equal", adjustable="datalim")
    axis.legend()
    axis.set_title("real vs generated samples")
    fig.tight_layout()
    return fig


def plot_mode_coverage(real, samples, num_modes):
    """Generated points beside the real ones, one panel per generator.

    Each panel's title gives the modes reached and the share of samples
    inside a mode, as measured by `course_lib.modes.mode_coverage`.

    Args:
        real: Real 2-D points, `(N, 2)`.
        samples: Dict mapping a name (e.g. "with batch normalization") to
            that generator's points, `(M, 2)`.
        num_modes: Number of modes (clouds) of the real data.

    Returns:
        The matplotlib `Figure`, one axes per entry of `samples`.

    Example:

    >>> points = np.random.default_rng(0).normal(size=(200, 2))
    >>> fig = plot_mode_coverage(points, {"a": points, "b": points + 0.5}, num_modes=1)
    >>> [axis.get_title().split(":")[0] for axis in fig.axes]
    ['a', 'b']
    """
    from course_lib.modes import mode_coverage

    real = _as_array(real, "real").astype(float)
    if not isinstance(samples, dict) or not samples:
        raise ValueError("`samples` must be a dict mapping a name to generated points, "
                         "e.g. {'with batch normalization': fake_points}.")
    fig, axes = plt.subplots(1, len(samples), figsize=(4 * len(samples), 4), squeeze=False)
    for axis, (name, points) in zip(axes[0], samples.items()):
        points = _as_array(points, name).astype(float)
        coverage = mode_coverage(real, points, num_modes)
        axis.scatter(real[:, 0], real[:, 1], s=6, alpha=0.4, label="real")
        axis.scatter(points[:, 0], points[:, 1], s=6, alpha=0.5, marker="x", label="generated")
        axis.set_aspect("equal", adjustable="datalim")
        axis.set_title(f"{name}: {coverage.modes_reached} of {num_modes} modes, "
                       f"{coverage.inside:.0%} inside", fontsize=9)
    axes[0][0].legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig
