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
  ``2 * reg * W``; biases are not regularized. This is the seed's (and CS231n 2017's)
  convention; CS231n later used ``0.5 * reg * sum(W**2)``. For the same effect, pass
  half the ``reg`` of a ``0.5 * reg`` code.
- dtype: the model computes in the dtype of its ``params`` (``dtype=`` at construction,
  float64 by default). Inputs of another dtype (float64 data for a float32 net,
  integers) are cast to it, so a float32 net stays float32: scores, loss and gradients.
- ``loss`` never writes into X, y or ``params``; ``train`` replaces the arrays in
  ``params`` by new ones at each step, never writing into them either.
- ``params`` is a plain dict that users may fill with arrays of their own: every call
  reads it afresh and checks that its shapes chain.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from flatprop import losses
from flatprop._validation import FloatArray, as_float_array, as_labels, as_real_scalar
from flatprop.layers import affine_backward, affine_forward, relu_backward, relu_forward

__all__ = ["HEADS", "LinearClassifier", "TwoLayerNet"]


@dataclass(frozen=True)
class _Head:
    """A loss as a model's head: its staged functions and what it accepts."""

    forward: Callable[..., tuple[Any, Any]]
    backward: Callable[[Any], dict[str, FloatArray]]
    input_name: str  # the key of the loss's gradient: "scores" or "pred"
    options: tuple[str, ...]
    classification: bool  # y holds labels (and predict returns them)


_HEADS: dict[str, _Head] = {
    "softmax": _Head(
        losses.softmax_cross_entropy_forward,
        losses.softmax_cross_entropy_backward,
        "scores",
        ("label_smoothing", "weight", "reduction"),
        classification=True,
    ),
    "svm": _Head(
        losses.multiclass_svm_forward,
        losses.multiclass_svm_backward,
        "scores",
        ("margin", "weight", "reduction"),
        classification=True,
    ),
    "squared_hinge": _Head(
        losses.squared_hinge_forward,
        losses.squared_hinge_backward,
        "scores",
        ("margin", "weight", "reduction"),
        classification=True,
    ),
    "l2": _Head(
        losses.l2_forward, losses.l2_backward, "pred", ("reduction",), classification=False
    ),
}

HEADS: tuple[str, ...] = tuple(_HEADS)
"""The names of the heads: ``("softmax", "svm", "squared_hinge", "l2")``."""

Seed = int | np.random.Generator | None


def _count(value: object, name: str, *, minimum: int) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {expected}, got {value}")
    return int(value)


def _non_negative(value: object, name: str, *, zero_allowed: bool = True) -> float:
    number = as_real_scalar(value, name)
    if number < 0 or (number == 0 and not zero_allowed):
        expected = ">= 0" if zero_allowed else "> 0"
        raise ValueError(f"{name} must be {expected}, got {number!r}")
    return number


def _float_dtype(dtype: npt.DTypeLike) -> np.dtype:
    checked = np.dtype(dtype)
    if checked not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {checked}")
    return checked


def _require_finite(stage: FloatArray | np.floating, name: str) -> None:
    """Stop at a stage that overflowed, rather than return inf or NaN."""
    if not np.isfinite(stage).all():
        raise FloatingPointError(
            f"the {name} overflowed (not finite) with these params; lower the learning "
            "rate, the weight scale std or the scale of X"
        )


class _Model(ABC):
    """What both models share: the head, the checks of params and inputs, predict, train."""

    params: dict[str, FloatArray]

    def __init__(
        self, *, head: str, output_size: int, dtype: np.dtype, head_options: dict[str, Any]
    ) -> None:
        if not isinstance(head, str) or head not in _HEADS:
            raise ValueError(f"head must be one of {', '.join(map(repr, HEADS))}, got {head!r}")
        spec = _HEADS[head]
        unknown = [name for name in head_options if name not in spec.options]
        if unknown:
            raise TypeError(
                f"{unknown[0]!r} is not an option of the {head!r} head nor an argument of "
                f"{type(self).__name__}; the {head!r} head takes {', '.join(spec.options)}"
            )
        reduction = head_options.get("reduction", "mean")
        if not isinstance(reduction, str) or reduction not in ("mean", "sum"):
            raise ValueError(
                f"reduction must be 'mean' or 'sum' (a model's loss is a scalar), got {reduction!r}"
            )
        # Let the loss check the other options' values now, on a one-example probe
        # ("sum", so that no class weight of 0 can make the probe's mean undefined).
        probe_labels = np.zeros(1, dtype=np.intp) if spec.classification else None
        probe_options = {**head_options, "reduction": "sum"}
        spec.forward(np.zeros((1, output_size), dtype), probe_labels, **probe_options)
        self._head = head
        self._spec = spec
        self._head_options = dict(head_options)

    @property
    def head(self) -> str:
        """The name of the head, one of :data:`HEADS`."""
        return self._head

    @property
    def head_options(self) -> dict[str, Any]:
        """The head options given at construction (a copy)."""
        return dict(self._head_options)

    @abstractmethod
    def _param_shapes(self) -> dict[str, tuple[str, ...]]:
        """Each entry of ``params`` and its shape in letters; D first, C last."""

    @abstractmethod
    def scores(self, X: npt.ArrayLike) -> FloatArray:
        """The (N, C) scores (outputs) of the model for X: the forward pass only."""

    @abstractmethod
    def loss(
        self, X: npt.ArrayLike, y: npt.ArrayLike | None = None, *, reg: float = 0.0
    ) -> tuple[np.floating, dict[str, FloatArray]]:
        """The loss on (X, y) and its gradient with respect to every entry of ``params``."""

    def _checked_params(self) -> tuple[dict[str, FloatArray], dict[str, int]]:
        """``params`` as float arrays of one common dtype, and the sizes D, H, C."""
        shapes = self._param_shapes()
        if not isinstance(self.params, dict):
            raise TypeError(f"params must be a dict of arrays, got {type(self.params).__name__}")
        if set(self.params) != set(shapes):
            raise ValueError(
                f"params of a {type(self).__name__} must have exactly the entries "
                f"{', '.join(shapes)}, got {', '.join(map(repr, self.params)) or 'none'}"
            )
        arrays: dict[str, FloatArray] = {}
        sizes: dict[str, int] = {}
        owner: dict[str, str] = {}  # which entry fixed each size
        for name, letters in shapes.items():
            label = f"params[{name!r}]"
            array = as_float_array(self.params[name], label, ndim=len(letters))
            for letter, size in zip(letters, array.shape, strict=True):
                if sizes.setdefault(letter, size) != size:
                    source = owner[letter]
                    raise ValueError(
                        f"{label} must have shape ({', '.join(letters)}) with {letter} = "
                        f"{sizes[letter]}, as in params[{source!r}] of shape "
                        f"{arrays[source].shape}; got shape {array.shape}"
                    )
                owner.setdefault(letter, name)
            arrays[name] = array
        dtype = np.result_type(*arrays.values())
        return {name: array.astype(dtype, copy=False) for name, array in arrays.items()}, sizes

    def _checked_inputs(
        self, X: npt.ArrayLike, name: str = "X"
    ) -> tuple[dict[str, FloatArray], dict[str, int], FloatArray]:
        """The checked params and sizes, and X as an (N, D) array of the params' dtype."""
        params, sizes = self._checked_params()
        first = next(iter(params))
        data = as_float_array(X, name, ndim=2, dtype=params[first].dtype)
        if data.shape[1] != sizes["D"]:
            raise ValueError(
                f"{name} must have D = {sizes['D']} features (columns) to match "
                f"params[{first!r}] of shape {params[first].shape}, got shape {data.shape}"
            )
        return params, sizes, data

    def _checked_target(
        self, y: npt.ArrayLike | None, shape: tuple[int, int], dtype: np.dtype, name: str = "y"
    ) -> npt.NDArray[Any] | None:
        """Labels (N,) for a classification head; targets (N, C) or None for "l2"."""
        num_examples, num_outputs = shape
        if self._spec.classification:
            if y is None:
                raise TypeError(
                    f"{name} is required by the {self._head!r} head: integer class labels "
                    f"of shape (N,) = ({num_examples},), got None"
                )
            return as_labels(y, name, num_examples=num_examples, num_classes=num_outputs)
        if y is None:
            return None
        targets = as_float_array(y, name, dtype=dtype)
        if targets.shape != shape:
            raise ValueError(
                f"{name} of the 'l2' head must be targets of shape (N, C) = {shape} "
                f"(or None for zeros), got shape {targets.shape}"
            )
        return targets

    def _data_loss(self, scores: FloatArray, y: npt.NDArray[Any] | None) -> tuple[np.floating, Any]:
        """The head's forward pass: its loss and its cache."""
        return self._spec.forward(scores, y, check_finite=False, **self._head_options)

    def _dscores(self, head_cache: Any) -> FloatArray:
        """The head's backward pass: the gradient of the data loss for the scores."""
        return self._spec.backward(head_cache)[self._spec.input_name]

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """Class labels (the argmax of the scores) of shape (N,), or the (N, C) outputs for "l2".

        Parameters
        ----------
        X : array_like, shape (N, D)

        Returns
        -------
        ndarray of int, shape (N,), or ndarray of float, shape (N, C)
        """
        scores = self.scores(X)
        return scores.argmax(axis=1) if self._spec.classification else scores

    def train(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike | None,
        X_val: npt.ArrayLike | None = None,
        y_val: npt.ArrayLike | None = None,
        *,
        learning_rate: float = 1e-3,
        learning_rate_decay: float = 0.95,
        reg: float = 5e-6,
        num_iters: int = 100,
        batch_size: int = 200,
        seed: Seed = None,
        verbose: bool = False,
    ) -> dict[str, list[float]]:
        """Minibatch stochastic gradient descent on ``params``, as in CS231n.

        Each iteration draws ``batch_size`` examples with replacement
        (``rng.integers(N, size=batch_size)`` with ``rng = numpy.random.default_rng(seed)``,
        so ``batch_size > N`` works), computes ``loss(X_batch, y_batch, reg=reg)`` and
        sets every ``params[name]`` to the new array ``params[name] - learning_rate *
        grads[name]``. After every epoch (``max(N // batch_size, 1)`` iterations) the
        accuracies are recorded and the learning rate is multiplied by
        ``learning_rate_decay``.

        Parameters
        ----------
        X : array_like, shape (N, D)
            Training data.
        y : array_like
            Labels (N,) for a classification head; targets (N, C) or None for "l2".
        X_val, y_val : array_like, optional
            Validation data and labels, both or neither (classification heads only).
        learning_rate : float > 0, default 1e-3
        learning_rate_decay : float > 0, default 0.95
            Factor applied to the learning rate once per epoch.
        reg : float >= 0, default 5e-6
            Regularization strength (see :meth:`loss` for the convention).
        num_iters : int >= 0, default 100
        batch_size : int >= 1, default 200
        seed : int, numpy.random.Generator or None
            Seeds the minibatch sampling; the global NumPy random state is not used.
        verbose : bool, default False
            Print about ten progress lines: iteration, loss, and the latest accuracies.

        Returns
        -------
        history : dict
            ``"loss_history"``: the minibatch loss at every iteration;
            ``"train_acc_history"``: the accuracy on the epoch's last minibatch, after
            its step, once per epoch; ``"val_acc_history"``: the accuracy on
            (X_val, y_val) once per epoch, when given. The accuracy lists stay empty
            for the "l2" head.
        """
        _, sizes, data = self._checked_inputs(X)
        num_train = data.shape[0]
        if num_train == 0:
            raise ValueError(
                f"X must hold at least one example to train on, got shape {data.shape}"
            )
        labels = self._checked_target(y, (num_train, sizes["C"]), data.dtype)
        has_validation = X_val is not None or y_val is not None
        if has_validation:
            if not self._spec.classification:
                raise ValueError(
                    "X_val and y_val give a validation accuracy: the 'l2' head has none"
                )
            if X_val is None or y_val is None:
                missing = "X_val" if X_val is None else "y_val"
                raise ValueError(f"X_val and y_val must be given together, got {missing}=None")
            _, _, val_data = self._checked_inputs(X_val, "X_val")
            val_labels = self._checked_target(
                y_val, (val_data.shape[0], sizes["C"]), data.dtype, "y_val"
            )
        rate = _non_negative(learning_rate, "learning_rate", zero_allowed=False)
        decay = _non_negative(learning_rate_decay, "learning_rate_decay", zero_allowed=False)
        reg = _non_negative(reg, "reg")
        num_iters = _count(num_iters, "num_iters", minimum=0)
        batch_size = _count(batch_size, "batch_size", minimum=1)

        rng = np.random.default_rng(seed)
        iterations_per_epoch = max(num_train // batch_size, 1)
        report_every = max(num_iters // 10, 1)
        history: dict[str, list[float]] = {
            "loss_history": [],
            "train_acc_history": [],
            "val_acc_history": [],
        }
        for iteration in range(1, num_iters + 1):
            batch = rng.integers(num_train, size=batch_size)  # with replacement
            batch_labels = None if labels is None else labels[batch]
            loss, grads = self.loss(data[batch], batch_labels, reg=reg)
            history["loss_history"].append(float(loss))
            for name, grad in grads.items():
                self.params[name] = self.params[name] - rate * grad  # a new array

            if iteration % iterations_per_epoch == 0:
                if self._spec.classification:
                    accuracy = np.mean(self.predict(data[batch]) == batch_labels)
                    history["train_acc_history"].append(float(accuracy))
                    if has_validation:
                        accuracy = np.mean(self.predict(val_data) == val_labels)
                        history["val_acc_history"].append(float(accuracy))
                rate *= decay

            if verbose and (
                iteration == 1 or iteration % report_every == 0 or iteration == num_iters
            ):
                line = f"iteration {iteration}/{num_iters}: loss {float(loss):.6f}"
                for key, label in (("train_acc_history", "train"), ("val_acc_history", "val")):
                    if history[key]:
                        line += f", {label} acc {history[key][-1]:.3f}"
                print(line)
        return history


class TwoLayerNet(_Model):
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
        The loss on the scores; see :data:`HEADS` and the module's docstring.
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
    The seed's matrix example: ``z1 = X W1``, ``h1 = ReLU(z1)``, ``yhat = h1 W2``,
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
        input_size = _count(input_size, "input_size", minimum=1)
        hidden_size = _count(hidden_size, "hidden_size", minimum=1)
        output_size = _count(output_size, "output_size", minimum=1)
        std = _non_negative(std, "std")
        float_dtype = _float_dtype(dtype)
        super().__init__(
            head=head, output_size=output_size, dtype=float_dtype, head_options=head_options
        )
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": (std * rng.standard_normal((input_size, hidden_size))).astype(float_dtype),
            "b1": np.zeros(hidden_size, float_dtype),
            "W2": (std * rng.standard_normal((hidden_size, output_size))).astype(float_dtype),
            "b2": np.zeros(output_size, float_dtype),
        }

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
        _require_finite(scores, "scores")
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
        reg = _non_negative(reg, "reg")
        params, sizes, X = self._checked_inputs(X)
        y = self._checked_target(y, (X.shape[0], sizes["C"]), X.dtype)
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]

        # Forward pass. X and params are checked above; the stages trust them.
        z1, affine1_cache = affine_forward(X, W1, b1, check_finite=False)
        h1, relu_cache = relu_forward(z1, check_finite=False)
        scores, affine2_cache = affine_forward(h1, W2, b2, check_finite=False)
        _require_finite(scores, "scores")
        data_loss, head_cache = self._data_loss(scores, y)
        reg_loss = X.dtype.type(reg) * (np.vdot(W1, W1) + np.vdot(W2, W2))
        loss = data_loss + reg_loss
        _require_finite(loss, "loss")

        # Backward pass, stage by stage in reverse.
        dscores = self._dscores(head_cache)
        affine2_grads = affine_backward(dscores, affine2_cache, check_finite=False)
        dh1, dW2, db2 = affine2_grads["x"], affine2_grads["w"], affine2_grads["b"]
        dz1 = relu_backward(dh1, relu_cache, check_finite=False)["x"]
        affine1_grads = affine_backward(dz1, affine1_cache, compute_dx=False, check_finite=False)
        dW1, db1 = affine1_grads["w"], affine1_grads["b"]
        dW1 += (2 * reg) * W1  # d reg_loss / d W1; dW1 is a new array
        dW2 += (2 * reg) * W2
        return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


class LinearClassifier(_Model):
    r"""A linear model, ``scores = X W + b``, with a loss head.

    With ``bias=False`` and the "svm" head, ``loss(X, y, reg=reg)`` is the seed's
    ``svm_loss(W, X, y, reg)``: the mean multiclass hinge loss plus ``reg * sum(W**2)``,
    with gradient ``dW + 2 * reg * W``.

    Parameters
    ----------
    input_size : int
        D, the number of input features.
    output_size : int
        C, the number of classes (or outputs, for "l2").
    head : {"softmax", "svm", "squared_hinge", "l2"}, default "svm"
        The loss on the scores; see :data:`HEADS`.
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
        input_size = _count(input_size, "input_size", minimum=1)
        output_size = _count(output_size, "output_size", minimum=1)
        std = _non_negative(std, "std")
        if not isinstance(bias, bool | np.bool_):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        float_dtype = _float_dtype(dtype)
        super().__init__(
            head=head, output_size=output_size, dtype=float_dtype, head_options=head_options
        )
        self._bias = bool(bias)
        rng = np.random.default_rng(seed)
        self.params = {
            "W": (std * rng.standard_normal((input_size, output_size))).astype(float_dtype)
        }
        if self._bias:
            self.params["b"] = np.zeros(output_size, float_dtype)

    @property
    def bias(self) -> bool:
        """Whether the model has a bias ``b``."""
        return self._bias

    def _param_shapes(self) -> dict[str, tuple[str, ...]]:
        return {"W": ("D", "C"), "b": ("C",)} if self._bias else {"W": ("D", "C")}

    def _affine_params(self, params: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
        W = params["W"]
        return W, params["b"] if self._bias else np.zeros(W.shape[1], W.dtype)

    def scores(self, X: npt.ArrayLike) -> FloatArray:
        """The (N, C) scores ``X W + b``: the forward pass only."""
        params, _, X = self._checked_inputs(X)
        scores, _ = affine_forward(X, *self._affine_params(params), check_finite=False)
        _require_finite(scores, "scores")
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
        """
        reg = _non_negative(reg, "reg")
        params, sizes, X = self._checked_inputs(X)
        y = self._checked_target(y, (X.shape[0], sizes["C"]), X.dtype)
        W, b = self._affine_params(params)

        # Forward pass. X and params are checked above; the stages trust them.
        scores, affine_cache = affine_forward(X, W, b, check_finite=False)
        _require_finite(scores, "scores")
        data_loss, head_cache = self._data_loss(scores, y)
        reg_loss = X.dtype.type(reg) * np.vdot(W, W)
        loss = data_loss + reg_loss
        _require_finite(loss, "loss")

        # Backward pass, stage by stage in reverse.
        dscores = self._dscores(head_cache)
        affine_grads = affine_backward(dscores, affine_cache, compute_dx=False, check_finite=False)
        dW = affine_grads["w"]
        dW += (2 * reg) * W  # d reg_loss / d W; dW is a new array
        grads = {"W": dW}
        if self._bias:
            grads["b"] = affine_grads["b"]
        return loss, grads
