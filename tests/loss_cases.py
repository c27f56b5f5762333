"""The four losses as data, and a strategy that draws a whole call of one of them.

A :class:`LossCall` holds the inputs and keyword options of one call; the tests run
it through the one-shot function, the staged forward/backward pair or the loop
reference of :mod:`flatprop.naive`, and compare.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from flatprop import losses, naive
from flatprop.testing.strategies import (
    classification_problems,
    probability_targets,
    regression_problems,
    weights,
)

REDUCTIONS = ("mean", "sum", "none")
HINGE_LOSSES = ("multiclass_svm", "squared_hinge")
CLASSIFICATION_LOSSES = (*HINGE_LOSSES, "softmax_cross_entropy")
ALL_LOSSES = (*CLASSIFICATION_LOSSES, "l2")


@dataclass(frozen=True, repr=False)
class Loss:
    """One loss's public functions and the name of the input its gradient is keyed by."""

    name: str
    function: Callable[..., Any]
    forward: Callable[..., Any]
    backward: Callable[..., Any]
    naive: Callable[..., Any]
    input_name: str

    def __repr__(self) -> str:  # short, for Hypothesis's report of a failing example
        return f"Loss({self.name!r})"


LOSSES = {
    name: Loss(
        name=name,
        function=getattr(losses, name),
        forward=getattr(losses, f"{name}_forward"),
        backward=getattr(losses, f"{name}_backward"),
        naive=getattr(naive, name),
        input_name="pred" if name == "l2" else "scores",
    )
    for name in ALL_LOSSES
}


@dataclass(frozen=True)
class LossCall:
    """The positional inputs and keyword options of one call of a loss."""

    loss: Loss
    inputs: tuple[Any, ...]  # (scores, y) or (pred, target)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def x(self) -> np.ndarray:
        """The input the gradient is taken with respect to (scores or pred)."""
        return self.inputs[0]

    @property
    def labels(self) -> np.ndarray | None:
        """The integer labels, or None (probability targets, L2)."""
        second = self.inputs[1]
        is_labels = self.loss.name != "l2" and np.ndim(second) == 1
        return second if is_labels else None

    def replace(self, *inputs: Any, **options: Any) -> LossCall:
        """This call with other inputs (when given) and some options changed."""
        return LossCall(self.loss, inputs or self.inputs, {**self.options, **options})

    def one_shot(self) -> tuple[Any, dict[str, np.ndarray]]:
        return self.loss.function(*self.inputs, **self.options)

    def forward(self) -> tuple[Any, Any]:
        return self.loss.forward(*self.inputs, **self.options)

    def naive(self) -> tuple[Any, dict[str, np.ndarray]]:
        return self.loss.naive(*self.inputs, **self.options)

    def arrays(self) -> list[Any]:
        """Every array argument (inputs and weights), for checks of mutation."""
        candidates = [*self.inputs, self.options.get("weight"), self.options.get("sample_weight")]
        return [value for value in candidates if value is not None]

    def snapshot(self) -> list[Any]:
        return copy.deepcopy(self.arrays())

    def total_weight(self) -> float:
        """What "mean" divides by, as documented (PyTorch's convention).

        The sum over examples of ``sample_weight[i] * weight[y_i]``, where the class
        weight counts only for integer labels (not for probability targets); N when
        unweighted.
        """
        omega = np.ones(len(self.x))
        if self.options.get("sample_weight") is not None:
            omega = omega * self.options["sample_weight"]
        if self.options.get("weight") is not None and self.labels is not None:
            omega = omega * np.asarray(self.options["weight"])[self.labels]
        return float(omega.sum())


@st.composite
def loss_calls(
    draw: st.DrawFn,
    name: str,
    *,
    reduction: str | None = None,
    dtype: Any = np.float64,
    num_examples: int | tuple[int, int] = (1, 6),
    min_value: float = -10.0,
    max_value: float = 10.0,
    off_kinks: bool = True,
    weighted: bool | None = None,
) -> LossCall:
    """Draw a call of the loss ``name`` with every option drawn unless it is fixed here.

    ``reduction`` None draws it; ``weighted`` None draws each weight as None or an
    array, False leaves them out, True always gives them. "mean" calls are kept to
    batches with a positive total weight (the others are bad input).
    """
    loss = LOSSES[name]
    if reduction is None:
        reduction = draw(st.sampled_from(REDUCTIONS))
    options: dict[str, Any] = {"reduction": reduction}
    value_range = {"dtype": dtype, "min_value": min_value, "max_value": max_value}

    if name == "l2":
        pred, target = draw(
            regression_problems(num_examples=num_examples, with_target=None, **value_range)
        )
        inputs: tuple[Any, ...] = (pred, target)
        num_classes = None
    else:
        hinge_margin = None
        if name in HINGE_LOSSES:
            options["margin"] = draw(st.just(1.0) | st.floats(0.0, 3.0))
            hinge_margin = options["margin"] if off_kinks else None
        scores, y = draw(
            classification_problems(
                num_examples=num_examples, hinge_margin=hinge_margin, **value_range
            )
        )
        num_classes = scores.shape[1]
        if name == "softmax_cross_entropy":
            options["label_smoothing"] = draw(st.just(0.0) | st.floats(0.0, 1.0))
            if draw(st.booleans()):
                y = draw(probability_targets(*scores.shape, dtype=dtype))
        inputs = (scores, y)

    num_rows = len(inputs[0])
    if weighted is not False:
        sample_weights = weights(num_rows, dtype=dtype)
        options["sample_weight"] = draw(sample_weights if weighted else st.none() | sample_weights)
        if num_classes is not None:
            class_weights = weights(num_classes, dtype=dtype)
            options["weight"] = draw(class_weights if weighted else st.none() | class_weights)
    call = LossCall(loss, inputs, options)
    if options["reduction"] == "mean":
        assume(call.total_weight() > 0)
    return call


def max_abs(values: Any) -> float:
    return float(np.max(np.abs(values), initial=0.0))


def assert_close(actual: Any, expected: Any, *, rtol: float, what: str = "") -> None:
    """Entries agree to ``rtol`` relative to the largest entry of ``expected``, or to 1.

    Entry-wise relative error is the wrong measure where an entry is a difference of
    nearly equal numbers (a softmax gradient ``p - a``, with p and a of order 1): the
    error is judged against the scale of the whole result, and at least against 1, the
    order of the terms that cancel. (The tiny losses of confident rows are checked
    entry by entry against high-precision references in test_losses_extreme.py.)
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, max_abs(expected))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def option_grid() -> list[LossCall]:
    """Every combination of options of every loss, on fixed random inputs (N = 5, C = 4).

    Options: reduction x class weight (None or given) x sample weight (None or given) x
    margin (1.0, 0.5) for the hinges; x label smoothing (0, 0.2) x integer labels or
    probability targets for the softmax; x target (None or given) for L2. The scores
    are normal draws of scale 3, far from any hinge kink.
    """
    rng = np.random.default_rng(2024)
    num_examples, num_classes, num_outputs = 5, 4, 3
    scores = rng.normal(scale=3.0, size=(num_examples, num_classes))
    labels = rng.integers(0, num_classes, size=num_examples)
    probabilities = rng.dirichlet(np.ones(num_classes), size=num_examples)
    class_weight = rng.uniform(0.5, 2.0, size=num_classes)
    sample_weight = rng.uniform(0.5, 2.0, size=num_examples)
    pred = rng.normal(size=(num_examples, num_outputs))
    target = rng.normal(size=(num_examples, num_outputs))

    variants: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    for name in HINGE_LOSSES:
        variants += [(name, (scores, labels), {"margin": margin}) for margin in (1.0, 0.5)]
    variants += [
        ("softmax_cross_entropy", (scores, y), {"label_smoothing": smoothing})
        for y in (labels, probabilities)
        for smoothing in (0.0, 0.2)
    ]
    variants += [("l2", (pred, t), {}) for t in (None, target)]

    calls = []
    for name, inputs, options in variants:
        class_weights = (None,) if name == "l2" else (None, class_weight)
        for reduction in REDUCTIONS:
            for weight in class_weights:
                for example_weight in (None, sample_weight):
                    chosen = {**options, "reduction": reduction}
                    if weight is not None:
                        chosen["weight"] = weight
                    if example_weight is not None:
                        chosen["sample_weight"] = example_weight
                    calls.append(LossCall(LOSSES[name], inputs, chosen))
    return calls


def call_id(call: LossCall) -> str:
    """A readable test id: the loss, then its options, then the kind of second input."""
    parts = [call.loss.name]
    for key, value in call.options.items():
        parts.append(key if isinstance(value, np.ndarray) else f"{key}={value}")
    second = call.inputs[1]
    if call.loss.name == "l2":
        parts.append("no-target" if second is None else "target")
    elif np.ndim(second) == 2:
        parts.append("probabilities")
    return "-".join(parts)
