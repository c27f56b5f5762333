"""Figures: the four losses against the margin, and training curves.

matplotlib is optional (``pip install "flatprop[plot]"``) and imported only inside the
functions that draw, never when flatprop is imported. The data behind each figure
(:func:`loss_shapes`) is computed by flatprop's losses and needs NumPy only.

Each plotting function draws two panels, the way matplotlib users expect: into the two
Axes given as ``ax`` (e.g. ``fig, ax = plt.subplots(1, 2)``), or into a new Figure of
its own (made without pyplot, so no window opens); it returns the Figure, which
Jupyter shows, and saves it when given a ``path``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from flatprop._validation import FloatArray, as_float_array
from flatprop.losses import LOSSES, LossSpec

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "LINE_STYLES",
    "MATPLOTLIB_HINT",
    "loss_shapes",
    "matplotlib_available",
    "plot_loss_shapes",
    "plot_training",
]

MATPLOTLIB_HINT = (
    'pip install "flatprop[plot]"  (from a clone of the repository: pip install ".[plot]"; '
    "or just: pip install matplotlib)"
)

LINE_STYLES: dict[str, dict[str, Any]] = {
    "squared_hinge": {"linewidth": 2.5, "linestyle": "--", "zorder": 3},
    "l2": {"linewidth": 5, "alpha": 0.45, "zorder": 1},
}
"""How :func:`plot_loss_shapes` draws a loss of :data:`flatprop.losses.LOSSES`, by its
name, where not as a plain line. For m < 1 the squared hinge and the L2 loss coincide,
(1 - m)^2: the L2 curve is drawn wide and pale underneath, the squared hinge dashed on
top, so that both show."""
_PLAIN_LINE: dict[str, Any] = {"linewidth": 2}


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported (it is, if so: call only when about to draw)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _two_axes(ax: Sequence[Axes] | None, width: float, height: float) -> tuple[Figure, Axes, Axes]:
    """The Figure and the two panels to draw into: ``ax``, checked, or a new Figure's.

    A new Figure is not attached to any GUI (no pyplot, no global state).
    """
    if ax is not None:
        axes = list(ax) if isinstance(ax, Sequence | np.ndarray) else [ax]
        if len(axes) != 2 or not all(hasattr(one, "plot") for one in axes):
            raise ValueError(
                f"ax must be two matplotlib Axes (the loss panel and the other), e.g. "
                f"plt.subplots(1, 2)[1], got {ax!r}"
            )
        return _root_figure(axes[0]), axes[0], axes[1]
    try:
        from matplotlib.figure import Figure
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            f"drawing a figure needs matplotlib, which is not installed: {MATPLOTLIB_HINT}"
        ) from error
    figure = Figure(figsize=(width, height), layout="constrained")
    left, right = figure.subplots(1, 2)
    return figure, left, right


def loss_shapes(margins: npt.ArrayLike) -> dict[str, tuple[FloatArray, FloatArray]]:
    r"""Each loss and its slope against the margin :math:`m = s_y - s_j`, for two classes.

    The scores are :math:`(s_y, s_j) = (m, 0)` with label :math:`y = 0`, one row per
    margin, so that (with the default margin :math:`\Delta = 1`)

    - hinge: :math:`\max(0, 1 - m)`, slope -1 until m = 1, then 0;
    - squared hinge: :math:`\max(0, 1 - m)^2`, slope :math:`-2 \max(0, 1 - m)`;
    - softmax cross-entropy: :math:`\log(1 + e^{-m})`, slope :math:`-1 / (1 + e^{m})`;
    - L2 to the one-hot target (1, 0): :math:`(m - 1)^2`, which also punishes m > 1.

    Values and slopes come from the losses of :data:`flatprop.losses.LOSSES`
    (``reduction="none"``) and their backward passes: the slope is the gradient with
    respect to :math:`s_y`.

    Parameters
    ----------
    margins : array_like, shape (N,)

    Returns
    -------
    dict
        ``{name: (losses, slopes)}``, (N,) arrays, for each loss in the registry's order,
        by its :attr:`~flatprop.losses.LossSpec.title` (a regression loss's with " to
        one-hot").

    Examples
    --------
    >>> shapes = loss_shapes([-1.0, 0.0, 1.0, 2.0])
    >>> print(shapes["multiclass SVM (hinge)"][0], shapes["L2 to one-hot"][0])
    [2. 1. 0. 0.] [4. 1. 0. 1.]
    >>> print(shapes["squared hinge"][1])
    [-4. -2.  0.  0.]
    """
    m = as_float_array(margins, "margins", ndim=1)
    scores = np.column_stack([m, np.zeros_like(m)])
    labels = np.zeros(len(m), dtype=np.int64)
    one_hot = np.column_stack([np.ones_like(m), np.zeros_like(m)])
    shapes = {}
    for spec in LOSSES.values():
        target = labels if spec.classification else one_hot
        loss, grads = spec.function(scores, target, reduction="none")
        # Column 0 holds s_y = m: the gradient there is the slope dL/dm.
        shapes[_shape_name(spec)] = (np.asarray(loss), grads[spec.input_name][:, 0])
    return shapes


def _shape_name(spec: LossSpec) -> str:
    return spec.title if spec.classification else f"{spec.title} to one-hot"


def plot_loss_shapes(
    path: str | Path | None = None,
    *,
    ax: Sequence[Axes] | None = None,
    low: float = -3.0,
    high: float = 3.0,
) -> Figure:
    """Draw :func:`loss_shapes`: the losses in one panel, their slopes in the other.

    Parameters
    ----------
    path : str or Path, optional
        Also save the figure there (PNG, SVG, PDF: by the suffix).
    ax : two matplotlib Axes, optional
        Draw into these (losses, slopes), e.g. ``plt.subplots(1, 2)[1]``; by default a
        new Figure of 10 x 4 inches.
    low, high : float
        The range of margins.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into. Needs matplotlib.

    Raises
    ------
    ValueError
        If ``ax`` is not two Axes.
    ModuleNotFoundError
        Without matplotlib.
    """
    figure, left, right = _two_axes(ax, 10, 4)
    margins = np.linspace(low, high, 601)
    shapes = loss_shapes(margins)
    for spec, (name, (losses, slopes)) in zip(LOSSES.values(), shapes.items(), strict=True):
        style = LINE_STYLES.get(spec.name, _PLAIN_LINE)
        left.plot(margins, losses, label=name, **style)
        right.plot(margins, slopes, label=name, **style)
    for axes, title in ((left, "loss L"), (right, "slope dL/dm")):
        axes.axvline(1.0, color="grey", linestyle=":", linewidth=1)
        axes.axhline(0.0, color="grey", linewidth=0.5)
        axes.set_xlabel("margin m = s_y - s_j  (correct minus other score)")
        axes.set_title(title)
        axes.grid(alpha=0.3)
    left.set_ylim(-0.2, 5)
    right.set_ylim(-4.2, 4.2)
    right.legend(loc="lower right")
    if ax is None:
        figure.suptitle(
            "Four losses against the margin m (two classes, s_j = 0; dotted: m = 1, the SVM margin)"
        )
    return _saved(figure, path)


def plot_training(
    history: Mapping[str, Sequence[float]],
    path: str | Path | None = None,
    *,
    ax: Sequence[Axes] | None = None,
    title: str = "Training",
    iterations_per_epoch: float = 1.0,
) -> Figure:
    """Draw a training history: the loss per iteration, the accuracies per epoch.

    Parameters
    ----------
    history : mapping
        ``"loss_history"`` (one per iteration), ``"train_acc_history"`` and
        ``"val_acc_history"`` (one per epoch), as ``train`` of flatprop's nets returns
        (or passes to its ``callback``, to redraw while training).
    path : str or Path, optional
        Also save the figure there (PNG, SVG, PDF: by the suffix).
    ax : two matplotlib Axes, optional
        Draw into these (loss, accuracy), e.g. ``plt.subplots(1, 2)[1]``; by default a
        new Figure of 10 x 4 inches.
    title : str
        The title of a new Figure (not set on a Figure given through ``ax``).
    iterations_per_epoch : float
        To put the accuracies on the iteration axis.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into. Needs matplotlib.

    Raises
    ------
    ValueError
        If ``ax`` is not two Axes.
    ModuleNotFoundError
        Without matplotlib.
    """
    figure, left, right = _two_axes(ax, 10, 4)
    losses = np.asarray(history["loss_history"], dtype=np.float64)
    left.plot(np.arange(1, len(losses) + 1), losses, linewidth=0.8, alpha=0.5, label="minibatch")
    window = max(1, len(losses) // 50)
    if len(losses) >= window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        left.plot(np.arange(window, len(losses) + 1), smooth, linewidth=2, label="moving mean")
    left.set(xlabel="iteration", ylabel="loss", title="training loss (with reg)")
    left.legend()
    lowest = 1.0
    for key, label in (
        ("train_acc_history", "training (the epoch's last minibatch)"),
        ("val_acc_history", "held out"),
    ):
        accuracies = np.asarray(history.get(key, ()), dtype=np.float64)
        if accuracies.size:
            epochs = np.arange(1, len(accuracies) + 1) * iterations_per_epoch
            right.plot(epochs, accuracies, label=label, linewidth=1.5)
            lowest = min(lowest, float(accuracies.min()))
    right.set(xlabel="iteration", ylabel="accuracy", title="accuracy, once per epoch")
    right.set_ylim(max(0.0, lowest - 0.05), 1.01)
    right.legend(loc="lower right")
    for axes in (left, right):
        axes.grid(alpha=0.3)
    if ax is None:
        figure.suptitle(title)
    return _saved(figure, path)


def _root_figure(axes: Axes) -> Figure:
    """The Figure that ``axes`` is drawn in (the root one, for Axes in a SubFigure)."""
    from matplotlib.figure import Figure

    figure = axes.figure
    return figure if isinstance(figure, Figure) else figure.figure


def _saved(figure: Figure, path: str | Path | None) -> Figure:
    """``figure``, saved to ``path`` first when one is given."""
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target, dpi=120)
    return figure
