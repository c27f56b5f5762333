"""How flatprop's records print: a short text repr, and an HTML table for notebooks.

A record of named stages (a loss's cache, a layer's cache) prints one line per stage
with its shape, dtype and a few values, never a wall of numbers: NumPy's own
summarization (``threshold``, ``edgeitems``) keeps every preview short, whatever the
size of the array. Jupyter shows :meth:`StagesDisplay._repr_html_` as a table.

NumPy only, so that the core can use it.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["StagesDisplay", "html_table", "preview", "shape_text", "shortened", "text_table"]

PREVIEW_ITEMS = 9
"""An array of more entries than this is summarized (NumPy's ``threshold``): a 3 x 3
array prints whole, a larger one by its corners."""
PREVIEW_WIDTH = 72
"""A preview longer than this many characters is cut, with ``...``."""


def preview(
    value: Any, *, items: int = PREVIEW_ITEMS, precision: int = 4, width: int = PREVIEW_WIDTH
) -> str:
    """A few values of ``value`` on one line: an array summarized, a number, or its repr.

    A number shows ``precision`` significant digits, an array's entries one fewer.
    Arrays of more than ``items`` entries show their first and last entries along each
    axis (NumPy's ``...``); rows are separated by spaces instead of newlines. A preview
    longer than ``width`` characters is cut, ending in ``...``.

    Examples
    --------
    >>> import numpy as np
    >>> preview(np.arange(100.0).reshape(10, 10))
    '[[0 ... 9] ... [90 ... 99]]'
    >>> preview(np.array([1 / 3, -2.0, 1e-5])), preview(np.arange(20))
    ('[0.333 -2 1e-05]', '[0 1 2 ... 17 18 19]')
    >>> preview(np.float64(2.0) / 3), preview(None), preview("mean")
    ('0.6667', 'None', "'mean'")
    """
    if value is None or isinstance(value, str | bool | np.bool_):
        return repr(value)
    if isinstance(value, int | float | np.number) or (
        isinstance(value, np.ndarray) and value.ndim == 0
    ):
        array = np.asarray(value)
        if array.dtype.kind == "f":
            return f"{float(array):.{precision}g}"
        return str(array)
    if not isinstance(value, np.ndarray):
        return shortened(repr(value), width)
    if value.size == 0:
        return f"[] (empty, shape {value.shape})"
    edge = max(1, items // 3) if value.ndim == 1 else 1
    text = np.array2string(
        value,
        threshold=items,
        edgeitems=edge,
        formatter={"float_kind": lambda x: f"{x:.{precision - 1}g}"},
        max_line_width=10**6,
        separator=" ",
    )
    return shortened(re.sub(r" +\]", "]", re.sub(r"\[ +", "[", " ".join(text.split()))), width)


def shortened(text: str, width: int) -> str:
    """``text``, cut to ``width`` characters ending in ``...`` if it is longer."""
    return text if len(text) <= width else text[: width - 3] + "..."


def shape_text(value: Any) -> str:
    """``(3, 3) float64`` for an array, ``float64`` for a NumPy scalar or 0-d array, else ``''``."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"{value.shape} {value.dtype}"
    if isinstance(value, np.ndarray):
        return str(value.dtype)
    if isinstance(value, np.generic):
        return str(value.dtype)
    return ""


def text_table(
    rows: Sequence[Sequence[object]], *, indent: str = "  ", align: str = "", gap: int = 2
) -> str:
    """Rows of cells as aligned columns, each line indented, trailing spaces removed.

    ``align[k]`` is "l" or "r" for column k (all left by default); ``gap`` spaces part
    the columns.
    """
    if not rows:
        return ""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(map(len, column)) for column in zip(*cells, strict=True)]
    sides = align or "l" * len(widths)
    lines = []
    for row in cells:
        parts = [
            cell.ljust(width) if side == "l" else cell.rjust(width)
            for cell, width, side in zip(row, widths, sides, strict=True)
        ]
        lines.append((indent + (" " * gap).join(parts)).rstrip())
    return "\n".join(lines)


_CELL_STYLE = "style='text-align: left; padding: 0.1em 1.2em 0.1em 0'"


def html_table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A small HTML table (every cell escaped; the values in ``<code>``)."""
    head = "".join(f"<th {_CELL_STYLE}>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = [f"<td {_CELL_STYLE}>{html.escape(row[0])}</td>"]
        cells += [f"<td {_CELL_STYLE}><code>{html.escape(c)}</code></td>" for c in row[1:]]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f"<table><caption style='text-align:left'>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


class StagesDisplay:
    """Prints a record of named stages (a dataclass) as one short line per stage.

    A field holding an array (``ndim >= 1``) or None is a stage: a line with its name,
    shape, dtype and a few values. Any other field (the loss, the reduction, an option)
    goes in the title line, ``Name(loss=5.267, reduction='mean')``. In a notebook,
    :meth:`_repr_html_` shows the same as a table.

    A dataclass that inherits it keeps this ``__repr__``: ``@dataclass`` writes its own
    only when the class does not define one, and :meth:`__init_subclass__` defines it
    on each subclass before the decorator runs.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> import numpy as np
    >>> @dataclass(frozen=True)
    ... class Cache(StagesDisplay):
    ...     scores: np.ndarray
    ...     weight: np.ndarray | None
    ...     loss: float
    >>> Cache(np.zeros((200, 10)), None, 2.0)
    Cache(loss=2)
      scores  (200, 10) float64  [[0 ... 0] ... [0 ... 0]]
      (None: weight)
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = StagesDisplay.__repr__  # type: ignore[method-assign]

    def _display_fields(self) -> list[tuple[str, Any]]:
        """The record's (name, value) pairs, in order: its dataclass fields.

        A field declared ``field(repr=False)`` (bookkeeping, not a stage) is left out.
        """
        fields = dataclasses.fields(self)  # type: ignore[arg-type]  # a mixin of dataclasses
        return [(field.name, getattr(self, field.name)) for field in fields if field.repr]

    def _display_parts(self) -> tuple[str, list[tuple[str, str, str]], str]:
        """The title line, a row (name, shape, values) per stage, the stages that are None."""
        facts, rows, absent = [], [], []
        for name, value in self._display_fields():
            if value is None:
                absent.append(name)
            elif isinstance(value, np.ndarray) and value.ndim >= 1:
                rows.append((name, shape_text(value), preview(value)))
            else:
                facts.append(f"{name}={preview(value)}")
        title = f"{type(self).__name__}({', '.join(facts)})"
        return title, rows, f"None: {', '.join(absent)}" if absent else ""

    def __repr__(self) -> str:
        title, rows, absent = self._display_parts()
        lines = [title, text_table(rows), f"  ({absent})" if absent else ""]
        return "\n".join(line for line in lines if line)

    def _repr_html_(self) -> str:
        title, rows, absent = self._display_parts()
        table = html_table(title, ("stage", "shape, dtype", "values"), rows)
        return table + (f"<p>{html.escape(absent)}</p>" if absent else "")
