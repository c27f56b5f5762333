"""Hypothesis strategies for the inputs of flatprop's losses.

Every strategy draws the shape first and the values after it, so that what depends
on the shape (labels in [0, C), one weight per class) is always consistent:

- :func:`classification_problems`: an (N, C) score matrix and (N,) integer labels;
- :func:`probability_targets`: (N, C) rows of probabilities;
- :func:`weights`: a non-negative weight vector (per class or per example);
- :func:`regression_problems`: (N, K) predictions and, optionally, targets.

Sizes are given as an int (fixed) or an inclusive ``(low, high)`` pair (drawn).
Values are finite, drawn from ``[min_value, max_value]`` in the requested dtype.

The hinge losses have kinks where a margin ``s_j - s_y + margin`` is 0; a numerical
gradient is meaningless there and float32 rounding can flip a margin's side.
``classification_problems(hinge_margin=...)`` rejects (with ``assume``) draws that
come close to a kink. Pair it with exact tests that pin the convention at the kink.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

try:
    from hypothesis import assume
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError('flatprop.testing needs Hypothesis: pip install "flatprop[test]"') from error

__all__ = [
    "ClassificationProblem",
    "RegressionProblem",
    "classification_problems",
    "probability_targets",
    "regression_problems",
    "weights",
]

Size = int | tuple[int, int]
_WIDTHS: dict[int, Literal[16, 32, 64]] = {2: 16, 4: 32, 8: 64}  # itemsize -> bits


class ClassificationProblem(NamedTuple):
    """Scores and labels drawn together; unpacks as ``scores, y``.

    Attributes
    ----------
    scores : ndarray, shape (N, C)
        Finite class scores of the requested dtype.
    y : ndarray of int64, shape (N,)
        Labels in [0, C).
    """

    scores: npt.NDArray[np.floating]
    y: npt.NDArray[np.int64]


class RegressionProblem(NamedTuple):
    """Predictions and targets drawn together; unpacks as ``pred, target``.

    Attributes
    ----------
    pred : ndarray, shape (N, K)
    target : ndarray, shape (N, K), or None
        None when drawn without a target (the L2 loss then uses zeros).
    """

    pred: npt.NDArray[np.floating]
    target: npt.NDArray[np.floating] | None


def _sizes(size: Size, name: str, *, minimum: int = 0) -> st.SearchStrategy[int]:
    low, high = (size, size) if isinstance(size, int) else size
    if not minimum <= low <= high:
        raise ValueError(
            f"{name} must be an int >= {minimum} or a pair {minimum} <= low <= high, got {size!r}"
        )
    return st.integers(low, high)


def _finite_values(dtype: np.dtype, min_value: float, max_value: float) -> st.SearchStrategy[float]:
    """Finite values of ``dtype`` in [min_value, max_value].

    The bounds are clipped to the dtype's range and rounded inward to values it can
    represent (Hypothesis requires exactly representable bounds for float32).
    """
    if dtype.kind != "f" or dtype.itemsize not in _WIDTHS:
        raise ValueError(f"dtype must be float16, float32 or float64, got {dtype}")
    info = np.finfo(dtype)
    low = dtype.type(max(min_value, float(info.min)))
    high = dtype.type(min(max_value, float(info.max)))
    if low < min_value:
        low = np.nextafter(low, dtype.type(np.inf))
    if high > max_value:
        high = np.nextafter(high, dtype.type(-np.inf))
    return st.floats(
        float(low),
        float(high),
        width=_WIDTHS[dtype.itemsize],
        allow_nan=False,
        allow_infinity=False,
    )


def _near_a_kink(
    scores: npt.NDArray[np.floating], y: npt.NDArray[np.int64], margin: float, gap: float
) -> bool:
    """True if some ``s_j - s_y + margin`` (j != y) is within ``gap * (1 + |s_j| + |s_y|)`` of 0."""
    values = scores.astype(np.float64)
    rows = np.arange(len(y))
    correct = values[rows, y][:, np.newaxis]
    with np.errstate(over="ignore"):  # an overflowing term is infinitely far from a kink
        terms = values - correct + margin
        scale = 1 + np.abs(values) + np.abs(correct)
    terms[rows, y] = np.inf  # the target column has no kink
    return bool(np.any(np.abs(terms) < gap * scale))


@st.composite
def classification_problems(
    draw: st.DrawFn,
    *,
    num_examples: Size = (1, 6),
    num_classes: Size = (2, 5),
    dtype: npt.DTypeLike = np.float64,
    min_value: float = -10.0,
    max_value: float = 10.0,
    hinge_margin: float | None = None,
    kink_gap: float = 1e-3,
) -> ClassificationProblem:
    """Draw an (N, C) score matrix and (N,) labels in [0, C), C drawn first.

    Parameters
    ----------
    num_examples, num_classes : int or (int, int), default (1, 6) and (2, 5)
        N and C: fixed, or drawn from an inclusive range. N may be 0; C must be >= 1.
    dtype : float16, float32 or float64, default float64
        The dtype of the scores.
    min_value, max_value : float, default -10.0 and 10.0
        The range of the scores (clipped to what the dtype can hold).
    hinge_margin : float, optional
        Stay off the kinks of a hinge loss with this margin: reject draws in which
        some ``s_j - s_y + hinge_margin`` (j != y) lies within
        ``kink_gap * (1 + |s_j| + |s_y|)`` of 0.
    kink_gap : float, default 1e-3
        Relative distance to the kinks; keep it well above the step of a numerical
        gradient (1e-5 by default) and the relative rounding error of the dtype.

    Returns
    -------
    SearchStrategy of ClassificationProblem
        Named ``(scores, y)`` pairs; ``y`` is int64.

    Examples
    --------
    A property test of the SVM loss, kept away from its kinks:

    >>> from hypothesis import given
    >>> from flatprop.losses import multiclass_svm
    >>> @given(classification_problems(num_classes=3, hinge_margin=1.0))
    ... def test_svm_loss_is_non_negative(problem):
    ...     loss, grads = multiclass_svm(problem.scores, problem.y)
    ...     assert loss >= 0
    >>> test_svm_loss_is_non_negative()  # Hypothesis runs it on many draws: silent if it holds
    """
    scores_dtype = np.dtype(dtype)
    n = draw(_sizes(num_examples, "num_examples"))
    c = draw(_sizes(num_classes, "num_classes", minimum=1))
    scores = draw(
        hnp.arrays(
            scores_dtype, (n, c), elements=_finite_values(scores_dtype, min_value, max_value)
        )
    )
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    if hinge_margin is not None:
        assume(not _near_a_kink(scores, y, hinge_margin, kink_gap))
    return ClassificationProblem(scores, y)


@st.composite
def probability_targets(
    draw: st.DrawFn, num_examples: int, num_classes: int, *, dtype: npt.DTypeLike = np.float64
) -> npt.NDArray[np.floating]:
    """Draw (N, C) rows of probabilities: non-negative, each summing to 1 (to rounding).

    Rows are drawn as non-negative masses and normalized; exact zeros and one-hot rows
    come up often, and a row of zero mass becomes uniform.

    Parameters
    ----------
    num_examples, num_classes : int
        N and C, usually those of a drawn :class:`ClassificationProblem`.
    dtype : float16, float32 or float64, default float64

    Returns
    -------
    SearchStrategy of ndarray, shape (N, C)

    Examples
    --------
    Soft targets drawn for the shape of the drawn scores:

    >>> from hypothesis import strategies as st
    >>> soft_problems = classification_problems().flatmap(
    ...     lambda problem: st.tuples(
    ...         st.just(problem.scores), probability_targets(*problem.scores.shape)
    ...     )
    ... )
    """
    masses = draw(hnp.arrays(np.float64, (num_examples, num_classes), elements=st.floats(0, 1)))
    masses[masses.sum(axis=1) == 0] = 1.0
    return (masses / masses.sum(axis=1, keepdims=True)).astype(dtype)


@st.composite
def weights(
    draw: st.DrawFn,
    length: int,
    *,
    dtype: npt.DTypeLike = np.float64,
    min_value: float = 0.1,
    max_value: float = 10.0,
    allow_zero: bool = True,
) -> npt.NDArray[np.floating]:
    """Draw a (length,) vector of non-negative weights: per class (C) or per example (N).

    Parameters
    ----------
    length : int
    dtype : float16, float32 or float64, default float64
    min_value, max_value : float, default 0.1 and 10.0
        The range of the non-zero weights. Keeping them away from 0 keeps a weighted
        mean well conditioned (its divisor is the total weight).
    allow_zero : bool, default True
        Also draw exact zeros (a weight of zero drops an example or a class).

    Returns
    -------
    SearchStrategy of ndarray, shape (length,)

    Examples
    --------
    Optional class weights for three classes:

    >>> from hypothesis import strategies as st
    >>> class_weights = st.none() | weights(3)
    """
    weight_dtype = np.dtype(dtype)
    elements = _finite_values(weight_dtype, min_value, max_value)
    if allow_zero:
        elements = st.just(0.0) | elements
    return draw(hnp.arrays(weight_dtype, (length,), elements=elements))


@st.composite
def regression_problems(
    draw: st.DrawFn,
    *,
    num_examples: Size = (1, 6),
    num_outputs: Size = (1, 5),
    dtype: npt.DTypeLike = np.float64,
    min_value: float = -10.0,
    max_value: float = 10.0,
    with_target: bool | None = True,
) -> RegressionProblem:
    """Draw (N, K) predictions and targets of the same shape and dtype.

    Parameters
    ----------
    num_examples, num_outputs : int or (int, int), default (1, 6) and (1, 5)
        N and K: fixed, or drawn from an inclusive range.
    dtype : float16, float32 or float64, default float64
    min_value, max_value : float, default -10.0 and 10.0
        The range of the predictions and targets.
    with_target : bool or None, default True
        False gives ``target=None`` (the loss then compares with zeros); None draws
        either.

    Returns
    -------
    SearchStrategy of RegressionProblem
        Named ``(pred, target)`` pairs.

    Examples
    --------
    >>> from hypothesis import given
    >>> from flatprop.losses import l2
    >>> @given(regression_problems(with_target=None))
    ... def test_l2_loss_is_non_negative(problem):
    ...     loss, grads = l2(problem.pred, problem.target)
    ...     assert loss >= 0
    >>> test_l2_loss_is_non_negative()
    """
    value_dtype = np.dtype(dtype)
    n = draw(_sizes(num_examples, "num_examples"))
    k = draw(_sizes(num_outputs, "num_outputs"))
    values = hnp.arrays(
        value_dtype, (n, k), elements=_finite_values(value_dtype, min_value, max_value)
    )
    pred = draw(values)
    if with_target is None:
        with_target = draw(st.booleans())
    return RegressionProblem(pred, draw(values) if with_target else None)
