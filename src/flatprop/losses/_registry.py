"""The one registry of flatprop's losses: what each is, takes and computes, stated once.

The nets' heads, the checkers of :mod:`flatprop.testing`, the self check behind
``flatprop gradcheck``, the command line, the benchmarks and the parametrised tests all
read :data:`LOSSES`; none of them keeps a list of the losses of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import flatprop.losses.hinge as hinge
import flatprop.losses.l2 as l2
import flatprop.losses.softmax as softmax
from flatprop import naive

__all__ = ["LOSSES", "PER_CALL_OPTIONS", "LossSpec", "TargetKind", "find_loss"]

TargetKind: TypeAlias = Literal["labels", "labels or probabilities", "values"]

PER_CALL_OPTIONS: tuple[str, ...] = ("sample_weight", "check_finite")
"""The keyword options every loss takes besides its :attr:`LossSpec.options`: they
describe one call's data rather than the loss, so a model or a check does not fix them."""


@dataclass(frozen=True, repr=False)
class LossSpec:
    """One loss of :mod:`flatprop.losses`, and what the rest of flatprop needs to know of it.

    Attributes
    ----------
    name : str
        The one-shot function's name in :mod:`flatprop.losses`, e.g. ``"multiclass_svm"``.
    head : str
        Its name as a head of :mod:`flatprop.nets`, e.g. ``"svm"``.
    title : str
        Its name for people, in figures and tables, e.g. ``"multiclass SVM (hinge)"``.
    function : callable
        The one-shot ``name(x, target, **options) -> (loss, grads)``.
    forward, backward : callable
        The staged pair ``name_forward -> (loss, cache)`` and
        ``name_backward(cache, dloss=1.0) -> grads``.
    naive : callable
        The loop version in :mod:`flatprop.naive`, with the same signature.
    input_name : {"scores", "pred"}
        The first argument's name, which keys its gradient in ``grads``.
    target : {"labels", "labels or probabilities", "values"}
        What the second argument holds: integer labels (N,); labels or (N, C) rows of
        probabilities; or real (N, K) targets (None meaning zeros).
    options : tuple of str
        The keyword settings of the loss that a model's head or a check fixes once
        (``reduction`` among them). Every loss also takes :data:`PER_CALL_OPTIONS`.
    kink : str or None
        The subgradient chosen where the loss is not differentiable; None for a smooth loss.
    """

    name: str
    head: str
    title: str
    function: Callable[..., tuple[Any, dict[str, Any]]]
    forward: Callable[..., tuple[Any, Any]]
    backward: Callable[..., dict[str, Any]]
    naive: Callable[..., tuple[Any, dict[str, Any]]]
    input_name: str
    target: TargetKind
    options: tuple[str, ...]
    kink: str | None

    @property
    def classification(self) -> bool:
        """Whether the target holds class labels (and a model's ``predict`` returns labels)."""
        return self.target != "values"

    @property
    def has_margin(self) -> bool:
        """Whether the loss is a hinge: it has a ``margin`` and kinks where a margin is 0."""
        return "margin" in self.options

    def __repr__(self) -> str:
        return f"LossSpec({self.name!r})"


_HINGE_KINK = (
    "a margin s_j - s_y + margin of exactly 0 counts as inactive: the subgradient there "
    "is 0, as in PyTorch"
)

LOSSES: Mapping[str, LossSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            LossSpec(
                name="softmax_cross_entropy",
                head="softmax",
                title="softmax cross-entropy",
                function=softmax.softmax_cross_entropy,
                forward=softmax.softmax_cross_entropy_forward,
                backward=softmax.softmax_cross_entropy_backward,
                naive=naive.softmax_cross_entropy,
                input_name="scores",
                target="labels or probabilities",
                options=("label_smoothing", "weight", "reduction"),
                kink=None,
            ),
            LossSpec(
                name="multiclass_svm",
                head="svm",
                title="multiclass SVM (hinge)",
                function=hinge.multiclass_svm,
                forward=hinge.multiclass_svm_forward,
                backward=hinge.multiclass_svm_backward,
                naive=naive.multiclass_svm,
                input_name="scores",
                target="labels",
                options=("margin", "weight", "reduction"),
                kink=_HINGE_KINK,
            ),
            LossSpec(
                name="squared_hinge",
                head="squared_hinge",
                title="squared hinge",
                function=hinge.squared_hinge,
                forward=hinge.squared_hinge_forward,
                backward=hinge.squared_hinge_backward,
                naive=naive.squared_hinge,
                input_name="scores",
                target="labels",
                options=("margin", "weight", "reduction"),
                kink=_HINGE_KINK + " (the squared hinge's gradient 2 m is 0 there anyway)",
            ),
            LossSpec(
                name="l2",
                head="l2",
                title="L2",
                function=l2.l2,
                forward=l2.l2_forward,
                backward=l2.l2_backward,
                naive=naive.l2,
                input_name="pred",
                target="values",
                options=("reduction",),
                kink=None,
            ),
        )
    }
)
"""Every loss of :mod:`flatprop.losses`, by its function's name, in the order of the docs
(softmax cross-entropy first: the default head of the nets).

Examples
--------
>>> from flatprop.losses import LOSSES
>>> [spec.head for spec in LOSSES.values()]
['softmax', 'svm', 'squared_hinge', 'l2']
>>> LOSSES["multiclass_svm"].options
('margin', 'weight', 'reduction')
"""


def find_loss(name: object, argument: str = "loss") -> LossSpec:
    """The loss called ``name``: a function name of :data:`LOSSES` or a head's name.

    Parameters
    ----------
    name : str
        ``"multiclass_svm"`` or ``"svm"``, ``"softmax_cross_entropy"`` or ``"softmax"``, ...
    argument : str, default "loss"
        The name of the caller's argument, for the error message.

    Returns
    -------
    LossSpec

    Raises
    ------
    ValueError
        If ``name`` names no loss; the message lists the names that do.

    Examples
    --------
    >>> find_loss("svm").name
    'multiclass_svm'
    """
    if isinstance(name, str):
        if name in LOSSES:
            return LOSSES[name]
        for spec in LOSSES.values():
            if spec.head == name:
                return spec
    names = ", ".join(map(repr, LOSSES))
    heads = ", ".join(repr(spec.head) for spec in LOSSES.values() if spec.head not in LOSSES)
    raise ValueError(
        f"{argument} must name one of flatprop's losses, {names} (or, as the nets' heads "
        f"call them, {heads}), got {name!r}"
    )
