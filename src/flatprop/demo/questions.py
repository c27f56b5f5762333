r"""The problem set's questions on the multiclass SVM loss, answered by computing them.

The problem set starts from a slide of CS231n (lecture 3): three images (a cat, a
car, a frog), three classes, and a weight matrix W whose scores are

============  =========  =========  ==========
score         cat image  car image  frog image
============  =========  =========  ==========
cat                 3.2        1.3         2.2
car                 5.1        4.9         2.5
frog               -1.7        2.0        -3.1
============  =========  =========  ==========

with the SVM loss :math:`L_i = \sum_{j \neq y_i} \max(0, s_j - s_{y_i} + 1)`, and asks:

(a) what happens to the loss if the car scores change a bit?
(b) at initialization W is small, so all s are about 0: what is the loss?
(c) what if the sum were over all classes (including j = y_i)?
(d) what if we used the mean instead of the sum?
(e) what if we used the squared hinge :math:`\max(0, s_j - s_{y_i} + 1)^2`?

Each ``question_*`` function computes its answer with flatprop and returns a record
whose ``report()`` is the text that ``flatprop demo`` and ``examples/svm_questions.py``
print. The variant losses of (c) and (d) are not part of the library; they are
written here, one line each, as the question states them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from flatprop._validation import FloatArray, IntArray, as_rng
from flatprop.datasets import load_digits, spiral
from flatprop.demo import _text
from flatprop.gradcheck import numerical_gradient, rel_error
from flatprop.losses import multiclass_svm, squared_hinge
from flatprop.nets import LinearClassifier

__all__ = [
    "CLASS_NAMES",
    "AllClassesAnswer",
    "Answer",
    "CarScoreAnswer",
    "MeanAnswer",
    "ScoreTable",
    "SmallWeightsAnswer",
    "SquaredHingeAnswer",
    "question_a",
    "question_b",
    "question_c",
    "question_d",
    "question_e",
    "score_table",
    "table_scores",
]

CLASS_NAMES = ("cat", "car", "frog")
_TABLE = ((3.2, 5.1, -1.7), (1.3, 4.9, 2.0), (2.2, 2.5, -3.1))  # one row per image
MARGIN = 1.0
CAR = CLASS_NAMES.index("car")
IMAGE_COLUMNS = tuple(f"{name} image" for name in CLASS_NAMES)


def table_scores() -> tuple[FloatArray, IntArray]:
    """The slide's scores, one row per image (cat, car, frog), and the labels.

    Returns
    -------
    scores : ndarray of float64, shape (N, C) = (3, 3)
        ``scores[i, j]`` is image i's score for class j: the slide's table, transposed
        (the slide has one column per image). A new array on every call.
    y : ndarray of int64, shape (N,)
        ``[0, 1, 2]``: each image shows its own class.

    Examples
    --------
    >>> scores, y = table_scores()
    >>> print(scores[1], y)
    [1.3 4.9 2. ] [0 1 2]
    """
    return np.array(_TABLE), np.arange(len(CLASS_NAMES), dtype=np.int64)


class Answer:
    """What every answer record shares: the question, and the text that answers it."""

    question: ClassVar[str]

    def body(self) -> str:
        """The numbers and the answer, as text."""
        raise NotImplementedError

    def report(self) -> str:
        """The question as a heading, then :meth:`body`: what the demo prints."""
        return f"{_text.heading(self.question, underline='-')}\n{self.body()}"


def _svm_losses(scores: FloatArray, y: IntArray) -> FloatArray:
    losses, _ = multiclass_svm(scores, y, margin=MARGIN, reduction="none")
    return np.asarray(losses)


def _loss_row(label: str, values: FloatArray, *, decimals: int = 1) -> list[str]:
    return [label, *(f"{value:.{decimals}f}" for value in values)]


@dataclass(frozen=True)
class ScoreTable(Answer):
    """The slide's scores and the SVM losses flatprop computes for them."""

    question: ClassVar[str] = "The problem set's score table (CS231n, lecture 3)"

    scores: FloatArray
    y: IntArray
    losses: FloatArray

    def body(self) -> str:
        """The table as the slide shows it, with one column per image."""
        rows = [_loss_row(f"{name} score", self.scores[:, j]) for j, name in enumerate(CLASS_NAMES)]
        rows.append(_loss_row("SVM loss L_i", self.losses))
        terms = " + ".join(_text.format_number(loss) for loss in self.losses)
        return "\n".join(
            [
                "Scores s = f(x_i, W) of three images for three classes, and each image's",
                "SVM loss L_i = sum over j != y_i of max(0, s_j - s_y_i + 1):",
                "",
                _text.indent(_text.table(["", *IMAGE_COLUMNS], rows)),
                "",
                f"The data loss is their mean: ({terms}) / 3 = {np.mean(self.losses):.4f}",
            ]
        )


def score_table() -> ScoreTable:
    """The slide's table with its SVM losses 2.9, 0 and 12.9, computed.

    Examples
    --------
    >>> print(score_table().losses.round(10))
    [ 2.9  0.  12.9]
    """
    scores, y = table_scores()
    return ScoreTable(scores=scores, y=y, losses=_svm_losses(scores, y))


@dataclass(frozen=True)
class CarScoreAnswer(Answer):
    """(a): the per-image losses as every car score moves by ``shifts[k]``."""

    question: ClassVar[str] = "(a) What happens to the loss if the car scores change a bit?"

    shifts: FloatArray
    losses: FloatArray  # (K, N): losses[k, i] is image i's loss at shift k
    slopes: FloatArray  # (N,): dL_i / d(shift) at shift 0, from the backward pass
    car_slack: float  # how far the car scores can fall before the car image's loss moves

    def body(self) -> str:
        """The losses at each shift, the slopes, and the answer."""
        headers = ["shift", *(f"L_i {column}" for column in IMAGE_COLUMNS)]
        rows = [
            [f"{shift:+.1f}", *(f"{loss:.2f}" for loss in losses)]
            for shift, losses in zip(self.shifts, self.losses, strict=True)
        ]
        slopes = "  ".join(_text.format_number(slope) for slope in self.slopes)
        return "\n".join(
            [
                "Add a shift to every car score (the car row of the table), recompute L_i:",
                "",
                _text.indent(_text.table(headers, rows)),
                "",
                f"Slopes dL_i/d(shift) at 0, from the backward pass: {slopes}",
                "Answer: the car image's loss stays 0 while its margin holds: its car score",
                f"beats the others by more than the margin, so the car scores can fall by up to "
                f"{self.car_slack:.1f}",
                "before it moves. The cat and frog images' losses follow the shift one for one:",
                "there the car score sits in an active margin (slope 1).",
            ]
        )


def question_a(
    shifts: tuple[float, ...] = (-2.5, -1.5, -0.5, -0.1, 0.0, 0.1, 0.5),
) -> CarScoreAnswer:
    """(a) What happens to the loss if the car scores change a bit?

    Parameters
    ----------
    shifts : tuple of float
        Amounts added to every car score (the car column of :func:`table_scores`).

    Returns
    -------
    CarScoreAnswer

    Examples
    --------
    >>> answer = question_a((-0.1, 0.0, 0.1))
    >>> print(answer.losses[:, 1], answer.slopes)  # the car image's loss, and the slopes
    [0. 0. 0.] [1. 0. 1.]
    """
    scores, y = table_scores()
    losses = []
    for shift in shifts:
        moved = scores.copy()
        moved[:, CAR] += shift
        losses.append(_svm_losses(moved, y))
    # With reduction="none" the backward pass gives d(sum_i L_i)/ds; each L_i depends on
    # its own row only, so the car column holds each image's own slope dL_i/ds_i,car.
    _, grads = multiclass_svm(scores, y, margin=MARGIN, reduction="none")
    car_image = scores[CAR]
    others = np.delete(car_image, CAR)
    return CarScoreAnswer(
        shifts=np.array(shifts, dtype=np.float64),
        losses=np.array(losses),
        slopes=grads["scores"][:, CAR],
        car_slack=float(car_image[CAR] - others.max() - MARGIN),
    )


@dataclass(frozen=True)
class SmallWeightsAnswer(Answer):
    """(b): the loss when every score is (about) 0, for a few numbers of classes C."""

    question: ClassVar[str] = "(b) At initialization W is small, so all s ~ 0. What is the loss?"

    cases: tuple[str, ...]
    num_classes: tuple[int, ...]
    largest_scores: tuple[float, ...]
    losses: tuple[float, ...]

    def body(self) -> str:
        """The loss next to C - 1 for each case, and the answer."""
        rows = [
            [case, str(classes), str(classes - 1), f"{largest:.1e}", f"{loss:.4f}"]
            for case, classes, largest, loss in zip(
                self.cases, self.num_classes, self.largest_scores, self.losses, strict=True
            )
        ]
        return "\n".join(
            [
                "With every s_j = 0, each of the C - 1 wrong classes adds max(0, 0 - 0 + 1) = 1:",
                "",
                _text.indent(_text.table(["scores", "C", "C - 1", "max |s|", "SVM loss"], rows)),
                "",
                "Answer: C - 1. A first loss far from C - 1 means a bug: a cheap sanity check.",
            ]
        )


def question_b(*, std: float = 1e-4, seed: int = 0) -> SmallWeightsAnswer:
    """(b) At initialization W is small, so all s are about 0: what is the loss?

    Parameters
    ----------
    std : float, default 1e-4
        Standard deviation of the small random weights used on the digits.
    seed : int, default 0
        Seed of the random weights.

    Returns
    -------
    SmallWeightsAnswer

    Examples
    --------
    >>> answer = question_b()
    >>> print(answer.num_classes, [round(loss, 3) for loss in answer.losses])
    (3, 10) [2.0, 9.0]
    """
    zero_scores, y = table_scores()
    zero_scores[:] = 0.0
    X, labels = load_digits()
    rng = as_rng(seed)
    W = std * rng.standard_normal((X.shape[1], 10))
    digit_scores = X @ W
    return SmallWeightsAnswer(
        cases=("the table, all set to 0", f"digits, W = {std:g} N(0, 1)"),
        num_classes=(3, 10),
        largest_scores=(0.0, float(np.abs(digit_scores).max())),
        losses=(
            float(multiclass_svm(zero_scores, y, margin=MARGIN)[0]),
            float(multiclass_svm(digit_scores, labels, margin=MARGIN)[0]),
        ),
    )


def _svm_over_all_classes(scores: FloatArray, y: IntArray) -> FloatArray:
    """(c)'s variant, per example: sum over every j, j = y_i included."""
    correct = scores[np.arange(len(y)), y][:, np.newaxis]
    return np.maximum(0.0, scores - correct + MARGIN).sum(axis=1)


def _svm_mean_over_classes(scores: FloatArray, y: IntArray) -> FloatArray:
    """(d)'s variant, per example: the mean over j != y_i instead of the sum."""
    correct = scores[np.arange(len(y)), y][:, np.newaxis]
    terms = np.maximum(0.0, scores - correct + MARGIN)
    wrong = np.ones(scores.shape, dtype=bool)
    wrong[np.arange(len(y)), y] = False
    return np.where(wrong, terms, 0.0).sum(axis=1) / (scores.shape[1] - 1)


def _gradient_error(
    variant_loss: Callable[[FloatArray, IntArray], FloatArray],
    scale: float,
    scores: FloatArray,
    y: IntArray,
) -> float:
    """rel_error(scale * numerical gradient of the variant's mean, the SVM's backward pass)."""
    point = scores.copy()
    numerical = numerical_gradient(lambda s: float(np.mean(variant_loss(s, y))), point)
    _, grads = multiclass_svm(scores, y, margin=MARGIN)
    return rel_error(scale * numerical, grads["scores"])


@dataclass(frozen=True)
class AllClassesAnswer(Answer):
    """(c): the losses with and without the j = y_i term, and how their gradients compare."""

    question: ClassVar[str] = "(c) What if the sum was over all classes (including j = y_i)?"

    losses: FloatArray
    all_class_losses: FloatArray
    gradient_error: float

    def body(self) -> str:
        """The two rows of losses, their difference, the gradient comparison, the answer."""
        rows = [
            _loss_row("sum over j != y_i", self.losses),
            _loss_row("sum over all j", self.all_class_losses),
            _loss_row("difference", self.all_class_losses - self.losses),
        ]
        return "\n".join(
            [
                "The extra term j = y_i is max(0, s_y_i - s_y_i + 1) = 1, the margin:",
                "",
                _text.indent(_text.table(["", *IMAGE_COLUMNS], rows)),
                "",
                "Gradient of the all-classes loss (numerical) vs the SVM's backward pass:",
                f"relative error {self.gradient_error:.1e}",
                "Answer: every L_i grows by the margin, 1, a constant: the gradient, and so the",
                "minimiser, stay the same; only the smallest possible loss moves from 0 to 1.",
            ]
        )


def question_c() -> AllClassesAnswer:
    """(c) What if the sum were over all classes, including j = y_i?

    Examples
    --------
    >>> answer = question_c()
    >>> print(answer.all_class_losses - answer.losses)
    [1. 1. 1.]
    """
    scores, y = table_scores()
    return AllClassesAnswer(
        losses=_svm_losses(scores, y),
        all_class_losses=_svm_over_all_classes(scores, y),
        gradient_error=_gradient_error(_svm_over_all_classes, 1.0, scores, y),
    )


@dataclass(frozen=True)
class MeanAnswer(Answer):
    """(d): the losses with the sum and the mean over j != y_i, on the table and the digits."""

    question: ClassVar[str] = "(d) What if we used the mean instead of the sum?"

    losses: FloatArray
    mean_losses: FloatArray
    digits_loss: float  # the data loss (sum form) on the digits, with W = std N(0, 1)
    digits_mean_loss: float
    gradient_error: float  # (C - 1) times the mean form's gradient vs the SVM's

    def body(self) -> str:
        """The two rows of losses, the ratios, the gradient comparison, the answer."""
        ratios = [
            f"{mean / total:.4f}" if total > 0 else "-"
            for mean, total in zip(self.mean_losses, self.losses, strict=True)
        ]
        rows = [
            _loss_row("sum over j != y_i", self.losses, decimals=2),
            _loss_row("mean over j != y_i", self.mean_losses, decimals=2),
            ["mean / sum", *ratios],
        ]
        digits_ratio = self.digits_mean_loss / self.digits_loss
        return "\n".join(
            [
                "The mean divides each L_i by the number of wrong classes, C - 1:",
                "",
                _text.indent(_text.table(["", *IMAGE_COLUMNS], rows)),
                "",
                f"The table (C = 3): ratio 1/(C - 1) = {1 / 2:.4f}",
                f"The digits (C = 10): sum {self.digits_loss:.4f}, mean "
                f"{self.digits_mean_loss:.4f}, ratio {digits_ratio:.4f}; 1/(C - 1) = {1 / 9:.4f}",
                "(C - 1) times the gradient of the mean form (numerical) vs the SVM's backward",
                f"pass: relative error {self.gradient_error:.1e}",
                "Answer: loss and gradient scale by 1/(C - 1), a positive constant: same",
                "minimiser (with regularization: the same as the sum with reg times C - 1).",
            ]
        )


def question_d(*, std: float = 0.01, seed: int = 0) -> MeanAnswer:
    """(d) What if we used the mean (over j != y_i) instead of the sum?

    Parameters
    ----------
    std : float, default 0.01
        Standard deviation of the random weights used on the digits (large enough
        that the losses differ from example to example).
    seed : int, default 0
        Seed of those weights.

    Examples
    --------
    >>> answer = question_d()
    >>> print(answer.mean_losses / np.where(answer.losses > 0, answer.losses, np.nan))
    [0.5 nan 0.5]
    """
    scores, y = table_scores()
    X, labels = load_digits()
    W = std * as_rng(seed).standard_normal((X.shape[1], 10))
    digit_scores = X @ W
    return MeanAnswer(
        losses=_svm_losses(scores, y),
        mean_losses=_svm_mean_over_classes(scores, y),
        digits_loss=float(np.mean(_svm_losses(digit_scores, labels))),
        digits_mean_loss=float(np.mean(_svm_mean_over_classes(digit_scores, labels))),
        gradient_error=_gradient_error(_svm_mean_over_classes, scores.shape[1] - 1, scores, y),
    )


@dataclass(frozen=True)
class SquaredHingeAnswer(Answer):
    """(e): the two losses on the table, and two linear classifiers trained on the same data."""

    question: ClassVar[str] = "(e) What if we used the squared hinge, max(0, s_j - s_y_i + 1)^2?"

    losses: FloatArray
    squared_losses: FloatArray
    weights: FloatArray  # W of the classifier trained with the hinge, (D, C)
    squared_weights: FloatArray  # W of the one trained with the squared hinge
    # objectives[a][b]: the full-data objective of loss a (0 hinge, 1 squared hinge, with
    # its reg term) at the weights trained with loss b
    objectives: FloatArray
    accuracies: FloatArray  # training accuracy of the hinge- and the squared-hinge-trained
    disagreements: int  # training points the two classify differently
    num_points: int
    grid_disagreement: float  # fraction of a grid over [-1, 1]^2 classified differently

    @property
    def weight_difference(self) -> float:
        """``||W_hinge - W_squared|| / ||W_hinge||`` (Frobenius norms)."""
        return float(
            np.linalg.norm(self.weights - self.squared_weights) / np.linalg.norm(self.weights)
        )

    @property
    def each_best_on_its_own_objective(self) -> bool:
        """Whether each trained W has the lower value of the objective it was trained on."""
        (hinge_at_hinge, hinge_at_squared), (squared_at_hinge, squared_at_squared) = self.objectives
        return bool(hinge_at_hinge < hinge_at_squared and squared_at_squared < squared_at_hinge)

    def body(self) -> str:
        """The two losses on the table, the two trained classifiers, the answer."""
        rows = [
            _loss_row("hinge", self.losses, decimals=2),
            _loss_row("squared hinge", self.squared_losses, decimals=2),
        ]
        cat, _, frog = self.losses
        squared_cat, _, squared_frog = self.squared_losses
        weights = _text.side_by_side(
            [
                "W trained with the hinge\n" + _text.format_array(self.weights, precision=3),
                "W trained with the squared hinge\n"
                + _text.format_array(self.squared_weights, precision=3),
            ]
        )
        objective_rows = [
            [f"{name} objective", *(f"{value:.4f}" for value in values)]
            for name, values in zip(("hinge", "squared hinge"), self.objectives, strict=True)
        ]
        objective_rows.append(["training accuracy", *(f"{a:.3f}" for a in self.accuracies)])
        return "\n".join(
            [
                "On the table, a large violation now counts quadratically:",
                "",
                _text.indent(_text.table(["", *IMAGE_COLUMNS], rows)),
                "",
                f"The frog image weighs {squared_frog / squared_cat:.1f} times the cat image, "
                f"instead of {frog / cat:.1f} times.",
                "",
                f"Two linear classifiers (W, b) trained on the same {self.num_points} spiral "
                "points (3 classes), from the",
                "same start, with the same settings and batches; only the loss differs:",
                "",
                _text.indent(weights),
                "",
                _text.indent(_text.table(["", "hinge-trained", "squared-trained"], objective_rows)),
                "",
                (
                    "Each is the better of the two on its own objective, the worse on the other's."
                    if self.each_best_on_its_own_objective
                    else "Neither is better on both objectives: train longer (more iterations)."
                ),
                f"||W_hinge - W_squared|| / ||W_hinge|| = {self.weight_difference:.3f}; they "
                f"classify {self.disagreements} of the {self.num_points}",
                f"training points differently, and {self.grid_disagreement:.1%} of a grid "
                "over [-1, 1]^2.",
                "Answer: a different loss with a different minimiser: different weights and",
                "different decisions.",
            ]
        )


def question_e(
    *,
    n_per_class: int = 100,
    num_iters: int = 2000,
    learning_rate: float = 0.3,
    learning_rate_decay: float = 0.998,
    reg: float = 1e-3,
    seed: int = 0,
) -> SquaredHingeAnswer:
    """(e) What if we used the squared hinge?

    Two :class:`~flatprop.nets.LinearClassifier` are trained on the same spiral, from
    the same initial weights, with the same settings and the same minibatches: one
    with ``head="svm"``, one with ``head="squared_hinge"``. Each set of weights is then
    scored with both objectives (data loss plus ``reg * sum(W ** 2)`` on all points).

    Parameters
    ----------
    n_per_class : int, default 100
        Spiral points per class (3 classes).
    num_iters, learning_rate, learning_rate_decay, reg
        Settings of ``LinearClassifier.train``, the same for both losses; every batch
        holds N points (drawn with replacement), so the decay applies at each step.
        The defaults run both to convergence (to about 3 digits of W).
    seed : int, default 0
        Seed of the data, of the (shared) initial weights and of the batches.

    Examples
    --------
    >>> answer = question_e(num_iters=300)
    >>> print(answer.squared_losses.round(10))
    [ 8.41  0.   83.25]
    >>> bool(answer.weight_difference > 0.05 and answer.disagreements > 0)
    True
    """
    scores, y = table_scores()
    X, labels = spiral(n_per_class, 3, seed=seed)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 101), np.linspace(-1, 1, 101)), axis=-1)
    grid = grid.reshape(-1, 2)
    heads = ("svm", "squared_hinge")
    trained = []
    for head in heads:
        model = LinearClassifier(2, 3, head=head, std=1e-2, seed=seed)
        model.train(
            X,
            labels,
            learning_rate=learning_rate,
            learning_rate_decay=learning_rate_decay,
            reg=reg,
            num_iters=num_iters,
            batch_size=len(labels),
            seed=seed,
        )
        trained.append(model)
    objectives = np.empty((2, 2))
    for a, head in enumerate(heads):
        judge = LinearClassifier(2, 3, head=head)
        for b, model in enumerate(trained):
            judge.params = dict(model.params)
            objectives[a, b] = judge.loss(X, labels, reg=reg)[0]
    predictions = [model.predict(X) for model in trained]
    grid_predictions = [model.predict(grid) for model in trained]
    squared_losses, _ = squared_hinge(scores, y, margin=MARGIN, reduction="none")
    return SquaredHingeAnswer(
        losses=_svm_losses(scores, y),
        squared_losses=np.asarray(squared_losses),
        weights=trained[0].params["W"].copy(),
        squared_weights=trained[1].params["W"].copy(),
        objectives=objectives,
        accuracies=np.array([np.mean(p == labels) for p in predictions]),
        disagreements=int(np.count_nonzero(predictions[0] != predictions[1])),
        num_points=len(labels),
        grid_disagreement=float(np.mean(grid_predictions[0] != grid_predictions[1])),
    )
