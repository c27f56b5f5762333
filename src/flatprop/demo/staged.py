r"""The problem set's three models, done right: "flat" backprop, one named stage per line.

CS231n's advice for assignment 1 is to stage the forward pass as a few named lines
and walk the same names back. This module does that for the three models of the
problem set, in plain NumPy, so that every stage can be printed and read. Each takes
its parameters first, as CS231n's loss functions (and flatprop's checkers) do:

``staged_svm(W, X, y, reg)``
    The linear SVM: ``scores``, ``margins``, ``data_loss``, ``reg_loss``, ``loss``;
    back: ``dmargins``, ``dscores``, ``dW``.
``staged_two_layer_softmax(params, X, y, reg)``
    The two-layer ReLU net with a softmax head: ``z1``, ``h1``, ``scores``, the softmax
    stages, ``loss``; back: ``dscores``, ``dW2``, ``db2``, ``dh1``, ``dz1``, ``dW1``,
    ``db1``. Unlike the problem set's code, the second layer reads the ReLU's output
    ``h1`` and the row max is taken per row, in a new array.
``staged_matrix_example(params, X)``
    The discussion section's matrix example: :math:`z_1 = XW_1`, :math:`h_1 =
    \mathrm{ReLU}(z_1)`, :math:`\hat y = h_1 W_2`, :math:`L = \lVert \hat y \rVert^2`, with
    :math:`\partial L / \partial W_2 = h_1^\top (2\hat y)` and
    :math:`\partial L / \partial W_1 = X^\top ((2\hat y W_2^\top) \odot 1[z_1 > 0])`.

Each returns a :class:`StagedPass` holding every stage, a check of each parameter's
gradient against a numerical gradient, and a comparison with flatprop's library
(its losses and nets), which computes the same thing by other code. The
regularization convention is the problem set's: ``reg * sum(W ** 2)``, gradient
``2 * reg * W``, biases not regularized. The ReLU's subgradient at 0 is 0.
Each ``*_inputs`` function returns a small input in the order its model takes it.

Examples
--------
>>> from flatprop.demo.staged import staged_svm, table_svm_inputs
>>> W, X, y = table_svm_inputs()
>>> staged = staged_svm(W, X, y, reg=0.1)
>>> print(staged["margins"])
[[0.  2.9 0. ]
 [0.  0.  0. ]
 [6.3 6.6 0. ]]
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from flatprop._display import html_table, text_table
from flatprop._validation import (
    FloatArray,
    IntArray,
    as_float_array,
    as_labels,
    as_real_scalar,
    as_rng,
)
from flatprop.demo import _text
from flatprop.demo.questions import table_scores
from flatprop.gradcheck import GradientReport, check_gradient, rel_error
from flatprop.graph import StageGraph
from flatprop.layers import RELU_KINK
from flatprop.losses import LOSSES, l2, multiclass_svm, softmax_cross_entropy
from flatprop.nets import LinearClassifier, TwoLayerNet

__all__ = [
    "GradientCheck",
    "Stage",
    "StagedPass",
    "matrix_example_inputs",
    "problem_set_svm_inputs",
    "staged_matrix_example",
    "staged_svm",
    "staged_two_layer_softmax",
    "table_svm_inputs",
    "two_layer_inputs",
]

NUMERICAL_STEP = 1e-5


@dataclass(frozen=True)
class Stage:
    """One named line of a forward or backward pass: its formula and its value.

    ``inputs`` names the operands of a forward stage (``("X", "W")`` for ``scores``):
    the edges of its computational graph (:meth:`StagedPass.graph`).
    """

    name: str
    formula: str
    value: FloatArray
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class GradientCheck:
    """A parameter's gradient from the backward pass next to a numerical one.

    Attributes
    ----------
    name : str
        ``"dW"``, ``"dW1"``, ...
    report : flatprop.gradcheck.GradientReport
        :func:`~flatprop.gradcheck.check_gradient`'s comparison, entry by entry, with the
        entries on a kink within the step told apart.
    kink : str or None
        The subgradient the backward pass chooses at a kink (None for a smooth function).
    """

    name: str
    report: GradientReport
    kink: str | None = None

    @property
    def analytic(self) -> FloatArray:
        """The backward pass's gradient."""
        return self.report.analytic

    @property
    def numerical(self) -> FloatArray:
        """Central differences with the step :data:`NUMERICAL_STEP`."""
        return self.report.numerical

    @property
    def relative_error(self) -> float:
        """The largest relative error of the two, off the kinks."""
        return self.report.relative_error

    @property
    def kinks(self) -> int:
        """How many entries lie on a kink within the step (not counted as errors)."""
        return int(self.report.kinks.sum())


@dataclass(frozen=True, eq=False)
class StagedPass(Mapping[str, FloatArray]):
    """Every stage of a forward and backward pass, with its gradient checks.

    A read-only mapping of each stage's name to its value, in the order computed (the
    forward stages, then the backward ones): ``staged["margins"]``, ``"dW" in staged``,
    ``list(staged)``, ``dict(staged)``, ``len(staged)``. The pass's arguments (``W``,
    ``X``, ``y``) are in :attr:`arguments`, not among the stages. Two passes are equal
    only if they are the same object (their values are arrays).

    Attributes
    ----------
    title : str
    forward, backward : tuple of Stage
        In the order they are computed.
    checks : tuple of GradientCheck
        One per parameter: backward pass vs central differences.
    library : tuple of (str, float)
        The same quantities computed by flatprop's library, as (what, relative error).
    arguments : dict of ndarray
        What the pass was called with, by name (``W``, ``X``, ``y``; the entries of
        ``params``): the sources of its graph.
    """

    title: str
    forward: tuple[Stage, ...]
    backward: tuple[Stage, ...]
    checks: tuple[GradientCheck, ...]
    library: tuple[tuple[str, float], ...]
    arguments: Mapping[str, npt.NDArray[Any]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> FloatArray:
        """The value of the stage called ``name``; a KeyError listing the names if none is.

        Examples
        --------
        >>> staged = staged_svm(*table_svm_inputs(), reg=0.1)
        >>> float(staged["data_loss"]), "dW" in staged, len(staged)
        (5.266666666666667, True, 8)
        >>> staged["dx"]
        Traceback (most recent call last):
        ...
        KeyError: "no stage named 'dx'; the stages are scores, margins, data_loss, reg_loss, loss, dmargins, dscores, dW"
        """  # noqa: E501
        for stage in self.forward + self.backward:
            if stage.name == name:
                return stage.value
        raise KeyError(f"no stage named {name!r}; the stages are {', '.join(self)}")

    def __iter__(self) -> Iterator[str]:
        """The names of the stages, forward then backward, in the order computed."""
        return (stage.name for stage in self.forward + self.backward)

    def __len__(self) -> int:
        return len(self.forward) + len(self.backward)

    # Mapping compares values, which are arrays here: identity, as for any object.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def graph(self) -> StageGraph:
        """The pass as a computational graph: a node per stage, an edge per operand.

        Each forward stage is drawn from its inputs, with its formula and values; each
        backward stage ``dx`` shows as the gradient of ``x``. See
        :class:`flatprop.graph.StageGraph` (``to_dot()``, ``to_svg()``, ``render(path)``).

        Examples
        --------
        >>> graph = staged_svm(*table_svm_inputs(), reg=0.1).graph()
        >>> graph.edges[:3]
        (('X', 'scores'), ('W', 'scores'), ('scores', 'margins'))
        >>> graph.outputs, graph.gradients["dscores"]
        (('loss',), 'scores')
        """
        stages = self.forward + self.backward
        values = {**self.arguments, **{stage.name: stage.value for stage in stages}}
        return StageGraph(
            values,
            {stage.name: stage.inputs for stage in self.forward},
            formulas={stage.name: stage.formula for stage in stages},
            title=self.title,
        )

    def to_dot(self) -> str:
        """:meth:`graph` in Graphviz's DOT language (see :meth:`StageGraph.to_dot`)."""
        return self.graph().to_dot()

    def _checks_rows(self) -> list[tuple[str, str]]:
        rows = [
            (f"{check.name} vs central differences", f"{check.relative_error:.1e}")
            for check in self.checks
        ]
        return rows + [(what, f"{error:.1e}") for what, error in self.library]

    def __repr__(self) -> str:
        title = f"StagedPass({self.title!r}, largest relative error {self.max_relative_error:.1e})"
        return f"{title}\n{text_table(self.graph().rows())}"

    def _repr_html_(self) -> str:
        """Jupyter's view: the graph, then the gradient checks."""
        checks = html_table(
            "Gradient checks and comparisons with flatprop's library",
            ("what", "relative error"),
            self._checks_rows(),
        )
        return self.graph()._repr_html_() + checks

    @property
    def max_relative_error(self) -> float:
        """The largest relative error of the checks (off the kinks) and comparisons."""
        errors = [check.relative_error for check in self.checks]
        return max(errors + [error for _, error in self.library])

    def report(self) -> str:
        """The stages one by one, then the gradient checks side by side."""
        lines = [_text.heading(self.title, underline="-")]
        lines += ["Forward pass:", *map(_stage_text, self.forward), ""]
        lines += ["Backward pass:", *map(_stage_text, self.backward), ""]
        lines.append(
            f"Gradient checks: backward pass vs central differences (h = {NUMERICAL_STEP:g}):"
        )
        for check in self.checks:
            error = f"relative error {check.relative_error:.1e}"
            if check.kinks:
                error += f"\noff the kinks;\n{check.kinks} on a kink"
            within = int(check.report.within_rounding.sum())
            if within:
                error += f"\n{within} within rounding"
            block = _text.side_by_side(
                [
                    f"{check.name}, backward\n{_text.format_array(check.analytic)}",
                    f"{check.name}, numerical\n{_text.format_array(check.numerical)}",
                    error,
                ]
            )
            lines.append(_text.indent(block))
            if check.kinks:
                lines.append(_text.indent(textwrap.fill(_kink_text(check), width=86)))
            if within:
                lines.append(_text.indent(textwrap.fill(_rounding_text(check), width=86)))
        lines.append("")
        lines.append("The same computed by flatprop's library:")
        lines += [f"  {what}: relative error {error:.1e}" for what, error in self.library]
        return "\n".join(lines)


def _kink_text(check: GradientCheck) -> str:
    """What a gradient check's kink entries mean, for the report."""
    where = ", ".join(str(index) for index in check.report.kink_indices[:4])
    more = ", ..." if check.kinks > 4 else ""
    return (
        f"{check.name} at {where}{more}: on a kink within the step h = {NUMERICAL_STEP:g} "
        "(its slopes left and right of the point differ), where central differences "
        "average the two sides: not a bug. The backward pass chose a subgradient"
        + (f": {check.kink}." if check.kink else ".")
    )


def _rounding_text(check: GradientCheck) -> str:
    """What a gradient check's entries within rounding mean, for the report."""
    report = check.report
    within = report.within_rounding
    difference = float(np.max(np.abs(report.analytic - report.numerical)[within]))
    return (
        f"{check.name}: {int(within.sum())} of {within.size} entries beyond the tolerance "
        f"{report.tolerance:g} differ from central differences by at most {difference:.1e}, "
        "within what rounding the loss contributes to them: gradients tiny next to the "
        "loss, whose central differences are mostly noise; not errors."
    )


def _values(forward: list[Stage], backward: list[Stage]) -> dict[str, FloatArray]:
    return {stage.name: stage.value for stage in forward + backward}


def _stage_text(stage: Stage) -> str:
    if stage.value.ndim == 0:
        return f"  {stage.name} = {stage.formula} = {_text.format_number(float(stage.value))}"
    value = _text.indent(_text.format_array(stage.value), levels=3)
    return f"  {stage.name} = {stage.formula}\n{value}"


def _checked_inputs(
    arguments: Mapping[str, npt.ArrayLike], shapes: dict[str, str]
) -> dict[str, FloatArray]:
    """Each argument as a float64 copy, its shape checked.

    ``shapes`` gives each argument's shape in letters (N, D, H, C), in the order of the
    signature: a letter's size is read off the first argument that has it.
    """
    arrays: dict[str, FloatArray] = {}
    sizes: dict[str, tuple[int, str]] = {}  # letter -> (size, the argument that fixed it)
    for name, letters in shapes.items():
        if name not in arguments:
            raise ValueError(
                f"params must have an entry {name!r} of shape ({', '.join(letters)}), got "
                f"the entries {', '.join(map(repr, arguments))}"
            )
        array = np.array(as_float_array(arguments[name], name, dtype=np.dtype(np.float64)))
        if array.ndim != len(letters):
            raise ValueError(
                f"{name} must be {len(letters)}-D ({', '.join(letters)}), got shape {array.shape}"
            )
        for letter, size in zip(letters, array.shape, strict=True):
            expected, source = sizes.setdefault(letter, (size, name))
            if size != expected:
                raise ValueError(
                    f"{name} must have shape ({', '.join(letters)}) with {letter} = {expected} "
                    f"(as in {source}), got shape {array.shape}"
                )
        arrays[name] = array
    return arrays


def _gradient_checks(
    loss: Callable[[], float],
    params: dict[str, FloatArray],
    grads: dict[str, FloatArray],
    kink: str | None,
) -> tuple[GradientCheck, ...]:
    """Each parameter's gradient vs central differences of ``loss()``, which reads ``params``."""
    return tuple(
        GradientCheck(
            name=f"d{name}",
            report=check_gradient(lambda _: loss(), params[name], grads[name], h=NUMERICAL_STEP),
            kink=kink,
        )
        for name in params
    )


def _staged_pass(
    title: str,
    stages: Callable[[], tuple[list[Stage], list[Stage]]],
    params: dict[str, FloatArray],
    library: Callable[[dict[str, FloatArray]], list[tuple[str, float]]],
    arguments: dict[str, npt.NDArray[Any]],
    kink: str | None,
) -> StagedPass:
    """Run ``stages`` (which read ``params``), check each parameter's gradient, compare.

    ``library(values)`` compares the values of the stages with flatprop's library;
    ``arguments`` are the pass's arguments by name, kept for its graph.
    ``kink`` says which subgradient the stages choose at a kink.
    """
    forward, backward = stages()
    values = _values(forward, backward)

    def loss() -> float:
        return float(stages()[0][-1].value)

    return StagedPass(
        title=title,
        forward=tuple(forward),
        backward=tuple(backward),
        checks=_gradient_checks(loss, params, {name: values[f"d{name}"] for name in params}, kink),
        library=tuple(library(values)),
        arguments=arguments,
    )


def _model_comparison(
    model: LinearClassifier | TwoLayerNet,
    params: dict[str, FloatArray],
    X: FloatArray,
    y: IntArray | None,
    reg: float,
    staged: dict[str, FloatArray],
) -> list[tuple[str, float]]:
    """The loss and gradients of the same model in :mod:`flatprop.nets`, vs the stages.

    Parameters missing from ``params`` (the matrix example's biases) stay at the model's
    initial zeros.
    """
    model.params.update({name: value.copy() for name, value in params.items()})
    loss, grads = model.loss(X, y, reg=reg)
    what = f"{type(model).__name__}(head={model.head!r}).loss"
    return [
        (f"loss, {what}", rel_error(loss, staged["loss"])),
        (
            f"{', '.join(f'd{name}' for name in params)}, its gradients",
            max(rel_error(grads[name], staged[f"d{name}"]) for name in params),
        ),
    ]


def _svm_stages(
    W: FloatArray, X: FloatArray, y: IntArray, reg: float, margin: float
) -> tuple[list[Stage], list[Stage]]:
    rows = np.arange(X.shape[0])
    num_examples = X.shape[0]
    # forward
    scores = X @ W
    margins = np.maximum(0.0, scores - scores[rows, y][:, np.newaxis] + margin)
    margins[rows, y] = 0.0  # a new array: the sum runs over j != y_i
    data_loss = margins.sum() / num_examples
    reg_loss = reg * np.sum(W * W)
    loss = data_loss + reg_loss
    # backward
    dmargins = (margins > 0) / num_examples
    dscores = dmargins.copy()
    dscores[rows, y] -= dmargins.sum(axis=1)  # s_y_i appears, negated, in every margin
    dW = X.T @ dscores + 2 * reg * W
    forward = [
        Stage("scores", "X W", scores, ("X", "W")),
        Stage(
            "margins",
            f"max(0, scores - scores[y_i] + {margin:g}), 0 at j = y_i",
            margins,
            ("scores", "y"),
        ),
        Stage("data_loss", "sum(margins) / N", np.asarray(data_loss), ("margins",)),
        Stage("reg_loss", f"{reg:g} * sum(W * W)", np.asarray(reg_loss), ("W",)),
        Stage("loss", "data_loss + reg_loss", np.asarray(loss), ("data_loss", "reg_loss")),
    ]
    backward = [
        Stage("dmargins", "1[margins > 0] / N", dmargins),
        Stage("dscores", "dmargins, minus each row's sum at j = y_i", dscores),
        Stage("dW", "X^T dscores + 2 reg W", dW),
    ]
    return forward, backward


def staged_svm(
    W: npt.ArrayLike, X: npt.ArrayLike, y: npt.ArrayLike, reg: float = 0.0, *, margin: float = 1.0
) -> StagedPass:
    """The problem set's linear SVM ``svm_loss(W, X, y, reg)``, staged and checked.

    Parameters
    ----------
    W : array_like, shape (D, C)
    X : array_like, shape (N, D)
    y : array_like of int, shape (N,)
        Labels in [0, C).
    reg : float, default 0.0
        Regularization strength: ``reg_loss = reg * sum(W * W)``.
    margin : float, default 1.0

    Returns
    -------
    StagedPass
        Stages ``scores``, ``margins``, ``data_loss``, ``reg_loss``, ``loss``, ``dmargins``,
        ``dscores``, ``dW``; the check of ``dW``; the comparison with
        :func:`flatprop.losses.multiclass_svm`.

    Raises
    ------
    ValueError, TypeError
        For arrays whose shapes do not chain, labels out of [0, C), a bad ``reg``.

    Examples
    --------
    The slide's table as a linear model (``X`` the identity, ``W`` the scores):

    >>> staged = staged_svm(*table_svm_inputs(), reg=0.0)
    >>> print(float(staged["data_loss"]))  # (2.9 + 0 + 12.9) / 3
    5.266666666666667
    >>> staged.max_relative_error < 1e-8
    True
    """
    reg = as_real_scalar(reg, "reg")
    margin = as_real_scalar(margin, "margin")
    arrays = _checked_inputs({"W": W, "X": X}, {"W": "DC", "X": "ND"})
    params, features = {"W": arrays["W"]}, arrays["X"]
    D, C = params["W"].shape
    labels = as_labels(y, "y", num_examples=features.shape[0], num_classes=C)

    def library(staged: dict[str, FloatArray]) -> list[tuple[str, float]]:
        loss, grads = multiclass_svm(features @ params["W"], labels, margin=margin)
        dW = features.T @ grads["scores"] + 2 * reg * params["W"]
        model = LinearClassifier(D, C, head="svm", bias=False, margin=margin)
        return [
            (
                "loss, flatprop.losses.multiclass_svm + reg_loss",
                rel_error(loss + reg * np.sum(params["W"] ** 2), staged["loss"]),
            ),
            ("dW, from its dscores", rel_error(dW, staged["dW"])),
            *_model_comparison(model, params, features, labels, reg, staged),
        ]

    return _staged_pass(
        "The linear SVM, staged",
        lambda: _svm_stages(params["W"], features, labels, reg, margin),
        params,
        library,
        {"X": features, "W": params["W"], "y": labels},
        LOSSES["multiclass_svm"].kink,
    )


def table_svm_inputs() -> tuple[FloatArray, FloatArray, IntArray]:
    """The slide's table as a linear model: ``W`` the scores, ``X`` the 3x3 identity.

    Each image is its own one-hot feature, so ``scores = X W = W`` is exactly the
    slide's table (one row per image) and ``dW = dscores``.

    Returns
    -------
    W : ndarray, shape (D, C) = (3, 3)
    X : ndarray, shape (N, D) = (3, 3)
    y : ndarray of int, shape (N,)

    Examples
    --------
    >>> W, X, y = table_svm_inputs()
    >>> print(X @ W)
    [[ 3.2  5.1 -1.7]
     [ 1.3  4.9  2. ]
     [ 2.2  2.5 -3.1]]
    """
    scores, y = table_scores()
    return scores, np.eye(3), y


def problem_set_svm_inputs(*, seed: int = 0) -> tuple[FloatArray, FloatArray, IntArray]:
    """The problem set's own input to ``svm_loss``, with W drawn from a random seed.

    ``X = [[0.2, 0.4], [0.2, 0.4]]``, ``y = [0, 1]`` and ``W`` standard normal, (2, 2)
    (the problem set's W was unseeded). Both rows are the same image with different
    labels: while both margins are active, their data gradients cancel and ``dW`` is
    just ``2 reg W`` -- why the problem set's printed gradient was so small.

    Parameters
    ----------
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` for W.

    Returns
    -------
    W : ndarray, shape (D, C) = (2, 2)
    X : ndarray, shape (N, D) = (2, 2)
    y : ndarray of int, shape (N,)

    Examples
    --------
    >>> W, X, y = problem_set_svm_inputs()
    >>> W.shape, X.tolist(), y.tolist()
    ((2, 2), [[0.2, 0.4], [0.2, 0.4]], [0, 1])
    """
    W = as_rng(seed).standard_normal((2, 2))
    return W, np.array([[0.2, 0.4], [0.2, 0.4]]), np.array([0, 1])


def _softmax_net_stages(
    p: dict[str, FloatArray], X: FloatArray, y: IntArray, reg: float
) -> tuple[list[Stage], list[Stage]]:
    rows = np.arange(X.shape[0])
    num_examples = X.shape[0]
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    # forward
    z1 = X @ W1 + b1
    h1 = np.maximum(0.0, z1)
    scores = h1 @ W2 + b2  # from h1, the ReLU's output (the problem set's code used z1)
    shifted = scores - scores.max(axis=1, keepdims=True)  # per row, a new array: exp <= 1
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    data_loss = -log_probs[rows, y].mean()
    reg_loss = reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    loss = data_loss + reg_loss
    # backward
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1.0
    dscores /= num_examples
    dW2 = h1.T @ dscores + 2 * reg * W2
    db2 = dscores.sum(axis=0)
    dh1 = dscores @ W2.T
    dz1 = dh1 * (z1 > 0)
    dW1 = X.T @ dz1 + 2 * reg * W1
    db1 = dz1.sum(axis=0)
    forward = [
        Stage("z1", "X W1 + b1", z1, ("X", "W1", "b1")),
        Stage("h1", "max(0, z1)", h1, ("z1",)),
        Stage("scores", "h1 W2 + b2", scores, ("h1", "W2", "b2")),
        Stage("shifted", "scores - max over j of scores, row by row", shifted, ("scores",)),
        Stage("log_probs", "shifted - log(sum over j of exp(shifted))", log_probs, ("shifted",)),
        Stage(
            "data_loss",
            "-mean over i of log_probs[i, y_i]",
            np.asarray(data_loss),
            ("log_probs", "y"),
        ),
        Stage(
            "reg_loss",
            f"{reg:g} * (sum(W1 * W1) + sum(W2 * W2))",
            np.asarray(reg_loss),
            ("W1", "W2"),
        ),
        Stage("loss", "data_loss + reg_loss", np.asarray(loss), ("data_loss", "reg_loss")),
    ]
    backward = [
        Stage("dscores", "(exp(log_probs) - onehot(y)) / N", dscores),
        Stage("dW2", "h1^T dscores + 2 reg W2", dW2),
        Stage("db2", "sum over i of dscores", db2),
        Stage("dh1", "dscores W2^T", dh1),
        Stage("dz1", "dh1 * 1[z1 > 0]", dz1),
        Stage("dW1", "X^T dz1 + 2 reg W1", dW1),
        Stage("db1", "sum over i of dz1", db1),
    ]
    return forward, backward


def staged_two_layer_softmax(
    params: Mapping[str, npt.ArrayLike], X: npt.ArrayLike, y: npt.ArrayLike, reg: float = 0.0
) -> StagedPass:
    """The problem set's two-layer softmax net, staged and checked, with its bugs fixed.

    Parameters
    ----------
    params : dict
        ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,); copied, never modified.
    X : array_like, shape (N, D)
    y : array_like of int, shape (N,)
        Labels in [0, C).
    reg : float, default 0.0
        ``reg_loss = reg * (sum(W1 ** 2) + sum(W2 ** 2))``; biases not regularized.

    Returns
    -------
    StagedPass
        The stages named in the module docstring, a check of each parameter's gradient,
        and the comparison with :func:`flatprop.losses.softmax_cross_entropy`.

    Raises
    ------
    ValueError, TypeError
        For arrays whose shapes do not chain, labels out of [0, C), a bad ``reg``.

    Examples
    --------
    >>> params, X, y = two_layer_inputs()
    >>> staged = staged_two_layer_softmax(params, X, y, reg=0.1)
    >>> [check.name for check in staged.checks]
    ['dW1', 'db1', 'dW2', 'db2']
    >>> staged.max_relative_error < 1e-7
    True
    """
    reg = as_real_scalar(reg, "reg")
    arrays = _checked_inputs(
        {**params, "X": X}, {"W1": "DH", "b1": "H", "W2": "HC", "b2": "C", "X": "ND"}
    )
    features = arrays.pop("X")
    (D, H), C = arrays["W1"].shape, arrays["W2"].shape[1]
    labels = as_labels(y, "y", num_examples=features.shape[0], num_classes=C)

    def library(staged: dict[str, FloatArray]) -> list[tuple[str, float]]:
        loss, grads = softmax_cross_entropy(staged["scores"], labels)
        return [
            (
                "data_loss, flatprop.losses.softmax_cross_entropy",
                rel_error(loss, staged["data_loss"]),
            ),
            ("dscores, its backward pass", rel_error(grads["scores"], staged["dscores"])),
            *_model_comparison(TwoLayerNet(D, H, C), arrays, features, labels, reg, staged),
        ]

    return _staged_pass(
        "The two-layer net with a softmax head, staged",
        lambda: _softmax_net_stages(arrays, features, labels, reg),
        arrays,
        library,
        {"X": features, **arrays, "y": labels},
        RELU_KINK,
    )


def two_layer_inputs(*, seed: int = 0) -> tuple[dict[str, FloatArray], FloatArray, IntArray]:
    """A tiny input for the two-layer net: N = 3 points in D = 2, H = 3, C = 3.

    ``X`` holds the problem set's point (0.2, 0.4) and two more; the parameters are
    drawn from ``numpy.random.default_rng(seed)``: weights standard normal, biases
    0.1 N(0, 1) (non-zero, so that their gradients are checked too).

    Parameters
    ----------
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` for the parameters.

    Returns
    -------
    params : dict of ndarray
        ``W1`` (2, 3), ``b1`` (3,), ``W2`` (3, 3), ``b2`` (3,).
    X : ndarray, shape (N, D) = (3, 2)
    y : ndarray of int, shape (N,)

    Examples
    --------
    >>> params, X, y = two_layer_inputs()
    >>> {name: value.shape for name, value in params.items()}, X.shape, y.tolist()
    ({'W1': (2, 3), 'b1': (3,), 'W2': (3, 3), 'b2': (3,)}, (3, 2), [0, 1, 2])
    """
    rng = as_rng(seed)
    params: dict[str, FloatArray] = {
        "W1": rng.standard_normal((2, 3)),
        "b1": 0.1 * rng.standard_normal(3),
        "W2": rng.standard_normal((3, 3)),
        "b2": 0.1 * rng.standard_normal(3),
    }
    X = np.array([[0.2, 0.4], [-0.5, 0.3], [0.6, -0.2]])
    return params, X, np.array([0, 1, 2])


def _matrix_stages(p: dict[str, FloatArray], X: FloatArray) -> tuple[list[Stage], list[Stage]]:
    W1, W2 = p["W1"], p["W2"]
    # forward
    z1 = X @ W1
    h1 = np.maximum(0.0, z1)
    y_hat = h1 @ W2
    loss = np.sum(y_hat * y_hat)
    # backward
    dy_hat = 2 * y_hat
    dW2 = h1.T @ dy_hat
    dh1 = dy_hat @ W2.T
    dz1 = dh1 * (z1 > 0)
    dW1 = X.T @ dz1
    forward = [
        Stage("z1", "X W1", z1, ("X", "W1")),
        Stage("h1", "max(0, z1)", h1, ("z1",)),
        Stage("y_hat", "h1 W2", y_hat, ("h1", "W2")),
        Stage("loss", "||y_hat||^2, the sum of its squared entries", np.asarray(loss), ("y_hat",)),
    ]
    backward = [
        Stage("dy_hat", "2 y_hat", dy_hat),
        Stage("dW2", "h1^T dy_hat", dW2),
        Stage("dh1", "dy_hat W2^T", dh1),
        Stage("dz1", "dh1 * 1[z1 > 0]", dz1),
        Stage("dW1", "X^T dz1", dW1),
    ]
    return forward, backward


def staged_matrix_example(params: Mapping[str, npt.ArrayLike], X: npt.ArrayLike) -> StagedPass:
    r"""The matrix example: :math:`L = \lVert \mathrm{ReLU}(X W_1) W_2 \rVert^2`, staged.

    Parameters
    ----------
    params : dict
        ``W1`` (D, H) and ``W2`` (H, C); copied, never modified.
    X : array_like, shape (N, D)

    Returns
    -------
    StagedPass
        Stages ``z1``, ``h1``, ``y_hat``, ``loss``, ``dy_hat``, ``dW2``, ``dh1``, ``dz1``,
        ``dW1``; the checks of ``dW1`` and ``dW2``; the comparison with
        :func:`flatprop.losses.l2` (``reduction="sum"``, no target).

    Raises
    ------
    ValueError, TypeError
        For arrays whose shapes do not chain.

    Notes
    -----
    The loss is summed over the N examples (the problem set's code returned a vector of
    N losses).

    Examples
    --------
    Worked by hand: z1 = (0.22, -0.38), h1 = (0.22, 0), y_hat = 0.11, L = 0.0121,
    dW2 = h1^T (2 y_hat) = (0.0484, 0), dW1 = X^T ((0.22 W2^T) * (1, 0)):

    >>> staged = staged_matrix_example(*matrix_example_inputs())
    >>> print(_text.format_array(staged["dW1"]), _text.format_array(staged["dW2"]))
    [[0.022 0.000]
     [0.044 0.000]] [[0.0484]
     [0.0000]]
    """
    arrays = _checked_inputs({**params, "X": X}, {"W1": "DH", "W2": "HC", "X": "ND"})
    features = arrays.pop("X")
    (D, H), C = arrays["W1"].shape, arrays["W2"].shape[1]

    def library(staged: dict[str, FloatArray]) -> list[tuple[str, float]]:
        loss, grads = l2(staged["y_hat"], reduction="sum")
        model = TwoLayerNet(D, H, C, head="l2", reduction="sum")
        return [
            (
                "loss, flatprop.losses.l2(y_hat, reduction='sum')",
                rel_error(loss, staged["loss"]),
            ),
            ("dy_hat, its backward pass", rel_error(grads["pred"], staged["dy_hat"])),
            *_model_comparison(model, arrays, features, None, 0.0, staged),
        ]

    return _staged_pass(
        "The matrix example, staged",
        lambda: _matrix_stages(arrays, features),
        arrays,
        library,
        {"X": features, **arrays},
        RELU_KINK,
    )


def matrix_example_inputs() -> tuple[dict[str, FloatArray], FloatArray]:
    """The problem set's input ``X = [[0.2, 0.4]]`` and fixed weights, one hidden unit off.

    ``W1 = [[0.1, -0.3], [0.5, -0.8]]`` is the W1 the problem set left in a comment,
    with one sign flipped, so that ``z1 = X W1 = (0.22, -0.38)`` has a negative entry
    and the ReLU's gate shows in ``dW1``; ``W2 = [[0.5], [-1.0]]``. Small enough to check
    by hand.

    Returns
    -------
    params : dict of ndarray
        ``W1`` (D, H) = (2, 2) and ``W2`` (H, C) = (2, 1).
    X : ndarray, shape (N, D) = (1, 2)

    Examples
    --------
    >>> params, X = matrix_example_inputs()
    >>> print(X @ params["W1"])
    [[ 0.22 -0.38]]
    """
    params = {"W1": np.array([[0.1, -0.3], [0.5, -0.8]]), "W2": np.array([[0.5], [-1.0]])}
    return params, np.array([[0.2, 0.4]])
