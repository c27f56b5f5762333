"""Computational graphs of staged passes: valid DOT that names every stage, drawn by dot.

The expected edges are the problem set's math read by hand (scores = X W, margins from
scores and y, ...); the nets' stages are checked against the demo's staged passes,
which compute the same models by other code. DOT is checked twice: by a small parser of
the statements flatprop writes (always), and by Graphviz's own ``dot`` (when installed).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from flatprop.demo.staged import (
    matrix_example_inputs,
    staged_matrix_example,
    staged_svm,
    staged_two_layer_softmax,
    table_svm_inputs,
    two_layer_inputs,
)
from flatprop.graph import StageGraph, graphviz_available
from flatprop.nets import LinearClassifier, TwoLayerNet
from helpers import REORDERED_RTOL, assert_close, hide, run_python

DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="Graphviz's dot program is not installed")

# DOT as flatprop writes it: one statement per line, IDs in double quotes (with \" and
# \\ escaped), labels either "" or HTML-like <...>.
QUOTED_ID = r'"(?:[^"\\]|\\.)*"'
NODE = re.compile(rf"^  ({QUOTED_ID}) \[(.*)\];$")
EDGE = re.compile(rf"^  ({QUOTED_ID}) -> ({QUOTED_ID}) \[(.*)\];$")
HTML_LABEL = re.compile(r"label=<(.*)>$")  # the last attribute, when there is one


def unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def parse_dot(dot: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The node IDs with their attributes and the edges of flatprop's DOT; fails on anything
    else. Every HTML-like label must be well-formed XML."""
    lines = dot.rstrip("\n").split("\n")
    assert re.fullmatch(rf"digraph {QUOTED_ID} \{{", lines[0]), lines[0]
    assert lines[-1] == "}"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for line in lines[1:-1]:
        if line.startswith(("  graph [", "  node [", "  edge [")) and line.endswith("];"):
            attributes = line.split("[", 1)[1][:-2]
        elif match := EDGE.match(line):
            edges.append((unquote(match[1]), unquote(match[2])))
            attributes = match[3]
        elif match := NODE.match(line):
            nodes[unquote(match[1])] = match[2]
            attributes = match[2]
        else:
            raise AssertionError(f"not a statement flatprop writes: {line!r}")
        if label := HTML_LABEL.search(attributes):
            ElementTree.fromstring(f"<label>{label[1]}</label>")  # raises if malformed
    assert all(a in nodes and b in nodes for a, b in edges), "an edge to an undeclared node"
    return nodes, edges


def label_text(attributes: str) -> str:
    """The text of a node's HTML-like label, tags removed and entities decoded."""
    label = HTML_LABEL.search(attributes)
    assert label is not None
    return "".join(ElementTree.fromstring(f"<label>{label[1]}</label>").itertext())


@pytest.fixture(scope="module")
def svm_pass():
    return staged_svm(*table_svm_inputs(), reg=0.1)


def test_the_svm_pass_is_valid_dot_that_names_every_stage(svm_pass) -> None:
    nodes, edges = parse_dot(svm_pass.to_dot())
    forward = [stage.name for stage in svm_pass.forward]
    assert set(forward) | {"X", "W", "y"} <= set(nodes)
    texts = {name: label_text(nodes[name]) for name in [*forward, "X", "W", "y"]}
    # Each backward stage dx is drawn in the node of x, by its name.
    for gradient, of in (("dmargins", "margins"), ("dscores", "scores"), ("dW", "W")):
        assert f"{gradient} =" in texts[of]
    # The operations of the problem set's svm_loss, read off its math.
    assert set(edges) == {
        ("X", "scores"),
        ("W", "scores"),
        ("scores", "margins"),
        ("y", "margins"),
        ("margins", "data_loss"),
        ("W", "reg_loss"),
        ("data_loss", "loss"),
        ("reg_loss", "loss"),
        ("loss", "loss:output"),
    }


def test_each_node_shows_its_formula_shape_and_values(svm_pass) -> None:
    nodes, _ = parse_dot(svm_pass.to_dot())
    margins = label_text(nodes["margins"])
    assert "max(0, scores - scores[y_i] + 1)" in margins
    assert "(3, 3) float64" in margins
    assert "[6.3 6.6 0]" in margins  # the slide's frog row: 2.2 - (-3.1) + 1, 2.5 + 3.1 + 1
    assert "5.267" in label_text(nodes["data_loss"])  # (2.9 + 0 + 12.9) / 3


def test_the_loss_wire_carries_the_loss_above_and_the_gradient_1_below(svm_pass) -> None:
    line = next(line for line in svm_pass.to_dot().splitlines() if '-> "loss:output"' in line)
    # By hand: data_loss = (2.9 + 0 + 12.9) / 3; the table's squares sum to 89.54.
    loss = (2.9 + 0 + 12.9) / 3 + 0.1 * 89.54
    forward, gradient = re.findall(r'<FONT COLOR="[^"]+">([^<]*)</FONT>', line)
    assert float(forward) == pytest.approx(loss, rel=1e-3)  # 4 significant digits shown
    assert gradient == "1"


def wire_labels(dot: str) -> dict[tuple[str, str], list[str]]:
    """Each edge's label lines: the forward value, then the gradient (when there is one)."""
    labels = {}
    for line in dot.splitlines():
        if match := EDGE.match(line):
            texts = re.findall(r'<FONT COLOR="[^"]+">([^<]*)</FONT>', match[3])
            labels[unquote(match[1]), unquote(match[2])] = texts
    return labels


def test_a_wire_shows_an_arrays_range_not_entries_that_could_all_be_0(svm_pass) -> None:
    # The margins -> data_loss wire read "[0 ... 0]" (dmargins' first and last entries)
    # although dmargins = 1[margins > 0] / N has entries 1/3 (by hand: N = 3).
    labels = wire_labels(svm_pass.to_dot())
    assert labels["margins", "data_loss"] == ["(3, 3) from 0 to 6.6", "(3, 3) from 0 to 0.333"]
    # dscores = dmargins less each row's sum at y: -2/3 for the frog's two margins.
    assert labels["scores", "margins"][1] == "(3, 3) from -0.667 to 0.333"
    assert labels["y", "margins"] == ["[0 1 2]"]  # three entries: shown whole


def test_an_add_gate_passes_the_gradient_1_to_data_loss_and_reg_loss(svm_pass) -> None:
    # loss = data_loss + reg_loss: d loss / d data_loss = d loss / d reg_loss = 1 (an add
    # gate distributes its gradient), as the CS231n diagrams show; the wires had none.
    labels = wire_labels(svm_pass.to_dot())
    assert labels["data_loss", "loss"] == ["5.267", "1"]  # (2.9 + 12.9) / 3
    assert labels["reg_loss", "loss"] == ["8.954", "1"]  # 0.1 * 89.54
    nodes, _ = parse_dot(svm_pass.to_dot())
    assert "ddata_loss =1" in label_text(nodes["data_loss"])


def test_only_a_plain_sum_passes_its_gradient_on() -> None:
    a, b = np.float64(2.0), np.float64(3.0)
    for formula, passes in (("a + b", True), ("a * b", False), ("a + 2 b", False)):
        graph = StageGraph(
            {"a": a, "b": b, "loss": a + b}, {"loss": ["a", "b"]}, formulas={"loss": formula}
        )
        labels = wire_labels(graph.to_dot())
        assert (labels["a", "loss"] == ["2", "1"]) == passes, formula
        assert (len(labels["b", "loss"]) == 2) == passes, formula


@needs_dot
@pytest.mark.parametrize(
    "staged",
    [
        lambda: staged_svm(*table_svm_inputs(), reg=0.1),
        lambda: staged_two_layer_softmax(*two_layer_inputs(), reg=0.05),
        lambda: staged_matrix_example(*matrix_example_inputs()),
    ],
    ids=["svm", "two_layer_softmax", "matrix_example"],
)
def test_graphviz_dot_draws_every_staged_pass(staged, tmp_path: Path) -> None:
    source = tmp_path / "pass.dot"
    source.write_text(staged().to_dot(), encoding="utf-8")
    done = subprocess.run(
        [DOT, "-Tsvg", str(source)], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning either
    assert "<svg" in done.stdout


@needs_dot
def test_render_and_to_svg_draw_through_the_graphviz_package(svm_pass, tmp_path: Path) -> None:
    pytest.importorskip("graphviz")
    assert svm_pass.graph().to_svg().lstrip().startswith("<?xml")
    png = svm_pass.graph().render(tmp_path / "svm.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = svm_pass.graph()._repr_html_()
    # At its own size in a box that scrolls sideways: shrunk to the width of a column of
    # the docs (max-width: 100%), the SVM's graph could not be read.
    assert html.startswith('<div class="flatprop-graph" style="overflow-x: auto')
    assert '<svg style="max-width: none' in html
    assert "margins" in html


def test_render_to_dot_needs_nothing_and_other_suffixes_are_refused(svm_pass, tmp_path) -> None:
    written = svm_pass.graph().render(tmp_path / "svm.dot")
    assert written.read_text(encoding="utf-8") == svm_pass.to_dot()
    with pytest.raises(ValueError, match=r"path must end in \.svg, \.png, \.pdf or \.dot"):
        svm_pass.graph().render(tmp_path / "svm.txt")


def test_without_graphviz_a_notebook_gets_a_table_and_to_svg_says_what_to_install() -> None:
    code = (
        f"{hide('graphviz')}\n"
        "from flatprop.demo.staged import staged_svm, table_svm_inputs\n"
        "from flatprop.graph import graphviz_available\n"
        "graph = staged_svm(*table_svm_inputs()).graph()\n"
        "html = graph._repr_html_()\n"
        "assert html.startswith('<table>') and 'dscores' in html, html\n"
        "assert not graphviz_available()\n"
        "try:\n    graph.to_svg()\n"
        "except ModuleNotFoundError as error:\n    print(error)\n"
    )
    done = run_python("-c", code)
    assert done.returncode == 0, done.stderr
    assert 'pip install "flatprop[graph]"' in done.stdout
    assert "apt-get install graphviz" in done.stdout


def test_graphviz_available_agrees_with_the_dot_program() -> None:
    try:
        import graphviz  # noqa: F401
    except ImportError:
        assert not graphviz_available()
    else:
        assert graphviz_available() == (DOT is not None)


# A learner's own dict of stages


def test_a_learners_dict_is_a_chain_by_default_and_gradients_pair_by_name() -> None:
    stages = {"x": np.arange(3.0), "h": np.ones(3), "loss": 3.0, "dh": np.ones(3), "dx": 1.0}
    graph = StageGraph(stages)
    assert graph.edges == (("x", "h"), ("h", "loss"))
    assert graph.gradients == {"dh": "h", "dx": "x"}
    assert graph.sources == ("x",)
    assert graph.outputs == ("loss",)


def test_a_name_starting_with_d_is_a_gradient_only_if_its_stage_exists() -> None:
    graph = StageGraph({"data": np.ones(2), "data_loss": 2.0, "ddata": np.ones(2)})
    assert graph.gradients == {"ddata": "data"}
    assert graph.edges == (("data", "data_loss"),)


def test_the_graph_keeps_a_copy_of_the_values() -> None:
    scores = np.array([1.0, 2.0])
    graph = StageGraph({"scores": scores, "loss": 3.0})
    scores[0] = 100.0
    assert graph["scores"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("inputs", "error", "message"),
    [
        ({"missing": ["a"]}, ValueError, "inputs names the stage 'missing', which has no value"),
        ({"b": "a"}, TypeError, r"inputs\['b'\] must be a sequence of names"),
        ({"b": ["b"]}, ValueError, r"inputs\['b'\] names the stage itself"),
        ({"b": [1]}, TypeError, r"every name in inputs\['b'\] must be a non-empty string"),
        (["b"], TypeError, "inputs must map each stage to the names of its operands"),
    ],
)
def test_bad_inputs_are_named_in_the_error(inputs, error, message) -> None:
    with pytest.raises(error, match=message):
        StageGraph({"a": 1.0, "b": 2.0}, inputs)


def test_bad_values_and_formulas_are_named_in_the_error() -> None:
    with pytest.raises(TypeError, match="values must be a mapping"):
        StageGraph([1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="formulas names 'c', which has no value"):
        StageGraph({"a": 1.0}, formulas={"c": "a + 1"})
    with pytest.raises(TypeError, match=r"every name in values must be a non-empty string"):
        StageGraph({"": 1.0})


NAMES = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8)


@example(names=["0"], formula=",")  # a label holding ">," fooled an earlier parser
@given(
    st.lists(NAMES, min_size=1, max_size=5, unique=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
)
def test_any_names_and_formulas_give_dot_whose_labels_parse_and_name_every_node(
    names: list[str], formula: str
) -> None:
    values = {name: np.full(2, float(k)) for k, name in enumerate(names)}
    graph = StageGraph(values, formulas={names[-1]: formula}, title=formula)
    nodes, edges = parse_dot(graph.to_dot())
    assert set(graph.sources + graph.stages) <= set(nodes)
    assert set(edges) >= set(graph.edges)
    for name in graph.sources + graph.stages:
        assert name in label_text(nodes[name])


@needs_dot
def test_dot_parses_names_with_quotes_backslashes_and_markup(tmp_path: Path) -> None:
    names = ['a"b', "c\\d", "<e>&f", "g]h", "dé"]
    graph = StageGraph({name: np.ones(2) for name in names}, formulas={"g]h": '<b> & \\ "'})
    done = subprocess.run(
        [DOT, "-Tsvg"], input=graph.to_dot(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


# The nets' stages, against the demo's staged passes (other code, same models)


def test_a_two_layer_nets_stages_match_the_problem_sets_staged_net() -> None:
    params, X, y = two_layer_inputs(seed=3)
    net = TwoLayerNet(2, 3, 3)
    net.params.update({name: value.copy() for name, value in params.items()})
    stages = net.stages(X, y, reg=0.05)
    staged = staged_two_layer_softmax(params, X, y, reg=0.05)
    for name in ("z1", "h1", "scores", "shifted", "log_probs", "data_loss", "reg_loss", "loss"):
        assert_close(stages[name], staged[name], rtol=REORDERED_RTOL)
    for name in ("dscores", "dh1", "dz1", "dW1", "db1", "dW2", "db2"):
        assert_close(stages[name], staged[name], rtol=REORDERED_RTOL)
    assert set(stages.edges) == {
        ("X", "z1"),
        ("W1", "z1"),
        ("b1", "z1"),
        ("z1", "h1"),
        ("h1", "scores"),
        ("W2", "scores"),
        ("b2", "scores"),
        ("scores", "shifted"),
        ("shifted", "log_probs"),
        ("log_probs", "data_loss"),
        ("y", "data_loss"),
        ("W1", "reg_loss"),
        ("W2", "reg_loss"),
        ("data_loss", "loss"),
        ("reg_loss", "loss"),
    }


def test_a_linear_svms_stages_match_the_problem_sets_staged_svm() -> None:
    W, X, y = table_svm_inputs()
    model = LinearClassifier(3, 3, bias=False)
    model.params["W"] = W
    stages = model.stages(X, y, reg=0.1)
    staged = staged_svm(W, X, y, reg=0.1)
    names = ("scores", "margins", "data_loss", "reg_loss", "loss", "dmargins", "dscores", "dW")
    for name in names:
        assert_close(stages[name], staged[name], rtol=REORDERED_RTOL)
    assert stages.stages == ("scores", "margins", "data_loss", "reg_loss", "loss")
    assert list(stages) == ["X", "W", "y", *names]  # the problem set's flat backprop, in order
    assert stages.outputs == ("loss",)
    assert "b" not in stages
    assert "db" not in stages


def test_the_l2_head_without_a_target_has_no_y_node() -> None:
    net = TwoLayerNet(2, 2, 1, head="l2", reduction="sum")
    stages = net.stages(np.array([[0.2, 0.4]]))
    assert "y" not in stages.sources
    assert ("scores", "data_loss") in stages.edges
    parse_dot(stages.to_dot())
