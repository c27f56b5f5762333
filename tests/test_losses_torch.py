"""Values and gradients agree with PyTorch (float64, autograd), when it is installed.

Conventions, and where they differ:

- ``multi_margin_loss`` divides each example's hinge sum by C, so the SVM (p=1) and
  the squared hinge (p=2) are C times PyTorch's per-example losses, class weights
  included (PyTorch multiplies each term by ``weight[y_i]``, outside the power). Its
  "mean" divides by N even with class weights, where flatprop divides by the total
  weight ``sum_i weight[y_i]``: with class weights the two means differ by that
  factor, and only "sum" and "none" agree directly.
- ``cross_entropy`` is flatprop's convention for every reduction: class weights,
  label smoothing and probability targets alike.
- ``mse_loss`` averages over all N K entries, flatprop's L2 "mean" over the N examples:
  "sum" agrees, "mean" is K times PyTorch's, "none" is PyTorch's summed over K.
- PyTorch has no per-example weights: flatprop's ``sample_weight`` is checked against
  PyTorch's per-example losses ("none") multiplied by the weights.

PyTorch is optional: without it, this module is skipped.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from flatprop import losses
from helpers import TORCH_RTOL, assert_close
from loss_cases import HINGE_LOSSES, LossCall, loss_calls

torch = pytest.importorskip("torch")
functional = torch.nn.functional

POWER = {"multiclass_svm": 1, "squared_hinge": 2}  # multi_margin_loss's p for each hinge


def as_tensor(values: np.ndarray | None) -> Any:
    return None if values is None else torch.tensor(values, dtype=torch.float64)


def torch_loss_and_gradient(
    loss_of: Callable[[Any], Any], x: np.ndarray, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's loss at x (times the sample weights if given), and the gradient of its sum."""
    tensor = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    loss = loss_of(tensor)
    if sample_weight is not None:
        loss = loss * as_tensor(sample_weight)
    loss.sum().backward()
    return loss.detach().numpy(), tensor.grad.numpy()


def compare(call: LossCall, expected_loss: np.ndarray, expected_grad: np.ndarray) -> None:
    loss, grads = call.one_shot()
    assert_close(loss, expected_loss, rtol=TORCH_RTOL, what="loss")
    key = call.loss.input_name
    assert_close(grads[key], expected_grad, rtol=TORCH_RTOL, what=f"d{key}")


def per_example_or_sum(call: LossCall) -> Callable[[np.ndarray], np.ndarray]:
    return np.sum if call.options["reduction"] == "sum" else np.asarray


def multi_margin_loss(call: LossCall, reduction: str, factor: float) -> Callable[[Any], Any]:
    """``factor`` times PyTorch's multi_margin_loss with the call's margin and class weights."""
    _, y = call.inputs

    def loss_of(tensor: Any) -> Any:
        return factor * functional.multi_margin_loss(
            tensor,
            torch.from_numpy(y),
            p=POWER[call.loss.name],
            margin=call.options["margin"],
            weight=as_tensor(call.options.get("weight")),
            reduction=reduction,
        )

    return loss_of


def cross_entropy(call: LossCall, reduction: str) -> Callable[[Any], Any]:
    """PyTorch's cross_entropy with the call's class weights and label smoothing."""
    _, y = call.inputs
    target = torch.from_numpy(y) if y.ndim == 1 else as_tensor(y)

    def loss_of(tensor: Any) -> Any:
        return functional.cross_entropy(
            tensor,
            target,
            weight=as_tensor(call.options["weight"]),
            reduction=reduction,
            label_smoothing=call.options["label_smoothing"],
        )

    return loss_of


@pytest.mark.parametrize("name", HINGE_LOSSES)
@given(data=st.data())
def test_hinges_are_c_times_multi_margin_loss_per_example_and_summed(
    name: str, data: st.DataObject
) -> None:
    reduction = data.draw(st.sampled_from(["sum", "none"]), label="reduction")
    call = data.draw(loss_calls(name, reduction=reduction), label="call")
    scores = call.x
    loss_of = multi_margin_loss(call, "none", factor=scores.shape[1])
    per_example, grad = torch_loss_and_gradient(loss_of, scores, call.options["sample_weight"])
    compare(call, per_example_or_sum(call)(per_example), grad)


@pytest.mark.parametrize("name", HINGE_LOSSES)
@given(data=st.data())
def test_unweighted_hinge_mean_is_c_times_the_multi_margin_mean(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, reduction="mean", weighted=False), label="call")
    scores = call.x
    loss_of = multi_margin_loss(call, "mean", factor=scores.shape[1])
    compare(call, *torch_loss_and_gradient(loss_of, scores))


@pytest.mark.parametrize("name", HINGE_LOSSES)
@given(data=st.data())
def test_class_weighted_hinge_mean_divides_by_the_total_weight_where_pytorch_divides_by_n(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, reduction="mean", weighted=True), label="call")
    call = call.replace(sample_weight=None)
    scores, y = call.inputs
    weight = call.options["weight"]
    assume(weight[y].sum() > 0)
    to_flatprop = scores.shape[1] * len(y) / weight[y].sum()  # times C, times N / total weight
    loss_of = multi_margin_loss(call, "mean", factor=to_flatprop)
    compare(call, *torch_loss_and_gradient(loss_of, scores))


@given(data=st.data())
def test_softmax_cross_entropy_equals_pytorch_cross_entropy(data: st.DataObject) -> None:
    # every reduction, class weights, label smoothing, integer labels or probabilities
    call = data.draw(loss_calls("softmax_cross_entropy"), label="call")
    call = call.replace(sample_weight=None)
    loss_of = cross_entropy(call, call.options["reduction"])
    compare(call, *torch_loss_and_gradient(loss_of, call.x))


@given(data=st.data())
def test_softmax_sample_weights_weight_pytorch_per_example_losses(data: st.DataObject) -> None:
    reduction = data.draw(st.sampled_from(["sum", "none"]), label="reduction")
    call = data.draw(loss_calls("softmax_cross_entropy", reduction=reduction), label="call")
    loss_of = cross_entropy(call, "none")
    per_example, grad = torch_loss_and_gradient(loss_of, call.x, call.options["sample_weight"])
    compare(call, per_example_or_sum(call)(per_example), grad)


@given(data=st.data())
def test_l2_equals_mse_loss_summed_over_outputs(data: st.DataObject) -> None:
    call = data.draw(loss_calls("l2"), label="call")
    pred, target = call.inputs
    target_tensor = as_tensor(np.zeros_like(pred) if target is None else target)
    num_outputs = pred.shape[1]
    reduction, sample_weight = call.options["reduction"], call.options["sample_weight"]

    if sample_weight is None and reduction == "sum":
        expected = torch_loss_and_gradient(
            lambda tensor: functional.mse_loss(tensor, target_tensor, reduction="sum"), pred
        )
    elif sample_weight is None and reduction == "mean":  # PyTorch averages over N K entries
        expected = torch_loss_and_gradient(
            lambda tensor: num_outputs * functional.mse_loss(tensor, target_tensor), pred
        )
    elif reduction != "mean":
        per_example, grad = torch_loss_and_gradient(
            lambda tensor: functional.mse_loss(tensor, target_tensor, reduction="none").sum(1),
            pred,
            sample_weight,
        )
        expected = (per_example_or_sum(call)(per_example), grad)
    else:
        return  # a mean weighted per example has no PyTorch counterpart
    compare(call, *expected)


# Tensors NumPy cannot read, and PyTorch's all-zero target rows (issue 10, items 8 and 10)


def test_a_tensor_that_requires_grad_is_a_type_error_saying_to_detach_it() -> None:
    scores = torch.zeros((2, 3), dtype=torch.float64, requires_grad=True)
    with pytest.raises(TypeError, match=r"^scores must be .*requires grad; pass scores\.detach"):
        losses.multiclass_svm(scores, [0, 1])
    loss, _ = losses.multiclass_svm(scores.detach(), [0, 1])
    assert loss == 2.0  # all scores 0: C - 1 margins of 1


def test_a_bfloat16_tensor_is_a_type_error_naming_its_dtype() -> None:
    weights = torch.ones(2, dtype=torch.bfloat16)
    with pytest.raises(TypeError, match=r"^sample_weight must be .*torch\.bfloat16"):
        losses.l2(np.ones((2, 3)), sample_weight=weights)


def test_pytorch_accepts_an_all_zero_target_row_which_flatprop_drops_by_sample_weight() -> None:
    scores = np.array([[0.0, 1.5, -1.0], [2.0, 0.0, 0.5]])
    targets = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    expected, expected_grad = torch_loss_and_gradient(
        lambda tensor: functional.cross_entropy(tensor, as_tensor(targets), reduction="sum"),
        scores,
    )
    with pytest.raises(ValueError, match="give it sample_weight 0"):
        losses.softmax_cross_entropy(scores, targets)
    any_row = np.array([[1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]])
    loss, grads = losses.softmax_cross_entropy(
        scores, any_row, sample_weight=[0.0, 1.0], reduction="sum"
    )
    assert_close(loss, expected, rtol=TORCH_RTOL)
    assert_close(grads["scores"], expected_grad, rtol=TORCH_RTOL)
