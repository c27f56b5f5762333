"""Check every loss, layer and net of flatprop against numerical gradients.

This is what ``flatprop gradcheck`` runs. Each :class:`GradientCase` pairs a
gradient from a backward pass with a check against central differences
(:func:`flatprop.gradcheck.check_gradient`) on a small, seeded, random input (float64).
:func:`run_checks` runs them and :func:`report` prints the table.

An entry on a kink of a hinge or a ReLU within the step (a margin or a ReLU input
within h of 0) is no failure: the check reports it apart, with the subgradient the
backward pass chooses there (the registry's :attr:`~flatprop.losses.LossSpec.kink`,
the ReLU's :data:`~flatprop.layers.RELU_KINK`). Nor is an entry of about 0 whose
numerical gradient is rounding noise (a relative error of two near-zeros says nothing):
it is reported apart too, as within rounding (see
:attr:`flatprop.gradcheck.GradientReport.within_rounding`). Every other entry passes
only if its relative error is at most the tolerance. :func:`model_cases` checks a model
of one's own, on one's own data, the same way.

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
from flatprop._validation import FloatArray, IntArray, as_rng
from flatprop.demo import _text
from flatprop.gradcheck import DEFAULT_TOLERANCE, GradientReport, check_gradient

__all__ = [
    "TOLERANCE",
    "CheckResult",
    "GradientCase",
    "library_cases",
    "model_cases",
    "report",
    "run_checks",
]

TOLERANCE = DEFAULT_TOLERANCE  # check_gradient's; float64 backward passes agree to ~1e-9
RESOLUTION = 1e-9
"""About the finest relative error that float64 central differences confirm here: a
tolerance below it fails right gradients (the report says so)."""
NUM_EXAMPLES, NUM_FEATURES, NUM_HIDDEN, NUM_CLASSES = 4, 5, 6, 3
REG = 0.1

Model = nets.TwoLayerNet | nets.LinearClassifier


Check = Callable[[FloatArray, float], GradientReport]
"""Given the analytic gradient and a tolerance: :func:`~flatprop.gradcheck.check_gradient`'s
report of it against central differences."""


@dataclass(frozen=True)
class GradientCase:
    """One gradient to check: what it belongs to, and how to compute and check it.

    ``analytic()`` computes the backward pass's gradient; ``check(analytic, tolerance)``
    compares it with central differences. ``kink`` says which subgradient the backward
    pass chooses at a kink (None where the function is smooth).
    """

    group: str  # "loss", "layer" or "net"
    name: str
    parameter: str
    analytic: Callable[[], FloatArray]
    check: Check
    kink: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one :class:`GradientCase`.

    ``relative_error`` is the largest over the entries that count: off the kinks and not
    within rounding. ``kinks`` counts the entries on a kink within the step, and
    ``within_rounding`` those beyond the tolerance whose difference is within what
    rounding f contributes (their largest relative error is ``rounding_error``): neither
    fails the check.
    """

    group: str
    name: str
    parameter: str
    relative_error: float
    tolerance: float
    passed: bool
    kinks: int = 0
    kink: str | None = None
    within_rounding: int = 0
    rounding_error: float = 0.0


def _scalar_check(f: Callable[[FloatArray], float], x: Callable[[], FloatArray]) -> Check:
    """Check a gradient of the scalar ``f`` at the point ``x()`` (perturbed in place)."""
    return lambda analytic, tolerance: check_gradient(f, x(), analytic, tolerance=tolerance)


def _array_check(
    f: Callable[[FloatArray], FloatArray], x: Callable[[], FloatArray], dout: FloatArray
) -> Check:
    """Check a backward pass of the array-valued ``f`` for the upstream gradient ``dout``."""
    return lambda analytic, tolerance: check_gradient(
        f, x(), analytic, dout=dout, tolerance=tolerance
    )


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
        check=_scalar_check(lambda point: float(loss(point, target, **options)[0]), x.copy),
        kink=spec.kink,
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
        check=_array_check(
            lambda point: forward(point, target, reduction="none")[0], x.copy, upstream
        ),
        kink=spec.kink,
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

        def affine_check(parameter: str = parameter) -> Check:
            point = {name: value.copy() for name, value in inputs.items()}
            return _array_check(
                lambda _: layers.affine_forward(point["x"], point["w"], point["b"])[0],
                lambda: point[parameter],
                dout,
            )

        cases.append(
            GradientCase(
                "layer", "affine_forward/backward", parameter, affine_analytic, affine_check()
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
            _array_check(lambda v: layers.relu_forward(v)[0], x.copy, relu_dout),
            kink=layers.RELU_KINK,
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
        cases += model_cases(model, X, labels, reg=REG)
    return cases


def model_cases(
    model: Model, X: FloatArray, y: IntArray | FloatArray | None, *, reg: float = 0.0
) -> list[GradientCase]:
    """A :class:`GradientCase` for each entry of ``model.params``: ``model.loss(X, y, reg=reg)``.

    The model's ``params`` are perturbed in place during a check and restored.

    Examples
    --------
    A correct two-layer net whose ReLU inputs all lie within the step of 0 (tiny first
    layer weights): central differences straddle the kinks, and the check says so instead
    of failing.

    >>> import numpy as np
    >>> from flatprop.nets import TwoLayerNet
    >>> net = TwoLayerNet(4, 6, 3, std=1e-6, seed=0)
    >>> rng = np.random.default_rng(0)
    >>> net.params["W2"] = rng.standard_normal((6, 3))
    >>> X, y = rng.standard_normal((5, 4)), np.array([0, 1, 2, 0, 1])
    >>> results = run_checks(model_cases(net, X, y))
    >>> [(result.parameter, result.passed, result.kinks > 0) for result in results]
    [('W1', True, True), ('b1', True, True), ('W2', True, False), ('b2', True, False)]
    """
    name = f"{type(model).__name__}(head={model.head!r})" + (f", reg {reg:g}" if reg else "")
    kinks = [losses.find_loss(model.head).kink]
    if isinstance(model, nets.TwoLayerNet):
        kinks.insert(0, layers.RELU_KINK)
    kink = "; ".join(text for text in kinks if text) or None

    def loss() -> float:
        return float(model.loss(X, y, reg=reg)[0])

    cases = []
    for parameter in model.params:

        def analytic(parameter: str = parameter) -> FloatArray:
            return model.loss(X, y, reg=reg)[1][parameter]

        def point(parameter: str = parameter) -> FloatArray:
            return model.params[parameter]

        check = _scalar_check(lambda _: loss(), point)
        cases.append(GradientCase("net", name, parameter, analytic, check, kink=kink))
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
    rng = as_rng(seed)
    return _loss_cases(rng) + _layer_cases(rng) + _net_cases(rng)


def run_checks(cases: Sequence[GradientCase], *, tolerance: float = TOLERANCE) -> list[CheckResult]:
    """Compute each case's gradient and check it against central differences.

    An exception inside a case (a shape mismatch from a broken backward pass, say)
    is a failed check with an infinite error, not a crash.

    Examples
    --------
    >>> import numpy as np
    >>> from flatprop.gradcheck import check_gradient
    >>> x = np.array([1.0, 2.0])
    >>> def check(analytic, tolerance):
    ...     return check_gradient(lambda v: np.sum(v**2), x, analytic, tolerance=tolerance)
    >>> cases = [
    ...     GradientCase("demo", "x ** 2", "x", lambda: 2 * x, check),
    ...     GradientCase("demo", "x ** 2, wrong", "x", lambda: 2 * x + 1e-3, check),
    ... ]
    >>> [result.passed for result in run_checks(cases)]
    [True, False]
    """
    results = []
    for case in cases:
        try:
            checked = case.check(case.analytic(), tolerance)
        except (ValueError, TypeError, FloatingPointError):
            results.append(
                CheckResult(case.group, case.name, case.parameter, float("inf"), tolerance, False)
            )
            continue
        within = checked.within_rounding
        counted = ~checked.kinks & ~within
        results.append(
            CheckResult(
                case.group,
                case.name,
                case.parameter,
                float(np.max(checked.errors, where=counted, initial=0.0)),
                tolerance,
                checked.passed,
                kinks=int(checked.kinks.sum()),
                kink=case.kink,
                within_rounding=int(within.sum()),
                rounding_error=float(np.max(checked.errors, where=within, initial=0.0)),
            )
        )
    return results


def _status(result: CheckResult) -> str:
    notes = [
        f"{count} {what}"
        for count, what in ((result.kinks, "on kinks"), (result.within_rounding, "within rounding"))
        if count
    ]
    return ("ok" if result.passed else "FAIL") + (f" ({', '.join(notes)})" if notes else "")


def _entries(count: int) -> str:
    return f"{count} {'entry' if count == 1 else 'entries'}"


def report(results: Sequence[CheckResult]) -> str:
    """Lay out the table of relative errors, the kinks and rounding apart, and the verdict.

    A row's relative error is over the entries that count (off the kinks, not within
    rounding); the entries that do not count are listed under the table. The last line
    says whether all passed, and the largest relative error of the entries that count.
    """
    rows = [
        [
            result.group,
            result.name,
            result.parameter,
            f"{result.relative_error:.1e}",
            _status(result),
        ]
        for result in results
    ]
    failed = [result for result in results if not result.passed]
    largest = max((result.relative_error for result in results), default=0.0)
    tolerance = results[0].tolerance if results else TOLERANCE
    on_kinks = [result for result in results if result.kinks]
    within_rounding = [result for result in results if result.within_rounding]
    apart = [
        what
        for what, rows_apart in (
            ("on kinks", on_kinks),
            ("within rounding", within_rounding),
        )
        if rows_apart
    ]
    counted = f" (off the entries {' and '.join(apart)}, listed above)" if apart else ""
    if failed:
        verdict = (
            f"{len(failed)} of {len(results)} gradients FAIL: largest relative error "
            f"{largest:.1e} > tolerance {tolerance:g}{counted}."
        )
        if tolerance < RESOLUTION:
            verdict += (
                f"\nA tolerance below about {RESOLUTION:g} is finer than float64 central "
                "differences can confirm (their rounding): right gradients fail at it too."
            )
    else:
        verdict = (
            f"All {len(results)} gradients match their numerical gradients: largest "
            f"relative error {largest:.1e} <= tolerance {tolerance:g}{counted}."
        )
    table = _text.table(["group", "function", "input", "relative error", ""], rows, align="lllrl")
    lines = [table, ""]
    if on_kinks:
        lines.append(
            "On kinks, not failures: entries whose step h crosses a kink (a hinge margin "
            "or a ReLU input within h of 0), where central differences average the slopes "
            "on its two sides and the backward pass rightly chooses one subgradient:"
        )
        for result in on_kinks:
            lines.append(
                f"  {result.name}, {result.parameter}: {_entries(result.kinks)}; "
                f"{result.kink or 'a kink of the function'}"
            )
        lines.append("")
    if within_rounding:
        lines.append(
            "Within rounding, not failures: entries beyond the tolerance whose two gradients "
            "differ by no more than rounding the loss can contribute to a central difference "
            "(about eps |loss| / h, and at most the tolerance times |loss|): entries small "
            "next to the loss (often 0), where central differences are noise and a relative "
            "error says nothing:"
        )
        for result in within_rounding:
            lines.append(
                f"  {result.name}, {result.parameter}: {_entries(result.within_rounding)}, "
                f"relative error up to {result.rounding_error:.1e}"
            )
        lines.append("")
    lines.append(verdict)
    return "\n".join(lines)
