"""flatprop.gradcheck: numerical gradients of known functions, x restored, bad input refused,
CS231n's notebook checks at their scale, and kinks told from bugs."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flatprop.gradcheck import (
    check_gradient,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
)
from flatprop.layers import affine_backward, affine_forward, relu_backward, relu_forward
from flatprop.nets import TwoLayerNet
from helpers import (
    CENTRAL_DIFFERENCE_RTOL,
    CS231N_NOTEBOOK_REL_ERROR,
    EPS,
    FLOAT32_STEP_RTOL,
    STEP,
    TRUNCATION_ERROR,
)


def rounding_error(value: float) -> float:
    """What rounding f(x +- h) to float64 can contribute: a few eps |f| / h."""
    return 4 * EPS * abs(value) / STEP


points = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
    elements=st.floats(-3, 3),
)


@given(x=points)
def test_the_numerical_gradient_of_a_sum_of_squares_is_twice_x(x: np.ndarray) -> None:
    grad = numerical_gradient(lambda v: np.sum(v**2), x)
    atol = rounding_error(np.sum(x**2)) + TRUNCATION_ERROR
    np.testing.assert_allclose(grad, 2 * x, rtol=CENTRAL_DIFFERENCE_RTOL, atol=atol)


@given(x=points)
def test_the_numerical_gradient_of_a_smooth_function_matches_its_derivative(x: np.ndarray) -> None:
    def f(v: np.ndarray) -> float:
        return float(np.sum(np.sin(v) * np.exp(v / 4)))

    grad = numerical_gradient(f, x)
    expected = np.cos(x) * np.exp(x / 4) + np.sin(x) * np.exp(x / 4) / 4
    atol = rounding_error(np.sum(np.abs(np.sin(x) * np.exp(x / 4)))) + TRUNCATION_ERROR
    np.testing.assert_allclose(grad, expected, rtol=CENTRAL_DIFFERENCE_RTOL, atol=atol)


def test_the_numerical_gradient_of_a_linear_function_is_its_coefficients() -> None:
    coefficients = np.array([[1.0, -2.0], [0.5, 3.0]])
    x = np.zeros((2, 2))
    grad = numerical_gradient(lambda v: float(np.sum(coefficients * v)), x)
    np.testing.assert_allclose(grad, coefficients, rtol=1e-10)
    assert grad.dtype == np.float64


def test_float32_x_gives_a_float64_gradient_with_a_larger_step() -> None:
    x = np.array([1.0, -2.0], dtype=np.float32)
    grad = numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x, h=1e-2)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, [2.0, -4.0], rtol=1e-6)


def test_float32_x_is_divided_by_the_step_as_stored_not_by_2h() -> None:
    # x +- 1e-3 rounds to float32 (ulp 1.2e-7 at 1): dividing by 2h instead of by the
    # stored distance biased this by up to 7e-5; for a quadratic, the quotient over the
    # stored points is x_plus + x_minus = 2x up to float32 rounding.
    x = np.array([1.0, -2.0, 3.3], dtype=np.float32)
    grad = numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x, h=1e-3)
    np.testing.assert_allclose(grad, 2 * x.astype(np.float64), rtol=FLOAT32_STEP_RTOL)


def test_f_may_read_x_from_elsewhere() -> None:
    params = {"W": np.array([1.0, 2.0])}
    grad = numerical_gradient(lambda _: float(np.sum(params["W"] ** 3)), params["W"])
    np.testing.assert_allclose(grad, 3 * params["W"] ** 2, rtol=CENTRAL_DIFFERENCE_RTOL)


@given(x=points)
def test_x_is_restored_exactly(x: np.ndarray) -> None:
    original = x.copy()
    numerical_gradient(lambda v: np.sum(v**3), x)
    np.testing.assert_array_equal(x, original)
    numerical_gradient_array(lambda v: v**3, x, np.ones_like(x))
    np.testing.assert_array_equal(x, original)


@pytest.mark.parametrize("fail_on_call", [1, 2, 5])
def test_x_is_restored_even_when_f_raises(fail_on_call: int) -> None:
    x = np.array([[0.1, 0.2], [0.3, 0.4]])
    original = x.copy()
    calls = []

    def fragile(v: np.ndarray) -> float:
        calls.append(1)
        if len(calls) == fail_on_call:
            raise RuntimeError("f failed")
        return float(np.sum(v))

    with pytest.raises(RuntimeError, match="f failed"):
        numerical_gradient(fragile, x)
    np.testing.assert_array_equal(x, original)


def test_numerical_gradient_array_is_the_transpose_product_for_a_linear_map() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(4, 3))
    x = rng.normal(size=(3, 2))
    dout = rng.normal(size=(4, 2))
    dx = numerical_gradient_array(lambda v: matrix @ v, x, dout)
    np.testing.assert_allclose(dx, matrix.T @ dout, rtol=1e-8, atol=1e-10)


def test_numerical_gradient_array_of_relu_passes_dout_where_x_is_positive() -> None:
    x = np.array([[-1.0, 2.0, 0.5], [3.0, -0.5, -2.0]])
    dout = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    dx = numerical_gradient_array(lambda v: np.maximum(v, 0), x, dout)
    np.testing.assert_allclose(dx, np.where(x > 0, dout, 0.0), atol=1e-9)


def test_numerical_gradient_array_refuses_a_dout_of_another_shape() -> None:
    x = np.ones(3)
    with pytest.raises(ValueError, match=r"dout must have the shape of f\(x\) \(3,\)"):
        numerical_gradient_array(lambda v: v * 2, x, np.ones(4))
    np.testing.assert_array_equal(x, np.ones(3))


@pytest.mark.parametrize("check", [numerical_gradient, numerical_gradient_array])
@pytest.mark.parametrize(
    ("x", "error", "pattern"),
    [
        ([1.0, 2.0], TypeError, "x must be a NumPy array.*got list"),
        (np.array([1, 2]), TypeError, "x must be a floating array.*got dtype int64"),
        (np.array([True]), TypeError, "x must be a floating array"),
        (np.array([1 + 0j]), TypeError, "x must be a floating array"),
    ],
)
def test_x_that_cannot_be_perturbed_is_refused(
    check: object, x: object, error: type[Exception], pattern: str
) -> None:
    arguments = (lambda v: np.sum(v), x) if check is numerical_gradient else (np.sum, x, 1.0)
    with pytest.raises(error, match=pattern):
        check(*arguments)  # type: ignore[operator]


@pytest.mark.parametrize("check", [numerical_gradient, numerical_gradient_array])
def test_read_only_x_is_refused_and_left_alone(check: object) -> None:
    x = np.array([1.0, 2.0])
    x.flags.writeable = False
    arguments = (np.sum, x) if check is numerical_gradient else (lambda v: v, x, np.ones(2))
    with pytest.raises(ValueError, match="x must be writeable"):
        check(*arguments)  # type: ignore[operator]
    np.testing.assert_array_equal(x, [1.0, 2.0])


@pytest.mark.parametrize("step", [0.0, -1e-5])
def test_a_step_that_is_not_positive_is_refused(step: object) -> None:
    with pytest.raises(ValueError, match="h must be a positive step"):
        numerical_gradient(np.sum, np.ones(2), h=step)  # type: ignore[arg-type]


def test_a_step_that_is_not_finite_is_refused() -> None:
    with pytest.raises(ValueError, match="h must be finite"):
        numerical_gradient(np.sum, np.ones(2), h=float("nan"))


@pytest.mark.parametrize("step", ["1e-5", None, True, 1e-5j])
def test_a_step_that_is_not_a_real_number_is_a_type_error(step: object) -> None:
    with pytest.raises(TypeError, match="h must be a real number"):
        numerical_gradient(np.sum, np.ones(2), h=step)  # type: ignore[arg-type]


def test_rel_error_of_equal_arrays_is_zero() -> None:
    assert rel_error(np.array([1.0, -2.0]), np.array([1.0, -2.0])) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


def test_rel_error_is_the_largest_entrywise_relative_difference() -> None:
    # |1 - 1.5| / (1 + 1.5) = 0.2 beats |4 - 4.1| / 8.1
    assert rel_error([1.0, 4.0], [1.5, 4.1]) == pytest.approx(0.2, rel=1e-15)
    assert rel_error([1.0, 4.0], [1.5, 4.1]) == rel_error([1.5, 4.1], [1.0, 4.0])


def test_rel_error_floors_the_denominator_for_near_zero_entries() -> None:
    assert rel_error([1e-12], [0.0]) == pytest.approx(1e-4, rel=1e-12)  # 1e-12 / 1e-8


def test_rel_error_refuses_arrays_of_different_shapes() -> None:
    with pytest.raises(
        ValueError, match=r"a and b must have the same shape, got \(2,\) and \(3,\)"
    ):
        rel_error(np.ones(2), np.ones(3))


# CS231n's notebook checks (FullyConnectedNets.ipynb, seed 231): the outputs are
# subtracted before they are weighted by dout, as the notebook's own recipe does. Summing
# first cancelled two large totals: 4.7e-9 (ReLU) and 4.6e-9 (affine dx).


def test_relu_backward_passes_the_cs231n_notebook_check_at_its_scale() -> None:
    rng = np.random.RandomState(231)  # the notebook's np.random.seed(231)
    x = rng.randn(10, 10)
    dout = rng.randn(*x.shape)
    dx_num = numerical_gradient_array(lambda v: relu_forward(v)[0], x, dout)
    _, cache = relu_forward(x)
    assert rel_error(dx_num, relu_backward(dout, cache)["x"]) < CS231N_NOTEBOOK_REL_ERROR
    assert rel_error(dx_num, dout * (x > 0)) < CS231N_NOTEBOOK_REL_ERROR  # by hand


def test_affine_backward_passes_the_cs231n_notebook_check_at_its_scale() -> None:
    rng = np.random.RandomState(231)
    x, w, b = rng.randn(10, 2, 3), rng.randn(6, 5), rng.randn(5)
    dout = rng.randn(10, 5)
    numerical = {
        "x": numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x.copy(), dout),
        "w": numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w.copy(), dout),
        "b": numerical_gradient_array(lambda v: affine_forward(x, w, v)[0], b.copy(), dout),
    }
    _, cache = affine_forward(x, w, b)
    grads = affine_backward(dout, cache)
    by_hand = {"x": (dout @ w.T).reshape(x.shape), "w": x.reshape(10, 6).T @ dout, "b": dout.sum(0)}
    for name in ("x", "w", "b"):
        assert rel_error(numerical[name], grads[name]) < CS231N_NOTEBOOK_REL_ERROR, name
        assert rel_error(numerical[name], by_hand[name]) < CS231N_NOTEBOOK_REL_ERROR, name


# The right number or a clear error (issue 10, item 5)


def test_float16_x_is_refused_with_the_way_out() -> None:
    # float16 rounds 1 + 1e-5 to 1: the old result [0, 0] for sum(x**2) at [1, 2] was
    # silently wrong; in float64 it is [2, 4].
    x = np.array([1.0, 2.0], dtype=np.float16)
    with pytest.raises(TypeError, match="x must be float32 or float64, got float16"):
        numerical_gradient(lambda v: np.sum(v**2), x)
    grad = numerical_gradient(lambda v: np.sum(v**2), x.astype(np.float64))
    np.testing.assert_allclose(grad, [2.0, 4.0], rtol=CENTRAL_DIFFERENCE_RTOL)


@given(
    x=hnp.arrays(
        np.float64, st.integers(1, 4), elements=st.floats(-1e15, 1e15).filter(lambda v: v != 0)
    )
)
@example(x=np.array([1e12]))  # the step 1e-5 vanished here: 0 instead of 2e12
def test_the_step_is_relative_so_large_entries_still_move(x: np.ndarray) -> None:
    grad = numerical_gradient(lambda v: float(np.sum(v**2)), x)
    # For a quadratic the central difference is exact but for rounding of f: a few eps
    # of |f| over the step h * |x_k|.
    steps = STEP * np.maximum(1.0, np.abs(x))
    atol = 4 * EPS * float(np.sum((np.abs(x) + steps) ** 2)) / steps
    error = np.abs(grad - 2 * x)
    assert np.all(error <= CENTRAL_DIFFERENCE_RTOL * np.abs(2 * x) + atol), (grad, 2 * x)


@pytest.mark.parametrize(
    ("dtype", "step"), [(np.float64, 1e-300), (np.float64, 1e-17), (np.float32, 1e-9)]
)
def test_a_step_that_vanishes_relative_to_x_is_refused(dtype: type, step: float) -> None:
    with pytest.raises(ValueError, match=r"h must be at least the float.* eps .*x \+ h == x"):
        numerical_gradient(np.sum, np.array([1.0, 2.0], dtype=dtype), h=step)


def test_x_moved_out_of_the_float_range_is_refused() -> None:
    with pytest.raises(ValueError, match="x \\+ h overflows float64 at index \\(1,\\)"):
        numerical_gradient(np.sum, np.array([1.0, 1.7976931e308]))


@pytest.mark.parametrize(
    ("returned", "pattern"),
    [
        (None, "f must return a real scalar .*got None"),
        ("3", "f must return a real scalar .*got '3' of type str"),
        (True, "f must return a real scalar .*got True"),
        (np.ones(2), "f must return a real scalar .*got array"),
        ((1.0, {"x": 2.0}), "f returned a tuple of 2 items: did you forget \\[0\\]"),
    ],
)
def test_f_returning_anything_but_a_real_scalar_is_a_type_error_naming_f(
    returned: object, pattern: str
) -> None:
    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match=pattern):
        numerical_gradient(lambda _: returned, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_f_returning_nan_or_inf_is_a_value_error_naming_f(value: float) -> None:
    with pytest.raises(ValueError, match=r"f must be finite, got .* at x \+ h e_k"):
        numerical_gradient(lambda _: value, np.array([1.0]))


def test_f_returning_a_one_element_array_or_a_numpy_number_is_a_scalar() -> None:
    x = np.array([3.0])
    for f in (lambda v: v**2, lambda v: np.float64(v[0] ** 2), lambda v: (v**2).reshape(1, 1)):
        np.testing.assert_allclose(numerical_gradient(f, x), [6.0], rtol=CENTRAL_DIFFERENCE_RTOL)


def test_a_forward_pass_returning_out_and_cache_gets_the_forgotten_index_hint() -> None:
    x, w, b = np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)
    with pytest.raises(TypeError, match="f returned a tuple of 2 items: did you forget \\[0\\]"):
        numerical_gradient_array(lambda v: affine_forward(v, w, b), x, np.ones((2, 4)))


@pytest.mark.parametrize(
    ("returned", "error", "pattern"),
    [
        (None, TypeError, "f must return an array of real numbers, got None"),
        ("3", TypeError, "f must return an array of real numbers, got '3'"),
        (np.array([np.nan, 1.0]), ValueError, "f must return finite values"),
    ],
)
def test_an_array_f_returning_no_real_finite_array_is_refused(
    returned: object, error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        numerical_gradient_array(lambda _: returned, np.ones(2), np.ones(2))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1e308], [-1e308], 1.0),  # |a - b| overflowed: NaN before
        ([1e308], [1e308], 0.0),
        ([1.5e308, 1.0], [0.5e308, 1.0], 0.5),  # 1e308 / 2e308
        ([-1.7e308], [1.7e308], 1.0),
    ],
)
def test_rel_error_is_right_near_the_float_range(a: list, b: list, expected: float) -> None:
    assert rel_error(a, b) == pytest.approx(expected, rel=4 * EPS)


finite_pairs = st.integers(1, 5).flatmap(
    lambda n: st.tuples(
        *[hnp.arrays(np.float64, n, elements=st.floats(-1e3, 1e3)) for _ in range(2)]
    )
)


@given(pair=finite_pairs, power=st.integers(-1000, 1000))
def test_rel_error_does_not_change_when_both_arrays_are_scaled_by_a_power_of_two(
    pair: tuple[np.ndarray, np.ndarray], power: int
) -> None:
    a, b = pair
    scaled = rel_error(np.ldexp(a, power), np.ldexp(b, power))
    # Scaling by 2^power is exact (but in the subnormals); the floor 1e-8 does not scale,
    # so compare where both sides are above it.
    if np.min(np.abs(np.ldexp(a, power)) + np.abs(np.ldexp(b, power)), initial=np.inf) > 1e-8 and (
        np.min(np.abs(a) + np.abs(b), initial=np.inf) > 1e-8
    ):
        assert scaled == pytest.approx(rel_error(a, b), rel=4 * EPS)


@pytest.mark.parametrize("bad", [[np.nan], [np.inf]])
def test_rel_error_refuses_nan_and_inf_naming_the_argument(bad: list) -> None:
    with pytest.raises(ValueError, match="b must be finite"):
        rel_error([1.0], bad)


# Kinks told from bugs (issue 10, item 6)


def test_a_relu_exactly_at_its_kink_is_a_kink_not_a_failure() -> None:
    x = np.array([-1.0, 0.0, 2.0])
    report = check_gradient(lambda v: np.maximum(v, 0).sum(), x, [0.0, 0.0, 1.0])
    np.testing.assert_allclose(report.numerical, [0.0, 0.5, 1.0], atol=1e-10)  # half a slope
    assert report.kink_indices == [(1,)]
    assert report.passed
    assert report.backward[1] == 0.0
    assert report.forward[1] == pytest.approx(1.0)
    assert "1 entry lies on a kink" in report.describe(kink="0 at 0")


def test_a_wrong_gradient_at_a_kink_still_fails() -> None:
    x = np.array([-1.0, 0.0, 2.0])
    report = check_gradient(lambda v: np.maximum(v, 0).sum(), x, [1.0, 0.0, 1.0])  # at -1: 1
    assert not report.passed
    assert report.kink_indices == [(1,)]
    assert "FAILS" in report.describe()


def test_the_issues_two_layer_net_with_pre_activations_within_the_step_of_0_passes() -> None:
    # Tiny first-layer weights: every ReLU input z1 is within about 1e-6 of 0, so a step
    # of 1e-5 on W1 or b1 crosses kinks. Today's rel_error of the numerical gradient is
    # about 1.0 on W1 and b1, although the backward pass is right.
    net = TwoLayerNet(4, 6, 3, std=1e-6, seed=0)
    rng = np.random.default_rng(0)
    net.params["W2"] = rng.standard_normal((6, 3))
    X, y = rng.standard_normal((5, 4)), np.array([0, 1, 2, 0, 1])
    _, grads = net.loss(X, y)
    for name in ("W1", "b1"):
        naive = numerical_gradient(lambda _: net.loss(X, y)[0], net.params[name])
        assert rel_error(grads[name], naive) > 0.5, name  # what looked like a bug
    for name in net.params:
        report = check_gradient(lambda _: net.loss(X, y)[0], net.params[name], grads[name])
        assert report.passed, (name, report.describe())
        if name in ("W1", "b1"):
            assert report.kinks.any(), name


@pytest.mark.parametrize(
    ("name", "factor"),
    # W2's gradient is ~1e-7 here (h1 ~ 1e-6): an error of 0.1% of it is 1e-10, below
    # what rounding f ~ 1.1 contributes to a central difference (3.9e-10); 50% is not.
    [("W1", 1.001), ("b1", 1.001), ("W1", 0.5), ("b1", 0.5), ("W2", 0.5), ("W1", -1.0)],
)
def test_a_wrong_gradient_of_the_same_net_fails(name: str, factor: float) -> None:
    net = TwoLayerNet(4, 6, 3, std=1e-6, seed=0)
    rng = np.random.default_rng(0)
    net.params["W2"] = rng.standard_normal((6, 3))
    X, y = rng.standard_normal((5, 4)), np.array([0, 1, 2, 0, 1])
    _, grads = net.loss(X, y)
    report = check_gradient(lambda _: net.loss(X, y)[0], net.params[name], factor * grads[name])
    assert not report.passed


@st.composite
def hinges_near_x(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, and per entry a hinge with slopes (left, right) whose kink lies within the step."""
    n = draw(st.integers(1, 4))
    x = draw(hnp.arrays(np.float64, n, elements=st.floats(-3, 3)))
    offsets = draw(hnp.arrays(np.float64, n, elements=st.floats(-0.9, 0.9))) * STEP
    slopes = draw(hnp.arrays(np.float64, (2, n), elements=st.floats(-2, 2)))
    return x, x + offsets * np.maximum(1.0, np.abs(x)), slopes[0], slopes[1]


@given(hinges_near_x())
def test_a_right_subgradient_at_a_kink_within_the_step_passes(problem) -> None:
    x, kinks, left, right = problem

    def f(v: np.ndarray) -> float:
        return float(np.sum(left * np.minimum(v - kinks, 0) + right * np.maximum(v - kinks, 0)))

    # The derivative at x: the slope of the side x is on; at the kink itself, the left one.
    analytic = np.where(x > kinks, right, left)
    report = check_gradient(f, x.copy(), analytic)
    assert report.passed, report.describe()


@given(x=hnp.arrays(np.float64, st.integers(1, 5), elements=st.floats(-3, 3)), data=st.data())
def test_a_wrong_gradient_of_a_smooth_function_fails_and_is_no_kink(x, data) -> None:
    derivative = np.cos(x) * np.exp(x / 4) + np.sin(x) * np.exp(x / 4) / 4
    wrong = data.draw(st.integers(0, x.size - 1), label="wrong entry")
    analytic = derivative.copy()
    analytic[wrong] += 1e-3 * max(1.0, abs(derivative[wrong]))
    report = check_gradient(lambda v: float(np.sum(np.sin(v) * np.exp(v / 4))), x, analytic)
    assert not report.passed
    assert not report.kinks[wrong]


def test_check_gradient_checks_a_layer_with_dout() -> None:
    x = np.array([[-1.0, 0.0, 2.0]])
    dout = np.array([[3.0, 3.0, 3.0]])
    _, cache = relu_forward(x)
    report = check_gradient(
        lambda v: relu_forward(v)[0], x, relu_backward(dout, cache)["x"], dout=dout
    )
    assert report.passed
    assert report.kink_indices == [(0, 1)]


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"analytic": np.ones(3)}, ValueError, r"analytic must have the shape of x \(2,\)"),
        ({"analytic": [np.nan, 1.0]}, ValueError, "analytic must be finite"),
        ({"tolerance": 0.0}, ValueError, "tolerance must be > 0"),
        ({"tolerance": "1e-6"}, TypeError, "tolerance must be a real number"),
    ],
)
def test_check_gradient_refuses_bad_arguments(options, error, pattern) -> None:
    arguments = {"analytic": [2.0, 4.0], **options}
    with pytest.raises(error, match=pattern):
        check_gradient(lambda v: np.sum(v**2), np.array([1.0, 2.0]), **arguments)


def test_a_report_prints_as_its_verdict_in_a_few_lines() -> None:
    # print(check_gradient(...)) showed the dataclass's fields: a wall of arrays, no verdict.
    relu = check_gradient(lambda v: np.maximum(v, 0).sum(), np.array([-1.0, 0.0, 2.0]), [0, 0, 1])
    text = repr(relu)
    assert text.splitlines()[0] == (
        "GradientReport(passed, relative error 0.0e+00 off the kinks, tolerance 1e-06, h=1e-05)"
    )
    assert "on kinks         1 of 3        not counted; at (1,)" in text  # ReLU's kink at 0
    big = np.linspace(-1, 1, 400).reshape(20, 20)
    wrong = check_gradient(lambda v: float(np.sum(v**2)), big, 2 * big + 1e-3)  # off by 1e-3
    lines = repr(wrong).splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("GradientReport(FAILED, relative error ")
    assert lines[3].split()[:4] == ["failures", "400", "of", "400"]
    assert max(map(len, lines)) < 120


@pytest.mark.parametrize("tolerance", [1e-12, 1e-15])
def test_rounding_does_not_pass_a_tolerance_finer_than_central_differences_resolve(
    tolerance: float,
) -> None:
    # sum(x**2) with its right gradient 2x: central differences of a quadratic are exact
    # but for rounding f (|f| = 7.18, an ulp 8.9e-16) over the span 2e-5, up to ~4e-11
    # here: a relative error of 1e-12 cannot be confirmed. Such entries passed unseen,
    # "within the rounding of f", whatever the tolerance; flatprop gradcheck --tolerance
    # 1e-12 then said every row was ok.
    x = np.array([1.0, 2.0, 0.7, -1.3])
    report = check_gradient(lambda v: float(np.sum(v**2)), x, 2 * x, tolerance=tolerance)
    assert not report.passed
    assert report.rounding_allowance.max() == pytest.approx(tolerance * 7.18)  # tolerance |f|
    assert check_gradient(lambda v: float(np.sum(v**2)), x, 2 * x, tolerance=1e-10).passed
