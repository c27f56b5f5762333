"""flatprop.gradcheck: numerical gradients of known functions, x restored, bad input refused."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flatprop.gradcheck import numerical_gradient, numerical_gradient_array, rel_error
from helpers import CENTRAL_DIFFERENCE_RTOL, EPS, STEP, TRUNCATION_ERROR


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
