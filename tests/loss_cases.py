"""The losses of flatprop's registry as test data, and a strategy that draws a whole call.

The parametrised tests iterate :data:`flatprop.losses.LOSSES`, through the views of it
below: a loss added to the registry is tested by them without editing a test file.
A :class:`LossCall` holds the inputs and keyword options of one call; the tests run
it through the one-shot function, the staged forward/backward pair or the loop
reference of :mod:`flatprop.naive`, and compare.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from flatprop.gradcheck import numerical_gradient
from flatprop.losses import LOSSES, LossSpec, TargetKind
from flatprop.testing.strategies import (
    classification_problems,
    probability_targets,
    regression_problems,
    weights,
)
from helpers import EPS, GRADIENT_RTOL, STEP, assert_close

REDUCTIONS = ("mean", "sum", "none")
ALL_LOSSES = tuple(LOSSES)
CLASSIFICATION_LOSSES = tuple(name for name, spec in LOSSES.items() if spec.classification)
HINGE_LOSSES = tuple(name for name, spec in LOSSES.items() if spec.has_margin)


def losses_taking(option: str) -> tuple[str, ...]:
    """The names of the losses that take the keyword option ``option`` (e.g. "weight")."""
    return tuple(name for name, spec in LOSSES.items() if option in spec.options)


def losses_with_target(kind: TargetKind) -> tuple[str, ...]:
    """The names of the losses whose second argument holds ``kind`` (e.g. "values")."""
    return tuple(name for name, spec in LOSSES.items() if spec.target == kind)


def argument_names(spec: LossSpec) -> tuple[str, str]:
    """The names of the loss's two positional arguments: ("scores", "y"), ("pred", "target")."""
    first, second = list(inspect.signature(spec.function).parameters)[:2]
    return first, second


@dataclass(frozen=True)
class LossCall:
    """The positional inputs and keyword options of one call of a loss."""

    loss: LossSpec
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
        is_labels = self.loss.classification and np.ndim(second) == 1
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


# The options of a LossSpec that loss_calls and option_grid give values to: a loss with
# another option makes loss_calls fail, rather than leave that option untested.
DRAWN_OPTIONS = {"margin", "label_smoothing", "weight", "reduction"}


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

    What is drawn follows the loss's entry in the registry: its kind of target, and each
    of its options. ``reduction`` None draws it; ``weighted`` None draws each weight as
    None or an array, False leaves them out, True always gives them. "mean" calls are
    kept to batches with a positive total weight (the others are bad input).
    """
    loss = LOSSES[name]
    unknown = set(loss.options) - DRAWN_OPTIONS
    if unknown:
        raise NotImplementedError(f"loss_calls draws no value for {name}'s options {unknown}")
    if reduction is None:
        reduction = draw(st.sampled_from(REDUCTIONS))
    options: dict[str, Any] = {"reduction": reduction}
    value_range = {"dtype": dtype, "min_value": min_value, "max_value": max_value}

    if not loss.classification:
        pred, target = draw(
            regression_problems(num_examples=num_examples, with_target=None, **value_range)
        )
        inputs: tuple[Any, ...] = (pred, target)
    else:
        hinge_margin = None
        if loss.has_margin:
            options["margin"] = draw(st.just(1.0) | st.floats(0.0, 3.0))
            hinge_margin = options["margin"] if off_kinks else None
        scores, y = draw(
            classification_problems(
                num_examples=num_examples, hinge_margin=hinge_margin, **value_range
            )
        )
        if "label_smoothing" in loss.options:
            options["label_smoothing"] = draw(st.just(0.0) | st.floats(0.0, 1.0))
        if loss.target == "labels or probabilities" and draw(st.booleans()):
            y = draw(probability_targets(*scores.shape, dtype=dtype))
        inputs = (scores, y)

    num_rows, num_columns = inputs[0].shape
    if weighted is not False:
        sample_weights = weights(num_rows, dtype=dtype)
        options["sample_weight"] = draw(sample_weights if weighted else st.none() | sample_weights)
        if "weight" in loss.options:
            class_weights = weights(num_columns, dtype=dtype)
            options["weight"] = draw(class_weights if weighted else st.none() | class_weights)
    call = LossCall(loss, inputs, options)
    if options["reduction"] == "mean":
        assume(call.total_weight() > 0)
    return call


def assert_matches_numerical_gradient(
    call: LossCall, analytic: np.ndarray, *, dloss: float | np.ndarray = 1.0, loops: bool = False
) -> None:
    """``analytic`` is the gradient of ``sum(dloss * loss)`` by central differences.

    The loss is the staged forward pass's, or with ``loops`` the loop reference's. The
    numerical gradient (:func:`flatprop.gradcheck.numerical_gradient`) shares no code with
    the backward passes; its error is the truncation error, O(h^2), plus the rounding
    error of the loss divided by the step, about eps * |f| / h.
    """
    x = call.x.copy()  # perturbed in place, entry by entry, and restored
    perturbable = call.replace(x, *call.inputs[1:])

    def objective(_: np.ndarray) -> float:
        loss = perturbable.naive()[0] if loops else perturbable.forward()[0]
        return float(np.sum(dloss * loss))

    numerical = numerical_gradient(objective, x, h=STEP)
    rounding_error = EPS * abs(objective(x)) / STEP
    key = call.loss.input_name
    assert_close(analytic, numerical, rtol=GRADIENT_RTOL, slack=rounding_error, what=f"d{key}")


def option_grid() -> list[LossCall]:
    """Every combination of options of every loss, on fixed random inputs (N = 5, C = 4).

    Options: reduction x class weight (None or given, where the loss takes one) x sample
    weight (None or given) x margin (1.0, 0.5) where the loss has one x label smoothing
    (0, 0.2) where it takes it; the second input is the labels, also probability targets
    where the loss takes them, and for a regression loss no target or a target. The
    scores are normal draws of scale 3, far from any hinge kink.
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

    second_inputs: dict[TargetKind, tuple[tuple[Any, ...], ...]] = {
        "labels": ((scores, labels),),
        "labels or probabilities": ((scores, labels), (scores, probabilities)),
        "values": ((pred, None), (pred, target)),
    }
    calls = []
    for spec in LOSSES.values():
        settings: list[dict[str, Any]] = [{}]
        if spec.has_margin:
            settings = [{**chosen, "margin": value} for chosen in settings for value in (1.0, 0.5)]
        if "label_smoothing" in spec.options:
            settings = [
                {**chosen, "label_smoothing": value} for chosen in settings for value in (0.0, 0.2)
            ]
        class_weights = (None, class_weight) if "weight" in spec.options else (None,)
        for inputs in second_inputs[spec.target]:
            for options in settings:
                for reduction in REDUCTIONS:
                    for weight in class_weights:
                        for example_weight in (None, sample_weight):
                            chosen = {**options, "reduction": reduction}
                            if weight is not None:
                                chosen["weight"] = weight
                            if example_weight is not None:
                                chosen["sample_weight"] = example_weight
                            calls.append(LossCall(spec, inputs, chosen))
    return calls


def call_id(call: LossCall) -> str:
    """A readable test id: the loss, then its options, then the kind of second input."""
    parts = [call.loss.name]
    for key, value in call.options.items():
        parts.append(key if isinstance(value, np.ndarray) else f"{key}={value}")
    second = call.inputs[1]
    if not call.loss.classification:
        parts.append("no-target" if second is None else "target")
    elif np.ndim(second) == 2:
        parts.append("probabilities")
    return "-".join(parts)
