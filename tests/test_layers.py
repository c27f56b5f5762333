"""flatprop.layers: affine and ReLU, against loops and numerical gradients."""

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop.gradcheck import numerical_gradient_array
from flatprop.layers import (
    AffineCache,
    ReluCache,
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
)
from helpers import (
    KINK_DISTANCE,
    LAYER_GRADIENT_ATOL,
    LAYER_GRADIENT_RTOL,
    REORDERED_RTOL,
    read_only,
)

FLOATS = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
OFF_THE_KINK = st.floats(KINK_DISTANCE, 3) | st.floats(-3, -KINK_DISTANCE)  # ReLU's kink: 0


def float_arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=FLOATS)


@st.composite
def affine_problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x (N, d1, ..., dk), w (D, M), b (M,) and an upstream gradient dout (N, M)."""
    num_examples = draw(st.integers(1, 4))
    example_shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    num_outputs = draw(st.integers(1, 4))
    num_features = math.prod(example_shape)
    x = draw(float_arrays((num_examples, *example_shape)))
    w = draw(float_arrays((num_features, num_outputs)))
    b = draw(float_arrays((num_outputs,)))
    dout = draw(float_arrays((num_examples, num_outputs)))
    return x, w, b, dout


# affine


@given(affine_problems())
def test_affine_forward_equals_a_loop_over_examples_and_outputs(problem) -> None:
    x, w, b, _ = problem
    rows = x.reshape(x.shape[0], -1)
    expected = np.array(
        [
            [
                math.fsum([*(rows[i, d] * w[d, m] for d in range(w.shape[0])), b[m]])
                for m in range(w.shape[1])
            ]
            for i in range(x.shape[0])
        ]
    )
    out, _ = affine_forward(x, w, b)
    np.testing.assert_allclose(out, expected, rtol=REORDERED_RTOL, atol=REORDERED_RTOL)


@given(affine_problems())
def test_affine_backward_matches_the_numerical_gradient_of_every_input(problem) -> None:
    x, w, b, dout = problem
    _, cache = affine_forward(x, w, b)
    grads = affine_backward(dout, cache)

    numerical = {
        "x": numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x.copy(), dout),
        "w": numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w.copy(), dout),
        "b": numerical_gradient_array(lambda v: affine_forward(x, w, v)[0], b.copy(), dout),
    }
    assert set(grads) == {"x", "w", "b"}
    for name, expected in numerical.items():
        np.testing.assert_allclose(
            grads[name], expected, rtol=LAYER_GRADIENT_RTOL, atol=LAYER_GRADIENT_ATOL
        )


def test_affine_flattens_each_example_and_returns_dx_in_the_shape_of_x() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    w = np.ones((12, 5))
    out, cache = affine_forward(x, w, np.zeros(5))
    assert out.shape == (2, 5)
    np.testing.assert_array_equal(out[:, 0], [x[0].sum(), x[1].sum()])
    grads = affine_backward(np.ones((2, 5)), cache)
    assert grads["x"].shape == (2, 3, 4)
    np.testing.assert_array_equal(grads["x"], np.full((2, 3, 4), 5.0))


def test_affine_backward_without_dx_returns_only_the_parameter_gradients() -> None:
    _, cache = affine_forward(np.ones((3, 2)), np.ones((2, 4)), np.zeros(4))
    grads = affine_backward(np.ones((3, 4)), cache, compute_dx=False)
    assert set(grads) == {"w", "b"}
    np.testing.assert_array_equal(grads["b"], [3.0, 3.0, 3.0, 3.0])


def test_affine_cache_names_its_inputs() -> None:
    x, w, b = np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)
    _, cache = affine_forward(x, w, b)
    assert isinstance(cache, AffineCache)
    assert cache.x is x  # not copied
    assert cache.w is w
    assert cache.b is b


# ReLU


@given(float_arrays((3, 4)))
def test_relu_forward_keeps_positive_entries_and_zeroes_the_rest(x) -> None:
    out, _ = relu_forward(x)
    expected = [[value if value > 0 else 0.0 for value in row] for row in x]
    np.testing.assert_array_equal(out, expected)


@given(hnp.arrays(np.float64, (3, 4), elements=OFF_THE_KINK), float_arrays((3, 4)))
def test_relu_backward_matches_the_numerical_gradient_off_the_kink(x, dout) -> None:
    _, cache = relu_forward(x)
    expected = numerical_gradient_array(lambda v: relu_forward(v)[0], x.copy(), dout)
    np.testing.assert_allclose(
        relu_backward(dout, cache)["x"],
        expected,
        rtol=LAYER_GRADIENT_RTOL,
        atol=LAYER_GRADIENT_ATOL,
    )


def test_relu_subgradient_at_exactly_zero_is_zero() -> None:
    x = np.array([[0.0, -0.0, 1e-300, -1e-300]])
    _, cache = relu_forward(x)
    dx = relu_backward(np.array([[3.0, 3.0, 3.0, 3.0]]), cache)["x"]
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 3.0, 0.0]])
    assert isinstance(cache, ReluCache)


# shared contracts


def test_layers_never_write_into_their_inputs_and_accept_read_only_arrays() -> None:
    rng = np.random.default_rng(0)
    x, w, b = (
        read_only(rng.standard_normal((4, 3))),
        read_only(rng.standard_normal((3, 2))),
        read_only(rng.standard_normal(2)),
    )
    dout = read_only(rng.standard_normal((4, 2)))
    originals = [array.copy() for array in (x, w, b, dout)]

    out, cache = affine_forward(x, w, b)
    affine_grads = affine_backward(dout, cache)
    relu_out, relu_cache = relu_forward(x)
    relu_grads = relu_backward(read_only(-x), relu_cache)

    for array, original in zip((x, w, b, dout), originals, strict=True):
        np.testing.assert_array_equal(array, original)
    results = [out, relu_out, *affine_grads.values(), *relu_grads.values()]
    assert all(result.flags.writeable for result in results)  # new arrays, not views


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_keep_the_dtype_of_their_inputs(dtype) -> None:
    x, w, b = np.ones((2, 3), dtype), np.ones((3, 4), dtype), np.ones(4, dtype)
    out, cache = affine_forward(x, w, b)
    assert out.dtype == dtype
    assert all(
        grad.dtype == dtype for grad in affine_backward(np.ones((2, 4), dtype), cache).values()
    )
    relu_out, relu_cache = relu_forward(x)
    assert relu_out.dtype == dtype
    assert relu_backward(np.ones((2, 3), dtype), relu_cache)["x"].dtype == dtype


def test_each_affine_gradient_has_the_dtype_of_its_input_when_dtypes_are_mixed() -> None:
    x, w, b = np.ones((2, 3), np.float32), np.ones((3, 4)), np.ones(4, np.float32)
    out, cache = affine_forward(x, w, b)
    assert out.dtype == np.float64  # NumPy's promotion
    grads = affine_backward(np.ones((2, 4)), cache)
    assert (grads["x"].dtype, grads["w"].dtype, grads["b"].dtype) == (
        np.float32,
        np.float64,
        np.float32,
    )


def test_integer_inputs_become_float64() -> None:
    out, _ = affine_forward(np.ones((2, 3), int), np.ones((3, 1), int), np.zeros(1, int))
    assert out.dtype == np.float64
    assert relu_forward(np.arange(3))[0].dtype == np.float64


# bad input


def _affine_cache() -> AffineCache:
    return affine_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))[1]


BAD_INPUTS = {
    "x and w do not chain": (
        lambda: affine_forward(np.ones((2, 3)), np.ones((4, 5)), np.zeros(5)),
        ValueError,
        r"x and w do not chain: x of shape \(2, 3\) has D = 3 .* got w of shape \(4, 5\)",
    ),
    "flattened x and w do not chain": (
        lambda: affine_forward(np.ones((2, 3, 2)), np.ones((3, 5)), np.zeros(5)),
        ValueError,
        r"x of shape \(2, 3, 2\) has D = 6 features",
    ),
    "w and b do not chain": (
        lambda: affine_forward(np.ones((2, 3)), np.ones((3, 5)), np.zeros(4)),
        ValueError,
        r"w and b do not chain: w of shape \(3, 5\) .* got b of shape \(4,\)",
    ),
    "x without an example axis": (
        lambda: affine_forward(np.ones(3), np.ones((3, 5)), np.zeros(5)),
        ValueError,
        r"x must have shape \(N, D\) or \(N, d1, ..., dk\).* got an array of shape \(3,\)",
    ),
    "w not 2-D": (
        lambda: affine_forward(np.ones((2, 3)), np.ones(3), np.zeros(1)),
        ValueError,
        "w must be 2-D",
    ),
    "affine dout of the wrong shape": (
        lambda: affine_backward(np.ones((2, 3)), _affine_cache()),
        ValueError,
        r"dout must have the shape of the layer's output \(N, M\) \(2, 4\), got shape \(2, 3\)",
    ),
    "relu dout of the wrong shape": (
        lambda: relu_backward(np.ones(2), relu_forward(np.ones(3))[1]),
        ValueError,
        r"dout must have the shape of the layer's input x \(3,\), got shape \(2,\)",
    ),
    "a tuple as affine cache": (
        lambda: affine_backward(np.ones((2, 4)), (np.ones((2, 3)), np.ones((3, 4)))),
        TypeError,
        "cache must be the cache returned by affine_forward, got a tuple",
    ),
    "an affine cache given to relu_backward": (
        lambda: relu_backward(np.ones((2, 4)), _affine_cache()),
        TypeError,
        "cache must be the cache returned by relu_forward, got a AffineCache",
    ),
    "NaN in x": (
        lambda: relu_forward(np.array([1.0, np.nan])),
        ValueError,
        "x must be finite",
    ),
    "inf in w": (
        lambda: affine_forward(np.ones((1, 1)), np.array([[np.inf]]), np.zeros(1)),
        ValueError,
        "w must be finite",
    ),
    "NaN in dout": (
        lambda: affine_backward(np.full((2, 4), np.nan), _affine_cache()),
        ValueError,
        "dout must be finite",
    ),
    "booleans as x": (
        lambda: relu_forward(np.array([True, False])),
        TypeError,
        "x must hold real numbers, got booleans",
    ),
    # check_finite=None silently skipped the scan: it must be a bool.
    "check_finite None in affine_forward": (
        lambda: affine_forward(
            np.ones((1, 1)), np.array([[np.inf]]), np.zeros(1), check_finite=None
        ),
        TypeError,
        "check_finite must be True or False, got None",
    ),
    "check_finite None in affine_backward": (
        lambda: affine_backward(np.ones((2, 4)), _affine_cache(), check_finite=None),
        TypeError,
        "check_finite must be True or False, got None",
    ),
    "check_finite 0 in relu_forward": (
        lambda: relu_forward(np.ones(2), check_finite=0),
        TypeError,
        "check_finite must be True or False, got 0",
    ),
    "check_finite a string in relu_backward": (
        lambda: relu_backward(np.ones(3), relu_forward(np.ones(3))[1], check_finite="no"),
        TypeError,
        "check_finite must be True or False, got 'no'",
    ),
    "compute_dx None": (
        lambda: affine_backward(np.ones((2, 4)), _affine_cache(), compute_dx=None),
        TypeError,
        "compute_dx must be True or False, got None",
    ),
}


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_raises_an_error_naming_the_argument(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_check_finite_false_leaves_non_finite_values_to_the_caller() -> None:
    out, _ = relu_forward(np.array([np.inf, -np.inf]), check_finite=False)
    np.testing.assert_array_equal(out, [np.inf, 0.0])


# Overflow from finite inputs (issue 10, item 7): a FloatingPointError that says what
# overflowed, never NaN with a RuntimeWarning (pytest turns warnings into errors).


@pytest.mark.parametrize(
    ("x", "w", "b"),
    [
        ([[1e200, 1e200]], [[1e200], [-1e200]], [0.0]),  # inf - inf: [[nan]] before
        ([[1e200, 1e200]], [[1e200], [1e200]], [0.0]),  # inf
        ([[1.0]], [[1e308]], [1e308]),  # the bias pushes it over
    ],
)
def test_affine_forward_whose_output_overflows_names_it(x, w, b) -> None:
    with pytest.raises(FloatingPointError, match=r"the output x W \+ b overflows float64"):
        affine_forward(x, w, b)


def test_affine_forward_in_float32_overflows_at_float32s_range() -> None:
    big = np.full((1, 2), 1e30, dtype=np.float32)  # 1e60 > 3.4e38
    with pytest.raises(FloatingPointError, match="overflows float32"):
        affine_forward(big, big.T.copy(), np.zeros(1, np.float32))


@pytest.mark.parametrize(
    ("dout", "w", "gradient"),
    [
        ([[1e200]], [[1e200], [-1e200]], "dx = dout W"),
        ([[1.7e308], [1.7e308]], [[1e-10], [1e-10]], "db"),  # a sum of two 1.7e308
    ],
)
def test_affine_backward_whose_gradient_overflows_names_it(dout, w, gradient) -> None:
    _, cache = affine_forward(np.ones((len(dout), 2)), w, [0.0])
    with pytest.raises(FloatingPointError, match=f"the gradient {gradient}"):
        affine_backward(dout, cache)


def test_affine_forward_with_check_finite_false_leaves_the_overflow_to_the_caller() -> None:
    out, _ = affine_forward([[1e200, 1e200]], [[1e200], [1e200]], [0.0], check_finite=False)
    assert np.isinf(out).all()  # and no RuntimeWarning


HUGE = st.floats(-1e200, 1e200, allow_nan=False)


@given(
    x=hnp.arrays(np.float64, (2, 3), elements=HUGE),
    w=hnp.arrays(np.float64, (3, 2), elements=HUGE),
    b=hnp.arrays(np.float64, 2, elements=st.floats(-1e308, 1e308)),
)
def test_affine_forward_of_finite_input_is_finite_or_a_floating_point_error(x, w, b) -> None:
    # Never NaN or inf, never a RuntimeWarning (an error under pytest): the product
    # where it fits the float range, with the loop's value; a FloatingPointError where not.
    try:
        out, _ = affine_forward(x, w, b)
    except FloatingPointError as error:
        refusal = str(error)
    else:
        refusal = ""
    if refusal:
        assert "the output x W + b overflows float64" in refusal
        with np.errstate(all="ignore"):  # NumPy's own product is not finite either
            assert not np.isfinite(x @ w + b).all()
        return
    assert np.isfinite(out).all()
    # A sum's rounding error: a few eps of the sum of the absolute terms (which may exceed
    # the float range where terms cancel: then the bound is inf).
    with np.errstate(over="ignore"):
        terms = (np.abs(x) @ np.abs(w)) + np.abs(b)
    bound = terms * (8 * np.finfo(np.float64).eps)
    np.testing.assert_array_less(np.abs(out - (x @ w + b)), bound + 1e-300)
