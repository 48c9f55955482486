"""`plot_history`: the loss and metric curves of a training run, the picture people check after fit.

It draws one panel per metric with its validation curve (`val_<metric>`) next to it, so
overfitting (training loss falling while validation loss rises) shows at a glance. matplotlib is
an optional extra (`graphc[plot]`); the figure is built with matplotlib's object API and its Agg
canvas, never pyplot, so it works without a display and leaves the user's pyplot state alone.
Files are written atomically: a crash leaves the old picture or the new one, never half a PNG.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphc.archive import atomic_output
from graphc.frontend.datasets._optional import import_optional

__all__ = ["plot_history"]

#: File types `to_file` may have.
FORMATS = ("png", "svg", "pdf")
_CALLER = "plot_history"


def plot_history(
    history: Any,
    to_file: str | os.PathLike | None = None,
    metrics: str | Sequence[str] | None = None,
) -> Any:
    """Plot the loss and metrics recorded by `fit`, each with its validation curve.

    Args:
        history: what `model.fit` returns (an object with a `.history` dict, like Keras'
            `History`) or a dict such as `{"loss": [...], "val_loss": [...]}`.
        to_file: write the figure here; the type comes from the extension (.png, .svg, .pdf).
        metrics: the names to plot (e.g. "accuracy"); by default every recorded metric, loss
            first. Each panel also shows `val_<name>` when it was recorded.

    Returns:
        The matplotlib `Figure` (displayed inline in notebooks).

    Raises:
        ValueError: an empty history, unknown metric names, series of different lengths,
            or an unsupported file extension.
        TypeError: `history` is neither a History nor a dict.
        MissingDependencyError: matplotlib is not installed.

    >>> history = {"loss": [0.9, 0.5, 0.4], "accuracy": [0.6, 0.8, 0.85],
    ...            "val_loss": [1.0, 0.7, 0.75], "val_accuracy": [0.55, 0.7, 0.72]}
    >>> figure = plot_history(history)
    >>> [axes.get_title() for axes in figure.axes]
    ['loss', 'accuracy']
    >>> [line.get_label() for line in figure.axes[0].get_lines()]
    ['training', 'validation']
    """
    logs, epochs = _logs(history)
    names = _metric_names(logs, metrics)
    file_format = _file_format(to_file) if to_file is not None else None
    figure_module = import_optional("matplotlib.figure", "plot", _CALLER)
    ticker = import_optional("matplotlib.ticker", "plot", _CALLER)
    figure = figure_module.Figure(figsize=(4.5 * len(names), 3.5), layout="constrained")
    for axes, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names):
        axes.plot(epochs, logs[name], marker="o", label="training")
        if f"val_{name}" in logs:
            axes.plot(epochs, logs[f"val_{name}"], marker="o", label="validation")
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    if to_file is not None:
        with atomic_output(to_file) as out:
            figure.savefig(out, format=file_format)
    return figure


def _logs(history: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The recorded series as float arrays, and the epoch numbers (from 1) they belong to."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError(
            f"{_CALLER}: expected the History returned by fit (with a `.history` dict) or a "
            f"dict of per-epoch values, got {type(history).__name__}"
        )
    if not logs:
        raise ValueError(f"{_CALLER}: the history is empty; there is nothing to plot")
    series = {name: _series(name, values) for name, values in logs.items()}
    lengths = {name: len(values) for name, values in series.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(
            f"{_CALLER}: every series needs one value per epoch, but the lengths differ: {lengths}"
        )
    count = next(iter(lengths.values()))
    recorded = getattr(history, "epoch", None)  # Keras' History.epoch counts from 0
    if recorded is not None and len(recorded) == count:
        return series, np.asarray(recorded) + 1
    return series, np.arange(1, count + 1)


def _series(name: str, values: Any) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 1:
            return array
    except (TypeError, ValueError):
        pass
    raise ValueError(
        f"{_CALLER}: {name!r} must be a list of numbers, one per epoch, got {values!r}"
    )


def _metric_names(logs: Mapping[str, Any], metrics: str | Sequence[str] | None) -> list[str]:
    if metrics is None:
        names = [name for name in logs if not (name.startswith("val_") and name[4:] in logs)]
        return sorted(names, key=lambda name: name != "loss")  # stable: loss first
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [name for name in names if name not in logs]
    if unknown or not names:
        raise ValueError(
            f"{_CALLER}: cannot plot {unknown or 'no metrics'}; the history records {list(logs)}"
        )
    return names


def _file_format(to_file: str | os.PathLike) -> str:
    extension = os.path.splitext(os.fspath(to_file))[1].lstrip(".").lower()
    if extension not in FORMATS:
        raise ValueError(
            f"{_CALLER}: cannot tell the file type of {os.fspath(to_file)!r}; use one of the "
            f"extensions {', '.join('.' + f for f in FORMATS)}"
        )
    return extension
