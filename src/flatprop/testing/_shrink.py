"""A last shrinking pass after Hypothesis's: delete examples, features, units and classes.

Hypothesis draws the sizes before the values, so it rarely manages to lower a size
without losing the failure (every value after it moves). This pass works on the
failing input itself: it deletes one index along one size (an example from X and y,
a class from W, b2 and the labels, ...) or sets one entry to 0, keeps the change if
the candidate still fails the same way, and repeats until nothing more goes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from flatprop.testing._report import CheckFailedError

__all__ = ["Dimension", "shrink_further"]

MAX_TRIES = 5_000  # runs of the candidate: a bound for large user-chosen sizes
Path = tuple[str, ...]  # ("X",), or ("params", "W1") for an entry of a dict argument


@dataclass(frozen=True)
class Dimension:
    """One size of the inputs (N, D, H or C): the axes of the arrays that have it."""

    name: str  # "N", "D", "H" or "C"
    slots: tuple[tuple[Path, int], ...]  # (where an array is, which of its axes)
    minimum: int
    labels: Path | None = None  # the labels in [0, size), renumbered when a class goes


def _get(inputs: dict[str, Any], path: Path) -> Any:
    value: Any = inputs
    for key in path:
        value = value[key]
    return value


def _set(inputs: dict[str, Any], path: Path, value: Any) -> None:
    _get(inputs, path[:-1])[path[-1]] = value


def _without_index(
    inputs: dict[str, Any], dimension: Dimension, index: int
) -> dict[str, Any] | None:
    """The inputs with ``index`` deleted along a dimension; None if a label still needs it."""
    smaller = copy.deepcopy(inputs)
    if dimension.labels is not None:
        labels = _get(smaller, dimension.labels)
        if np.any(labels == index):
            return None
        _set(smaller, dimension.labels, labels - (labels > index))
    for path, axis in dimension.slots:
        _set(smaller, path, np.delete(_get(smaller, path), index, axis=axis))
    return smaller


def _float_arrays(inputs: dict[str, Any]) -> Iterator[Path]:
    for name, value in inputs.items():
        entries = value.items() if isinstance(value, dict) else [(None, value)]
        for key, array in entries:
            if isinstance(array, np.ndarray) and array.dtype.kind == "f":
                yield (name,) if key is None else (name, key)


def _smaller_inputs(
    inputs: dict[str, Any], dimensions: tuple[Dimension, ...]
) -> Iterator[dict[str, Any]]:
    """Every input one step smaller: one index fewer along a dimension, or one entry 0."""
    for dimension in dimensions:
        path, axis = dimension.slots[0]
        length = _get(inputs, path).shape[axis]
        if length > dimension.minimum:
            for index in range(length):
                smaller = _without_index(inputs, dimension, index)
                if smaller is not None:
                    yield smaller
    for path in _float_arrays(inputs):
        for entry in np.argwhere(_get(inputs, path) != 0):
            smaller = copy.deepcopy(inputs)
            _get(smaller, path)[tuple(entry)] = 0
            yield smaller
    if inputs.get("reg"):
        yield {**copy.deepcopy(inputs), "reg": 0.0}


def shrink_further(
    failure: CheckFailedError,
    fails: Callable[[dict[str, Any]], CheckFailedError | None],
    dimensions: tuple[Dimension, ...],
) -> CheckFailedError:
    """The failure of the smallest input that still fails the same way (kind and quantity).

    ``fails(inputs)`` runs the check on an input and returns its failure, or None if
    the input passes or is not one the checker would draw.
    """
    current = failure
    tries = 0
    shrinking = True
    while shrinking and tries < MAX_TRIES:
        shrinking = False
        for smaller in _smaller_inputs(current.inputs, dimensions):
            tries += 1
            if tries > MAX_TRIES:
                break
            new = fails(smaller)
            if new is not None and (new.kind, new.quantity) == (current.kind, current.quantity):
                current, shrinking = new, True
                break
    return current
