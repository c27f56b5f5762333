"""Check every loss, layer and net of flatprop against numerical gradients.

This is what ``flatprop gradcheck`` runs. Each :class:`GradientCase` pairs a
gradient from a backward pass with one from central differences
(:mod:`flatprop.gradcheck`) on a small, seeded, random input (float64, away from
the kinks of the hinges and the ReLU). :func:`run_checks` compares them and
:func:`report` prints the table.

The cases of the losses come from the registry :data:`flatprop.losses.LOSSES`: each
loss with each kind of target it takes, with every option it takes set, and its staged
pair; the nets are tried with every head.

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
    """The gradient cases of each loss of :data:`flatprop.losses.LOSSES`.

    Each kind of target it takes; every option it takes, set; and its staged pair with
    ``reduction="none"`` and an (N,) upstream gradient.
    """
    scores = rng.standard_normal((NUM_EXAMPLES, NUM_CLASSES))
    labels = rng.integers(NUM_CLASSES, size=NUM_EXAMPLES)
    targets: dict[str, list[tuple[str, IntArray | FloatArray]]] = {
        "labels": [("", labels)],
        "labels or probabilities": [
            ("", labels),
            (", probability targets", rng.dirichlet(np.ones(NUM_CLASSES), size=NUM_EXAMPLES)),
        ],
        "values": [("", rng.standard_normal((NUM_EXAMPLES, NUM_CLASSES)))],
    }
    upstream = rng.standard_normal(NUM_EXAMPLES)
    # A value other than the default for each option that a loss of the registry takes.
    option_values: dict[str, Any] = {
        "margin": 0.5,
        "label_smoothing": 0.1,
        "weight": rng.uniform(0.5, 2.0, size=NUM_CLASSES),
        "sample_weight": rng.uniform(0.5, 2.0, size=NUM_EXAMPLES),
        "reduction": "sum",
    }
    cases = []
    for spec in losses.LOSSES.values():
        options = {name: option_values[name] for name in (*spec.options, "sample_weight")}
        target = targets[spec.target][0][1]
        cases += [
            _one_shot_case(spec, what, given, {}, scores) for what, given in targets[spec.target]
        ]
        cases.append(_one_shot_case(spec, f", {_describe(options)}", target, options, scores))
        cases.append(_staged_case(spec, target, scores, upstream))
    return cases


def _describe(options: dict[str, Any]) -> str:
    """``margin=0.5, weight, ...``: the options set, with their values unless arrays."""
    return ", ".join(
        name if isinstance(value, np.ndarray) else f"{name}={value!r}"
        for name, value in options.items()
    )


def _from_losses(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, looked up on :mod:`flatprop.losses` at each call (a test may swap it)."""
    name = function.__name__
    return lambda *args, **options: getattr(losses, name)(*args, **options)


def _one_shot_case(
    spec: losses.LossSpec,
    what: str,
    target: IntArray | FloatArray,
    options: dict[str, Any],
    x: FloatArray,
) -> GradientCase:
    """The gradient of the one-shot function against central differences of its loss."""
    loss = _from_losses(spec.function)
    return GradientCase(
        "loss",
        spec.name + what,
        spec.input_name,
        analytic=lambda: loss(x, target, **options)[1][spec.input_name],
        numerical=lambda: numerical_gradient(
            lambda point: float(loss(point, target, **options)[0]), x.copy()
        ),
    )


def _staged_case(
    spec: losses.LossSpec, target: IntArray | FloatArray, x: FloatArray, upstream: FloatArray
) -> GradientCase:
    """The staged pair with ``reduction="none"``: backward of an upstream (N,) ``dloss``."""
    forward, backward = _from_losses(spec.forward), _from_losses(spec.backward)

    def analytic() -> FloatArray:
        _, cache = forward(x, target, reduction="none")
        return backward(cache, upstream)[spec.input_name]

    return GradientCase(
        "loss",
        f"{spec.forward.__name__}/backward, reduction none",
        spec.input_name,
        analytic=analytic,
        numerical=lambda: numerical_gradient_array(
            lambda point: forward(point, target, reduction="none")[0], x.copy(), upstream
        ),
    )


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
    for spec in losses.LOSSES.values():
        labels = y if spec.classification else target
        models.append(
            (
                nets.TwoLayerNet(
                    NUM_FEATURES, NUM_HIDDEN, NUM_CLASSES, head=spec.head, std=1.0, seed=1
                ),
                labels,
            )
        )
        models.append(
            (
                nets.LinearClassifier(NUM_FEATURES, NUM_CLASSES, head=spec.head, std=1.0, seed=1),
                labels,
            )
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
