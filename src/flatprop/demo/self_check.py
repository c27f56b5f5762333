"""Check every loss, layer and net of flatprop against numerical gradients.

This is what ``flatprop gradcheck`` runs. Each :class:`GradientCase` pairs a
gradient from a backward pass with one from central differences
(:mod:`flatprop.gradcheck`) on a small, seeded, random input (float64, away from
the kinks of the hinges and the ReLU). :func:`run_checks` compares them and
:func:`report` prints the table.

:func:`library_cases` looks every function up on its module when the case runs
(``losses.multiclass_svm``, ``layers.relu_backward``, ...), so a test can swap in a
broken implementation and see the check fail; or build cases of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flatprop import layers, losses, nets
from flatprop._validation import FloatArray, IntArray
from flatprop.demo import _text
from flatprop.gradcheck import numerical_gradient, numerical_gradient_array, rel_error

__all__ = ["TOLERANCE", "CheckResult", "GradientCase", "library_cases", "report", "run_checks"]

TOLERANCE = 1e-6  # float64 backward passes agree with central differences to ~1e-9
NUM_EXAMPLES, NUM_FEATURES, NUM_HIDDEN, NUM_CLASSES = 4, 5, 6, 3
REG = 0.1

Model = nets.TwoLayerNet | nets.LinearClassifier
LossFunction = Callable[[FloatArray], tuple[Any, dict[str, FloatArray]]]


@dataclass(frozen=True)
class GradientCase:
    """One gradient to check: what it belongs to, and how to compute it both ways."""

    group: str  # "loss", "layer" or "net"
    name: str
    parameter: str
    analytic: Callable[[], FloatArray]
    numerical: Callable[[], FloatArray]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one :class:`GradientCase`."""

    group: str
    name: str
    parameter: str
    relative_error: float
    tolerance: float

    @property
    def passed(self) -> bool:
        """Whether the relative error is within the tolerance (NaN fails)."""
        return bool(self.relative_error <= self.tolerance)


def _loss_cases(rng: np.random.Generator) -> list[GradientCase]:
    scores = rng.standard_normal((NUM_EXAMPLES, NUM_CLASSES))
    y = rng.integers(NUM_CLASSES, size=NUM_EXAMPLES)
    target = rng.standard_normal((NUM_EXAMPLES, NUM_CLASSES))
    class_weight = rng.uniform(0.5, 2.0, size=NUM_CLASSES)
    upstream = rng.standard_normal(NUM_EXAMPLES)
    configurations: list[tuple[str, str, LossFunction]]
    configurations = [
        ("multiclass_svm", "scores", lambda s: losses.multiclass_svm(s, y)),
        (
            "multiclass_svm, margin 0.5, class weights",
            "scores",
            lambda s: losses.multiclass_svm(s, y, margin=0.5, weight=class_weight),
        ),
        ("squared_hinge", "scores", lambda s: losses.squared_hinge(s, y)),
        ("softmax_cross_entropy", "scores", lambda s: losses.softmax_cross_entropy(s, y)),
        (
            "softmax_cross_entropy, smoothing 0.1, class weights",
            "scores",
            lambda s: losses.softmax_cross_entropy(s, y, label_smoothing=0.1, weight=class_weight),
        ),
        ("l2", "pred", lambda p: losses.l2(p, target)),
    ]
    cases = []
    for name, parameter, loss in configurations:

        def analytic(loss: LossFunction = loss, parameter: str = parameter) -> FloatArray:
            return loss(scores)[1][parameter]

        def numerical(loss: LossFunction = loss) -> FloatArray:
            return numerical_gradient(lambda s: float(loss(s)[0]), scores.copy())

        cases.append(GradientCase("loss", name, parameter, analytic, numerical))

    def svm_none_backward() -> FloatArray:
        _, cache = losses.multiclass_svm_forward(scores, y, reduction="none")
        return losses.multiclass_svm_backward(cache, upstream)["scores"]

    cases.append(
        GradientCase(
            "loss",
            "multiclass_svm_forward/backward, reduction none",
            "scores",
            analytic=svm_none_backward,
            numerical=lambda: numerical_gradient_array(
                lambda s: losses.multiclass_svm_forward(s, y, reduction="none")[0],
                scores.copy(),
                upstream,
            ),
        )
    )
    return cases


def _layer_cases(rng: np.random.Generator) -> list[GradientCase]:
    x = rng.standard_normal((NUM_EXAMPLES, NUM_FEATURES))
    w = rng.standard_normal((NUM_FEATURES, NUM_HIDDEN))
    b = rng.standard_normal(NUM_HIDDEN)
    dout = rng.standard_normal((NUM_EXAMPLES, NUM_HIDDEN))
    relu_dout = rng.standard_normal(x.shape)
    inputs = {"x": x, "w": w, "b": b}
    cases = []
    for parameter in inputs:

        def affine_analytic(parameter: str = parameter) -> FloatArray:
            _, cache = layers.affine_forward(x, w, b)
            return layers.affine_backward(dout, cache)[parameter]

        def affine_numerical(parameter: str = parameter) -> FloatArray:
            point = {name: value.copy() for name, value in inputs.items()}
            return numerical_gradient_array(
                lambda _: layers.affine_forward(point["x"], point["w"], point["b"])[0],
                point[parameter],
                dout,
            )

        cases.append(
            GradientCase(
                "layer", "affine_forward/backward", parameter, affine_analytic, affine_numerical
            )
        )

    def relu_analytic() -> FloatArray:
        _, cache = layers.relu_forward(x)
        return layers.relu_backward(relu_dout, cache)["x"]

    cases.append(
        GradientCase(
            "layer",
            "relu_forward/backward",
            "x",
            relu_analytic,
            lambda: numerical_gradient_array(
                lambda v: layers.relu_forward(v)[0], x.copy(), relu_dout
            ),
        )
    )
    return cases


def _net_cases(rng: np.random.Generator) -> list[GradientCase]:
    X = rng.standard_normal((NUM_EXAMPLES, NUM_FEATURES))
    y: IntArray = rng.integers(NUM_CLASSES, size=NUM_EXAMPLES)
    target: FloatArray = rng.standard_normal((NUM_EXAMPLES, NUM_CLASSES))
    models: list[tuple[Model, IntArray | FloatArray]] = []
    for head in nets.HEADS:
        labels = target if head == "l2" else y
        models.append(
            (
                nets.TwoLayerNet(NUM_FEATURES, NUM_HIDDEN, NUM_CLASSES, head=head, std=1.0, seed=1),
                labels,
            )
        )
        models.append(
            (nets.LinearClassifier(NUM_FEATURES, NUM_CLASSES, head=head, std=1.0, seed=1), labels)
        )
    cases = []
    for model, labels in models:
        name = f"{type(model).__name__}(head={model.head!r}), reg {REG:g}"
        for parameter in model.params:

            def analytic(
                model: Model = model,
                labels: IntArray | FloatArray = labels,
                parameter: str = parameter,
            ) -> FloatArray:
                return model.loss(X, labels, reg=REG)[1][parameter]

            def numerical(
                model: Model = model,
                labels: IntArray | FloatArray = labels,
                parameter: str = parameter,
            ) -> FloatArray:
                return numerical_gradient(
                    lambda _: float(model.loss(X, labels, reg=REG)[0]), model.params[parameter]
                )

            cases.append(GradientCase("net", name, parameter, analytic, numerical))
    return cases


def library_cases(*, seed: int = 0) -> list[GradientCase]:
    """Gradient cases for every loss, layer and net of flatprop, on seeded random inputs.

    Parameters
    ----------
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` for the inputs and the nets' weights.

    Returns
    -------
    list of GradientCase

    Examples
    --------
    >>> cases = library_cases()
    >>> sorted({case.group for case in cases})
    ['layer', 'loss', 'net']
    """
    rng = np.random.default_rng(seed)
    return _loss_cases(rng) + _layer_cases(rng) + _net_cases(rng)


def run_checks(cases: Sequence[GradientCase], *, tolerance: float = TOLERANCE) -> list[CheckResult]:
    """Compute each case both ways and compare them with :func:`~flatprop.gradcheck.rel_error`.

    An exception inside a case (a shape mismatch from a broken backward pass, say)
    is a failed check with an infinite error, not a crash.

    Examples
    --------
    >>> import numpy as np
    >>> square = GradientCase(
    ...     "demo", "x ** 2", "x",
    ...     analytic=lambda: np.array([2.0, 4.0]),
    ...     numerical=lambda: np.array([2.0, 4.0 + 1e-3]),
    ... )
    >>> [result.passed for result in run_checks([square])]
    [False]
    """
    results = []
    for case in cases:
        try:
            error = rel_error(case.analytic(), case.numerical())
        except (ValueError, TypeError, FloatingPointError):
            error = float("inf")
        results.append(CheckResult(case.group, case.name, case.parameter, error, tolerance))
    return results


def report(results: Sequence[CheckResult]) -> str:
    """The table of relative errors, and a last line that says whether all passed."""
    rows = [
        [
            result.group,
            result.name,
            result.parameter,
            f"{result.relative_error:.1e}",
            "ok" if result.passed else "FAIL",
        ]
        for result in results
    ]
    failed = [result for result in results if not result.passed]
    largest = max((result.relative_error for result in results), default=0.0)
    tolerance = results[0].tolerance if results else TOLERANCE
    if failed:
        verdict = f"{len(failed)} of {len(results)} gradients FAIL (tolerance {tolerance:g})."
    else:
        verdict = (
            f"All {len(results)} gradients match their numerical gradients "
            f"(largest relative error {largest:.1e} <= {tolerance:g})."
        )
    table = _text.table(["group", "function", "input", "relative error", ""], rows, align="lllrl")
    return f"{table}\n\n{verdict}"
