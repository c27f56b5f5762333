"""The inputs a failing candidate is run on to diagnose it: chosen to tell mistakes apart.

Two known mistakes can give the same outputs on an input: with ``reg = 0`` no
regularization mistake shows, with N = 1 a missing mean does not, off the kinks a
``>=`` does not, with rows close together a global max does not. So a diagnosis is
only made on several inputs, built here from the checker's own options (its sizes,
value range, reg range, kinks and row shifts) and kept only if the checker could have
drawn them (``admissible``):

- the largest sizes the checker draws (N, C up to 5), generic values, the largest reg;
- the same with the smallest reg;
- values on the kink grid, where margins and pre-activations are exactly 0;
- for a softmax, rows far apart: the loss layer's shifted by +-max_row_shift, a model's
  with the far-rows weight (:class:`~flatprop.testing._draws.FarRows`), with two rows
  and with one;
- the smallest sizes, and another draw of the largest.

The values come from a fixed ``numpy.random.default_rng`` seed: the same candidate
always gets the same diagnosis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from flatprop.testing._arrays import Size
from flatprop.testing._draws import KINK_GRID, FarRows, largest, smallest

__all__ = ["InputSpace", "diagnostic_inputs"]

_SEED = 20240612  # any fixed number: the extra inputs are the same on every run
_TRIES = 30  # draws of values before giving an input up (near a kink each time)
_MAX_SIZE = 5  # the largest N, D, H, C an extra input takes


@dataclass(frozen=True)
class InputSpace:
    """What a checker draws, as far as the extra inputs need to know.

    ``kind`` is "loss_layer", "linear", "two_layer", "affine" or "relu"; ``sizes`` maps
    the letters N, D, H, C (K for a regression's outputs, M for a layer's, k for the
    extra dimensions of an affine layer's x) to the checker's sizes.
    """

    kind: str
    sizes: dict[str, Size]
    dtype: np.dtype
    value_range: tuple[float, float]
    admissible: Callable[[dict[str, Any]], bool]
    kink_range: tuple[float, float] | None = None  # the grid's, with include_kinks
    reg_range: tuple[float, float] | None = None
    classification: bool = True
    row_shift: int = 0  # a loss layer's softmax: whole shifts of its rows
    far_rows: FarRows | None = None  # a model's softmax
    probes: tuple[dict[str, Any], ...] = ()  # the checker's own probes (exact kinks)


def _high(size: Size) -> int:
    return min(largest(size), max(_MAX_SIZE, smallest(size)))


class _Builder:
    """Makes one input of a space from its sizes and a way to draw values."""

    def __init__(self, space: InputSpace):
        self.space = space
        self.rng = np.random.default_rng(_SEED)

    def values(self, shape: tuple[int, ...], grid: bool) -> np.ndarray:
        dtype = self.space.dtype
        if grid and self.space.kink_range is not None:
            low, high = self.space.kink_range
            multiples = self.rng.integers(
                int(np.ceil(low / KINK_GRID)), int(np.floor(high / KINK_GRID)) + 1, size=shape
            )
            return (multiples * KINK_GRID).astype(dtype)
        low, high = self.space.value_range
        return np.clip(self.rng.uniform(low, high, size=shape), low, high).astype(dtype)

    def labels(self, n: int, c: int) -> np.ndarray:
        return self.rng.integers(0, c, size=n).astype(np.int64)

    def make(
        self, sizes: dict[str, int], *, grid: bool = False, reg: float = 0.0
    ) -> dict[str, Any]:
        kind, n = self.space.kind, sizes.get("N", 1)
        c = sizes.get("C", 1)
        if kind in ("linear", "two_layer"):
            if kind == "linear":
                inputs: dict[str, Any] = {"W": self.values((sizes["D"], c), grid)}
            else:
                h = sizes["H"]
                inputs = {
                    "params": {
                        "W1": self.values((sizes["D"], h), grid),
                        "b1": self.values((h,), grid),
                        "W2": self.values((h, c), grid),
                        "b2": self.values((c,), grid),
                    }
                }
            inputs["X"] = self.values((n, sizes["D"]), grid)
            classification = self.space.classification
            inputs["y"] = self.labels(n, c) if classification else self.values((n, c), grid)
            inputs["reg"] = reg
            return inputs
        if kind == "loss_layer":
            if self.space.classification:
                return {"scores": self.values((n, c), grid), "y": self.labels(n, c)}
            return {"pred": self.values((n, c), grid), "target": self.values((n, c), grid)}
        if kind == "affine":
            dims = tuple(self.rng.integers(1, 4, size=sizes["k"]))
            d = int(np.prod(dims))
            m = sizes["M"]
            return {
                "x": self.values((n, *dims), grid),
                "w": self.values((d, m), grid),
                "b": self.values((m,), grid),
                "dout": self.values((n, m), grid),
            }
        shape = (n, *self.rng.integers(1, 4, size=sizes["k"]))
        return {"x": self.values(shape, grid), "dout": self.values(shape, grid)}

    def admissible(self, sizes: dict[str, int], **options: Any) -> dict[str, Any] | None:
        """An input of these sizes that the checker could have drawn, or None."""
        for _ in range(_TRIES):
            inputs = self.make(sizes, **options)
            if self.space.admissible(inputs):
                return inputs
        return None


def diagnostic_inputs(space: InputSpace) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """The extra inputs of a space (see the module's notes), made once, when first asked."""
    made: list[list[dict[str, Any]]] = []

    def inputs(failing: dict[str, Any]) -> list[dict[str, Any]]:
        if not made:
            made.append(_make_all(space))
        return made[0]

    return inputs


def _make_all(space: InputSpace) -> list[dict[str, Any]]:
    builder = _Builder(space)
    large = {letter: _high(size) for letter, size in space.sizes.items()}
    small = {letter: smallest(size) for letter, size in space.sizes.items()}
    wide = dict(large)  # the most classes; large has 3, so that N != C somewhere
    if "C" in large and smallest(space.sizes["C"]) <= 3 <= large["C"]:
        large["C"] = 3  # more than one active margin per row, and fewer classes than N
    low_reg, high_reg = space.reg_range or (0.0, 0.0)
    wanted: list[tuple[dict[str, int], dict[str, Any]]] = [
        (large, {"reg": high_reg}),
        (large, {"reg": low_reg}),
        (large, {"reg": high_reg, "grid": True}),
        (small, {"reg": (low_reg + high_reg) / 2}),
        (wide, {"reg": high_reg}),
    ]
    if space.kind == "affine":
        wanted += [({**large, "k": smallest(space.sizes["k"])}, {}), ({**large, "k": 1}, {})]
    found = [builder.admissible(sizes, **options) for sizes, options in wanted]
    found += _far_rows(space, builder, large)
    found += [dict(probe) for probe in space.probes]
    unique: list[dict[str, Any]] = []
    for inputs in found:
        if inputs is not None and space.admissible(inputs):
            unique.append(inputs)
    return unique


def _far_rows(space: InputSpace, builder: _Builder, large: dict[str, int]) -> list[Any]:
    """For a softmax: inputs whose rows of scores lie far apart (two rows, and one)."""
    one = {**large, "N": 1} if smallest(space.sizes.get("N", 1)) <= 1 else None
    if space.kind == "loss_layer" and space.row_shift and space.classification:
        shift = space.row_shift
        inputs = []
        for sizes in (large, one):
            if sizes is None:
                continue
            problem = builder.admissible(sizes)
            if problem is not None:
                pattern = np.resize(np.array([0, shift, -shift]), sizes["N"])
                if sizes["N"] == 1:
                    pattern = np.array([shift])
                problem["scores"] = (problem["scores"] + pattern[:, np.newaxis]).astype(space.dtype)
                inputs.append(problem)
        return inputs
    if space.far_rows is None:
        return []
    far_rows = space.far_rows
    inputs = []
    for sizes in (large, one):
        if sizes is None:
            continue
        problem = builder.admissible(sizes, reg=far_rows.reg)
        if problem is None:
            continue
        problem["X"][:, -1] = np.abs(problem["X"][:, -1])
        problem["X"][0, -1] = far_rows.constant  # a row offset by max_row_shift
        if sizes["N"] > 1:
            problem["X"][1, -1] = 0  # and one not
        if space.kind == "linear":
            problem["W"][-1, :] = far_rows.max_row_shift
        else:
            problem["params"]["W1"][-1, :] = 0
            problem["params"]["W1"][-1, 0] = far_rows.max_row_shift
            problem["params"]["W2"][0, :] = far_rows.constant
            problem["params"]["b1"][0] = abs(problem["params"]["b1"][0])
        inputs.append(problem)
    return inputs
