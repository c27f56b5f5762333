"""dtypes: float64 and float32 are kept, integers become float64, float16 becomes float32.

float32 results agree with float64 results on the same (exactly converted) inputs to
about 1e-5 relative. The hinge problems stay off the kinks, where float32 rounding
could put a margin on the other side of 0.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop.losses import LOSSES
from helpers import FLOAT32_RTOL, assert_close
from loss_cases import ALL_LOSSES, REDUCTIONS, LossCall, loss_calls


def to_float64(value: object) -> object:
    """Float arrays converted (exactly) to float64; labels, None and scalars as they are."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64)
    return value


def as_float64(call: LossCall) -> LossCall:
    inputs = tuple(to_float64(value) for value in call.inputs)
    options = {key: to_float64(value) for key, value in call.options.items()}
    return LossCall(call.loss, inputs, options)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_float32_agrees_with_float64_on_the_same_inputs(name: str, data: st.DataObject) -> None:
    call = data.draw(loss_calls(name, dtype=np.float32), label="call")
    key = call.loss.input_name
    loss, grads = call.one_shot()
    expected_loss, expected_grads = as_float64(call).one_shot()
    assert_close(loss, expected_loss, rtol=FLOAT32_RTOL, what="loss")
    assert_close(grads[key], expected_grads[key], rtol=FLOAT32_RTOL, what=f"d{key}")


def fixed_inputs(name: str, dtype: type) -> tuple[np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(7)
    scores = (rng.normal(size=(4, 3)) * 3).astype(dtype)
    if LOSSES[name].classification:
        return scores, np.array([0, 2, 1, 2])
    return scores, (rng.normal(size=(4, 3)) * 3).astype(dtype)


def results(name: str, inputs: tuple[object, ...], reduction: str, **options: object) -> list:
    """The loss, the one-shot gradient and the staged gradient (dloss 2) of one call."""
    loss = LOSSES[name]
    value, grads = loss.function(*inputs, reduction=reduction, **options)
    _, cache = loss.forward(*inputs, reduction=reduction, **options)
    staged = loss.backward(cache, 2.0)
    return [value, grads[loss.input_name], staged[loss.input_name]]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ALL_LOSSES)
def test_float64_and_float32_are_kept_for_the_loss_and_the_gradients(
    name: str, dtype: type, reduction: str
) -> None:
    inputs = fixed_inputs(name, dtype)
    for result in results(name, inputs, reduction):
        assert result.dtype == dtype
    if reduction != "none":
        assert isinstance(results(name, inputs, reduction)[0], dtype)  # a NumPy scalar


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ALL_LOSSES)
def test_float64_weights_and_dloss_do_not_promote_float32_scores(name: str, reduction: str) -> None:
    inputs = fixed_inputs(name, np.float32)
    options: dict[str, object] = {"sample_weight": np.linspace(0.5, 2.0, 4)}
    if "weight" in LOSSES[name].options:
        options["weight"] = np.array([1.0, 2.0, 0.5])
    for result in results(name, inputs, reduction, **options):
        assert result.dtype == np.float32
    loss = LOSSES[name]
    _, cache = loss.forward(*inputs, reduction="none", **options)
    assert loss.backward(cache, np.ones(4, dtype=np.float64))[loss.input_name].dtype == np.float32


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ALL_LOSSES)
def test_integer_scores_become_float64_with_unchanged_values(name: str, reduction: str) -> None:
    integers = np.array([[3, -1, 2], [0, 4, -2]])
    second = np.array([2, 0]) if LOSSES[name].classification else integers[::-1].copy()
    computed = results(name, (integers, second), reduction)
    expected = results(name, (integers.astype(np.float64), second), reduction)
    for result, reference in zip(computed, expected, strict=True):
        assert result.dtype == np.float64
        np.testing.assert_array_equal(result, reference)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ALL_LOSSES)
def test_float16_scores_are_computed_in_float32(name: str, reduction: str) -> None:
    # float16 has too little range for exp and long sums; flatprop documents float32 for it
    inputs = fixed_inputs(name, np.float16)
    computed = results(name, inputs, reduction)
    upcast = tuple(
        value.astype(np.float32) if value.dtype == np.float16 else value for value in inputs
    )
    expected = results(name, upcast, reduction)
    for result, reference in zip(computed, expected, strict=True):
        assert result.dtype == np.float32
        np.testing.assert_array_equal(result, reference)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cache_stages_have_the_scores_dtype(dtype: type) -> None:
    scores, y = fixed_inputs("multiclass_svm", dtype)
    _, hinge_cache = LOSSES["multiclass_svm"].forward(scores, y)
    _, softmax_cache = LOSSES["softmax_cross_entropy"].forward(scores, y)
    _, l2_cache = LOSSES["l2"].forward(scores)
    stages = [
        hinge_cache.margins,
        hinge_cache.losses,
        softmax_cache.probs,
        softmax_cache.log_probs,
        softmax_cache.losses,
        l2_cache.diff,
        l2_cache.losses,
    ]
    assert [stage.dtype for stage in stages] == [np.dtype(dtype)] * len(stages)
