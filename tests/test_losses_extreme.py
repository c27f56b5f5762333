"""Extreme scores give finite, exact results and no warnings; high-precision references.

pytest turns every warning into an error (``filterwarnings = error``), and these
tests also make NumPy raise on overflow, invalid operations and division by zero, so
an overflow that a stable formula must avoid fails loudly. Underflow of ``exp`` to 0
is expected and allowed.

The softmax reference is computed with :mod:`decimal` at 60 significant digits from
the exact values of the float64 scores; it shares nothing with the code under test.
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import MAX_EMAX, MIN_EMIN, Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop import losses, naive
from flatprop.testing.strategies import classification_problems
from helpers import (
    EPS,
    EXTREME_REFERENCE_RTOL,
    HIGH_PRECISION_RTOL,
    ROUNDINGS_ALLOWED,
    assert_close,
)
from loss_cases import ALL_LOSSES, loss_calls

DIGITS = 60  # decimal precision of the references
TINIEST = float(np.finfo(np.float64).smallest_subnormal)
HUGE = 1e300


@contextmanager
def overflow_is_an_error() -> Iterator[None]:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        yield


def decimal_log1p(value: Decimal) -> Decimal:
    """``log(1 + value)`` for value >= 0, accurate also when value is tiny."""
    if value < Decimal(10) ** -(DIGITS // 2):
        return value - value * value / 2  # the next term, value**3 / 3, is negligible
    return (1 + value).ln()


def decimal_softmax_cross_entropy(row: np.ndarray, label: int) -> tuple[Decimal, list[Decimal]]:
    """``-log softmax(row)[label]`` and its gradient ``p - onehot(label)``, in decimal.

    Written to avoid the cancellations of the naive formulas: the loss is
    ``log1p(rest) + (max - s_y)`` with ``rest`` the sum of ``exp(s_k - max)`` over the
    classes other than the argmax; the target entry of the gradient is
    ``-(sum_{k != y} e_k) / sum_k e_k`` rather than ``p_y - 1``.
    """
    with localcontext() as context:
        context.prec = DIGITS
        context.Emin, context.Emax = MIN_EMIN, MAX_EMAX
        scores = [Decimal(float(value)) for value in row]  # exact
        top_class = max(range(len(scores)), key=scores.__getitem__)
        top = scores[top_class]
        exps = [(value - top).exp() for value in scores]
        rest = sum(value for k, value in enumerate(exps) if k != top_class)
        total = 1 + rest
        loss = decimal_log1p(rest) + (top - scores[label])
        grad = [value / total for value in exps]
        grad[label] = -sum(value for k, value in enumerate(exps) if k != label) / total
        return loss, grad


def assert_matches_decimal_reference(
    scores: np.ndarray, y: np.ndarray, *, rtol_per_condition: float = ROUNDINGS_ALLOWED * EPS
) -> None:
    """Each loss and gradient entry within its condition-scaled tolerance of the reference.

    Rounding ``s_k - max`` perturbs it by up to eps |s_k - max|, which ``exp`` turns into
    a relative error of the same size: the tolerance of a row grows with its spread.
    """
    with overflow_is_an_error():
        per_example, grads = losses.softmax_cross_entropy(scores, y, reduction="sum")
        per_example, _ = losses.softmax_cross_entropy(scores, y, reduction="none")
    for i, row in enumerate(scores):
        loss, grad = decimal_softmax_cross_entropy(row, int(y[i]))
        spread = float(np.max(row) - np.min(row))
        condition = 1 + spread
        expected_loss = float(loss)
        assert (
            abs(per_example[i] - expected_loss)
            <= rtol_per_condition
            * (abs(expected_loss) + condition * sum(abs(float(g)) for g in grad))
            + 4 * TINIEST
        ), (i, per_example[i], expected_loss)
        expected_grad = np.array([float(g) for g in grad])
        np.testing.assert_allclose(
            grads["scores"][i],
            expected_grad,
            rtol=rtol_per_condition * 2 * condition,
            atol=4 * TINIEST,
            err_msg=f"row {i}",
        )


def test_a_confident_softmax_row_has_the_exact_tiny_loss() -> None:
    # log(1 + e**-30) = 9.36e-14; computing log(1 + e**-30) directly rounds it to 0.
    with localcontext() as context:
        context.prec = 50
        expected = decimal_log1p(Decimal(-30).exp())
        expected_grad = [-Decimal(-30).exp() / (1 + Decimal(-30).exp())]
        expected_grad.append(-expected_grad[0])
    with overflow_is_an_error():
        loss, grads = losses.softmax_cross_entropy(np.array([[0.0, -30.0]]), [0])
    assert loss == pytest.approx(float(expected), rel=HIGH_PRECISION_RTOL, abs=0)
    np.testing.assert_allclose(
        grads["scores"][0], [float(g) for g in expected_grad], rtol=HIGH_PRECISION_RTOL
    )
    assert loss == pytest.approx(math.log1p(math.exp(-30)), rel=HIGH_PRECISION_RTOL, abs=0)


@pytest.mark.parametrize(
    ("row", "label"),
    [
        ([1.0, 2.0, 3.0], 0),
        ([0.1, 0.2, 0.3], 2),
        ([0.0, -30.0], 0),
        ([0.0, -30.0], 1),
        ([0.0, -700.0, -710.5], 0),  # the loss is e**-700 = 9.9e-305, still a normal float
        ([0.0, -740.0], 0),  # a subnormal loss
        ([1000.0, 0.0, -1000.0], 1),
        ([-1e300, 1e300, 0.0], 0),
        ([5.0, 5.0, 5.0, 5.0], 3),
    ],
)
def test_softmax_rows_match_a_decimal_reference(row: list[float], label: int) -> None:
    assert_matches_decimal_reference(np.array([row]), np.array([label]))


@given(
    problem=st.one_of(
        classification_problems(min_value=-HUGE, max_value=HUGE),
        classification_problems(min_value=-800.0, max_value=800.0),
        classification_problems(min_value=-40.0, max_value=40.0),
    )
)
def test_softmax_matches_the_decimal_reference_on_any_scale(problem: object) -> None:
    scores, y = problem  # type: ignore[misc]
    assert_matches_decimal_reference(scores, y)


SEPARATED = np.array([[HUGE, -HUGE], [-HUGE, HUGE], [HUGE, -HUGE]])
SEPARATED_LABELS = np.array([0, 0, 1])


@pytest.mark.parametrize("name", ["multiclass_svm", "softmax_cross_entropy"])
def test_rows_separated_by_1e300_give_exact_losses_and_gradients(name: str) -> None:
    # SVM: max(0, -2e300 + 1) = 0 and max(0, 2e300 + 1) = 2e300 (the 1 is below its last
    # bit); softmax: -log p = log(1 + e**(-2e300)) = 0 for the winner, and 2e300 for the loser.
    loss_function = getattr(losses, name)
    with overflow_is_an_error():
        per_example, _ = loss_function(SEPARATED, SEPARATED_LABELS, reduction="none")
        total, grads = loss_function(SEPARATED, SEPARATED_LABELS, reduction="sum")
    np.testing.assert_array_equal(per_example, [0.0, 2 * HUGE, 2 * HUGE])
    assert total == 4 * HUGE
    np.testing.assert_array_equal(grads["scores"], [[0.0, 0.0], [-1.0, 1.0], [1.0, -1.0]])


# The squaring losses get scores below 1e150 (squares of 1e300-sized margins overflow);
# the others, scores up to HUGE.
SQUARING_BOUND = {"squared_hinge": 1e150, "l2": 1e150}


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_huge_scores_give_finite_results_equal_to_the_loop_reference(
    name: str, data: st.DataObject
) -> None:
    # off_kinks=False: both compute s_j - s_y + margin alike, and agree at the kinks
    bound = SQUARING_BOUND.get(name, HUGE)
    call = data.draw(
        loss_calls(name, min_value=-bound, max_value=bound, off_kinks=False), label="call"
    )
    with overflow_is_an_error():
        loss, grads = call.one_shot()
    assert np.all(np.isfinite(loss))
    assert np.all(np.isfinite(grads[call.loss.input_name]))
    expected_loss, expected_grads = call.naive()
    assert_close(loss, expected_loss, rtol=EXTREME_REFERENCE_RTOL, what="loss")
    key = call.loss.input_name
    assert_close(grads[key], expected_grads[key], rtol=EXTREME_REFERENCE_RTOL, what=f"d{key}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["multiclass_svm", "softmax_cross_entropy"])
def test_scores_near_the_largest_float_are_accepted_without_warnings(
    dtype: type, name: str
) -> None:
    # Regression: the finiteness check summed the scores, which overflowed (with a
    # RuntimeWarning) for finite scores whose total exceeds the largest float.
    biggest = float(np.finfo(dtype).max) / 2
    scores = np.full((4, 3), biggest, dtype=dtype)
    with overflow_is_an_error():
        per_example, grads = getattr(losses, name)(scores, [0, 1, 2, 0], reduction="none")
    expected = 2.0 if name == "multiclass_svm" else math.log(3)  # all scores equal
    np.testing.assert_allclose(per_example, expected, rtol=1e-6)
    assert np.all(np.isfinite(grads["scores"]))


def test_naive_reference_agrees_on_the_tiny_loss() -> None:
    loss, _ = naive.softmax_cross_entropy(np.array([[0.0, -30.0]]), [0])
    assert loss == pytest.approx(math.log1p(math.exp(-30)), rel=HIGH_PRECISION_RTOL, abs=0)
