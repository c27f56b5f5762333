"""Hypothesis strategies for the inputs of flatprop's losses.

Every strategy draws the shape first and the values after it, so that what depends
on the shape (labels in [0, C), one weight per class) is always consistent:

- :func:`classification_problems`: an (N, C) score matrix and (N,) integer labels;
- :func:`probability_targets`: (N, C) rows of probabilities;
- :func:`weights`: a non-negative weight vector (per class or per example);
- :func:`regression_problems`: (N, K) predictions and, optionally, targets;
- :func:`linear_problems`: ``(W, X, y, reg)`` for a linear classifier's loss;
- :func:`two_layer_problems`: ``(params, X, y, reg)`` for a two-layer net's loss.

Sizes are given as an int (fixed) or an inclusive ``(low, high)`` pair (drawn).
Values are finite, drawn from ``[min_value, max_value]`` in the requested dtype.

The hinge losses have kinks where a margin ``s_j - s_y + margin`` is 0; a numerical
gradient is meaningless there and float32 rounding can flip a margin's side.
``classification_problems(hinge_margin=...)`` rejects (with ``assume``) draws that
come close to a kink. Pair it with exact tests that pin the convention at the kink:
``grid=0.5`` draws values on a grid of halves, whose sums are exact, so that margins
(and ReLU pre-activations) land exactly on their kinks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

try:
    from hypothesis import assume
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "flatprop.testing needs Hypothesis, which is not installed: "
        'pip install "flatprop[test]"  (from a clone of the repository: pip install ".[test]")',
        name="hypothesis",
    ) from error

from flatprop.testing._arrays import (
    Size,
    array_entries,
    finite_values,
    label_arrays,
    linear_model_scores,
    near_a_hinge_kink,
    near_a_relu_kink,
    regularization_strengths,
    size_range,
    two_layer_net_scores,
)

__all__ = [
    "ClassificationProblem",
    "LinearProblem",
    "RegressionProblem",
    "TwoLayerProblem",
    "classification_problems",
    "linear_problems",
    "probability_targets",
    "regression_problems",
    "two_layer_problems",
    "weights",
]


FloatArray = npt.NDArray[np.floating]


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
    grid: float | None = None,
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
    grid : float, optional
        Draw only whole multiples of ``grid`` (see :func:`linear_problems`); with
        ``grid=0.5`` and no ``hinge_margin``, scores land exactly on the kinks.

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
    n = draw(size_range(num_examples, "num_examples"))
    c = draw(size_range(num_classes, "num_classes", minimum=1))
    scores = draw(
        hnp.arrays(
            scores_dtype, (n, c), elements=array_entries(scores_dtype, min_value, max_value, grid)
        )
    )
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    if hinge_margin is not None:
        assume(not near_a_hinge_kink(scores, y, hinge_margin, kink_gap))
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
    elements = finite_values(weight_dtype, min_value, max_value)
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
    n = draw(size_range(num_examples, "num_examples"))
    k = draw(size_range(num_outputs, "num_outputs"))
    values = hnp.arrays(
        value_dtype, (n, k), elements=finite_values(value_dtype, min_value, max_value)
    )
    pred = draw(values)
    if with_target is None:
        with_target = draw(st.booleans())
    return RegressionProblem(pred, draw(values) if with_target else None)


# Whole-model problems: the inputs of a linear classifier's or a two-layer net's loss.


class LinearProblem(NamedTuple):
    """The inputs of a linear classifier's loss ``fn(W, X, y, reg)``; unpacks in that order.

    Attributes
    ----------
    W : ndarray, shape (D, C)
        Weights.
    X : ndarray, shape (N, D)
        Data, of the dtype of W.
    y : ndarray of int64, shape (N,), or ndarray, shape (N, C)
        Labels in [0, C), or real targets (for the L2 loss).
    reg : float
        Regularization strength, >= 0.
    """

    W: npt.NDArray[np.floating]
    X: npt.NDArray[np.floating]
    y: npt.NDArray[np.int64] | npt.NDArray[np.floating]
    reg: float


class TwoLayerProblem(NamedTuple):
    """The inputs of a two-layer net's loss ``fn(params, X, y, reg)``; unpacks in that order.

    Attributes
    ----------
    params : dict of ndarray
        ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,), in this order.
    X : ndarray, shape (N, D)
        Data, of the dtype of the params.
    y : ndarray of int64, shape (N,), or ndarray, shape (N, C)
        Labels in [0, C), or real targets (for the L2 loss).
    reg : float
        Regularization strength, >= 0.
    """

    params: dict[str, npt.NDArray[np.floating]]
    X: npt.NDArray[np.floating]
    y: npt.NDArray[np.int64] | npt.NDArray[np.floating]
    reg: float


@st.composite
def linear_problems(
    draw: st.DrawFn,
    *,
    num_examples: Size = (1, 5),
    num_features: Size = (1, 4),
    num_classes: Size = (2, 5),
    dtype: npt.DTypeLike = np.float64,
    min_value: float = -5.0,
    max_value: float = 5.0,
    reg: float | tuple[float, float] = (0.0, 1.0),
    regression: bool = False,
    hinge_margin: float | None = None,
    kink_gap: float = 1e-3,
    grid: float | None = None,
) -> LinearProblem:
    """Draw the inputs ``(W, X, y, reg)`` of a linear classifier's loss, sizes first.

    Parameters
    ----------
    num_examples, num_features, num_classes : int or (int, int)
        N, D and C, default (1, 5), (1, 4) and (2, 5): fixed, or drawn from an
        inclusive range.
    dtype : float16, float32 or float64, default float64
        The dtype of W and X (and of real targets).
    min_value, max_value : float, default -5.0 and 5.0
        The range of every entry of W and X (and of real targets). The default keeps
        the scores within +-100, well inside what ``exp`` takes.
    reg : float or (float, float), default (0.0, 1.0)
        The regularization strength: fixed, or drawn from an inclusive range.
    regression : bool, default False
        Draw real targets y of shape (N, C) (for the L2 loss) instead of labels.
    hinge_margin : float, optional
        Stay off the kinks of a hinge loss with this margin: reject draws in which a
        margin ``s_j - s_y + hinge_margin`` (j != y) of the scores ``s = X W`` comes
        within ``kink_gap`` (relative, as in :func:`classification_problems`) of 0.
    kink_gap : float, default 1e-3
    grid : float, optional
        Draw only whole multiples of ``grid`` in [min_value, max_value]. With a power
        of two such as 0.5, the scores are computed exactly (in any order), so margins
        land exactly on the kinks: the inputs that pin the subgradient convention.

    Returns
    -------
    SearchStrategy of LinearProblem

    Examples
    --------
    The loss of a linear SVM is never below its regularization term:

    >>> import numpy as np
    >>> from hypothesis import given
    >>> from flatprop.nets import LinearClassifier
    >>> @given(linear_problems(grid=0.5))
    ... def test_svm_loss_is_at_least_the_regularization(problem):
    ...     W, X, y, reg = problem
    ...     model = LinearClassifier(*W.shape, head="svm", bias=False)
    ...     model.params["W"] = W
    ...     loss, grads = model.loss(X, y, reg=reg)
    ...     assert loss >= reg * np.sum(W**2)
    >>> test_svm_loss_is_at_least_the_regularization()
    """
    sizes = {"N": (num_examples, "num_examples"), "D": (num_features, "num_features")}
    sizes |= {"C": (num_classes, "num_classes")}
    entries = _Entries(dtype, min_value, max_value, reg, regression, hinge_margin, kink_gap, grid)
    params, X, y, drawn_reg = _draw_model_inputs(
        draw, sizes, {"W": "DC"}, linear_model_scores, entries
    )
    return LinearProblem(params["W"], X, y, drawn_reg)


@st.composite
def two_layer_problems(
    draw: st.DrawFn,
    *,
    num_examples: Size = (1, 5),
    num_features: Size = (1, 3),
    num_hidden: Size = (1, 4),
    num_classes: Size = (2, 4),
    dtype: npt.DTypeLike = np.float64,
    min_value: float = -2.0,
    max_value: float = 2.0,
    reg: float | tuple[float, float] = (0.0, 1.0),
    regression: bool = False,
    hinge_margin: float | None = None,
    avoid_relu_kinks: bool = False,
    kink_gap: float = 1e-3,
    grid: float | None = None,
) -> TwoLayerProblem:
    """Draw the inputs ``(params, X, y, reg)`` of a two-layer net's loss, sizes first.

    The net is ``scores = max(0, X W1 + b1) W2 + b2``.

    Parameters
    ----------
    num_examples, num_features, num_hidden, num_classes : int or (int, int)
        N, D, H and C, default (1, 5), (1, 3), (1, 4) and (2, 4): fixed, or drawn
        from an inclusive range.
    dtype : float16, float32 or float64, default float64
        The dtype of the params and X (and of real targets).
    min_value, max_value : float, default -2.0 and 2.0
        The range of every entry of the params and X (and of real targets). The
        default keeps the scores within about +-120.
    reg : float or (float, float), default (0.0, 1.0)
        The regularization strength: fixed, or drawn from an inclusive range.
    regression : bool, default False
        Draw real targets y of shape (N, C) (for the L2 loss) instead of labels.
    hinge_margin : float, optional
        Stay off the kinks of a hinge loss with this margin on the scores, as in
        :func:`linear_problems`.
    avoid_relu_kinks : bool, default False
        Stay off the ReLU's kink: reject draws in which a pre-activation
        ``z_ij = (X W1 + b1)_ij`` comes within ``kink_gap`` times
        ``1 + sum_k |X_ik W1_kj| + |b1_j|`` of 0.
    kink_gap : float, default 1e-3
    grid : float, optional
        Draw only whole multiples of ``grid``; with 0.5, pre-activations and margins
        land exactly on their kinks (see :func:`linear_problems`).

    Returns
    -------
    SearchStrategy of TwoLayerProblem

    Examples
    --------
    The gradient has one entry per parameter, of its shape:

    >>> from hypothesis import given
    >>> from flatprop.nets import TwoLayerNet
    >>> @given(two_layer_problems(avoid_relu_kinks=True))
    ... def test_grads_are_keyed_and_shaped_like_params(problem):
    ...     net = TwoLayerNet(1, 1, 1)  # the sizes come from the params put in
    ...     net.params = dict(problem.params)
    ...     loss, grads = net.loss(problem.X, problem.y, reg=problem.reg)
    ...     assert {name: grad.shape for name, grad in grads.items()} == {
    ...         name: param.shape for name, param in problem.params.items()
    ...     }
    >>> test_grads_are_keyed_and_shaped_like_params()
    """
    sizes = {"N": (num_examples, "num_examples"), "D": (num_features, "num_features")}
    sizes |= {"H": (num_hidden, "num_hidden"), "C": (num_classes, "num_classes")}
    shapes = {"W1": "DH", "b1": "H", "W2": "HC", "b2": "C"}
    entries = _Entries(dtype, min_value, max_value, reg, regression, hinge_margin, kink_gap, grid)

    def near_the_relu_kink(params: Mapping[str, FloatArray], X: FloatArray) -> bool:
        return near_a_relu_kink(X, params["W1"], params["b1"], kink_gap)

    params, X, y, drawn_reg = _draw_model_inputs(
        draw,
        sizes,
        shapes,
        two_layer_net_scores,
        entries,
        near_the_relu_kink if avoid_relu_kinks else None,
    )
    return TwoLayerProblem(params, X, y, drawn_reg)


class _Entries(NamedTuple):
    """The options of :func:`linear_problems` and :func:`two_layer_problems` beyond sizes."""

    dtype: npt.DTypeLike
    min_value: float
    max_value: float
    reg: float | tuple[float, float]
    regression: bool
    hinge_margin: float | None
    kink_gap: float
    grid: float | None


def _draw_model_inputs(
    draw: st.DrawFn,
    sizes: dict[str, tuple[Size, str]],
    shapes: dict[str, str],
    scores: Callable[[Mapping[str, FloatArray], FloatArray], npt.NDArray[np.float64]],
    entries: _Entries,
    rejected: Callable[[Mapping[str, FloatArray], FloatArray], bool] | None = None,
) -> tuple[dict[str, FloatArray], FloatArray, npt.NDArray[np.int64] | FloatArray, float]:
    """What :func:`linear_problems` and :func:`two_layer_problems` draw, in this order.

    The sizes of ``sizes`` (letter -> (size, argument name), N first); each parameter of
    ``shapes`` (name -> its shape in letters); X (N, D), unless ``rejected(params, X)``;
    y, labels (N,) or real targets (N, C), kept off the hinge kinks of
    ``scores(params, X)`` when ``entries.hinge_margin`` is given; reg.
    """
    dtype, min_value, max_value, reg, regression, hinge_margin, kink_gap, grid = entries
    value_dtype = np.dtype(dtype)
    values = array_entries(value_dtype, min_value, max_value, grid)
    regs = regularization_strengths(reg)
    size = {
        letter: draw(size_range(given, name, minimum=0 if letter == "N" else 1))
        for letter, (given, name) in sizes.items()
    }
    params = {
        name: draw(
            hnp.arrays(value_dtype, tuple(size[letter] for letter in letters), elements=values)
        )
        for name, letters in shapes.items()
    }
    X = draw(hnp.arrays(value_dtype, (size["N"], size["D"]), elements=values))
    if rejected is not None:
        assume(not rejected(params, X))
    y: npt.NDArray[np.int64] | FloatArray
    if regression:
        y = draw(hnp.arrays(value_dtype, (size["N"], size["C"]), elements=values))
    else:
        y = labels = draw(label_arrays(size["N"], size["C"]))
        if hinge_margin is not None:
            assume(not near_a_hinge_kink(scores(params, X), labels, hinge_margin, kink_gap))
    return params, X, y, draw(regs)
