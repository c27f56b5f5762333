"""What training shows while it runs: the callback after each epoch, a progress bar or lines.

Epoch counts are worked out by hand from N, batch_size and num_iters: an epoch is
max(N // batch_size, 1) steps.
"""

from __future__ import annotations

import numpy as np
import pytest

from flatprop.nets import LinearClassifier
from helpers import hide, run_python

X = np.random.default_rng(0).standard_normal((60, 2))
Y = (X[:, 0] > 0).astype(int)
SGD = {"learning_rate": 0.5, "batch_size": 20, "seed": 0}  # 60 // 20 = 3 steps an epoch


def test_the_callback_gets_the_history_after_every_epoch() -> None:
    seen: list[tuple[int, int]] = []

    def callback(history: dict[str, list[float]]) -> None:
        seen.append((len(history["loss_history"]), len(history["train_acc_history"])))

    model = LinearClassifier(2, 2, head="softmax", seed=0)
    model.train(X, Y, num_iters=31, callback=callback, **SGD)
    # 31 steps of 3 an epoch: 10 whole epochs, after steps 3, 6, ..., 30.
    assert seen == [(3 * epoch, epoch) for epoch in range(1, 11)]


def test_a_callback_that_returns_false_stops_training_after_that_epoch() -> None:
    model = LinearClassifier(2, 2, head="softmax", seed=0)
    history = model.train(
        X, Y, num_iters=300, callback=lambda h: len(h["train_acc_history"]) < 4, **SGD
    )
    assert len(history["loss_history"]) == 4 * 3
    assert len(history["train_acc_history"]) == 4


def test_a_callback_returning_none_or_true_goes_on() -> None:
    for value in (None, True, 0):
        model = LinearClassifier(2, 2, head="softmax", seed=0)
        history = model.train(X, Y, num_iters=12, callback=lambda h, v=value: v, **SGD)
        assert len(history["loss_history"]) == 12


def test_a_callback_that_is_not_callable_is_a_type_error() -> None:
    model = LinearClassifier(2, 2, head="softmax", seed=0)
    with pytest.raises(TypeError, match="callback must be callable or None, got 'stop'"):
        model.train(X, Y, num_iters=3, callback="stop", **SGD)  # type: ignore[arg-type]


def test_the_l2_head_calls_back_too_with_empty_accuracies() -> None:
    seen: list[int] = []
    model = LinearClassifier(2, 2, head="l2", seed=0)
    targets = np.column_stack([X[:, 0], -X[:, 0]])
    model.train(
        X, targets, num_iters=6, callback=lambda h: seen.append(len(h["train_acc_history"])), **SGD
    )
    assert seen == [0, 0]


TRAIN = (
    "import numpy as np\n"
    "from flatprop.nets import LinearClassifier\n"
    "X = np.random.default_rng(0).standard_normal((60, 2)); y = (X[:, 0] > 0).astype(int)\n"
    "model = LinearClassifier(2, 2, head='softmax', seed=0)\n"
    "model.train(X, y, num_iters=30, learning_rate=0.5, batch_size=20, seed=0, progress=True)\n"
)


def test_without_tqdm_progress_prints_the_plain_lines() -> None:
    done = run_python("-c", hide("tqdm") + "\n" + TRAIN)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "iteration 1/30: loss " + lines[0].split("loss ")[1]
    assert lines[-1].startswith("iteration 30/30: loss ")
    assert len(lines) == 11  # steps 1, 3, 6, ..., 30
    assert done.stderr == ""


def test_with_tqdm_progress_draws_a_bar_and_prints_no_lines() -> None:
    pytest.importorskip("tqdm")
    done = run_python("-c", TRAIN)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "30/30" in done.stderr
    assert "training" in done.stderr


def test_importing_the_models_does_not_import_tqdm() -> None:
    done = run_python("-c", "import sys, flatprop.nets\nassert 'tqdm' not in sys.modules")
    assert done.returncode == 0, done.stderr
