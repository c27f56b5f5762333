r"""A staged pass drawn as a computational graph, the way the CS231n lectures draw backprop.

A staged ("flat") pass names every intermediate value: ``scores``, ``margins``,
``data_loss``, ``loss``, and on the way back ``dscores``, ``dW``. :class:`StageGraph`
holds those values and which stage is computed from which, and draws them:

- one node per named stage, with its formula, shape, dtype and a few values;
- one edge from each input of an operation to its result, with, as on the lecture
  slides, the forward value above (green) and the gradient of the loss below (red);
- the gradient of a stage ``x`` is the value named ``dx`` (CS231n's names): ``dscores``
  belongs to ``scores``, ``dW`` to ``W``;
- a stage that feeds no other (the loss) gets an outgoing wire of its own, with the
  gradient 1 of d loss / d loss when the loss is a scalar;
- a stage written as the plain sum of its operands (``loss = data_loss + reg_loss``)
  is an add gate: it passes its gradient on to each operand of its shape unchanged, so
  ``data_loss`` and ``reg_loss`` show the gradient 1 (as on the lecture slides) without
  a value ``ddata_loss`` of their own;
- a wire shows a number, an array of at most three entries whole, or a larger array's
  shape with its smallest and largest entries (never a few entries that could all be
  0 while others are not).

:meth:`StageGraph.to_dot` writes Graphviz's DOT language and needs nothing. Drawing it
(:meth:`~StageGraph.to_svg`, :meth:`~StageGraph.render`) needs the ``graphviz`` Python
package and Graphviz's ``dot`` program (``pip install "flatprop[graph]"``, and
``apt-get install graphviz``, ``brew install graphviz`` or ``conda install graphviz``).
In Jupyter a graph shows as the picture, or as a table of its stages when Graphviz is
missing.

Every staged pass of flatprop is one: :meth:`flatprop.nets.TwoLayerNet.stages` and
:meth:`flatprop.nets.LinearClassifier.stages` (the nets' ``loss``, stage by stage), and
:meth:`flatprop.demo.staged.StagedPass.graph` (the problem set's three models). A
learner's own dict of stages is drawn by ``StageGraph(stages, inputs={...})``.

Examples
--------
The slide's first image (cat) as a tiny staged SVM, written by hand:

>>> import numpy as np
>>> scores = np.array([3.2, 5.1, -1.7])
>>> margins = np.maximum(0, scores - scores[0] + 1) * (np.arange(3) != 0)
>>> loss = margins.sum()
>>> dmargins = (margins > 0) * 1.0
>>> dscores = dmargins - np.eye(3)[0] * dmargins.sum()
>>> graph = StageGraph(
...     {"scores": scores, "margins": margins, "loss": loss,
...      "dmargins": dmargins, "dscores": dscores},
...     inputs={"margins": ["scores"], "loss": ["margins"]},
...     formulas={"margins": "max(0, scores - scores[y] + 1)", "loss": "sum(margins)"},
... )
>>> graph
StageGraph(1 input, 2 stages, 2 gradients)
  scores    input                             (3,) float64  [3.2 5.1 -1.7]
  margins   max(0, scores - scores[y] + 1)    (3,) float64  [0 2.9 0]
  loss      sum(margins)                      float64       2.9
  dmargins  gradient of the loss for margins  (3,) float64  [0 1 0]
  dscores   gradient of the loss for scores   (3,) float64  [-1 1 0]
>>> print(graph.to_dot().splitlines()[0])
digraph "staged pass" {
"""

from __future__ import annotations

import html
import itertools
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from flatprop._display import html_table, preview, shape_text, text_table

__all__ = ["GRAPHVIZ_HINT", "StageGraph", "graphviz_available"]

GRAPHVIZ_HINT = (
    'pip install "flatprop[graph]" (the graphviz package; from a clone of the repository: '
    'pip install ".[graph]") and Graphviz\'s dot program (apt-get install graphviz, brew '
    "install graphviz or conda install graphviz)"
)

FORWARD_COLOR = "#1b7a2f"  # green, as on the lecture slides
GRADIENT_COLOR = "#c0392b"  # red
INPUT_FILL = "#e8f0fb"
STAGE_FILL = "#f4f4f4"
OUTPUT_FILL = "#fff4d6"
FORMULA_WIDTH = 40  # characters per line of a formula in a node
EDGE_ITEMS = 3  # an edge shows at most this many entries; a larger array, its range
NODE_WIDTH = 400  # characters of a node's preview: at most 9 entries or an array's corners


class StageGraph(Mapping[str, np.ndarray]):
    """The named stages of a forward and backward pass, and the graph that links them.

    A mapping from each name to its value (``graph["dW"]``), that draws itself.

    Parameters
    ----------
    values : mapping of str to array_like
        Every named value: the inputs (``X``, ``W``, ``y``), the forward stages and
        the gradients, a gradient named ``d`` + the name of what it is the gradient
        of (``dscores`` for ``scores``). Kept as arrays, in this order.
    inputs : mapping of str to sequence of str, optional
        For each stage computed by an operation, the names of its operands, e.g.
        ``{"scores": ["X", "W"], "margins": ["scores", "y"]}``: one edge from each.
        An operand that is not in ``values`` is drawn without values. By default the
        values (gradients aside) form a chain, each computed from the one before.
    formulas : mapping of str to str, optional
        A formula for any stage, shown in its node, e.g. ``{"scores": "X W"}``.
    title : str, optional
        Shown above the graph.

    Raises
    ------
    TypeError
        If a name is not a string or ``inputs`` does not map names to names.
    ValueError
        If ``inputs`` or ``formulas`` names a stage that has no value, or a stage is
        one of its own operands.

    See Also
    --------
    flatprop.nets.TwoLayerNet.stages, flatprop.demo.staged.StagedPass.graph

    Examples
    --------
    >>> import numpy as np
    >>> X, W = np.eye(2), np.array([[1.0, -1.0], [0.5, 2.0]])
    >>> graph = StageGraph({"X": X, "W": W, "scores": X @ W}, {"scores": ["X", "W"]})
    >>> graph.stages, graph.sources, sorted(graph)
    (('scores',), ('X', 'W'), ['W', 'X', 'scores'])
    >>> '"X" -> "scores"' in graph.to_dot()
    True
    """

    def __init__(
        self,
        values: Mapping[str, npt.ArrayLike],
        inputs: Mapping[str, Sequence[str]] | None = None,
        *,
        formulas: Mapping[str, str] | None = None,
        title: str = "",
    ) -> None:
        if not isinstance(values, Mapping):
            raise TypeError(f"values must be a mapping of names to arrays, got {type(values)}")
        self._values: dict[str, np.ndarray] = {}
        for name, value in values.items():
            _require_name(name, "values")
            self._values[name] = np.array(value)  # a copy: the graph is a snapshot
        self._gradients = {
            name: name[1:]
            for name in self._values
            if name.startswith("d") and name[1:] and _is_referenced(name[1:], self._values, inputs)
        }
        self._inputs = self._checked_inputs(inputs)
        self._formulas = self._checked_formulas(formulas)
        if not isinstance(title, str):
            raise TypeError(f"title must be a string, got {type(title).__name__}")
        self.title = title

    def _checked_inputs(
        self, inputs: Mapping[str, Sequence[str]] | None
    ) -> dict[str, tuple[str, ...]]:
        if inputs is None:
            chain = [name for name in self._values if name not in self._gradients]
            return {after: (before,) for before, after in itertools.pairwise(chain)}
        if not isinstance(inputs, Mapping):
            raise TypeError(
                f"inputs must map each stage to the names of its operands, got {type(inputs)}"
            )
        checked: dict[str, tuple[str, ...]] = {}
        for stage, operands in inputs.items():
            _require_name(stage, "inputs")
            if stage not in self._values:
                raise ValueError(
                    f"inputs names the stage {stage!r}, which has no value; the values are "
                    f"{', '.join(self._values)}"
                )
            if isinstance(operands, str) or not isinstance(operands, Sequence):
                raise TypeError(
                    f"inputs[{stage!r}] must be a sequence of names (a list or tuple), "
                    f"got {operands!r}"
                )
            for operand in operands:
                _require_name(operand, f"inputs[{stage!r}]")
            if stage in operands:
                raise ValueError(f"inputs[{stage!r}] names the stage itself: {list(operands)}")
            checked[stage] = tuple(operands)
        return checked

    def _checked_formulas(self, formulas: Mapping[str, str] | None) -> dict[str, str]:
        if formulas is None:
            return {}
        for name, formula in formulas.items():
            if name not in self._values:
                raise ValueError(f"formulas names {name!r}, which has no value")
            if not isinstance(formula, str):
                raise TypeError(f"formulas[{name!r}] must be a string, got {formula!r}")
        return dict(formulas)

    # The mapping: every value by its name.

    def __getitem__(self, name: str) -> np.ndarray:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    # The graph.

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages computed by an operation, in the order of ``values``."""
        return tuple(name for name in self._values if name in self._inputs)

    @property
    def sources(self) -> tuple[str, ...]:
        """The nodes computed by no operation here: the inputs (with a value or not)."""
        names = [name for name in self._values if name not in self._gradients]
        names += [name for operands in self._inputs.values() for name in operands]
        return tuple(dict.fromkeys(name for name in names if name not in self._inputs))

    @property
    def gradients(self) -> dict[str, str]:
        """Each gradient's name and the name of the node it is the gradient of."""
        return dict(self._gradients)

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """``(operand, stage)`` pairs: one per operand of each operation."""
        return tuple((operand, stage) for stage, ops in self._inputs.items() for operand in ops)

    @property
    def outputs(self) -> tuple[str, ...]:
        """The stages that feed no other stage (the loss)."""
        used = {operand for operand, _ in self.edges}
        return tuple(name for name in self.stages if name not in used)

    def gradient_of(self, name: str) -> np.ndarray | None:
        """The value of ``d`` + ``name``, or None when there is none."""
        gradient = "d" + name
        return self._values[gradient] if gradient in self._gradients else None

    def _drawn_gradient(self, name: str, seen: frozenset[str] = frozenset()) -> np.ndarray | None:
        """The gradient of the loss for ``name`` as drawn; None if unknown.

        Its value ``dname`` if there is one; else 1 for a scalar output (d loss / d loss);
        else, for the operand of one add gate (a stage whose formula is the sum of its
        operands) of its shape, the gate's own gradient, which an add gate passes on
        unchanged.
        """
        known = self.gradient_of(name)
        if known is not None or name in seen:
            return known
        value = self._values.get(name)
        if value is None:
            return None
        if name in self.outputs:
            return np.ones((), value.dtype) if value.ndim == 0 else None
        users = [stage for operand, stage in self.edges if operand == name]
        if len(users) != 1 or not self._is_add_gate(users[0]):
            return None
        (gate,) = users
        if self._values[gate].shape != value.shape:
            return None
        return self._drawn_gradient(gate, seen | {name})

    def _is_add_gate(self, stage: str) -> bool:
        """Whether ``stage``'s formula is the sum of its operands (``a + b``), in order."""
        formula = " ".join(self._formulas.get(stage, "").split())
        return len(self._inputs[stage]) > 1 and formula == " + ".join(self._inputs[stage])

    # Text and tables.

    def rows(self) -> list[tuple[str, str, str, str]]:
        """The graph as a table: (name, formula, shape and dtype, a few values) per node.

        The sources first, then the stages, then the gradients, each in the order of
        ``values``.
        """
        rows = []
        for name in self.sources + self.stages:
            value = self._values.get(name)
            if name in self._inputs:
                what = self._formulas.get(name) or "from " + ", ".join(self._inputs[name])
            else:
                what = self._formulas.get(name, "input")
            values = "(no value)" if value is None else preview(value)
            rows.append((name, what, shape_text(value), values))
        for gradient, of in self._gradients.items():
            value = self._values[gradient]
            what = self._formulas.get(gradient, f"gradient of the loss for {of}")
            rows.append((gradient, what, shape_text(value), preview(value)))
        return rows

    def _summary(self) -> str:
        counts = [
            _count(len(self.sources), "input"),
            _count(len(self.stages), "stage"),
            _count(len(self._gradients), "gradient"),
        ]
        title = f"{self.title!r}: " if self.title else ""
        return f"{type(self).__name__}({title}{', '.join(counts)})"

    def __repr__(self) -> str:
        return f"{self._summary()}\n{text_table(self.rows())}"

    def table_html(self) -> str:
        """The stages as an HTML table: name, formula, shape and dtype, a few values."""
        return html_table(
            self._summary(), ("name", "formula", "shape, dtype", "values"), self.rows()
        )

    # DOT.

    def to_dot(self) -> str:
        """The graph in Graphviz's DOT language (plain text; needs nothing installed).

        Returns
        -------
        str
            A ``digraph``: a node per input and stage (an HTML-like label with the name,
            the formula, the shape and dtype, a few values and the gradient's), an edge
            per operand (the value it carries above, its gradient below), and an
            outgoing wire for each output. Render it with ``dot -Tsvg``, or
            :meth:`to_svg`.

        Examples
        --------
        >>> import numpy as np
        >>> graph = StageGraph({"a": np.ones(2), "b": 2.0}, formulas={"b": "sum(a)"})
        >>> graph.edges, graph.outputs
        ((('a', 'b'),), ('b',))
        >>> dot = graph.to_dot()
        >>> dot.startswith('digraph "staged pass" {'), '"a" -> "b"' in dot
        (True, True)
        """
        lines = [
            f"digraph {_quote(self.title or 'staged pass')} {{",
            '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, labelloc=t, '
            f"nodesep=0.3, ranksep=0.5, label={_legend(self.title)}];",
            '  node [shape=plain, fontname="Helvetica", fontsize=10];',
            '  edge [fontname="Helvetica", fontsize=9, color="#666666", arrowsize=0.7];',
        ]
        for name in self.sources + self.stages:
            lines.append(f"  {_quote(name)} [label={self._node_label(name)}];")
        for operand, stage in self.edges:
            label = self._wire_label(self._values.get(operand), self._drawn_gradient(operand))
            lines.append(f"  {_quote(operand)} -> {_quote(stage)} [label={label}];")
        taken = set(self._values) | set(self.sources)
        for output in self.outputs:
            value = self._values[output]
            end = output + ":output"
            while end in taken:
                end += "_"
            lines.append(f'  {_quote(end)} [shape=point, width=0.04, label=""];')
            label = self._wire_label(value, self._drawn_gradient(output))
            lines.append(f"  {_quote(output)} -> {_quote(end)} [label={label}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _node_label(self, name: str) -> str:
        value = self._values.get(name)
        is_source = name not in self._inputs
        fill = INPUT_FILL if is_source else OUTPUT_FILL if name in self.outputs else STAGE_FILL
        cells = [f"<TD><B>{_escape(name)}</B></TD>"]
        formula = self._formulas.get(name)
        if formula:
            wrapped = textwrap.wrap(formula, FORMULA_WIDTH) or [formula]
            cells.append(f"<TD>{'<BR/>'.join(f'<I>{_escape(line)}</I>' for line in wrapped)}</TD>")
        if value is not None:
            shape = _escape(shape_text(value))
            cells.append(f'<TD><FONT POINT-SIZE="8" COLOR="#555555">{shape}</FONT></TD>')
            cells.append(_value_cell(preview(value, width=NODE_WIDTH), FORWARD_COLOR))
            gradient = self._drawn_gradient(name)
            if gradient is not None:
                text = preview(gradient, width=NODE_WIDTH)
                cells.append(_value_cell(text, GRADIENT_COLOR, f"d{name} ="))
        rows = "".join(f"<TR>{cell}</TR>" for cell in cells)
        return (
            f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" '
            f'STYLE="ROUNDED" BGCOLOR="{fill}" COLOR="#888888">{rows}</TABLE>>'
        )

    @staticmethod
    def _wire_label(value: np.ndarray | None, gradient: np.ndarray | None) -> str:
        parts = [
            f'<FONT COLOR="{color}">{_escape(_wire_preview(array))}</FONT>'
            for array, color in ((value, FORWARD_COLOR), (gradient, GRADIENT_COLOR))
            if array is not None
        ]
        return f"<{'<BR/>'.join(parts)}>" if parts else '""'

    # Pictures.

    def to_svg(self) -> str:
        """The graph drawn by Graphviz, as SVG text.

        Raises
        ------
        ModuleNotFoundError
            Without the ``graphviz`` Python package.
        RuntimeError
            Without Graphviz's ``dot`` program, or if it fails.
        """
        return _run_dot(self.to_dot(), "svg").decode("utf-8")

    def render(self, path: str | Path) -> Path:
        """Draw the graph with Graphviz into ``path``, in the format its suffix names.

        Parameters
        ----------
        path : str or Path
            Ending in ``.svg``, ``.png`` or ``.pdf`` (or ``.dot``, which needs nothing).

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        ValueError
            For another suffix.
        ModuleNotFoundError, RuntimeError
            As :meth:`to_svg`, for a picture.
        """
        target = Path(path)
        fmt = target.suffix.lower().lstrip(".")
        if fmt not in ("svg", "png", "pdf", "dot"):
            raise ValueError(f"path must end in .svg, .png, .pdf or .dot, got {str(path)!r}")
        data = self.to_dot().encode("utf-8") if fmt == "dot" else _run_dot(self.to_dot(), fmt)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def _repr_html_(self) -> str:
        """Jupyter's view: the picture when Graphviz is there, else the table of stages."""
        try:
            svg = self.to_svg()
        except (ImportError, RuntimeError, OSError):
            note = (
                "<p><small>Install Graphviz to see this as a graph: "
                f"{_escape(GRAPHVIZ_HINT)}.</small></p>"
            )
            return self.table_html() + note
        svg = svg[svg.find("<svg") :]  # without the XML prolog: inline in HTML
        # At its own size, in a box that scrolls sideways when it is wider than the page:
        # shrunk to the width of a column of text, a graph's labels cannot be read.
        svg = svg.replace("<svg ", '<svg style="max-width: none; height: auto" ', 1)
        return f'<div class="flatprop-graph" style="overflow-x: auto; max-width: 100%">{svg}</div>'


def graphviz_available() -> bool:
    """Whether the ``graphviz`` package and the ``dot`` program can draw (tries it).

    Examples
    --------
    >>> graphviz_available() in (True, False)  # True with pip's graphviz and the dot program
    True
    """
    try:
        _run_dot("digraph { a }", "svg")
    except (ImportError, RuntimeError, OSError):
        return False
    return True


def _run_dot(dot: str, fmt: str) -> bytes:
    try:
        import graphviz
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            f"drawing a graph needs the graphviz package, which is not installed: {GRAPHVIZ_HINT}"
        ) from error
    try:
        data: bytes = graphviz.Source(dot).pipe(format=fmt)
    except graphviz.ExecutableNotFound as error:
        raise RuntimeError(
            f"drawing a graph needs Graphviz's dot program, which was not found: {GRAPHVIZ_HINT}"
        ) from error
    except graphviz.CalledProcessError as error:
        raise RuntimeError(f"Graphviz's dot failed: {error.stderr!r}") from error
    return data


def _require_name(name: Any, where: str) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"every name in {where} must be a non-empty string, got {name!r}")


def _is_referenced(
    name: str, values: Mapping[str, Any], inputs: Mapping[str, Sequence[str]] | None
) -> bool:
    """Whether ``name`` is a node: a value, or an operand of some stage."""
    if name in values:
        return True
    if inputs is None or not isinstance(inputs, Mapping):
        return False
    return any(not isinstance(operands, str) and name in operands for operands in inputs.values())


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _quote(text: str) -> str:
    """A DOT ID in double quotes: backslashes and quotes escaped, no raw newlines."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _escape(text: str) -> str:
    """Text for an HTML-like label: ``& < > "`` as entities, ``]`` kept."""
    return html.escape(text, quote=True)


def _wire_preview(value: np.ndarray) -> str:
    """What a wire shows: a number, a short array whole, or a larger array's shape and range.

    An array of at most ``EDGE_ITEMS`` entries shows them all; a larger one its shape,
    smallest and largest entries, ``(3, 3) from 0 to 0.333`` (a few of its entries could
    all be 0 while others are not).

    Examples
    --------
    >>> import numpy as np
    >>> _wire_preview(np.float64(1.0)), _wire_preview(np.array([0.0, 2.0]))
    ('1', '[0 2]')
    >>> _wire_preview(np.array([[0, 0, 0], [0, 0, 1 / 3], [0, 0, 0]]))
    '(3, 3) from 0 to 0.333'
    >>> _wire_preview(np.zeros((2, 2)))
    '(2, 2) all 0'
    """
    if value.ndim == 0 or value.size <= EDGE_ITEMS:
        return preview(value if value.ndim == 0 else value.ravel(), items=EDGE_ITEMS)
    low, high = (preview(extreme, precision=3) for extreme in (np.min(value), np.max(value)))
    return f"{value.shape} all {low}" if low == high else f"{value.shape} from {low} to {high}"


def _value_cell(text: str, color: str, heading: str = "") -> str:
    """A table cell with a preview, a matrix one row per line (split at ``] [``)."""
    lines = ([heading] if heading else []) + re.split(r"(?<=\]) (?=\[)", text)
    body = "<BR/>".join(_escape(line) for line in lines)
    return f'<TD ALIGN="LEFT" BALIGN="LEFT"><FONT COLOR="{color}">{body}</FONT></TD>'


def _legend(title: str) -> str:
    lines = [f"<B>{_escape(title)}</B><BR/>"] if title else []
    lines.append(
        f'<FONT POINT-SIZE="9"><FONT COLOR="{FORWARD_COLOR}">green: forward values</FONT>'
        f'   <FONT COLOR="{GRADIENT_COLOR}">red: gradients of the loss</FONT></FONT>'
    )
    return f"<{''.join(lines)}>"
