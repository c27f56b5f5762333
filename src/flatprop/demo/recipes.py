"""Train a model of :mod:`flatprop.nets` on a named data set, with settings that work.

What ``flatprop train``, ``flatprop demo`` and ``examples/train_digits.py`` share: the
data preparation (a seeded, stratified 80/20 split; features centred by the training
mean), the default settings for each data set, and the final accuracies.

The digits defaults (a 64-200-10 ReLU net, softmax head with label smoothing 0.1, 3,000
steps of minibatch SGD) reach about 98% held-out accuracy on the default split
(:func:`train` with ``default_settings("digits")``); the spiral defaults fit the 3-arm
spiral that a linear classifier cannot. Each head has defaults that suit it: the
squared hinge's gradient grows with the margin, so it takes a smaller learning rate
(0.1) where the other heads take 0.5 or 1 (the digits linear model takes 0.1 with
every head).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from flatprop._validation import (
    FloatArray,
    IntArray,
    as_count,
    as_non_negative_scalar,
    as_positive_scalar,
    as_real_scalar,
    as_rng,
)
from flatprop.datasets import load_digits, spiral, train_test_split
from flatprop.losses import LOSSES, find_loss
from flatprop.nets import LinearClassifier, TwoLayerNet

__all__ = [
    "DATA_NAMES",
    "HEAD_NAMES",
    "MODEL_NAMES",
    "PreparedData",
    "Settings",
    "TrainingResult",
    "default_settings",
    "describe",
    "prepare_data",
    "train",
]

DATA_NAMES = ("digits", "spiral")
MODEL_NAMES = ("two-layer", "linear")
HEAD_NAMES = tuple(spec.head for spec in LOSSES.values() if spec.classification)
"""The heads a model can be trained with on labelled data: the classification losses."""
SPIRAL_POINTS_PER_CLASS = 100
SPIRAL_CLASSES = 3


@dataclass(frozen=True)
class Settings:
    """Everything that decides a training run. See :func:`default_settings`.

    ``learning_rate_decay`` multiplies the learning rate once per epoch, that is every
    ``max(N // batch_size, 1)`` steps. ``label_smoothing`` applies to a head whose loss
    takes it (the softmax head) only; ``hidden_size`` to the two-layer net only.
    Every value is checked when the settings are made: a bad one is a ``TypeError`` or
    ``ValueError`` naming the field. ``std`` may be 0 for the linear model (its loss is
    convex: it learns from zero weights) but not for the two-layer net: with every
    weight 0, the hidden layer's output and so the gradients of ``W1``, ``b1`` and
    ``W2`` are 0, and only ``b2`` would ever move: a run that can only end at chance
    accuracy is refused instead. (:class:`~flatprop.nets.TwoLayerNet` itself takes
    ``std=0``, for a gradient check or weights of one's own.)
    """

    data: str = "digits"
    model: str = "two-layer"
    head: str = "softmax"
    hidden_size: int = 200
    num_iters: int = 3000
    learning_rate: float = 0.5
    learning_rate_decay: float = 0.995
    reg: float = 1e-4
    batch_size: int = 200
    std: float = 0.1
    label_smoothing: float = 0.1
    test_size: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        _check_choice(self.data, "data", DATA_NAMES)
        _check_choice(self.model, "model", MODEL_NAMES)
        _check_choice(self.head, "head", HEAD_NAMES)
        as_count(self.hidden_size, "hidden_size")
        as_count(self.num_iters, "num_iters", minimum=0)
        as_positive_scalar(self.learning_rate, "learning_rate")
        as_positive_scalar(self.learning_rate_decay, "learning_rate_decay")
        as_non_negative_scalar(self.reg, "reg")
        as_count(self.batch_size, "batch_size")
        if as_non_negative_scalar(self.std, "std") == 0 and self.model == "two-layer":
            raise ValueError(
                "std must be > 0 for the two-layer net, got 0: from all-zero weights its "
                "hidden layer outputs 0, so W1, b1 and W2 get zero gradients and never move: "
                "it cannot learn (a linear model can)"
            )
        if not 0 <= as_real_scalar(self.label_smoothing, "label_smoothing") <= 1:
            raise ValueError(f"label_smoothing must be in [0, 1], got {self.label_smoothing!r}")
        if not 0 < as_real_scalar(self.test_size, "test_size") < 1:
            raise ValueError(
                f"test_size must be a fraction strictly between 0 and 1, got {self.test_size!r}"
            )
        as_rng(self.seed)


_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("digits", "two-layer"): {},
    ("digits", "linear"): {"learning_rate": 0.1, "reg": 1e-3, "num_iters": 2000},
    ("spiral", "two-layer"): {
        "hidden_size": 100,
        "learning_rate": 1.0,
        "learning_rate_decay": 1.0,
        "reg": 1e-4,
        "num_iters": 3000,
        "label_smoothing": 0.0,
    },
    ("spiral", "linear"): {
        "learning_rate": 1.0,
        "learning_rate_decay": 1.0,
        "reg": 1e-3,
        "num_iters": 1000,
        "label_smoothing": 0.0,
    },
}

_HEAD_DEFAULTS: dict[tuple[str, str, str], dict[str, Any]] = {
    # The squared hinge's gradient 2 m grows with the margin m: at 0.5 the digits net
    # diverged within a dozen steps and the spiral net climbed to a loss of 1e6.
    ("digits", "two-layer", "squared_hinge"): {"learning_rate": 0.1},
    ("spiral", "two-layer", "squared_hinge"): {"learning_rate": 0.1},
    ("spiral", "linear", "squared_hinge"): {"learning_rate": 0.1},
}
"""Where a head needs other defaults than those of its (data, model) in ``_DEFAULTS``."""


def default_settings(data: str = "digits", model: str = "two-layer", **changes: Any) -> Settings:
    """The settings flatprop trains ``model`` on ``data`` with, unless told otherwise.

    The defaults depend on the data set, the model and the head (``head`` among the
    ``changes``; "softmax" if not): each trains to a sane accuracy.

    Parameters
    ----------
    data : {"digits", "spiral"}
    model : {"two-layer", "linear"}
    **changes
        Fields of :class:`Settings` to set instead of the defaults.

    Raises
    ------
    TypeError, ValueError
        For a change that is not a field, a bad value (naming the field), or an option
        that does not apply: ``label_smoothing`` for a head whose loss does not take it,
        ``hidden_size`` for the linear model.

    Examples
    --------
    >>> settings = default_settings("digits")
    >>> settings.hidden_size, settings.num_iters, settings.learning_rate, settings.head
    (200, 3000, 0.5, 'softmax')
    >>> default_settings("digits", head="squared_hinge").learning_rate  # its gradient grows
    0.1
    >>> default_settings("spiral", "linear", num_iters=10).num_iters
    10
    """
    _check_choice(data, "data", DATA_NAMES)
    _check_choice(model, "model", MODEL_NAMES)
    unknown = sorted(set(changes) - {field.name for field in dataclasses.fields(Settings)})
    if unknown:
        raise TypeError(f"{unknown[0]!r} is not a setting (a field of Settings)")
    head = changes.get("head", Settings.head)
    _check_choice(head, "head", HEAD_NAMES)
    takes_smoothing = "label_smoothing" in find_loss(head).options
    if "label_smoothing" in changes and not takes_smoothing:
        raise ValueError(
            f"label_smoothing does not apply to the {head!r} head (its loss takes none); "
            "it applies to the softmax head"
        )
    if "hidden_size" in changes and model == "linear":
        raise ValueError("hidden_size does not apply to the linear model (it has no hidden layer)")
    defaults = {**_DEFAULTS[data, model], **_HEAD_DEFAULTS.get((data, model, head), {})}
    if not takes_smoothing:
        defaults["label_smoothing"] = 0.0
    return Settings(data=data, model=model, **{**defaults, **changes})


def _check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


@dataclass(frozen=True)
class PreparedData:
    """A training part and a held-out part, ready to train on."""

    X_train: FloatArray
    X_test: FloatArray
    y_train: IntArray
    y_test: IntArray
    num_classes: int
    description: str


def prepare_data(data: str, *, test_size: float = 0.2, seed: int = 0) -> PreparedData:
    """Load ``data``, split it (stratified, seeded) and centre it by the training mean.

    ``"digits"`` is :func:`flatprop.datasets.load_digits` (pixels scaled to [0, 1]);
    ``"spiral"`` is :func:`flatprop.datasets.spiral` with 100 points in each of 3 arms,
    drawn with ``seed``. The mean of the training part is subtracted from both parts
    (the held-out part never informs the preprocessing).

    Examples
    --------
    >>> prepared = prepare_data("digits")
    >>> prepared.X_train.shape, prepared.X_test.shape, prepared.num_classes
    ((1438, 64), (359, 64), 10)
    >>> bool(np.allclose(prepared.X_train.mean(axis=0), 0))
    True
    """
    _check_choice(data, "data", DATA_NAMES)
    if data == "digits":
        X, y = load_digits()
        what = "handwritten digits (8x8 pixels)"
    else:
        X, y = spiral(SPIRAL_POINTS_PER_CLASS, SPIRAL_CLASSES, seed=seed)
        what = f"spiral points ({SPIRAL_CLASSES} arms)"
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, seed=seed)
    mean = X_train.mean(axis=0)
    num_classes = int(y.max()) + 1
    description = (
        f"{len(y_train)} training and {len(y_test)} held-out {what}, {X.shape[1]} features, "
        f"{num_classes} classes"
    )
    return PreparedData(X_train - mean, X_test - mean, y_train, y_test, num_classes, description)


@dataclass(frozen=True)
class TrainingResult:
    """A trained model, its history and its final accuracies."""

    settings: Settings
    model: TwoLayerNet | LinearClassifier
    history: dict[str, list[float]]
    train_accuracy: float
    test_accuracy: float
    num_test: int
    iterations_per_epoch: int

    def summary(self) -> str:
        """The final accuracies, in one line each."""
        correct = round(self.test_accuracy * self.num_test)
        return "\n".join(
            [
                f"training accuracy: {self.train_accuracy:.3f}",
                f"held-out accuracy: {self.test_accuracy:.3f} "
                f"({correct} of {self.num_test} held-out examples)",
            ]
        )


def _smoothed(settings: Settings) -> bool:
    """Whether the head's loss takes label smoothing and the settings ask for some."""
    return bool(settings.label_smoothing) and "label_smoothing" in find_loss(settings.head).options


def _build_model(
    settings: Settings, input_size: int, num_classes: int
) -> TwoLayerNet | LinearClassifier:
    options: dict[str, Any] = {"head": settings.head, "std": settings.std, "seed": settings.seed}
    if _smoothed(settings):
        options["label_smoothing"] = settings.label_smoothing
    if settings.model == "linear":
        return LinearClassifier(input_size, num_classes, **options)
    return TwoLayerNet(input_size, settings.hidden_size, num_classes, **options)


def describe(settings: Settings, prepared: PreparedData) -> str:
    """What is about to be trained, on what, how: a few lines for the user."""
    D = prepared.X_train.shape[1]
    C = prepared.num_classes
    if settings.model == "linear":
        model = f"a linear classifier ({D} -> {C})"
    else:
        model = f"a two-layer net ({D} -> {settings.hidden_size} ReLU -> {C})"
    decay = (
        "constant"
        if settings.learning_rate_decay == 1
        else f"x{settings.learning_rate_decay:g} per epoch"
    )
    head = settings.head
    if _smoothed(settings):
        head += f" (label smoothing {settings.label_smoothing:g})"
    return "\n".join(
        [
            f"Model: {model}, {head} head.",
            f"Data: {prepared.description}.",
            f"Minibatch SGD: {settings.num_iters} steps of {settings.batch_size} examples, "
            f"learning rate {settings.learning_rate:g} ({decay}), reg {settings.reg:g}, "
            f"seed {settings.seed}.",
        ]
    )


def train(
    settings: Settings,
    *,
    prepared: PreparedData | None = None,
    verbose: bool = False,
    progress: bool = False,
    callback: Callable[[dict[str, list[float]]], bool | None] | None = None,
) -> TrainingResult:
    """Train the model that ``settings`` describes; report the final accuracies.

    Parameters
    ----------
    settings : Settings
    prepared : PreparedData, optional
        The data, if already prepared with :func:`prepare_data`.
    verbose : bool, default False
        Print the model's progress lines while it trains (the "val acc" there is the
        held-out part's accuracy, monitored, never used to choose anything).
    progress, callback
        As for the models' ``train``: a progress bar (tqdm's, when installed), and a
        function called after every epoch with the history so far (False stops).

    Examples
    --------
    >>> result = train(default_settings("spiral", "linear", num_iters=200))
    >>> result.test_accuracy < 0.75  # no straight lines separate the arms
    True
    """
    if prepared is None:
        prepared = prepare_data(settings.data, test_size=settings.test_size, seed=settings.seed)
    model = _build_model(settings, prepared.X_train.shape[1], prepared.num_classes)
    history = model.train(
        prepared.X_train,
        prepared.y_train,
        prepared.X_test,
        prepared.y_test,
        learning_rate=settings.learning_rate,
        learning_rate_decay=settings.learning_rate_decay,
        reg=settings.reg,
        num_iters=settings.num_iters,
        batch_size=settings.batch_size,
        seed=settings.seed,
        verbose=verbose,
        progress=progress,
        callback=callback,
    )
    return TrainingResult(
        settings=settings,
        model=model,
        history=history,
        train_accuracy=float(np.mean(model.predict(prepared.X_train) == prepared.y_train)),
        test_accuracy=float(np.mean(model.predict(prepared.X_test) == prepared.y_test)),
        num_test=len(prepared.y_test),
        iterations_per_epoch=max(len(prepared.y_train) // settings.batch_size, 1),
    )
