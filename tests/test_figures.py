"""The figures draw into the Axes they are given, return the Figure, and save on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flatprop.demo import figures

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HISTORY = {
    "loss_history": list(np.linspace(2.0, 0.5, 30)),
    "train_acc_history": [0.5, 0.7, 0.9],
    "val_acc_history": [0.4, 0.6, 0.8],
}


def test_plot_loss_shapes_draws_one_curve_per_loss_into_the_axes_given() -> None:
    figure = Figure()
    left, right = figure.subplots(1, 2)
    returned = figures.plot_loss_shapes(ax=(left, right))
    assert returned is figure
    labels = [line.get_label() for line in left.lines if not line.get_label().startswith("_")]
    assert sorted(labels) == [
        "L2 to one-hot",
        "multiclass SVM (hinge)",
        "softmax cross-entropy",
        "squared hinge",
    ]
    assert len(right.lines) == len(left.lines)
    assert figure._suptitle is None  # the caller's figure keeps its own title


def test_plot_training_draws_the_history_and_returns_a_new_figure() -> None:
    figure = figures.plot_training(HISTORY, title="run 1")
    assert isinstance(figure, Figure)
    left, right = figure.axes
    assert list(left.lines[0].get_ydata()) == HISTORY["loss_history"]
    assert [list(line.get_ydata()) for line in right.lines] == [
        HISTORY["train_acc_history"],
        HISTORY["val_acc_history"],
    ]
    assert figure._suptitle.get_text() == "run 1"


@pytest.mark.parametrize(
    "draw", [figures.plot_loss_shapes, lambda p: figures.plot_training(HISTORY, p)]
)
def test_a_path_saves_the_figure_too(draw, tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "figure.png"
    assert isinstance(draw(path), Figure)
    assert path.read_bytes()[:8] == PNG_SIGNATURE


@pytest.mark.parametrize("ax", ["not axes", [], [object(), object()]])
def test_anything_but_two_axes_is_refused(ax) -> None:
    with pytest.raises(ValueError, match="ax must be two matplotlib Axes"):
        figures.plot_training(HISTORY, ax=ax)
