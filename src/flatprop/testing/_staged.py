"""The staged checkers: a flat forward and backward pass, checked stage by stage.

The problem set asks for the loss staged as a few named lines and walked back by the
same names ("flat backprop"). These checkers take such a function returning its
stages as a dict, compare each stage it returns with flatprop's (the stages of
:meth:`flatprop.nets.TwoLayerNet.stages` and :meth:`flatprop.nets.LinearClassifier.stages`,
the head's own included), forward then backward, and report the first wrong one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from flatprop._docstrings import fill_in
from flatprop.testing._arrays import Size
from flatprop.testing._checkers import (
    _LINEAR,
    _RETURNS_DOC,
    _SHARED_DOC,
    _TWO_LAYER,
    DEFAULT_MAX_EXAMPLES,
    _check_model,
    _Shared,
)
from flatprop.testing._engine import accepts_targets
from flatprop.testing._report import CheckReport

__all__ = ["check_staged_linear_loss", "check_staged_two_layer_loss"]

_STAGED_DOC = """
    Notes
    -----
    ``fn`` returns a dict of its stages: any of the contract's, by the names of the
    problem set's flat backprop (the table of stages and formulas is in the guide,
    ``docs/diagnosis.md``). Each is compared with flatprop's, forward stages first, then
    the backward ones, in the table's order; the first wrong one fails the check, and the
    report says which stages matched before it and that the later ones were not
    compared. :attr:`CheckFailedError.stage` names it. A name that is not one of the
    contract's stages is the candidate's failure (``kind`` "return"), and the message
    lists the names it may use. ``quantities=`` limits the comparison to the stages it
    names.

    ``fn`` may be a target, ``"path/to/file.py:function"``: it then runs in a worker
    process (see :mod:`flatprop.grading`), limited by ``timeout`` and ``memory``.
"""


def _with_docs(checker: Callable[..., CheckReport]) -> Callable[..., CheckReport]:
    returns = _RETURNS_DOC.split("\n    Notes\n")[0]
    return fill_in(checker, shared=_SHARED_DOC, returns=returns, staged=_STAGED_DOC)


@accepts_targets
@_with_docs
def check_staged_linear_loss(
    fn: Callable[..., Any],
    reference: str,
    *,
    reg_scale: float = 1.0,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = None,
    dtype: npt.DTypeLike = np.float64,
    rtol: float | None = None,
    atol: float | None = None,
    num_examples: Size = (1, 5),
    num_features: Size = (1, 4),
    num_classes: Size | None = None,
    min_value: float = -5.0,
    max_value: float = 5.0,
    reg: float | tuple[float, float] = (0.0, 1.0),
    max_row_shift: int | None = None,
    include_kinks: bool = True,
    **options: Any,
) -> CheckReport:
    """Check ``fn(W, X, y, reg) -> stages``, a linear classifier's flat backprop, stage by stage.

    The contract is :func:`check_linear_loss`'s, but ``fn`` returns a dict of its named
    stages. For the SVM: ``scores``, ``margins``, ``data_loss``, ``reg_loss``, ``loss``,
    then ``dmargins``, ``dscores``, ``dW``; for the softmax ``shifted`` and ``log_probs``
    take the place of ``margins`` (and there is no ``dmargins``).

    Parameters
    ----------
    fn : callable or str
        The candidate (or a target ``"path/to/file.py:function"``), called as
        ``fn(W, X, y, reg)`` with W (D, C), X (N, D), y (N,) and reg a float. It returns
        a dict of any of the stages (at least one), each an array of the reference's
        shape (a number for ``data_loss``, ``reg_loss`` and ``loss``).
    reference : {"multiclass_svm", "squared_hinge", "softmax_cross_entropy", "l2"}
        The loss on the scores (``"svm"`` and ``"softmax"`` also work).
    reg_scale : float > 0, default 1.0
        The regularization convention, as in :func:`check_linear_loss`.
    {shared}
    num_examples, num_features, num_classes : int or (int, int)
        N, D and C, as for :func:`check_linear_loss`.
    min_value, max_value : float
        As for :func:`check_linear_loss`.
    reg : float or (float, float)
        As for :func:`check_linear_loss`.
    max_row_shift : int >= 0, optional
        As for :func:`check_linear_loss`.
    **options
        The reference's settings: ``margin``, ``label_smoothing``, ``weight``,
        ``reduction``.

    {returns}

    {staged}

    Examples
    --------
    >>> import numpy as np
    >>> def svm_stages(W, X, y, reg):  # the problem set's flat backprop
    ...     rows = np.arange(len(y))
    ...     scores = X @ W
    ...     margins = np.maximum(0, scores - scores[rows, y][:, np.newaxis] + 1)
    ...     margins[rows, y] = 0
    ...     data_loss = margins.sum() / len(y)
    ...     reg_loss = reg * np.sum(W * W)
    ...     loss = data_loss + reg_loss
    ...     dmargins = (margins > 0) / len(y)
    ...     dscores = dmargins.copy()
    ...     dscores[rows, y] = -dmargins.sum(axis=1)
    ...     dW = X.T @ dscores + 2 * reg * W
    ...     return dict(scores=scores, margins=margins, data_loss=data_loss, loss=loss, dW=dW)
    >>> print(check_staged_linear_loss(svm_stages, "svm", max_examples=20))
    svm_stages passed check_staged_linear_loss: scores, margins, data_loss, loss and dW
    matched flatprop.nets.LinearClassifier(head='svm', bias=False) with regularization
    reg * sum(W**2), staged on 20 examples

    The same with ``data_loss = margins.sum()``, forgetting the mean:

    >>> def svm_stages_summed(W, X, y, reg):
    ...     stages = svm_stages(W, X, y, reg)
    ...     return {**stages, "data_loss": stages["data_loss"] * len(y)}
    >>> try:
    ...     check_staged_linear_loss(svm_stages_summed, "svm", max_examples=20)
    ... except AssertionError as error:
    ...     print(error.stage, error.diagnosis)
    data_loss None
    """
    __tracebackhide__ = True
    shared = _Shared(max_examples, seed, dtype, rtol, atol, min_value, max_value, include_kinks)
    sizes = {"num_examples": num_examples, "num_features": num_features}
    return _check_model(
        _LINEAR,
        fn,
        reference,
        options,
        sizes,
        num_classes,
        reg,
        reg_scale,
        max_row_shift,
        shared,
        checker=check_staged_linear_loss,
    )


@accepts_targets
@_with_docs
def check_staged_two_layer_loss(
    fn: Callable[..., Any],
    head: str,
    *,
    reg_scale: float = 1.0,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = None,
    dtype: npt.DTypeLike = np.float64,
    rtol: float | None = None,
    atol: float | None = None,
    num_examples: Size = (1, 5),
    num_features: Size = (1, 3),
    num_hidden: Size = (1, 4),
    num_classes: Size | None = None,
    min_value: float = -2.0,
    max_value: float = 2.0,
    reg: float | tuple[float, float] = (0.0, 1.0),
    max_row_shift: int | None = None,
    include_kinks: bool = True,
    **options: Any,
) -> CheckReport:
    """Check ``fn(params, X, y, reg) -> stages``, a two-layer net's flat backprop.

    The contract is :func:`check_two_layer_loss`'s, but ``fn`` returns a dict of its
    named stages: ``z1``, ``h1``, ``scores``, the head's stages (``shifted`` and
    ``log_probs`` for the softmax, ``margins`` for a hinge), ``data_loss``, ``reg_loss``,
    ``loss``, then (``dmargins`` for a hinge) ``dscores``, ``dh1``, ``dW2``, ``db2``,
    ``dz1``, ``dW1``, ``db1``.

    Parameters
    ----------
    fn : callable or str
        The candidate (or a target ``"path/to/file.py:function"``), called as
        ``fn(params, X, y, reg)`` with ``params`` a dict of ``W1`` (D, H), ``b1`` (H,),
        ``W2`` (H, C), ``b2`` (C,), X (N, D), y (N,), reg a float. It returns a dict of
        any of the stages (at least one), each an array of the reference's shape.
    head : {"softmax", "svm", "squared_hinge", "l2"}
        The loss on the scores (flatprop's loss names work too).
    reg_scale : float > 0, default 1.0
        The regularization convention, as in :func:`check_two_layer_loss`.
    {shared}
    num_examples, num_features, num_hidden, num_classes : int or (int, int)
        N, D, H and C, as for :func:`check_two_layer_loss`.
    min_value, max_value : float
        As for :func:`check_two_layer_loss`.
    reg : float or (float, float)
        As for :func:`check_two_layer_loss`.
    max_row_shift : int >= 0, optional
        As for :func:`check_two_layer_loss`.
    **options
        The head's settings: ``margin``, ``label_smoothing``, ``weight``, ``reduction``.

    {returns}

    {staged}

    Examples
    --------
    >>> import numpy as np
    >>> def net_stages(params, X, y, reg):
    ...     z1 = X @ params["W1"] + params["b1"]
    ...     h1 = np.maximum(0, z1)
    ...     scores = h1 @ params["W2"] + params["b2"]
    ...     return {"z1": z1, "h1": h1, "scores": scores}
    >>> check_staged_two_layer_loss(net_stages, "softmax", max_examples=10).quantities
    ('z1', 'h1', 'scores')
    """
    __tracebackhide__ = True
    shared = _Shared(max_examples, seed, dtype, rtol, atol, min_value, max_value, include_kinks)
    sizes = {"num_examples": num_examples, "num_features": num_features, "num_hidden": num_hidden}
    return _check_model(
        _TWO_LAYER,
        fn,
        head,
        options,
        sizes,
        num_classes,
        reg,
        reg_scale,
        max_row_shift,
        shared,
        checker=check_staged_two_layer_loss,
    )
