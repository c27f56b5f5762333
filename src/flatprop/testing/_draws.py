"""What the checkers share: their options, how they draw inputs, where the kinks are.

Every check mixes two kinds of input (see :mod:`flatprop.testing._checkers`): generic
floats kept :data:`KINK_GAP` (relative) away from every kink, and, with
``include_kinks``, multiples of :data:`KINK_GRID` in [-:data:`KINK_RANGE`,
:data:`KINK_RANGE`], on which every sum is exact and kinks are hit exactly. An input
is *admissible* (one the checker could have drawn) if it is of either kind: the
last shrinking pass keeps to those.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flatprop._validation import (
    as_count,
    as_flag,
    as_float_dtype,
    as_non_negative_scalar,
    as_real_scalar,
    plain_number,
)
from flatprop.testing import _arrays
from flatprop.testing._arrays import Size
from flatprop.testing._references import Reference, checked_options, find_reference
from flatprop.testing._report import CheckReport
from flatprop.testing._shrink import Dimension
from flatprop.testing.strategies import LinearProblem, TwoLayerProblem

__all__ = [
    "FLOAT32_ATOL",
    "FLOAT32_RTOL",
    "FLOAT64_ATOL",
    "FLOAT64_RTOL",
    "KINK_GAP",
    "KINK_GRID",
    "KINK_RANGE",
    "Common",
    "Domain",
    "FarRows",
    "checker_options",
    "dimension",
    "hinge_margin",
    "kink_probes",
    "largest",
    "linear_scores",
    "mean_is_defined",
    "num_classes_of",
    "reg_range",
    "rows_shifted",
    "scores_as_given",
    "set_up",
    "smallest",
    "two_layer_scores",
]

FLOAT64_RTOL = 1e-7
FLOAT64_ATOL = 1e-9
FLOAT32_RTOL = 1e-4
FLOAT32_ATOL = 1e-5
KINK_GAP = 1e-3  # relative; far above rounding, so no correct code lands on the other side
KINK_GRID = 0.5  # a power of two: sums and products of its multiples are exact
KINK_RANGE = 2.0  # a narrow range makes exact kinks frequent

_HINGE_NOTE = (
    "On this input a hinge margin s_j - s_y + margin is exactly 0 (a kink). flatprop takes "
    "the subgradient 0 there: a margin counts only when it is > 0. (An assignment that "
    "takes another subgradient checks with include_kinks=False.)"
)
_RELU_NOTE = (
    "On this input a ReLU pre-activation X W1 + b1 is exactly 0 (a kink). flatprop takes "
    "the subgradient 0 there: the gradient passes only where it is > 0. (An assignment "
    "that takes another subgradient checks with include_kinks=False.)"
)


@dataclass(frozen=True)
class Common:
    """The options that all three checkers share, checked (see :meth:`checked`)."""

    checker: str
    max_examples: int
    seed: int | None
    dtype: np.dtype
    rtol: float
    atol: float
    min_value: float
    max_value: float
    include_kinks: bool

    @classmethod
    def checked(
        cls,
        checker: str,
        *,
        max_examples: int,
        seed: int | None,
        dtype: npt.DTypeLike,
        rtol: float | None,
        atol: float | None,
        min_value: float,
        max_value: float,
        include_kinks: bool,
        sizes: dict[str, Size],
    ) -> Common:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
            raise TypeError(f"{checker}: seed must be an int or None, got {plain_number(seed)!r}")
        include_kinks = as_flag(include_kinks, f"{checker}: include_kinks")
        float_dtype = as_float_dtype(dtype)
        low, high = as_real_scalar(min_value, "min_value"), as_real_scalar(max_value, "max_value")
        if not low < high:
            raise ValueError(f"{checker}: min_value must be < max_value, got {low!r} and {high!r}")
        if include_kinks:  # the exact-kink draws need a multiple of KINK_GRID in range
            _arrays.array_entries(float_dtype, low, high, KINK_GRID)
        for name, size in sizes.items():
            _arrays.size_range(size, name, minimum=1)
        float64 = float_dtype == np.float64
        default_rtol, default_atol = (
            (FLOAT64_RTOL, FLOAT64_ATOL) if float64 else (FLOAT32_RTOL, FLOAT32_ATOL)
        )
        return cls(
            checker=checker,
            max_examples=as_count(max_examples, "max_examples"),
            seed=None if seed is None else int(seed),
            dtype=float_dtype,
            rtol=default_rtol if rtol is None else as_non_negative_scalar(rtol, "rtol"),
            atol=default_atol if atol is None else as_non_negative_scalar(atol, "atol"),
            min_value=low,
            max_value=high,
            include_kinks=include_kinks,
        )

    @property
    def constant(self) -> float:
        """A non-zero value in range for the weights that carry row offsets: 1 if it can be."""
        if self.min_value <= 1 <= self.max_value:
            return 1.0
        return self.max_value if self.max_value > 0 else self.min_value

    @property
    def kink_bounds(self) -> tuple[float, float]:
        """The value range of the exact-kink draws: the narrow range, within the given one."""
        low, high = max(self.min_value, -KINK_RANGE), min(self.max_value, KINK_RANGE)
        return (low, high) if low <= high else (self.min_value, self.max_value)

    def both_kinds(
        self, problems: Callable[..., st.SearchStrategy[Any]], **off_kinks: Any
    ) -> st.SearchStrategy[Any]:
        """Both kinds of input, or only the one off the kinks.

        ``problems(min_value=..., max_value=..., ...)`` is a strategy of the
        :mod:`~flatprop.testing.strategies` with its sizes set; ``off_kinks`` are its
        options that keep the generic draws off the kinks (``hinge_margin=``, ...).
        """
        off_the_kinks = problems(min_value=self.min_value, max_value=self.max_value, **off_kinks)
        if not self.include_kinks:
            return off_the_kinks
        low, high = self.kink_bounds
        return off_the_kinks | problems(min_value=low, max_value=high, grid=KINK_GRID)


def num_classes_of(options: dict[str, Any], num_classes: Size | None, default: Size) -> Size:
    """C: as given, else the length of a per-class ``weight``, else the default range."""
    weight = options.get("weight")
    if weight is None:
        return default if num_classes is None else num_classes
    if num_classes is not None and num_classes not in (len(weight), (len(weight), len(weight))):
        raise ValueError(
            f"num_classes must be the length of weight (one weight per class), {len(weight)}, "
            f"or left out, got {num_classes!r}"
        )
    return len(weight)


def kink_probes(
    contract: str,
    *,
    num_examples: Size,
    num_classes: Size,
    dtype: np.dtype,
    margin: float | None,
    num_features: Size = 1,
    num_hidden: Size = 1,
    reg: float | tuple[float, float] = 0.0,
    classification: bool = True,
) -> list[dict[str, Any]]:
    """Small inputs that sit exactly on the kinks, tried before the drawn ones.

    Drawn inputs land on an exact kink only by chance, so a candidate that takes another
    subgradient there (``>=`` for ``>``) could slip through a small budget. These make
    sure it cannot. For loss layers and linear models, example 0 has every hinge margin
    exactly 0 and the other examples have active margins; for two-layer nets, W1 = 0 and
    b1 = 0 put every ReLU pre-activation at exactly 0, and W2 keeps a gradient flowing to
    the first hidden unit (with a hinge head, a second probe puts every margin of example
    0 exactly at 0 through b2). Sizes are the smallest the checker may draw.
    """
    n, c = smallest(num_examples), smallest(num_classes)
    d, h = smallest(num_features), smallest(num_hidden)
    hinge = contract != "two_layer"
    if c < 2 or (hinge and margin is None):
        return []
    delta = float(margin or 0.0)
    reg_low = reg_range(reg)[0]
    y = np.zeros(n, dtype=np.int64)
    if contract == "loss_layer":
        scores = np.zeros((n, c), dtype)
        scores[0, 1:] = -delta  # s_j - s_y + margin = 0 for every j != y = 0
        return [{"scores": scores, "y": y}]
    X = np.zeros((n, d), dtype)
    X[:, 0] = 1
    if contract == "linear":
        W = np.zeros((d, c), dtype)
        W[0, 1:] = -delta  # example 0's scores: 0 for its class, -margin for the others
        return [{"W": W, "X": X, "y": y, "reg": reg_low}]
    W2 = np.zeros((h, c), dtype)
    W2[0, :2] = (1, -1)  # so that the gradient reaching the first hidden unit is not 0
    params = {  # W1 = 0 and b1 = 0: every pre-activation is exactly 0
        "W1": np.zeros((d, h), dtype),
        "b1": np.zeros(h, dtype),
        "W2": W2,
        "b2": np.zeros(c, dtype),
    }
    target = y if classification else np.ones((n, c), dtype)  # a zero target gives no gradient
    probes = [{"params": params, "X": X, "y": target, "reg": reg_low}]
    if margin is not None:  # a hinge head: every margin of example 0 exactly 0 too
        b1 = np.ones(h, dtype)  # every hidden unit on, off its kink
        b2 = np.full(c, -delta, dtype)
        b2[0] = 0  # scores b2 (W2 = 0): s_j - s_y + margin = 0 for j != y = 0
        at_margins = {
            "W1": np.zeros((d, h), dtype),
            "b1": b1,
            "W2": np.zeros((h, c), dtype),
            "b2": b2,
        }
        probes.append({"params": at_margins, "X": X, "y": y, "reg": reg_low})
    return probes


def smallest(size: Size) -> int:
    """The smallest value of a size: ``size`` itself, or the low end of its range."""
    return size if isinstance(size, int) else size[0]


def largest(size: Size) -> int:
    """The largest value of a size: ``size`` itself, or the high end of its range."""
    return size if isinstance(size, int) else size[1]


def dimension(
    name: str, size: Size, *slots: tuple[tuple[str, ...], int], labels: str | None = None
) -> Dimension:
    """A size of the inputs for the shrinking pass, never below what the checker draws."""
    return Dimension(name, slots, max(smallest(size), 1), None if labels is None else (labels,))


def mean_is_defined(options: dict[str, Any]) -> Callable[[np.ndarray], bool]:
    """Whether a weighted "mean" of the losses of these labels is defined (weight > 0)."""
    if options.get("weight") is None or options.get("reduction", "mean") != "mean":
        return lambda labels: True
    weight = np.asarray(options["weight"], dtype=np.float64)
    return lambda labels: bool(weight[labels].sum() > 0)


@st.composite
def rows_shifted(draw: st.DrawFn, problems: st.SearchStrategy[Any], max_row_shift: int) -> Any:
    """Add a whole number in [-max_row_shift, max_row_shift] to each row of the scores.

    The losses are invariant to it; rows far apart expose a softmax that subtracts the
    global max instead of each row's, or none.
    """
    problem = draw(problems)
    shifts = draw(
        hnp.arrays(np.int64, (len(problem.y),), elements=st.integers(-max_row_shift, max_row_shift))
    )
    scores = (problem.scores + shifts[:, np.newaxis]).astype(problem.scores.dtype)
    return problem._replace(scores=scores)


@dataclass(frozen=True)
class FarRows:
    """Inputs of a model whose rows of scores lie far apart while each row stays moderate.

    A softmax must subtract each row's own maximum: subtracting the batch's underflows
    when rows lie hundreds apart (and subtracting none overflows), while a correct
    softmax is as exact as ever, whatever the offsets. A model's scores can only be
    offset row by row through a feature: here the last feature's weight is large,
    ``max_row_shift``, so that example i's scores are offset by ``max_row_shift`` times
    its last feature, drawn in the checker's range like every entry of X. For a linear
    model that weight is W's whole last row (every class gets the offset); for a
    two-layer net it feeds the first hidden unit alone (``W1[-1] = (max_row_shift, 0,
    ..., 0)``; the ReLU passes the positive offsets) and W2's row for that unit is
    constant. The large weight sits in the params, not in X, so that no gradient
    multiplies a rounding error by it; ``reg`` is the low end of its range, so that
    ``reg * sum(W**2)`` does not swamp the data loss. Each row's spread, and its own
    softmax, stay those of the checker's value range.
    """

    contract: str  # "linear" or "two_layer"
    max_row_shift: int
    constant: float  # a value in range: W2's row for the offset unit, probes' entries
    reg: float  # the low end of the reg range

    def strategy(self, problems: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        """``problems`` (of the model's NamedTuple, moderate) with the large weight put in."""
        return problems.map(self.offset)

    def offset(self, problem: Any) -> Any:
        """The problem with the offsets' weight put in (see the class), and the low reg."""
        if self.contract == "linear":
            W = problem.W.copy()
            W[-1, :] = self.max_row_shift
            return problem._replace(W=W, reg=self.reg)
        params = {name: value.copy() for name, value in problem.params.items()}
        params["W1"][-1, :] = 0
        params["W1"][-1, 0] = self.max_row_shift
        params["W2"][0, :] = self.constant
        return problem._replace(params=params, reg=self.reg)

    def probe(
        self,
        *,
        num_examples: Size,
        num_features: Size,
        num_classes: Size,
        dtype: np.dtype,
        num_hidden: Size = 1,
    ) -> dict[str, Any]:
        """A small input with two rows ``max_row_shift`` times ``constant`` apart.

        Tried before the drawn inputs (with one row when N must be 1): a softmax shifted
        by the batch's maximum fails on it, and so does one with no shift at all, once
        the offset is past where ``exp`` overflows.
        """
        n = min(max(smallest(num_examples), 2), largest(num_examples))
        d, c = smallest(num_features), smallest(num_classes)
        X = np.zeros((n, d), dtype)
        X[-1, -1] = self.constant
        y = np.zeros(n, dtype=np.int64)
        if self.contract == "linear":
            problem: Any = LinearProblem(np.zeros((d, c), dtype), X, y, self.reg)
        else:
            h = smallest(num_hidden)
            params = {
                "W1": np.zeros((d, h), dtype),
                "b1": np.full(h, self.constant, dtype),  # every unit off its kink
                "W2": np.zeros((h, c), dtype),
                "b2": np.zeros(c, dtype),
            }
            problem = TwoLayerProblem(params, X, y, self.reg)
        return dict(self.offset(problem)._asdict())

    def moderate_part(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """The inputs without the offsets' weight, if they have this structure; else None."""
        if self.contract == "linear":
            W = inputs["W"]
            if W.ndim != 2 or W.shape[0] == 0 or not self._constant(W[-1]):
                return None
            return {**inputs, "W": W[:-1]}
        params = inputs["params"]
        W1, W2 = params["W1"], params["W2"]
        if W1.ndim != 2 or 0 in W1.shape or W2.ndim != 2 or W2.shape[0] == 0:
            return None
        if np.any(W1[-1, 1:] != 0) or abs(W1[-1, 0]) > self.max_row_shift:
            return None
        if not np.all(W2[0] == W2[0, :1]):
            return None
        return {**inputs, "params": {**params, "W1": W1[:-1]}}

    def _constant(self, row: np.ndarray) -> bool:
        return bool(np.all(row == row[:1]) and np.all(np.abs(row) <= self.max_row_shift))


def _on_the_grid(inputs: dict[str, Any]) -> bool:
    arrays = [
        array
        for value in inputs.values()
        for array in (value.values() if isinstance(value, dict) else [value])
        if isinstance(array, np.ndarray) and array.dtype.kind == "f"
    ]
    return all(np.all(np.mod(array, KINK_GRID) == 0) for array in arrays)


def _on_a_hinge_kink(scores: np.ndarray, y: np.ndarray, margin: float) -> bool:
    rows = np.arange(len(y))
    margins = scores - scores[rows, y][:, np.newaxis] + margin
    margins[rows, y] = 1  # the target column has no kink
    return bool(np.any(margins == 0))


@dataclass(frozen=True)
class Domain:
    """The inputs a checker draws: their value ranges and where their kinks are.

    It says what is special about a failing input (the note on a kink it sits on)
    and whether an input is one the checker could have drawn (*admissible*): in
    range, and off the kinks or on the grid. ``forward(inputs)`` gives the scores in
    float64 and, for a two-layer net, what makes the pre-activations: ``(X, W1, b1)``.
    """

    forward: Callable[[dict[str, Any]], tuple[np.ndarray, tuple[np.ndarray, ...] | None]]
    margin: float | None  # of a hinge loss; None for the others
    include_kinks: bool
    value_range: tuple[float, float]
    reg_range: tuple[float, float] | None = None  # None: no reg argument
    max_row_shift: int = 0  # of the scores of a loss layer
    labels_ok: Callable[[np.ndarray], bool] = lambda labels: True
    far_rows: FarRows | None = None  # a model's inputs with rows far apart (softmax heads)

    def note(self, inputs: dict[str, Any]) -> str | None:
        """What to say about the kinks an input sits on exactly, if any."""
        scores, layer = self.forward(inputs)
        notes = []
        if layer is not None:
            X, W1, b1 = layer
            if np.any(X @ W1 + b1 == 0):
                notes.append(_RELU_NOTE)
        if self.margin is not None and _on_a_hinge_kink(scores, inputs["y"], self.margin):
            notes.append(_HINGE_NOTE)
        return " ".join(notes) or None

    def admissible(self, inputs: dict[str, Any]) -> bool:
        """Whether the checker could have drawn this input."""
        if not self._in_range(inputs):
            moderate = None if self.far_rows is None else self.far_rows.moderate_part(inputs)
            # rows far apart: drawn off the kinks only (the softmax has none; the ReLU's)
            return moderate is not None and self._in_range(moderate) and not self._near(inputs)
        if self._near(inputs):
            return self.include_kinks and _on_the_grid(inputs)
        return True

    def _near(self, inputs: dict[str, Any]) -> bool:
        """Whether an input comes close to a kink (a hinge margin or a ReLU at 0)."""
        scores, layer = self.forward(inputs)
        near = False
        if layer is not None:
            X, W1, b1 = layer
            near = _arrays.near_a_relu_kink(X, W1, b1, KINK_GAP)
        if self.margin is not None:
            near = near or _arrays.near_a_hinge_kink(scores, inputs["y"], self.margin, KINK_GAP)
        return near

    def _in_range(self, inputs: dict[str, Any]) -> bool:
        low, high = self.value_range
        for name, value in inputs.items():
            if name == "reg":
                reg_low, reg_high = self.reg_range or (value, value)
                if not reg_low <= value <= reg_high:
                    return False
            elif isinstance(value, np.ndarray) and value.dtype.kind in "iu":  # labels
                if not self.labels_ok(value):
                    return False
            elif name == "scores" and self.max_row_shift and value.size:
                # each row: values of the range, plus a whole shift
                spreads = value.max(axis=1) - value.min(axis=1)
                if np.any(spreads > high - low) or np.any(
                    np.abs(value) > max(-low, high) + self.max_row_shift
                ):
                    return False
            else:
                arrays = value.values() if isinstance(value, dict) else [value]
                if any(np.any((array < low) | (array > high)) for array in arrays):
                    return False
        return True


# Setting a check up


def checker_options(checker: Callable[..., Any]) -> tuple[str, ...]:
    """The keyword-only parameters of a checker: its own options, for error messages."""
    parameters = inspect.signature(checker).parameters.values()
    return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def reg_range(reg: float | tuple[float, float]) -> tuple[float, float]:
    """The range of the regularization strength (checked)."""
    _arrays.regularization_strengths(reg)
    low, high = reg if isinstance(reg, tuple) else (reg, reg)
    return float(low), float(high)


def set_up(
    checker: Callable[..., CheckReport],
    name: object,
    argument: str,
    options: dict[str, Any],
    *,
    reductions: tuple[str, ...],
    num_classes: Size | None,
    default_classes: Size,
    sizes: dict[str, Size],
    **common: Any,
) -> tuple[Reference, dict[str, Any], Size, Common]:
    """What every checker does first: find the reference, check every option.

    Returns the reference, its options, C (fixed by a ``weight``, if given) and the
    shared options.
    """
    reference = find_reference(name, argument, checker.__name__)
    checked = checked_options(
        reference,
        options,
        checker=checker.__name__,
        reductions=reductions,
        checker_options=checker_options(checker),
    )
    classes = num_classes_of(checked, num_classes, default_classes)
    sizes = {**sizes, "num_classes": classes}
    return reference, checked, classes, Common.checked(checker.__name__, sizes=sizes, **common)


def hinge_margin(reference: Reference, options: dict[str, Any]) -> float | None:
    return float(options.get("margin", 1.0)) if reference.has_margin else None


def scores_as_given(inputs: dict[str, Any]) -> tuple[np.ndarray, None]:
    return inputs["scores" if "scores" in inputs else "pred"].astype(np.float64), None


def linear_scores(inputs: dict[str, Any]) -> tuple[np.ndarray, None]:
    return _arrays.linear_model_scores(inputs, inputs["X"]), None


def two_layer_scores(inputs: dict[str, Any]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    params, X = inputs["params"], inputs["X"]
    pre_activation = tuple(array.astype(np.float64) for array in (X, params["W1"], params["b1"]))
    return _arrays.two_layer_net_scores(params, X), pre_activation
