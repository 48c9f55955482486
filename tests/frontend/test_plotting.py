"""plot_history: panels per metric with validation curves, atomic PNG/SVG files, clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from graphc.errors import MissingDependencyError
from graphc.frontend.utils.plotting import plot_history

pytest.importorskip("matplotlib")

HISTORY = {
    "loss": [1.2, 0.7, 0.5, 0.45],
    "accuracy": [0.5, 0.7, 0.8, 0.85],
    "val_loss": [1.3, 0.9, 0.8, 0.85],
    "val_accuracy": [0.45, 0.6, 0.7, 0.68],
}


class FakeHistory:
    """The shape of Keras' History: `.history` and `.epoch` (counted from 0)."""

    def __init__(self, history: dict, epoch: list[int]) -> None:
        self.history = history
        self.epoch = epoch


def lines(axes) -> dict[str, tuple[list, list]]:
    return {
        line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
        for line in axes.get_lines()
    }


def test_one_panel_per_metric_with_its_validation_curve() -> None:
    history = {"accuracy": HISTORY["accuracy"], **HISTORY}  # loss still comes first
    figure = plot_history(history)
    assert [axes.get_title() for axes in figure.axes] == ["loss", "accuracy"]
    loss = lines(figure.axes[0])
    assert loss == {
        "training": ([1, 2, 3, 4], HISTORY["loss"]),
        "validation": ([1, 2, 3, 4], HISTORY["val_loss"]),
    }
    assert figure.axes[1].get_xlabel() == "epoch"


def test_a_history_object_uses_its_epochs() -> None:
    figure = plot_history(FakeHistory({"loss": [3.0, 2.0]}, epoch=[4, 5]))
    assert lines(figure.axes[0]) == {"training": ([5, 6], [3.0, 2.0])}


def test_metrics_selects_panels() -> None:
    figure = plot_history(HISTORY, metrics="accuracy")
    assert [axes.get_title() for axes in figure.axes] == ["accuracy"]
    figure = plot_history(HISTORY, metrics=["accuracy", "val_loss"])
    assert [axes.get_title() for axes in figure.axes] == ["accuracy", "val_loss"]
    with pytest.raises(ValueError, match=r"cannot plot \['auc'\]; the history records"):
        plot_history(HISTORY, metrics=["auc"])


@pytest.mark.parametrize(
    ("suffix", "signature"), [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml")]
)
def test_writes_the_file_atomically(tmp_path: Path, suffix: str, signature: bytes) -> None:
    target = tmp_path / f"history{suffix}"
    target.write_bytes(b"old")
    plot_history(HISTORY, to_file=target)
    data = target.read_bytes()
    assert data.startswith(signature) and len(data) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporary left


def test_png_has_the_figure_size(tmp_path: Path) -> None:
    target = tmp_path / "h.png"
    figure = plot_history(HISTORY, to_file=str(target))
    width, height = np.frombuffer(target.read_bytes()[16:24], dtype=">u4")
    assert (width, height) == tuple(int(v) for v in figure.get_size_inches() * figure.dpi)


@pytest.mark.parametrize(
    ("history", "error", "message"),
    [
        ({}, ValueError, "the history is empty"),
        ([0.5, 0.4], TypeError, "expected the History returned by fit"),
        ({"loss": [1.0, 0.5], "val_loss": [1.0]}, ValueError, "the lengths differ"),
        ({"loss": [[1.0], [0.5]]}, ValueError, "'loss' must be a list of numbers"),
        ({"loss": ["a", "b"]}, ValueError, "'loss' must be a list of numbers"),
    ],
)
def test_bad_histories_are_refused(history, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        plot_history(history)


def test_unknown_file_types_are_refused_before_drawing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"use one of the extensions \.png, \.svg, \.pdf"):
        plot_history(HISTORY, to_file=tmp_path / "history.gif")
    assert list(tmp_path.iterdir()) == []


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingDependencyError, match='pip install "graphc\\[plot\\]"'):
        plot_history(HISTORY)
