"""The known mistakes of :mod:`flatprop.testing.mistakes`, as executable variants.

A variant is flatprop's reference with one thing done wrong, run on an input in the
candidate's own format (``(loss, dW)``, a dict of stages, ...), so that the diagnosis
can compare it with what the candidate returned. The correct parts come from flatprop
itself: the head's loss from :data:`flatprop.losses.LOSSES` (with its stages from
:func:`flatprop._model.head_stages`, as the nets name them); what a mistake changes is
written out here. A head (the loss on the scores) and a model around it (linear, or
two-layer) are put together from parts, each with its knob:

- the head: the reference, or one rewritten from its formula (the hinge and softmax
  mistakes; without a per-class ``weight`` only), or the reference with its loss and
  gradient scaled or reduced another way (``no_mean``, ``gradient_not_averaged``,
  ``mean_over_classes``, ``gradient_sign``);
- the model: the regularization's factors in the loss and the gradient, the biases
  regularized or not, the second layer fed z1 or h1, the ReLU's mask, the gradient's
  sign.

With no knob turned, a model's stages are :meth:`flatprop.nets.TwoLayerNet.stages`'s
(a test checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from flatprop._model import head_stages
from flatprop.losses import LossSpec

__all__ = [
    "HeadResult",
    "Variant",
    "layer_variants",
    "linear_stages",
    "loss_layer_variants",
    "model_variants",
    "model_without_regularization",
    "reference_head",
    "two_layer_stages",
]

Inputs = dict[str, Any]


@dataclass(frozen=True)
class Variant:
    """A known mistake, as a candidate that makes it.

    ``run(inputs)`` returns what a candidate with this mistake returns on ``inputs`` (in
    the contract's format), or None where the variant is not defined. A numeric
    breakdown (an overflow, an underflow) has ``alternatives``: the same mistake written
    with other formulas (``log(p)`` or ``shifted - log(sum(exp))``, ...). Its NaN, inf
    and the rounding of its subnormal numbers depend on the formula, so it is matched by
    where the outputs are wrong: wrong where every formula is, right where every formula
    is, either where they disagree.
    """

    mistake: str
    evidence: str  # what its outputs are, next to the reference's
    run: Callable[[Inputs], Any]
    alternatives: tuple[Callable[[Inputs], Any], ...] = ()

    @property
    def numeric(self) -> bool:
        """Whether it is matched by where its outputs are wrong (see the class)."""
        return bool(self.alternatives)


class HeadResult(NamedTuple):
    """A head's loss on the scores, with its stages (as the nets name them)."""

    forward: dict[str, Any]  # the head's stages before data_loss: margins, shifted, ...
    data_loss: Any
    backward: dict[str, Any]  # dmargins
    dscores: np.ndarray


Head = Callable[[np.ndarray, Any], HeadResult]
_HeadVariant = tuple[str, str, Head, tuple[Head, ...]]  # mistake, evidence, head, alternatives


def reference_head(spec: LossSpec, options: dict[str, Any]) -> Head:
    """The head as flatprop computes it: the registry's loss and its stages."""

    def head(scores: np.ndarray, y: Any) -> HeadResult:
        loss, cache = spec.forward(scores, y, check_finite=False, **options)
        dscores = spec.backward(cache)[spec.input_name]
        forward, _, backward = head_stages(spec, cache, dscores)
        return HeadResult(
            {name: stage.value for name, stage in forward.items()},
            loss,
            {name: stage.value for name, stage in backward.items()},
            dscores,
        )

    return head


def _scaled(head: Head, loss_factor: Callable[[int, int], float], gradient_factor: float) -> Head:
    """The head with its data loss times ``loss_factor(N, C)``, and its gradient too.

    The gradient is multiplied by ``gradient_factor``, or by the loss's factor when it
    is NaN.
    """

    def scaled(scores: np.ndarray, y: Any) -> HeadResult:
        result = head(scores, y)
        factor = scores.dtype.type(loss_factor(*scores.shape))
        gradient = factor if np.isnan(gradient_factor) else scores.dtype.type(gradient_factor)
        return HeadResult(
            result.forward,
            result.data_loss * factor,
            {name: value * gradient for name, value in result.backward.items()},
            result.dscores * gradient,
        )

    return scaled


def _joined(forward: Head, backward: Head) -> Head:
    """The forward pass of one head with the backward pass of another."""

    def joined(scores: np.ndarray, y: Any) -> HeadResult:
        ahead, behind = forward(scores, y), backward(scores, y)
        return HeadResult(ahead.forward, ahead.data_loss, behind.backward, behind.dscores)

    return joined


def _coefficients(num_examples: int, reduction: str, dtype: np.dtype) -> Any:
    """What each example's gradient is multiplied by: 1/N for "mean", else 1."""
    return dtype.type(1 / num_examples if reduction == "mean" else 1)


def _reduced(losses: np.ndarray, reduction: str) -> Any:
    if reduction == "none":
        return losses
    return losses.mean() if reduction == "mean" else losses.sum()


def _hinge_head(
    margin: float,
    squared: bool,
    reduction: str,
    *,
    target_term: str | None = None,
    kink_active: bool = False,
    crammer_singer: bool = False,
    slope_factor: float = 1.0,
) -> Head:
    """A hinge loss from its formula, unweighted, with a mistake's knobs.

    ``target_term``: "loop" keeps the term j = y_i in the loss (its gradient cancels in a
    loop), "vectorized" also in the gradient, where each row's target entry is set to
    minus the sum of the row, its own term included. ``kink_active``: margins of exactly
    0 count as active. ``crammer_singer``: each row's largest margin instead of their
    sum. ``slope_factor``: the gradient of each margin times this (0.5: the squared
    hinge's 2 forgotten).
    """

    def head(scores: np.ndarray, y: Any) -> HeadResult:
        rows = np.arange(len(y))
        raw = scores - scores[rows, y][:, np.newaxis] + scores.dtype.type(margin)
        margins = np.maximum(raw, 0)
        active = raw >= 0 if kink_active else raw > 0
        if target_term is None:
            margins[rows, y] = 0
            active[rows, y] = False
        terms = margins**2 if squared else margins
        slopes = (2 * margins if squared else active.astype(scores.dtype)) * slope_factor
        if crammer_singer:
            worst = np.argmax(
                np.where(np.arange(scores.shape[1]) == y[:, np.newaxis], -1, margins), 1
            )
            losses = terms[rows, worst]
            chosen = np.zeros_like(slopes)
            chosen[rows, worst] = slopes[rows, worst]
            slopes = chosen
        else:
            losses = terms.sum(axis=1)
        dmargins = slopes * _coefficients(len(y), reduction, scores.dtype)
        dscores = dmargins.copy()
        if target_term == "vectorized":
            dscores[rows, y] = -dmargins.sum(axis=1)
        else:
            others = dmargins.copy()
            others[rows, y] = 0
            dscores[rows, y] = -others.sum(axis=1)
        return HeadResult(
            {"margins": margins}, _reduced(losses, reduction), {"dmargins": dmargins}, dscores
        )

    return head


def _softmax_head(
    reduction: str,
    label_smoothing: float,
    *,
    shift: str = "row",
    subtract_target: bool = True,
    smoothing_over_others: bool = False,
    formula: str = "log_sum_exp",
) -> Head:
    """The softmax cross-entropy from its formula, unweighted, with a mistake's knobs.

    ``shift``: "row" (each row's max), "global" (the batch's) or "none". Written as
    textbook code is (``exp``, its sum, ``log``), so that it breaks down where such code
    does; ``formula`` says how: "log_sum_exp" (``log_probs = shifted - log(sum(exps))``,
    ``p = exps / sum(exps)``), "exp_of_log" (the same, but ``p = exp(log_probs)``) or
    "log_of_probs" (``p = exps / sum(exps)``, ``log_probs = log(p)``).
    ``subtract_target``: False returns p for the gradient. ``smoothing_over_others``:
    targets 1 - eps at y_i and eps / (C - 1) elsewhere.
    """

    def head(scores: np.ndarray, y: Any) -> HeadResult:
        num_examples, num_classes = scores.shape
        dtype = scores.dtype.type
        onehot = np.zeros_like(scores)
        onehot[np.arange(num_examples), y] = 1
        eps = dtype(label_smoothing)
        if smoothing_over_others:
            targets = onehot * (1 - eps) + (1 - onehot) * (eps / dtype(num_classes - 1))
        else:
            targets = onehot * (1 - eps) + eps / dtype(num_classes)
        if shift == "row":
            shifted = scores - scores.max(axis=1, keepdims=True)
        elif shift == "global":
            shifted = scores - scores.max()
        else:
            shifted = scores.copy()
        exps = np.exp(shifted)
        sums = exps.sum(axis=1, keepdims=True)
        probs = exps / sums
        log_probs = np.log(probs) if formula == "log_of_probs" else shifted - np.log(sums)
        if formula == "exp_of_log":
            probs = np.exp(log_probs)
        losses = -np.where(targets != 0, targets * log_probs, 0).sum(axis=1)
        coefficient = _coefficients(num_examples, reduction, scores.dtype)
        dscores = (probs - targets if subtract_target else probs) * coefficient
        forward = {"shifted": shifted, "log_probs": log_probs}
        return HeadResult(forward, _reduced(losses, reduction), {}, dscores)

    return head


def _head_variants(spec: LossSpec, options: dict[str, Any]) -> list[_HeadVariant]:
    """(mistake, evidence, head, alternatives) for each mistake of a head on its scores.

    ``alternatives`` are the same mistake written with other formulas, for a numeric
    breakdown (see :class:`Variant`); empty for the others.
    """
    reduction = options.get("reduction", "mean")
    variants: list[_HeadVariant] = []
    reference = reference_head(spec, options)
    if reduction == "mean":
        summed = reference_head(spec, {**options, "reduction": "sum"})
        variants += [
            (
                "no_mean",
                "the data loss and its gradient are N times the reference's: sums, not means",
                summed,
                (),
            ),
            (
                "gradient_not_averaged",
                "the loss is right, but the gradient of the data loss is N times the "
                "reference's: not divided by N",
                _joined(reference, summed),
                (),
            ),
            (
                "gradient_not_averaged",
                "the gradient is right, but the data loss is N times the reference's: "
                "not divided by N",
                _joined(summed, reference),
                (),
            ),
            (
                "mean_over_classes",
                "the data loss and its gradient are 1/C times the reference's: divided by N·C",
                _scaled(reference, lambda n, c: 1 / c, np.nan),
                (),
            ),
            (
                "mean_over_classes",
                "the data loss and its gradient are N/C times the reference's: divided by C",
                _scaled(summed, lambda n, c: 1 / c, np.nan),
                (),
            ),
        ]
    variants.append(
        (
            "gradient_sign",
            "the loss is right, and the gradient of the data loss is -1 times the reference's",
            _scaled(reference, lambda n, c: 1, -1.0),
            (),
        )
    )
    if options.get("weight") is not None or reduction not in ("mean", "sum", "none"):
        return variants
    if spec.has_margin:
        margin = float(options.get("margin", 1.0))
        squared = spec.name == "squared_hinge"
        extra = "margin²" if squared else "margin"

        def hinge(**knobs: Any) -> Head:
            return _hinge_head(margin, squared, reduction, **knobs)

        variants += [
            (
                "target_in_hinge_sum",
                f"each example's loss has the extra term j = y_i, {extra}; the gradient is right",
                hinge(target_term="loop"),
                (),
            ),
            (
                "target_in_hinge_sum",
                f"each example's loss has the extra term j = y_i, {extra}, and the gradient "
                "for its target class counts that term too",
                hinge(target_term="vectorized"),
                (),
            ),
        ]
        if squared:
            variants.append(
                (
                    "squared_hinge_gradient_missing_2",
                    "the loss is right, and the gradient of the data loss is half the "
                    "reference's: 2 · margins without its 2",
                    hinge(slope_factor=0.5),
                    (),
                )
            )
        else:
            variants += [
                (
                    "kink_counted",
                    "the loss is right, and the gradient differs from the reference's only "
                    "where a margin is exactly 0, which it counts as active",
                    hinge(kink_active=True),
                    (),
                ),
                (
                    "crammer_singer",
                    "each example's loss is its largest margin, not the sum of its margins",
                    hinge(crammer_singer=True),
                    (),
                ),
            ]
    if spec.name == "softmax_cross_entropy":
        smoothing = float(options.get("label_smoothing", 0.0))

        def softmax(**knobs: Any) -> Head:
            return _softmax_head(reduction, smoothing, **knobs)

        variants += [
            (
                "global_max",
                "its outputs are NaN, inf or wrong exactly where a row's scores lie far below "
                "the batch's largest score, and right elsewhere",
                softmax(shift="global"),
                (
                    softmax(shift="global", formula="exp_of_log"),
                    softmax(shift="global", formula="log_of_probs"),
                ),
            ),
            (
                "no_max_shift",
                "its outputs are NaN, inf or wrong exactly where exp of a score overflows "
                "(or a whole row's underflows), and right elsewhere",
                softmax(shift="none"),
                (
                    softmax(shift="none", formula="exp_of_log"),
                    softmax(shift="none", formula="log_of_probs"),
                ),
            ),
            (
                "target_not_subtracted",
                "the loss is right, and the gradient of the scores is the probabilities "
                "p / N, without - onehot(y) / N",
                softmax(subtract_target=False),
                (),
            ),
        ]
        if smoothing > 0:
            variants.append(
                (
                    "smoothing_over_others",
                    "the targets are 1 - ε at y_i and ε/(C - 1) at the other classes, not "
                    "(1 - ε) onehot(y) + ε/C",
                    softmax(smoothing_over_others=True),
                    (),
                )
            )
    return variants


def loss_layer_variants(spec: LossSpec, options: dict[str, Any]) -> tuple[Variant, ...]:
    """The variants of ``fn(scores, y) -> (loss, dscores)`` for this reference."""

    def run(head: Head) -> Callable[[Inputs], Any]:
        def result(inputs: Inputs) -> Any:
            scores, target = inputs.values()
            outcome = head(scores, target)
            return outcome.data_loss, outcome.dscores

        return result

    return tuple(
        Variant(mistake, evidence, run(head), tuple(map(run, alternatives)))
        for mistake, evidence, head, alternatives in _head_variants(spec, options)
    )


class _Knobs(NamedTuple):
    """What a model variant does differently from the reference (the defaults: nothing)."""

    reg_loss: float = 1.0  # the factor of reg * sum(W**2) in the loss
    reg_gradient: float = 1.0  # the factor of 2 * reg * W in the gradient
    negate: bool = False  # the gradients of the params, negated
    bias_regularized: bool = False
    second_layer_input: str = "h1"  # "z1": the pre-ReLU activations
    weight_gradient_input: str = ""  # what dW2 is computed from: the second layer's input if ""
    relu_mask: str = "z1 > 0"  # "dh1 > 0", "z1 >= 0" or "none"


_NO_KNOBS = _Knobs()


def linear_stages(
    head: Head, inputs: Inputs, reg_scale: float, knobs: _Knobs = _NO_KNOBS
) -> dict[str, Any]:
    """Every stage of ``fn(W, X, y, reg)`` with this head and these knobs."""
    W, X, y, reg = inputs["W"], inputs["X"], inputs["y"], inputs["reg"]
    strength = W.dtype.type(reg_scale * reg)
    scores = X @ W
    head_result = head(scores, y)
    reg_loss = knobs.reg_loss * strength * np.sum(W * W)
    dW = X.T @ head_result.dscores + W.dtype.type(knobs.reg_gradient * 2) * strength * W
    return {
        "scores": scores,
        **head_result.forward,
        "data_loss": head_result.data_loss,
        "reg_loss": reg_loss,
        "loss": head_result.data_loss + reg_loss,
        **head_result.backward,
        "dscores": head_result.dscores,
        "dW": -dW if knobs.negate else dW,
    }


def two_layer_stages(
    head: Head, inputs: Inputs, reg_scale: float, knobs: _Knobs = _NO_KNOBS
) -> dict[str, Any]:
    """Every stage of ``fn(params, X, y, reg)`` with this head and these knobs."""
    params, X, y, reg = inputs["params"], inputs["X"], inputs["y"], inputs["reg"]
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    dtype = W1.dtype.type
    strength = dtype(reg_scale * reg)
    z1 = X @ W1 + b1
    h1 = np.maximum(z1, 0)
    into_second = z1 if knobs.second_layer_input == "z1" else h1
    scores = into_second @ W2 + b2
    head_result = head(scores, y)
    dscores = head_result.dscores
    squares = np.sum(W1 * W1) + np.sum(W2 * W2)
    if knobs.bias_regularized:
        squares = squares + np.sum(b1 * b1) + np.sum(b2 * b2)
    reg_loss = knobs.reg_loss * strength * squares
    decay = dtype(knobs.reg_gradient * 2) * strength
    dh1 = dscores @ W2.T
    masks = {"z1 > 0": z1 > 0, "dh1 > 0": dh1 > 0, "z1 >= 0": z1 >= 0}
    dz1 = dh1 * masks[knobs.relu_mask] if knobs.relu_mask in masks else dh1.copy()
    grads = {
        "dW2": (h1 if knobs.weight_gradient_input == "h1" else into_second).T @ dscores
        + decay * W2,
        "db2": dscores.sum(axis=0) + (decay * b2 if knobs.bias_regularized else 0),
        "dW1": X.T @ dz1 + decay * W1,
        "db1": dz1.sum(axis=0) + (decay * b1 if knobs.bias_regularized else 0),
    }
    if knobs.negate:
        grads = {name: -value for name, value in grads.items()}
    return {
        "z1": z1,
        "h1": h1,
        "scores": scores,
        **head_result.forward,
        "data_loss": head_result.data_loss,
        "reg_loss": reg_loss,
        "loss": head_result.data_loss + reg_loss,
        **head_result.backward,
        "dscores": dscores,
        "dh1": dh1,
        "dW2": grads["dW2"],
        "db2": grads["db2"],
        "dz1": dz1,
        "dW1": grads["dW1"],
        "db1": grads["db1"],
    }


def _model_knobs(contract: str, reg_scale: float) -> list[tuple[str, str, _Knobs]]:
    """(mistake, evidence, knobs) for each mistake of a model around its head."""
    reg = "reg" if reg_scale == 1 else f"{reg_scale:g}·reg"
    squares = "ΣW²" if contract == "linear" else "(ΣW1² + ΣW2²)"

    def gradient_off(factor: str) -> str:
        if contract == "linear":
            return f"dW - reference = {factor}·W"
        return f"dW1 - reference = {factor}·W1 and dW2 - reference = {factor}·W2"

    knobs = [
        (
            "reg_gradient_missing_2",
            f"the loss is right; {gradient_off(f'-{reg}')}",
            _Knobs(reg_gradient=0.5),
        ),
        (
            "reg_missing",
            f"loss - reference = -{reg}·{squares} and {gradient_off(f'-2·{reg}')}",
            _Knobs(reg_loss=0.0, reg_gradient=0.0),
        ),
        (
            "reg_missing",
            f"loss - reference = -{reg}·{squares}, and the gradient is right",
            _Knobs(reg_loss=0.0),
        ),
        (
            "reg_missing",
            f"the loss is right; {gradient_off(f'-2·{reg}')}",
            _Knobs(reg_gradient=0.0),
        ),
        (
            "gradient_sign",
            "the loss is right, and the gradient is -1 times the reference's",
            _Knobs(negate=True),
        ),
    ]
    # The other conventions of the regularization: reg·ΣW² and 0.5·reg·ΣW², each where
    # the check's reg_scale says another.
    for mistake, convention, scale in (("half_reg", "0.5·reg", 0.5), ("full_reg", "reg", 1.0)):
        if reg_scale != scale:
            off = scale - reg_scale  # of reg·ΣW² in the loss; twice that of reg·W in dW
            knobs.append(
                (
                    mistake,
                    f"loss - reference = {_times(off)}reg·{squares} and "
                    f"{gradient_off(f'{_times(2 * off)}reg')}: the convention "
                    f"{convention}·{squares}",
                    _Knobs(reg_loss=scale / reg_scale, reg_gradient=scale / reg_scale),
                )
            )
    if contract == "two_layer":
        knobs += [
            (
                "bias_regularized",
                f"loss - reference = {reg}·(Σb1² + Σb2²) and db1 - reference = 2·{reg}·b1 "
                f"(db2 likewise)",
                _Knobs(bias_regularized=True),
            ),
            (
                "pre_relu_forward",
                "the scores are z1 W2 + b2, from the ReLU's input, and its backward pass "
                "masks dh1 where z1 <= 0",
                _Knobs(second_layer_input="z1"),
            ),
            (
                "pre_relu_forward",
                "the scores are z1 W2 + b2, from the ReLU's input, and its backward pass "
                "has no ReLU",
                _Knobs(second_layer_input="z1", relu_mask="none"),
            ),
            (
                "pre_relu_forward",
                "the scores are z1 W2 + b2, from the ReLU's input, while its backward pass "
                "is that of h1 W2 + b2",
                _Knobs(second_layer_input="z1", weight_gradient_input="h1"),
            ),
            (
                "relu_mask_wrong",
                "the loss is right; dz1 = dh1 · 1[dh1 > 0]: the mask from the upstream "
                "gradient, not from z1",
                _Knobs(relu_mask="dh1 > 0"),
            ),
            (
                "relu_mask_wrong",
                "the loss is right; the gradient passes where z1 is exactly 0: 1[z1 >= 0]",
                _Knobs(relu_mask="z1 >= 0"),
            ),
            (
                "relu_mask_wrong",
                "the loss is right; dz1 = dh1: the ReLU's backward masks nothing",
                _Knobs(relu_mask="none"),
            ),
        ]
    return knobs


def _times(factor: float) -> str:
    """A factor in front of a term: ``""`` for 1, ``"-"`` for -1, else ``"0.5·"``."""
    return {1.0: "", -1.0: "-"}.get(factor, f"{factor:g}·")


def model_without_regularization(
    contract: str,
    spec: LossSpec,
    options: dict[str, Any],
    result: Callable[[dict[str, Any]], Any],
) -> Callable[[Inputs], Any]:
    """The reference's outputs without its regularization (its data part), as ``result``.

    What the report's relation of a regularization part measures against.
    """
    stages = linear_stages if contract == "linear" else two_layer_stages
    head = reference_head(spec, options)
    return lambda inputs: result(stages(head, inputs, 0.0))


def model_variants(
    contract: str,
    spec: LossSpec,
    options: dict[str, Any],
    reg_scale: float,
    result: Callable[[dict[str, Any]], Any],
) -> tuple[Variant, ...]:
    """The variants of a model's loss (``contract`` "linear" or "two_layer").

    ``result(stages)`` makes the candidate's format from every stage: ``(loss, dW)``,
    ``(loss, grads)`` or the dict of stages itself.
    """
    stages = linear_stages if contract == "linear" else two_layer_stages

    def run(head: Head, knobs: _Knobs) -> Callable[[Inputs], Any]:
        return lambda inputs: result(stages(head, inputs, reg_scale, knobs))

    reference = reference_head(spec, options)
    return tuple(
        [
            Variant(
                mistake,
                evidence,
                run(head, _Knobs()),
                tuple(run(alternative, _Knobs()) for alternative in alternatives),
            )
            for mistake, evidence, head, alternatives in _head_variants(spec, options)
        ]
        + [
            Variant(mistake, evidence, run(reference, knobs))
            for mistake, evidence, knobs in _model_knobs(contract, reg_scale)
        ]
    )


def layer_variants(layer: str) -> tuple[Variant, ...]:
    """The variants of a CS231n layer pair: its forward's out, then its backward's grads."""
    if layer != "relu":
        return ()

    def relu(mask: str) -> Callable[[Inputs], Any]:
        def result(inputs: Inputs) -> Any:
            x, dout = inputs["x"], inputs["dout"]
            masks = {"dout > 0": dout > 0, "x >= 0": x >= 0, "none": np.ones(x.shape, bool)}
            return {"out": np.maximum(x, 0), "grads": dout * masks[mask], "cache_written": None}

        return result

    return (
        Variant(
            "relu_mask_wrong",
            "out is right; dx = dout · 1[dout > 0]: the mask from dout, not from x",
            relu("dout > 0"),
        ),
        Variant(
            "relu_mask_wrong",
            "out is right; the gradient passes where x is exactly 0: 1[x >= 0]",
            relu("x >= 0"),
        ),
        Variant("relu_mask_wrong", "out is right; dx = dout: no mask", relu("none")),
    )
