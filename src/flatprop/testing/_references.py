"""flatprop's own losses and nets, as the references the checkers compare with.

A reference is one of the losses of the registry :data:`flatprop.losses.LOSSES`, named
by its function (``"multiclass_svm"``, ...) or by its name as a head of the nets
(``"svm"``, ``"softmax"``). Its options are the loss's settings that a candidate's
signature has no room for, so they are fixed for a whole check: ``margin``,
``label_smoothing``, ``weight`` (per class) and ``reduction``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from flatprop._validation import FloatArray, as_positive_scalar
from flatprop.losses import LossSpec, find_loss
from flatprop.nets import LinearClassifier, TwoLayerNet
from flatprop.testing._report import literal

__all__ = [
    "Reference",
    "checked_options",
    "describe",
    "find_reference",
    "linear_reference",
    "loss_layer_reference",
    "reg_term",
    "stage_names",
    "stages_reference",
    "two_layer_reference",
]

Reference = LossSpec  # a reference is one of flatprop's losses, as the registry states it


def find_reference(name: object, argument: str, checker: str) -> Reference:
    """The reference called ``name``, by its loss's name or its head's name."""
    try:
        return find_loss(name, argument)
    except ValueError as error:
        raise ValueError(f"{checker}: {error}") from None


def checked_options(
    reference: Reference,
    options: dict[str, Any],
    *,
    checker: str,
    reductions: tuple[str, ...],
    checker_options: tuple[str, ...],
) -> dict[str, Any]:
    """The reference's options, checked by name here and by value by the loss itself."""
    unknown = [name for name in options if name not in reference.options]
    if unknown:
        raise TypeError(
            f"{checker} got an unknown option {unknown[0]!r}: the {reference.name!r} reference "
            f"takes {', '.join(reference.options)}; the checker takes "
            f"{', '.join(checker_options)}"
        )
    reduction = options.get("reduction", "mean")
    if not isinstance(reduction, str) or reduction not in reductions:
        raise ValueError(
            f"{checker}: reduction must be one of {', '.join(map(repr, reductions))}, "
            f"got {reduction!r}"
        )
    # Let the loss check the values on a one-example probe ("sum": no class weight of
    # 0 can make the probe's mean undefined).
    num_classes = len(options["weight"]) if options.get("weight") is not None else 2
    scores = np.zeros((1, num_classes))
    target = np.zeros(1, dtype=np.int64) if reference.classification else scores
    reference.function(scores, target, **{**options, "reduction": "sum"})
    return dict(options)


def reg_term(reg_scale: float, weights: str) -> str:
    """The regularization term as a formula: ``"0.5 * reg * sum(W**2)"``."""
    factor = "" if reg_scale == 1 else f"{reg_scale:g} * "
    return f"{factor}reg * {weights}"


def describe(reference: Reference, options: dict[str, Any], model: str = "") -> str:
    """The reference as a call: ``flatprop.losses.multiclass_svm(margin=0.5)``, or a model."""
    settings = [f"{name}={literal(value)}" for name, value in options.items()]
    if model == "LinearClassifier":
        settings = [f"head={reference.head!r}", "bias=False", *settings]
    elif model:
        settings = [f"head={reference.head!r}", *settings]
    where = f"nets.{model}" if model else f"losses.{reference.name}"
    return f"flatprop.{where}({', '.join(settings)})"


def loss_layer_reference(
    reference: Reference, options: dict[str, Any]
) -> Callable[[Any, Any], tuple[Any, FloatArray]]:
    """``fn(scores, y) -> (loss, dscores)`` (or ``fn(pred, target) -> (loss, dpred)``)."""

    def evaluate(scores: Any, y: Any) -> tuple[Any, FloatArray]:
        loss, grads = reference.function(scores, y, **options)
        return loss, grads[reference.input_name]

    return evaluate


def linear_reference(
    reference: Reference, options: dict[str, Any], reg_scale: float
) -> Callable[[Any, Any, Any, float], tuple[Any, FloatArray]]:
    """``fn(W, X, y, reg) -> (loss, dW)``: a bias-free LinearClassifier with these W."""
    reg_scale = as_positive_scalar(reg_scale, "reg_scale")

    def evaluate(W: Any, X: Any, y: Any, reg: float) -> tuple[Any, FloatArray]:
        loss, grads = _model(reference, options, "linear", {"W": W}).loss(X, y, reg=reg_scale * reg)
        return loss, grads["W"]

    return evaluate


def two_layer_reference(
    reference: Reference, options: dict[str, Any], reg_scale: float
) -> Callable[[Any, Any, Any, float], tuple[Any, dict[str, FloatArray]]]:
    """``fn(params, X, y, reg) -> (loss, grads)``: a TwoLayerNet with these params."""
    reg_scale = as_positive_scalar(reg_scale, "reg_scale")

    def evaluate(params: Any, X: Any, y: Any, reg: float) -> tuple[Any, dict[str, FloatArray]]:
        return _model(reference, options, "two_layer", params).loss(X, y, reg=reg_scale * reg)

    return evaluate


def _model(
    reference: Reference, options: dict[str, Any], contract: str, params: dict[str, Any]
) -> LinearClassifier | TwoLayerNet:
    """The net of ``contract`` ("linear" or "two_layer") with these params."""
    if contract == "linear":
        W = params["W"]
        model: LinearClassifier | TwoLayerNet = LinearClassifier(
            *W.shape, head=reference.head, bias=False, seed=0, dtype=W.dtype, **options
        )
    else:
        (input_size, hidden_size), output_size = params["W1"].shape, params["b2"].shape[0]
        model = TwoLayerNet(
            input_size,
            hidden_size,
            output_size,
            head=reference.head,
            seed=0,
            dtype=params["W1"].dtype,
            **options,
        )
    model.params = dict(params)
    return model


def stage_names(reference: Reference, options: dict[str, Any], contract: str) -> tuple[str, ...]:
    """The named stages of a model's loss with this head: forward, then backward.

    As :meth:`flatprop.nets.TwoLayerNet.stages` names them (the head's own included):
    ``scores, margins, data_loss, reg_loss, loss, dmargins, dscores, dW`` for the linear
    SVM.
    """
    if contract == "linear":
        params: dict[str, Any] = {"W": np.zeros((1, 2))}
    else:
        params = {
            "W1": np.zeros((1, 1)),
            "b1": np.zeros(1),
            "W2": np.zeros((1, 2)),
            "b2": np.zeros(2),
        }
    target = np.zeros(1, dtype=np.int64) if reference.classification else np.zeros((1, 2))
    options = {**options, "weight": None} if "weight" in options else options
    options = {name: value for name, value in options.items() if value is not None}
    graph = _model(reference, options, contract, params).stages(np.zeros((1, 1)), target)
    return graph.stages + tuple(graph.gradients)


def stages_reference(
    reference: Reference,
    options: dict[str, Any],
    reg_scale: float,
    contract: str,
    names: tuple[str, ...],
) -> Callable[..., dict[str, Any]]:
    """``fn(W, X, y, reg)`` (or ``fn(params, ...)``) returning every named stage."""
    reg_scale = as_positive_scalar(reg_scale, "reg_scale")

    def evaluate(first: Any, X: Any, y: Any, reg: float) -> dict[str, Any]:
        params = {"W": first} if contract == "linear" else first
        graph = _model(reference, options, contract, params).stages(X, y, reg=reg_scale * reg)
        return {name: graph[name] for name in names}

    return evaluate
