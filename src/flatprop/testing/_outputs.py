"""What a candidate returns under each contract, and how a check reads it.

A contract's :class:`Outputs` labels the quantities it compares (``"loss"``, ``"dW"``,
``"grads['W1']"``, a stage's name, ``"dx"``), in the order they are compared; reads
the reference's result (or a known mistake's) into labelled arrays; and reads the
candidate's, refusing what is not of the right kind or shape with an
:class:`OutputError`. Reading the candidate's result may run its code (``__len__``,
``__getitem__``, ``__array__`` ...): the engine does it inside its guarded block.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from flatprop.testing._report import listing, value_summary

__all__ = ["LayerOutputs", "LossAndGradient", "OutputError", "Outputs", "StageOutputs"]


class OutputError(Exception):
    """A return value of the wrong kind (or a write into a forward pass's cache).

    ``quantity`` is the output at fault (None for the whole result); ``value`` the array
    returned for it when only its shape is wrong (for the diagnosis).
    """

    def __init__(
        self,
        quantity: str | None,
        detail: str,
        *,
        kind: str = "return",
        headline: str = "returned the wrong kind of value",
        value: np.ndarray | None = None,
    ):
        super().__init__(detail)
        self.quantity = quantity
        self.detail = detail
        self.kind = kind
        self.headline = headline
        self.value = value


def as_numeric_array(value: Any) -> np.ndarray | None:
    """``value`` as a real (integer or float) array, or None if it is not one."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged sequences, odd objects
        return None
    return array if array.dtype.kind in "iuf" else None


def _array_of_shape(label: str, value: Any, shape: tuple[int, ...], of: str) -> np.ndarray:
    """The candidate's ``value`` as an array of its own, of ``shape``; else the problem."""
    array = as_numeric_array(value)
    if array is None or array.shape != shape:
        raise OutputError(
            label,
            f"{label} must be an array of shape {shape}, {of}, got {value_summary(value)}",
            value=None if array is None else array.copy(),
        )
    return array.copy()


def _loss_value(label: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A loss (or a stage like it) of its own: a number, or with ``"none"`` an (N,) array."""
    array = as_numeric_array(value)
    if array is None or array.shape != shape:
        wanted = "a number" if shape == () else f"an array of shape {shape}"
        raise OutputError(label, f"{label} must be {wanted}, got {value_summary(value)}")
    return array.copy()


class Outputs(ABC):
    """How a contract's candidate returns what the check compares."""

    @abstractmethod
    def labelled(self, result: Any) -> dict[str, np.ndarray]:
        """A trusted result (the reference's, a known mistake's) as labelled arrays."""

    @abstractmethod
    def shown(self, result: Any) -> dict[str, Any]:
        """The reference's result, as a failure message shows it under "Expected"."""

    @abstractmethod
    def unpack(
        self,
        result: Any,
        pristine: dict[str, Any],
        expected: dict[str, np.ndarray],
        compared: tuple[str, ...],
        name: str,
    ) -> dict[str, np.ndarray]:
        """The candidate's compared outputs, labelled; :class:`OutputError` if wrong."""

    @abstractmethod
    def call_lines(self, name: str, argument_names: tuple[str, ...]) -> list[str]:
        """The lines that call the candidate, under the failing input in a message."""

    def call_text(self, name: str, argument_names: tuple[str, ...]) -> str:
        """The call, as the first line of a message names it."""
        return f"{name}({', '.join(argument_names)})"

    def candidate(self, name: str) -> str:
        """The candidate, as a report names it."""
        return name


@dataclass(frozen=True)
class LossAndGradient(Outputs):
    """``(loss, gradient)``: the gradient for the first argument.

    An array of its shape, or, when the first argument is a dict of arrays (``params``),
    a dict ``grads`` with its keys and shapes.
    """

    gradient_name: str  # "dscores", "dW", or "grads"
    first_argument: str

    def labelled(self, result: Any) -> dict[str, np.ndarray]:
        loss, gradient = result
        if self.gradient_name == "grads":
            grads = {f"grads[{key!r}]": np.asarray(value) for key, value in gradient.items()}
            return {"loss": np.asarray(loss), **grads}
        return {"loss": np.asarray(loss), self.gradient_name: np.asarray(gradient)}

    def shown(self, result: Any) -> dict[str, Any]:
        loss, gradient = result
        return {"loss": np.asarray(loss), self.gradient_name: gradient}

    def unpack(
        self,
        result: Any,
        pristine: dict[str, Any],
        expected: dict[str, np.ndarray],
        compared: tuple[str, ...],
        name: str,
    ) -> dict[str, np.ndarray]:
        gradient_name = self.gradient_name
        if not isinstance(result, tuple | list) or len(result) != 2:
            raise OutputError(
                None,
                f"{name} must return a pair (loss, {gradient_name}), got {value_summary(result)}",
            )
        loss, gradient = result
        labelled: dict[str, np.ndarray] = {}
        if "loss" in compared:
            labelled["loss"] = _loss_value("loss", loss, expected["loss"].shape)
        first = pristine[self.first_argument]
        if gradient_name == "grads":
            entries = {f"grads[{key!r}]": key for key in first}
            if any(label in compared for label in entries) and (
                not isinstance(gradient, Mapping) or set(gradient) != set(first)
            ):
                keys = list(gradient) if isinstance(gradient, Mapping) else None
                got = f"keys {keys}" if keys is not None else value_summary(gradient)
                raise OutputError(
                    "grads",
                    f"grads must be a dict keyed like {self.first_argument}, {list(first)}, "
                    f"got {got}",
                )
            pairs = {
                label: (gradient[key], first[key], f"{self.first_argument}[{key!r}]")
                for label, key in entries.items()
                if label in compared
            }
        else:
            pairs = {}
            if gradient_name in compared:
                pairs[gradient_name] = (gradient, first, self.first_argument)
        for label, (value, like, source) in pairs.items():
            labelled[label] = _array_of_shape(label, value, like.shape, f"the shape of {source}")
        return labelled

    def call_lines(self, name: str, argument_names: tuple[str, ...]) -> list[str]:
        return [f"loss, {self.gradient_name} = {self.call_text(name, argument_names)}"]


@dataclass(frozen=True)
class StageOutputs(Outputs):
    """A dict of named stages: any of the reference's, each an array of its shape."""

    names: tuple[str, ...]  # the reference's stages, forward then backward

    def labelled(self, result: Any) -> dict[str, np.ndarray]:
        return {name: np.asarray(result[name]) for name in self.names if name in result}

    def shown(self, result: Any) -> dict[str, Any]:
        return self.labelled(result)

    def unpack(
        self,
        result: Any,
        pristine: dict[str, Any],
        expected: dict[str, np.ndarray],
        compared: tuple[str, ...],
        name: str,
    ) -> dict[str, np.ndarray]:
        known = f"the stages it may return are {listing(list(self.names))}"
        if not isinstance(result, Mapping):
            raise OutputError(
                None,
                f"{name} must return a dict of its stages, got {value_summary(result)}; {known}",
            )
        keys = list(result)
        unknown = [key for key in keys if key not in self.names]
        if unknown:
            raise OutputError(
                None,
                f"{name} returned {'a stage' if len(unknown) == 1 else 'stages'} of no known name, "
                f"{listing([repr(key) for key in unknown])}: {known}",
            )
        if not keys:
            raise OutputError(None, f"{name} returned no stage: {known}")
        labelled: dict[str, np.ndarray] = {}
        for stage in self.names:
            if stage in result and stage in compared:
                shape = expected[stage].shape
                if shape == ():
                    labelled[stage] = _loss_value(stage, result[stage], shape)
                else:
                    of = f"the shape of the reference's {stage}"
                    labelled[stage] = _array_of_shape(stage, result[stage], shape, of)
        return labelled

    def call_lines(self, name: str, argument_names: tuple[str, ...]) -> list[str]:
        return [f"stages = {self.call_text(name, argument_names)}"]


@dataclass(frozen=True)
class LayerOutputs(Outputs):
    """A CS231n layer pair, run as one call by :func:`flatprop.testing._calls.layer_pair`.

    The result is ``{"out", "grads", "cache_written"}``: the forward's ``out``, the
    backward's grads (``dx`` alone for "relu"; ``(dx, dw, db)`` for "affine"), and where
    the backward pass wrote into the cache, if it did.
    """

    layer: str  # "affine" or "relu"
    forward: str  # the names of the two functions, for messages
    backward: str
    inputs: tuple[str, ...]  # the forward's arguments: ("x", "w", "b") or ("x",)

    @property
    def gradients(self) -> tuple[str, ...]:
        return ("dx", "dw", "db") if self.layer == "affine" else ("dx",)

    def labelled(self, result: Any) -> dict[str, np.ndarray]:
        grads = result["grads"]
        grads = tuple(grads) if self.layer == "affine" else (grads,)
        return {"out": np.asarray(result["out"])} | {
            name: np.asarray(value) for name, value in zip(self.gradients, grads, strict=True)
        }

    def shown(self, result: Any) -> dict[str, Any]:
        return self.labelled(result)

    def unpack(
        self,
        result: Any,
        pristine: dict[str, Any],
        expected: dict[str, np.ndarray],
        compared: tuple[str, ...],
        name: str,
    ) -> dict[str, np.ndarray]:
        if not isinstance(result, Mapping):  # a proxy's garbled reply
            raise OutputError(None, f"the pair returned {value_summary(result)}")
        if "forward_returned" in result:
            raise OutputError(
                "out",
                f"{self.forward} must return a pair (out, cache), got "
                f"{value_summary(result['forward_returned'])}",
            )
        written = result.get("cache_written")
        if isinstance(written, str):
            raise OutputError(
                "cache",
                f"{written}. A backward pass must not modify the cache of its forward pass "
                "(nor dout): compute into new arrays.",
                kind="mutation",
                headline=f"wrote into the cache of {self.forward} (in {self.backward})",
            )
        labelled: dict[str, np.ndarray] = {}
        if "out" in compared:
            labelled["out"] = _array_of_shape(
                "out", result["out"], expected["out"].shape, "the shape of the reference's out"
            )
        grads = result["grads"]
        if self.layer == "affine":
            if not isinstance(grads, tuple | list) or len(grads) != 3:
                raise OutputError(
                    "dx",
                    f"{self.backward} must return a tuple (dx, dw, db), got {value_summary(grads)}",
                )
        else:
            grads = (grads,)
        inputs = dict(zip(("dx", "dw", "db"), self.inputs, strict=False))
        for label, value in zip(self.gradients, grads, strict=True):
            if label in compared:
                of = f"the shape of {inputs[label]}"
                labelled[label] = _array_of_shape(label, value, expected[label].shape, of)
        return labelled

    def call_lines(self, name: str, argument_names: tuple[str, ...]) -> list[str]:
        grads = ", ".join(self.gradients)
        return [
            f"out, cache = {self.forward}({', '.join(self.inputs)})",
            f"{grads} = {self.backward}(dout, cache)",
        ]

    def call_text(self, name: str, argument_names: tuple[str, ...]) -> str:
        return f"{self.forward}({', '.join(self.inputs)}) then {self.backward}(dout, cache)"

    def candidate(self, name: str) -> str:
        return f"{self.forward} and {self.backward}"
