"""Plain-text layout for the demo and the examples: headings, tables, arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from flatprop._display import text_table

INDENT = "  "


def heading(title: str, *, underline: str = "=") -> str:
    """``title`` underlined, with a blank line before it."""
    return f"\n{title}\n{underline * len(title)}"


def format_array(value: npt.ArrayLike, *, precision: int = 4) -> str:
    """An array as NumPy prints it, with at most ``precision`` decimals and no ``-0.``.

    Entries smaller than half the last printed digit print as 0, so that a numerical
    gradient of ``-3e-12`` reads like the exact 0 it stands for; an array whose entries
    are all that small (but not all 0) prints in scientific notation instead.
    """
    array = np.asarray(value, dtype=np.float64)
    smallest_shown = 0.5 * 10.0**-precision
    largest = float(np.max(np.abs(array))) if array.size else 0.0
    if 0 < largest < smallest_shown:
        return np.array2string(
            array, separator=" ", formatter={"float_kind": lambda x: f"{x: .{precision - 1}e}"}
        )
    array = np.where(np.abs(array) < smallest_shown, 0.0, array)
    return np.array2string(
        array, precision=precision, suppress_small=True, floatmode="maxprec_equal", separator=" "
    )


def format_number(value: float, *, digits: int = 6) -> str:
    """A number to ``digits`` significant digits, without trailing zeros (``2.9``, ``0``)."""
    text = f"{float(value):.{digits}g}"
    return "0" if text == "-0" else text


def indent(text: str, *, levels: int = 1) -> str:
    """Every line of ``text`` moved right by ``levels`` indents."""
    prefix = INDENT * levels
    return "\n".join(prefix + line if line else line for line in text.split("\n"))


def side_by_side(blocks: Sequence[str], *, gap: int = 4) -> str:
    """Multi-line text blocks printed next to each other, top-aligned."""
    columns = [block.split("\n") for block in blocks]
    widths = [max(len(line) for line in lines) for lines in columns]
    height = max(len(lines) for lines in columns)
    rows = []
    for row in range(height):
        cells = [
            (lines[row] if row < len(lines) else "").ljust(width)
            for lines, width in zip(columns, widths, strict=True)
        ]
        rows.append((" " * gap).join(cells).rstrip())
    return "\n".join(rows)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, align: str = "") -> str:
    """Columns aligned under their headers: ``align[k]`` is "l" or "r" for column k.

    By default the first column is left-aligned and the others right-aligned.
    """
    align = align or "l" + "r" * (len(headers) - 1)
    return text_table([headers, *rows], indent="", align=align, gap=3)
