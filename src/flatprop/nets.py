r"""Two trainable models built from :mod:`flatprop.layers` and :mod:`flatprop.losses`.

- :class:`LinearClassifier`: ``X -> affine -> head``, with ``params`` ``W`` (D, C) and ``b`` (C,).
- :class:`TwoLayerNet`: ``X -> affine -> ReLU -> affine -> head``, with ``params`` ``W1``
  (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,).

Shape letters: N examples, D input features, H hidden units, C classes (or outputs).

Heads
-----
The head is the loss put on the scores, one of :data:`HEADS`:

- ``"softmax"``: :func:`~flatprop.losses.softmax_cross_entropy`; y holds labels (N,);
  options ``label_smoothing``, ``weight``, ``reduction``.
- ``"svm"``: :func:`~flatprop.losses.multiclass_svm`; y holds labels (N,); options
  ``margin``, ``weight``, ``reduction``.
- ``"squared_hinge"``: :func:`~flatprop.losses.squared_hinge`; y holds labels (N,);
  options ``margin``, ``weight``, ``reduction``.
- ``"l2"``: :func:`~flatprop.losses.l2`; y holds targets (N, C), or None for zeros;
  option ``reduction``.

Head options are given to the constructor as keyword arguments, e.g.
``TwoLayerNet(4, 10, 3, head="svm", margin=0.5)``, and are passed to the loss on every
call of ``loss`` (so ``train`` uses them too). They are checked there and then: an
option that the head does not take is a ``TypeError``, a bad value the loss's own error.
``reduction`` is ``"mean"`` (the default: average over the batch) or ``"sum"``.

Conventions
-----------
- Regularization is ``reg * sum(W**2)`` over the weight matrices, with gradient
  ``2 * reg * W``; biases are not regularized. This is the problem set's convention (its
  ``svm_loss``); some CS231n years use ``0.5 * reg * sum(W**2)`` with gradient
  ``reg * W`` instead: to match such code, pass half its ``reg``.
- dtype: the model computes in the dtype of its ``params`` (``dtype=`` at construction,
  float64 by default; if entries of several dtypes are put in ``params``, NumPy's
  promotion of them). Inputs of another dtype (float64 data for a float32 net,
  integers) are cast to it, so a float32 net stays float32: scores, loss and gradients.
- ``loss`` never writes into X, y or ``params``; ``train`` replaces the arrays in
  ``params`` by new ones at each step, never writing into them either.
- ``params`` is a plain dict that users may fill with arrays of their own: every call
  reads it afresh and checks that its shapes chain.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from flatprop._model import (
    HEADS,
    Model,
    ModelOverflowError,
    Seed,
    add_reg_gradient,
    checked_stages,
    require_finite_stage,
)
from flatprop._validation import FloatArray, as_flag, as_non_negative_scalar
from flatprop.layers import affine_backward, affine_forward, relu_backward, relu_forward

__all__ = ["HEADS", "LinearClassifier", "ModelOverflowError", "TwoLayerNet"]


class TwoLayerNet(Model):
    r"""A two-layer fully connected net: affine, ReLU, affine, then a loss head.

    .. math::

        z_1 = X W_1 + b_1, \quad h_1 = \max(0, z_1), \quad s = h_1 W_2 + b_2, \quad
        L = \mathrm{head}(s, y) + \lambda (\lVert W_1 \rVert^2 + \lVert W_2 \rVert^2)

    Parameters
    ----------
    input_size : int
        D, the number of input features.
    hidden_size : int
        H, the number of hidden units.
    output_size : int
        C, the number of classes (or outputs, for "l2").
    head : {"softmax", "svm", "squared_hinge", "l2"}, default "softmax"
        The loss on the scores; see :data:`HEADS` and the module's docstring. The
        default is CS231n's two-layer net's softmax (:class:`LinearClassifier`'s is
        "svm"; ``flatprop train`` uses "softmax" for both).
    std : float >= 0, default 1e-4
        Scale of the initial weights, ``std * N(0, 1)``; the biases start at zero.
    seed : int, numpy.random.Generator or None
        Seeds ``numpy.random.default_rng`` for the initial weights (W1 drawn first).
    dtype : {float64, float32}, default float64
        The dtype of ``params``, and so of every computation.
    **head_options
        Options of the head's loss: ``margin`` (svm, squared_hinge), ``label_smoothing``
        (softmax), ``weight`` (per-class weights, shape (C,); classification heads),
        ``reduction`` ("mean" or "sum"; every head).

    Attributes
    ----------
    params : dict of ndarray
        ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,). A plain dict: its
        entries may be replaced by arrays of one's own.

    Examples
    --------
    The problem set's matrix example: ``z1 = X W1``, ``h1 = ReLU(z1)``, ``yhat = h1 W2``,
    ``L = ||yhat||^2`` is the "l2" head with no target (zero biases); for a batch,
    the squared Frobenius norm is ``reduction="sum"`` (the default "mean" divides by N).

    >>> import numpy as np
    >>> net = TwoLayerNet(2, 2, 1, head="l2", reduction="sum")
    >>> net.params["W1"] = np.array([[0.1, -0.3], [0.5, 0.8]])
    >>> net.params["W2"] = np.array([[1.0], [2.0]])
    >>> loss, grads = net.loss(np.array([[0.2, 0.4]]))  # h1 = [0.22, 0.26], yhat = 0.74
    >>> print(round(float(loss), 12))
    0.5476
    >>> print(np.round(grads["W2"], 12))  # h1^T (2 yhat)
    [[0.3256]
     [0.3848]]
    >>> print(np.round(grads["W1"], 12))  # X^T ((2 yhat W2^T) * 1[z1 > 0])
    [[0.296 0.592]
     [0.592 1.184]]
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        head: str = "softmax",
        std: float = 1e-4,
        seed: Seed = None,
        dtype: npt.DTypeLike = np.float64,
        **head_options: Any,
    ) -> None:
        sizes = {"input_size": input_size, "hidden_size": hidden_size, "output_size": output_size}
        super().__init__(sizes, head, std, seed, dtype, head_options)

    def _param_shapes(self) -> dict[str, tuple[str, ...]]:
        return {"W1": ("D", "H"), "b1": ("H",), "W2": ("H", "C"), "b2": ("C",)}

    def scores(self, X: npt.ArrayLike) -> FloatArray:
        """The (N, C) scores ``max(0, X W1 + b1) W2 + b2``: the forward pass only.

        Examples
        --------
        >>> import numpy as np
        >>> TwoLayerNet(4, 10, 3, seed=0).scores(np.ones((5, 4))).shape
        (5, 3)
        """
        params, _, X = self._checked_inputs(X)
        z1, _ = affine_forward(X, params["W1"], params["b1"], check_finite=False)
        h1, _ = relu_forward(z1, check_finite=False)
        scores, _ = affine_forward(h1, params["W2"], params["b2"], check_finite=False)
        require_finite_stage(scores, "scores")
        return scores

    def loss(
        self, X: npt.ArrayLike, y: npt.ArrayLike | None = None, *, reg: float = 0.0
    ) -> tuple[np.floating, dict[str, FloatArray]]:
        r"""The loss on a batch and its gradient for every parameter, staged.

        Forward: ``z1 = X W1 + b1``, ``h1 = max(0, z1)``, ``scores = h1 W2 + b2``,
        ``data_loss = head(scores, y)``, ``reg_loss = reg * (sum(W1**2) + sum(W2**2))``,
        ``loss = data_loss + reg_loss``. Backward, the same stages in reverse:
        ``dscores``, then ``dh1, dW2, db2``, ``dz1``, ``dW1, db1``, and ``2 * reg * W``
        added to each weight's gradient (the biases are not regularized).

        Parameters
        ----------
        X : array_like, shape (N, D)
            Cast to the dtype of ``params``.
        y : array_like, optional
            Integer labels (N,) in [0, C), required by the classification heads; for
            "l2", targets (N, C), or None for a zero target.
        reg : float >= 0, default 0.0
            Regularization strength.

        Returns
        -------
        loss : numpy scalar, of the dtype of ``params``
        grads : dict
            ``dW1, db1, dW2, db2`` under the keys of ``params``, each of its entry's shape.

        Raises
        ------
        ModelOverflowError
            If a stage (the scores, the loss, a gradient) leaves the float range: a
            ``FloatingPointError`` that names it and the setting to change (``reg``, or
            the scale of the weights or of X). Never NaN, never a RuntimeWarning.

        Examples
        --------
        >>> import numpy as np
        >>> net = TwoLayerNet(4, 10, 3, seed=0)
        >>> X = np.random.default_rng(1).standard_normal((5, 4))
        >>> loss, grads = net.loss(X, [0, 1, 2, 0, 1], reg=0.1)
        >>> print(f"{float(loss):.4f}")  # tiny weights: scores near 0, loss near log 3
        1.0986
        >>> list(grads) == list(net.params)
        True
        """
        values = self._staged_loss(X, y, reg)
        return values["loss"], {name: values[f"d{name}"] for name in self._param_shapes()}

    @checked_stages
    def _staged_loss(self, X: npt.ArrayLike, y: npt.ArrayLike | None, reg: float) -> dict[str, Any]:
        reg = as_non_negative_scalar(reg, "reg")
        params, sizes, X = self._checked_inputs(X)
        y = self._checked_target(y, (X.shape[0], sizes["C"]), X.dtype)
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]

        # Forward pass. X and params are checked above; the stages trust them.
        z1, affine1_cache = affine_forward(X, W1, b1, check_finite=False)
        h1, relu_cache = relu_forward(z1, check_finite=False)
        scores, affine2_cache = affine_forward(h1, W2, b2, check_finite=False)
        require_finite_stage(scores, "scores")
        data_loss, head_cache = self._data_loss(scores, y)
        reg_loss = X.dtype.type(reg) * (np.vdot(W1, W1) + np.vdot(W2, W2))
        self._require_finite_loss(data_loss, reg_loss, reg)
        loss = data_loss + reg_loss

        # Backward pass, stage by stage in reverse.
        dscores = self._dscores(head_cache)
        affine2_grads = affine_backward(dscores, affine2_cache, check_finite=False)
        dh1, dW2, db2 = affine2_grads["x"], affine2_grads["w"], affine2_grads["b"]
        dz1 = relu_backward(dh1, relu_cache, check_finite=False)["x"]
        affine1_grads = affine_backward(dz1, affine1_cache, compute_dx=False, check_finite=False)
        dW1, db1 = affine1_grads["w"], affine1_grads["b"]
        add_reg_gradient(dW1, W1, reg)  # d reg_loss / d W1 = 2 reg W1; dW1 is a new array
        add_reg_gradient(dW2, W2, reg)
        return {
            **self._arguments(X, params, y),
            **dict(z1=z1, h1=h1, scores=scores, data_loss=data_loss, reg_loss=reg_loss, loss=loss),
            **dict(dscores=dscores, dh1=dh1, dW2=dW2, db2=db2, dz1=dz1, dW1=dW1, db1=db1),
        }

    def _operations(self, reg: float, has_target: bool) -> dict[str, tuple[str, tuple[str, ...]]]:
        target = ("y",) if has_target else ()
        return {
            "z1": ("X W1 + b1", ("X", "W1", "b1")),
            "h1": ("max(0, z1)", ("z1",)),
            "scores": ("h1 W2 + b2", ("h1", "W2", "b2")),
            "data_loss": (self._head_formula(has_target), ("scores", *target)),
            "reg_loss": (f"{reg:g} * (sum(W1**2) + sum(W2**2))", ("W1", "W2")),
            "loss": ("data_loss + reg_loss", ("data_loss", "reg_loss")),
            "dscores": ("the head's backward pass", ()),
            "dh1": ("dscores W2^T", ()),
            "dW2": ("h1^T dscores + 2 reg W2", ()),
            "db2": ("sum over i of dscores", ()),
            "dz1": ("dh1 * 1[z1 > 0]", ()),
            "dW1": ("X^T dz1 + 2 reg W1", ()),
            "db1": ("sum over i of dz1", ()),
        }


class LinearClassifier(Model):
    r"""A linear model, ``scores = X W + b``, with a loss head.

    With ``bias=False`` and the "svm" head, ``loss(X, y, reg=reg)`` is the problem set's
    ``svm_loss(W, X, y, reg)``: the mean multiclass hinge loss plus ``reg * sum(W**2)``,
    with gradient ``dW + 2 * reg * W``.

    Parameters
    ----------
    input_size : int
        D, the number of input features.
    output_size : int
        C, the number of classes (or outputs, for "l2").
    head : {"softmax", "svm", "squared_hinge", "l2"}, default "svm"
        The loss on the scores; see :data:`HEADS`. The default is CS231n's linear SVM
        (:class:`TwoLayerNet`'s is "softmax"; ``flatprop train`` uses "softmax" for both).
    std : float >= 0, default 1e-4
        Scale of the initial weights, ``std * N(0, 1)``; the bias starts at zero.
    seed : int, numpy.random.Generator or None
        Seeds ``numpy.random.default_rng`` for the initial weights.
    bias : bool, default True
        With False, there is no ``b`` (held at zero).
    dtype : {float64, float32}, default float64
        The dtype of ``params``, and so of every computation.
    **head_options
        Options of the head's loss, as for :class:`TwoLayerNet`.

    Attributes
    ----------
    params : dict of ndarray
        ``W`` (D, C) and, with ``bias``, ``b`` (C,).

    Examples
    --------
    >>> import numpy as np
    >>> model = LinearClassifier(2, 3, bias=False)
    >>> model.params["W"] = np.zeros((2, 3))  # every score 0: each margin is 1
    >>> loss, grads = model.loss(np.array([[0.2, 0.4]]), [0], reg=5e-6)
    >>> print(float(loss))  # C - 1 = 2
    2.0
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        *,
        head: str = "svm",
        std: float = 1e-4,
        seed: Seed = None,
        bias: bool = True,
        dtype: npt.DTypeLike = np.float64,
        **head_options: Any,
    ) -> None:
        self._bias = as_flag(bias, "bias")
        sizes = {"input_size": input_size, "output_size": output_size}
        super().__init__(sizes, head, std, seed, dtype, head_options)

    @property
    def bias(self) -> bool:
        """Whether the model has a bias ``b``."""
        return self._bias

    def _param_shapes(self) -> dict[str, tuple[str, ...]]:
        return {"W": ("D", "C"), "b": ("C",)} if self._bias else {"W": ("D", "C")}

    def _extra_arguments(self) -> dict[str, Any]:
        return {} if self._bias else {"bias": False}

    def _affine_params(self, params: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
        W = params["W"]
        return W, params["b"] if self._bias else np.zeros(W.shape[1], W.dtype)

    def scores(self, X: npt.ArrayLike) -> FloatArray:
        """The (N, C) scores ``X W + b``: the forward pass only.

        Examples
        --------
        >>> import numpy as np
        >>> model = LinearClassifier(2, 3, seed=0)
        >>> model.params["b"] = np.array([1.0, 2.0, 3.0])
        >>> model.scores(np.zeros((1, 2)))
        array([[1., 2., 3.]])
        """
        params, _, X = self._checked_inputs(X)
        scores, _ = affine_forward(X, *self._affine_params(params), check_finite=False)
        require_finite_stage(scores, "scores")
        return scores

    def loss(
        self, X: npt.ArrayLike, y: npt.ArrayLike | None = None, *, reg: float = 0.0
    ) -> tuple[np.floating, dict[str, FloatArray]]:
        r"""The loss on a batch and its gradient for every parameter, staged.

        Forward: ``scores = X W + b``, ``data_loss = head(scores, y)`` (for the "svm"
        head, through the stage ``margins``), ``reg_loss = reg * sum(W**2)``,
        ``loss = data_loss + reg_loss``. Backward: ``dscores``, then ``dW, db``, with
        ``2 * reg * W`` added to ``dW`` (the bias is not regularized).

        Parameters
        ----------
        X : array_like, shape (N, D)
            Cast to the dtype of ``params``.
        y : array_like, optional
            Integer labels (N,), required by the classification heads; for "l2",
            targets (N, C), or None for a zero target.
        reg : float >= 0, default 0.0
            Regularization strength.

        Returns
        -------
        loss : numpy scalar, of the dtype of ``params``
        grads : dict
            ``dW`` (and ``db``) under the keys of ``params``.

        Raises
        ------
        ModelOverflowError
            As :meth:`TwoLayerNet.loss`.

        Examples
        --------
        The problem set's ``svm_loss(W, X, y, reg)`` on its own input: two identical rows
        labelled 0 and 1. Their two margins add up to 2 whatever W (while both are
        active), so the loss is ``1 + reg * sum(W**2)`` and ``dW = 2 * reg * W``: the
        problem set's printed 1.00003... and tiny gradient. With W = 0:

        >>> import numpy as np
        >>> model = LinearClassifier(2, 2, bias=False)
        >>> model.params["W"] = np.zeros((2, 2))
        >>> loss, grads = model.loss(np.array([[0.2, 0.4], [0.2, 0.4]]), [0, 1], reg=5e-6)
        >>> print(float(loss))
        1.0
        >>> grads["W"]
        array([[0., 0.],
               [0., 0.]])
        """
        values = self._staged_loss(X, y, reg)
        return values["loss"], {name: values[f"d{name}"] for name in self._param_shapes()}

    @checked_stages
    def _staged_loss(self, X: npt.ArrayLike, y: npt.ArrayLike | None, reg: float) -> dict[str, Any]:
        reg = as_non_negative_scalar(reg, "reg")
        params, sizes, X = self._checked_inputs(X)
        y = self._checked_target(y, (X.shape[0], sizes["C"]), X.dtype)
        W, b = self._affine_params(params)

        # Forward pass. X and params are checked above; the stages trust them.
        scores, affine_cache = affine_forward(X, W, b, check_finite=False)
        require_finite_stage(scores, "scores")
        data_loss, head_cache = self._data_loss(scores, y)
        reg_loss = X.dtype.type(reg) * np.vdot(W, W)
        self._require_finite_loss(data_loss, reg_loss, reg)
        loss = data_loss + reg_loss

        # Backward pass, stage by stage in reverse.
        dscores = self._dscores(head_cache)
        affine_grads = affine_backward(dscores, affine_cache, compute_dx=False, check_finite=False)
        dW = affine_grads["w"]
        add_reg_gradient(dW, W, reg)  # d reg_loss / d W = 2 reg W; dW is a new array
        gradients = {"dscores": dscores, "dW": dW}
        if self._bias:
            gradients["db"] = affine_grads["b"]
        return {
            **self._arguments(X, params, y),
            **dict(scores=scores, data_loss=data_loss, reg_loss=reg_loss, loss=loss),
            **gradients,
        }

    def _operations(self, reg: float, has_target: bool) -> dict[str, tuple[str, tuple[str, ...]]]:
        affine = ("X W + b", ("X", "W", "b")) if self._bias else ("X W", ("X", "W"))
        operations = {
            "scores": affine,
            "data_loss": (self._head_formula(has_target), ("scores", *(("y",) * has_target))),
            "reg_loss": (f"{reg:g} * sum(W**2)", ("W",)),
            "loss": ("data_loss + reg_loss", ("data_loss", "reg_loss")),
            "dscores": ("the head's backward pass", ()),
            "dW": ("X^T dscores + 2 reg W", ()),
        }
        if self._bias:
            operations["db"] = ("sum over i of dscores", ())
        return operations
