"""What a model's ``train`` shows while it runs: a progress bar, progress lines, or nothing.

The bar is tqdm's (``tqdm.auto``: a widget in Jupyter, text in a terminal), when tqdm
is installed (``pip install "flatprop[progress]"``); tqdm is imported here only when a
bar is asked for, never when flatprop is imported. Without tqdm, the same request
prints about ten plain lines instead.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TrainingProgress", "progress_line"]

LINES = 10  # about this many progress lines over a run


def _latest_accuracies(history: dict[str, list[float]]) -> dict[str, str]:
    """``{"train acc": "0.950", "val acc": "0.961"}``: the latest of each, if any."""
    return {
        f"{label} acc": f"{history[key][-1]:.3f}"
        for key, label in (("train_acc_history", "train"), ("val_acc_history", "val"))
        if history[key]
    }


def progress_line(
    iteration: int, num_iters: int, loss: float, history: dict[str, list[float]]
) -> str:
    """``iteration 300/3000: loss 0.512345, train acc 0.950, val acc 0.961``."""
    accuracies = "".join(f", {name} {value}" for name, value in _latest_accuracies(history).items())
    return f"iteration {iteration}/{num_iters}: loss {loss:.6f}{accuracies}"


class TrainingProgress:
    """Reports a training run: :meth:`step` after each step, :meth:`close` at the end.

    Parameters
    ----------
    num_iters : int
    verbose : bool
        Print about ten progress lines.
    progress : bool
        Show a progress bar (tqdm's) instead, or the lines when tqdm is not installed.
    """

    def __init__(self, num_iters: int, *, verbose: bool, progress: bool) -> None:
        self._num_iters = num_iters
        self._every = max(num_iters // LINES, 1)
        self._bar = _new_bar(num_iters) if progress else None
        self._lines = verbose or (progress and self._bar is None)

    def close(self) -> None:
        """Close the bar, if any (tqdm closes a bar left open when it is collected)."""
        if self._bar is not None:
            self._bar.close()

    def step(
        self, iteration: int, loss: float, history: dict[str, list[float]], *, last: bool = False
    ) -> None:
        """Report the step ``iteration`` (from 1) and its minibatch ``loss``.

        ``last`` is True if training stops there, before ``num_iters``.
        """
        due = last or iteration in (1, self._num_iters) or iteration % self._every == 0
        if self._bar is not None:
            self._bar.update(1)
            if due:
                postfix = {"loss": f"{loss:.4f}", **_latest_accuracies(history)}
                self._bar.set_postfix(postfix, refresh=False)
        if self._lines and due:
            print(progress_line(iteration, self._num_iters, loss, history))


def _new_bar(num_iters: int) -> Any:
    """The notebook-aware bar of tqdm, or None when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=num_iters, desc="training", unit="step", leave=True)
