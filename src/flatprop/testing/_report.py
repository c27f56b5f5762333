"""What the checkers print: NumPy literals, the failure message and the success report.

Every number is written with the shortest repr that reads back to the same value in
its dtype, so that the input shown in a message can be pasted into Python and fails
the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from flatprop._display import html_table, shortened

__all__ = [
    "CheckFailedError",
    "CheckReport",
    "Difference",
    "Opaque",
    "assignment_block",
    "listing",
    "literal",
    "value_summary",
]

_INDENT = "    "
_DEFAULT_DTYPES = (np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_))


@dataclass(frozen=True)
class CheckReport:
    """What a checker returns when the candidate matched the reference on every example.

    Attributes
    ----------
    checker : str
        The checker's name, e.g. ``"check_linear_loss"``.
    candidate : str
        The checked function's name.
    reference : str
        What it was compared with, e.g. ``"flatprop.losses.multiclass_svm(margin=1.0)"``.
    examples_passed : int
        How many inputs it was run on, each compared to the end (all passed).
    quantities : tuple of str
        What was compared on each, e.g. ``("loss", "dW")``.
    """

    checker: str
    candidate: str
    reference: str
    examples_passed: int
    quantities: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"{self.candidate} passed {self.checker}: {listing(self.quantities)} matched "
            f"{self.reference} on {self.examples_passed} examples"
        )

    def _repr_html_(self) -> str:
        """Jupyter's view: the verdict, then a table of what was checked."""
        rows = [
            ("checker", self.checker),
            ("candidate", self.candidate),
            ("reference", self.reference),
            ("examples passed", str(self.examples_passed)),
            ("compared", listing(self.quantities)),
        ]
        return html_table(f"{self.candidate} passed {self.checker}", ("", ""), rows)


class CheckFailedError(AssertionError):
    """The ``AssertionError`` a checker raises: its message is the whole report.

    Attributes
    ----------
    kind : str
        ``"mismatch"`` (a wrong value), ``"non-finite"`` (NaN or inf returned),
        ``"exception"`` (the candidate raised anything, ``SystemExit``,
        ``KeyboardInterrupt`` and pytest's skip included, even while its return value
        was read), ``"mutation"`` (it wrote into an input), ``"return"`` (a wrong type or
        shape returned) or ``"incomplete"`` (an input it was called on went unjudged).
    quantity : str or None
        The quantity at fault: ``"loss"``, ``"dscores"``, ``"dW"``, ``"grads['W1']"``, or,
        for a mutation, the input written into; None for an exception.
    inputs : dict
        The smallest failing input found, by argument name (unmodified copies).
    diagnosis : str or None
        The id of the known mistake that reproduces the candidate's outputs on every
        input tried (see :mod:`flatprop.testing.mistakes`), or None.
    stage : str or None
        For the staged checkers, the first wrong stage (``"data_loss"``); None for the
        others, and when no stage is at fault (an exception).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        quantity: str | None,
        inputs: dict[str, Any],
        diagnosis: str | None = None,
        stage: str | None = None,
    ):
        super().__init__(message)
        self.kind = kind
        self.quantity = quantity
        self.inputs = inputs
        self.diagnosis = diagnosis
        self.stage = stage

    def __reduce__(self) -> tuple[Any, ...]:
        # BaseException pickles its args alone; the attributes are keyword-only here.
        state = (str(self), self.kind, self.quantity, self.inputs, self.diagnosis, self.stage)
        return (_check_failed_error, state)


def _check_failed_error(
    message: str,
    kind: str,
    quantity: str | None,
    inputs: dict[str, Any],
    diagnosis: str | None = None,
    stage: str | None = None,
) -> CheckFailedError:
    """Rebuild a :class:`CheckFailedError` from what it pickled."""
    return CheckFailedError(
        message, kind=kind, quantity=quantity, inputs=inputs, diagnosis=diagnosis, stage=stage
    )


@dataclass(frozen=True)
class Opaque:
    """A value that is not plain data, kept only as a description: its type and a repr.

    The checks never keep an object made by the candidate's code after its call (its
    methods would run the candidate's code again); such an object, or what a worker
    process reports of one, is shown in a message by this description.
    """

    type_name: str
    text: str

    @classmethod
    def of(cls, value: Any, limit: int = 200) -> Opaque:
        """The description of ``value``: this runs its ``__repr__``."""
        try:
            text = repr(value)
        except Exception:
            text = "(its repr failed)"
        return cls(type(value).__name__, shortened(text, limit))

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Difference:
    """How far apart two arrays (or scalars) are, at their worst entry."""

    index: tuple[int, ...]  # of the largest absolute difference; () for a scalar
    absolute: float
    scale: float  # the largest |entry| of the reference
    candidate: Any
    reference: Any

    @classmethod
    def between(cls, candidate: np.ndarray, reference: np.ndarray) -> Difference:
        gaps = np.abs(candidate.astype(np.float64) - reference.astype(np.float64))
        worst = np.unravel_index(int(np.argmax(gaps)), gaps.shape) if gaps.ndim else ()
        index = tuple(int(i) for i in worst)
        return cls(
            index=index,
            absolute=float(gaps[index]),
            scale=float(np.max(np.abs(reference))),
            candidate=candidate[index],
            reference=reference[index],
        )

    def exceeds(self, rtol: float, atol: float) -> bool:
        return self.absolute > atol + rtol * self.scale

    def describe(self, quantity: str, rtol: float, atol: float) -> list[str]:
        """Three lines: the difference and where, the relative error, the tolerance."""
        values = f"(candidate {_number(self.candidate)}, reference {_number(self.reference)})"
        if self.index:
            where = f"{quantity}[{', '.join(map(str, self.index))}]"
            difference = f"largest difference: {self.absolute:.6g}, at {where} {values}"
            over = f" (over the largest |entry| of the reference, {_number(self.scale)})"
        else:
            difference = f"difference: {self.absolute:.6g} {values}"
            over = ""
        relative = (
            f"relative error: {self.absolute / self.scale:.3g}{over}"
            if self.scale > 0
            else "relative error: infinite (the reference is 0)"
        )
        tolerance = (
            f"tolerance: {atol + rtol * self.scale:.3g} "
            f"(atol {atol:g} + rtol {rtol:g} * {_number(self.scale)})"
        )
        return [difference, relative, tolerance]


def _number(value: Any) -> str:
    """The shortest literal of a scalar that reads back to it (in its own dtype)."""
    if isinstance(value, bool | np.bool_):
        return repr(bool(value))
    if isinstance(value, int | np.integer):
        return repr(int(value))
    if isinstance(value, np.floating) and value.dtype != np.float64:
        text = str(value)  # NumPy's shortest repr for float32 and float16
    else:
        text = repr(float(value))
    return {"inf": "np.inf", "-inf": "-np.inf", "nan": "np.nan"}.get(text, text)


def _key(key: Any) -> str:
    return f'"{key}"' if isinstance(key, str) and '"' not in key else repr(key)


def _nested(array: np.ndarray, depth: int) -> str:
    """The nested-list body of an array literal; rows of a matrix one per line."""
    if array.ndim == 1:
        return "[" + ", ".join(_number(value) for value in array) + "]"
    rows = [_nested(row, depth + 1) for row in array]
    if array.ndim == 2 and len(rows) > 1:
        inner = _INDENT * (depth + 1)
        return "[\n" + "".join(f"{inner}{row},\n" for row in rows) + _INDENT * depth + "]"
    return "[" + ", ".join(rows) + "]"


def literal(value: Any, depth: int = 0) -> str:
    """Python source that rebuilds ``value``: an array, a dict of arrays, a scalar, None.

    ``depth`` is the indentation level of the line the literal starts on (its own
    lines are indented one level deeper).

    Examples
    --------
    >>> import numpy as np
    >>> print(literal(np.array([[0.1, -2.0], [1e300, 0.5]])))
    np.array([
        [0.1, -2.0],
        [1e+300, 0.5],
    ])
    >>> print(literal(np.array([0.1, 3.0], dtype=np.float32)))
    np.array([0.1, 3.0], dtype=np.float32)
    >>> print(literal({"W": np.zeros((1, 2)), "b": np.array([np.nan, 1.0])}))
    {
        "W": np.array([[0.0, 0.0]]),
        "b": np.array([np.nan, 1.0]),
    }
    """
    if isinstance(value, Mapping):
        inner = _INDENT * (depth + 1)
        entries = "".join(
            f"{inner}{_key(key)}: {literal(item, depth + 1)},\n" for key, item in value.items()
        )
        return "{\n" + entries + _INDENT * depth + "}"
    if isinstance(value, np.ndarray):
        dtype = "" if value.dtype in _DEFAULT_DTYPES else f", dtype=np.{value.dtype.name}"
        if value.ndim == 0:
            return f"np.array({_number(value[()])}{dtype})"
        if value.size == 0:
            return f"np.zeros({value.shape}{dtype})"
        return f"np.array({_nested(value, depth)}{dtype})"
    if isinstance(value, bool | int | float | np.number):
        return _number(value)
    return repr(value)


def listing(items: tuple[str, ...] | list[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def value_summary(value: Any, limit: int = 200) -> str:
    """A short description of an unexpected return value: its type and a repr."""
    if isinstance(value, Opaque):
        return f"a {value.type_name}: {value.text}"
    text = shortened(repr(value), limit)
    kind = type(value).__name__
    if isinstance(value, np.ndarray):
        kind = f"array of shape {value.shape} and dtype {value.dtype}"
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    return f"{article} {kind}: {text}"


def assignment_block(names_and_values: Mapping[str, Any], depth: int = 1) -> list[str]:
    """Lines ``name = literal`` at indentation ``depth``."""
    indent = _INDENT * depth
    return [f"{indent}{name} = {literal(value, depth)}" for name, value in names_and_values.items()]
