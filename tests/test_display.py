"""What a learner sees when printing flatprop's objects: short, readable, never a wall.

The numbers expected in the reprs come from the slide (SVM losses 2.9, 0, 12.9, so a
mean of 5.267) and from the constructor arguments; the HTML must be well-formed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra import numpy as hnp

from flatprop import layers, losses
from flatprop._display import preview
from flatprop.demo.staged import staged_svm, table_svm_inputs
from flatprop.gradcheck import check_gradient
from flatprop.nets import LinearClassifier, TwoLayerNet
from flatprop.testing import CheckReport

TABLE = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
LABELS = np.array([0, 1, 2])
LONGEST_LINE = 130  # a repr line fits a wide terminal or notebook cell
MOST_LINES = 25


def assert_short(text: str) -> None:
    lines = text.splitlines()
    assert len(lines) <= MOST_LINES, text
    assert max(map(len, lines)) <= LONGEST_LINE, text


def assert_well_formed(html: str) -> None:
    ElementTree.fromstring(f"<div>{html}</div>")  # raises on malformed markup


CACHES = {
    "HingeCache": lambda scores, y: losses.multiclass_svm_forward(scores, y)[1],
    "SoftmaxCrossEntropyCache": lambda scores, y: losses.softmax_cross_entropy_forward(scores, y)[
        1
    ],
    "L2Cache": lambda scores, y: losses.l2_forward(scores)[1],
    "AffineCache": lambda scores, y: layers.affine_forward(scores, np.eye(3), np.zeros(3))[1],
    "ReluCache": lambda scores, y: layers.relu_forward(scores)[1],
}
STAGES = {
    "HingeCache": ["scores", "y", "margins", "losses"],
    "SoftmaxCrossEntropyCache": ["scores", "y", "row_max", "log_sum_exp", "probs", "losses"],
    "L2Cache": ["pred", "diff"],
    "AffineCache": ["x", "w", "b"],
    "ReluCache": ["x"],
}


@pytest.mark.parametrize("name", CACHES)
def test_a_cache_prints_one_line_per_stage_with_shape_and_dtype(name: str) -> None:
    text = repr(CACHES[name](TABLE, LABELS))
    assert text.startswith(f"{name}(")
    lines = text.splitlines()
    for stage in STAGES[name]:
        line = next(line for line in lines if line.split()[0] == stage)
        assert "float64" in line or "int64" in line
        assert "(3, 3)" in line or "(3,)" in line
    assert_short(text)


def test_the_hinge_cache_shows_the_slides_losses_and_mean() -> None:
    text = repr(losses.multiclass_svm_forward(TABLE, LABELS)[1])
    assert text.splitlines()[0] == (
        "HingeCache(loss=5.267, margin=1, reduction='mean', squared=False)"
    )
    assert "[2.9 0 12.9]" in text
    assert "(None: weight, sample_weight, example_weight)" in text


@pytest.mark.parametrize("name", CACHES)
def test_a_huge_cache_still_prints_a_few_lines(name: str) -> None:
    scores = np.random.default_rng(0).standard_normal((5000, 3))
    labels = np.zeros(5000, dtype=np.int64)
    cache = CACHES[name](scores, labels)
    assert_short(repr(cache))
    assert len(repr(cache)) < 2000
    assert_well_formed(cache._repr_html_())


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=4, max_side=50)))
def test_a_preview_is_one_short_line_whatever_the_array(array: np.ndarray) -> None:
    text = preview(array)
    assert "\n" not in text
    assert len(text) <= 72


def test_models_print_the_call_that_makes_them_and_their_params() -> None:
    net = TwoLayerNet(64, 200, 10, label_smoothing=0.1, dtype=np.float32, seed=0)
    lines = repr(net).splitlines()
    assert lines[0] == (
        "TwoLayerNet(input_size=64, hidden_size=200, output_size=10, head='softmax', "
        "label_smoothing=0.1, dtype=float32)"
    )
    assert [line.split()[:3] for line in lines[1:]] == [
        ["W1", "(64,", "200)"],
        ["b1", "(200,)", "float32"],
        ["W2", "(200,", "10)"],
        ["b2", "(10,)", "float32"],
    ]
    linear = LinearClassifier(2, 3, bias=False, margin=0.5)
    assert repr(linear).splitlines()[0] == (
        "LinearClassifier(input_size=2, output_size=3, head='svm', margin=0.5, bias=False, "
        "dtype=float64)"
    )
    assert_well_formed(net._repr_html_())


def test_a_model_with_broken_params_still_prints() -> None:
    net = TwoLayerNet(2, 3, 4)
    net.params["W1"] = "not an array"
    text = repr(net)
    assert text.startswith("TwoLayerNet(input_size=?, hidden_size=3, output_size=4")
    assert "'not an array'" in text


def test_a_staged_pass_prints_every_stage_and_its_largest_error() -> None:
    staged = staged_svm(*table_svm_inputs(), reg=0.0)
    text = repr(staged)
    assert text.startswith("StagedPass('The linear SVM, staged', largest relative error ")
    names = [line.split()[0] for line in text.splitlines()[1:]]
    stage_names = [stage.name for stage in staged.forward + staged.backward]
    assert names == ["X", "W", "y", *stage_names]
    assert "5.267" in next(line for line in text.splitlines() if line.startswith("  data_loss"))
    assert_well_formed(staged._repr_html_())  # with Graphviz, the SVG in a <div>


def test_a_staged_pass_is_a_read_only_mapping_of_its_stages() -> None:
    # "dW" in staged, list(staged) and dict(staged) raised KeyError: 'no stage named 0'.
    staged = staged_svm(TABLE, np.eye(3), LABELS, reg=0.1)
    names = ["scores", "margins", "data_loss", "reg_loss", "loss", "dmargins", "dscores", "dW"]
    assert isinstance(staged, Mapping)
    assert list(staged) == names  # forward, then backward, as computed
    assert list(staged.keys()) == names
    assert len(staged) == len(names)
    assert "dW" in staged
    assert "W" not in staged  # an argument, in staged.arguments
    assert staged.get("nope") is None
    # The slide's margins, by hand: cat 5.1 - 3.2 + 1, frog 2.2 + 3.1 + 1 and 2.5 + 3.1 + 1.
    np.testing.assert_allclose(
        dict(staged)["margins"], [[0, 2.9, 0], [0, 0, 0], [6.3, 6.6, 0]], rtol=1e-14
    )
    assert float(dict(staged.items())["data_loss"]) == pytest.approx((2.9 + 12.9) / 3)
    with pytest.raises(KeyError, match=r"no stage named 'nope'; the stages are scores, .*, dW"):
        staged["nope"]
    with pytest.raises(TypeError):
        staged["loss"] = 0.0  # type: ignore[index]
    assert staged == staged
    assert staged != staged_svm(TABLE, np.eye(3), LABELS, reg=0.1)  # not compared by value


def test_a_gradient_report_prints_its_verdict_and_where_not_its_arrays() -> None:
    big = np.linspace(-1, 1, 2500).reshape(50, 50)
    report = check_gradient(lambda v: float(np.sum(np.maximum(v, 0))), big, (big > 0) * 1.0)
    assert_short(repr(report))
    assert repr(report).startswith("GradientReport(passed, relative error ")
    assert_well_formed(report._repr_html_())


def test_a_check_report_shows_its_verdict_as_a_table() -> None:
    report = CheckReport(
        checker="check_linear_loss",
        candidate="svm_loss",
        reference="flatprop.losses.multiclass_svm",
        examples_passed=100,
        quantities=("loss", "dW"),
    )
    html = report._repr_html_()
    assert_well_formed(html)
    assert "svm_loss passed check_linear_loss" in html
    assert "<code>100</code>" in html
    assert "<code>loss and dW</code>" in html
