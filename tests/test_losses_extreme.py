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
from flatprop.losses import LOSSES
from flatprop.testing.strategies import classification_problems
from helpers import (
    EPS,
    EXTREME_REFERENCE_RTOL,
    HIGH_PRECISION_RTOL,
    ROUNDINGS_ALLOWED,
    assert_close,
    max_abs,
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


# Probability targets keep a confident row's gradient as exactly as integer labels do
# (issue 10, item 1): the column of the largest score is A (p - 1) + (A - a), not A p - a.


def decimal_cross_entropy_with_targets(
    row: np.ndarray, target: np.ndarray, weight: np.ndarray, smoothing: float
) -> tuple[Decimal, list[Decimal], list[Decimal]]:
    """Loss, gradient ``A p - a`` and each gradient entry's terms, in decimal (60 digits).

    ``a_c = w_c ((1 - eps) t_c + eps / C)`` from the exact values of the float inputs. At
    the column of the largest score the entry is computed as ``(A - a_m) - A (1 - p_m)``
    with ``1 - p_m = rest / (1 + rest)``, so the reference has no cancellation of its own;
    the terms returned are the two magnitudes that the entry is the difference of.
    """
    with localcontext() as context:
        context.prec = DIGITS
        context.Emin, context.Emax = MIN_EMIN, MAX_EMAX
        num_classes = len(row)
        eps = Decimal(float(smoothing))
        scores = [Decimal(float(value)) for value in row]
        a = [
            Decimal(float(weight[c])) * ((1 - eps) * Decimal(float(target[c])) + eps / num_classes)
            for c in range(num_classes)
        ]
        top_class = max(range(num_classes), key=scores.__getitem__)
        top = scores[top_class]
        exps = [(value - top).exp() for value in scores]
        rest = sum(value for c, value in enumerate(exps) if c != top_class)
        total = 1 + rest
        log_sum_exp = decimal_log1p(rest)
        mass = sum(a)
        loss = sum(a[c] * (log_sum_exp - (scores[c] - top)) for c in range(num_classes))
        grad, terms = [], []
        for c in range(num_classes):
            if c == top_class:
                others = sum(a[k] for k in range(num_classes) if k != c)
                away = mass * rest / total  # A (1 - p_m)
                grad.append(others - away)
                terms.append(abs(others) + abs(away))
            else:
                grad.append(exps[c] / total * mass - a[c])
                terms.append(abs(exps[c] / total * mass) + abs(a[c]))
        return loss, grad, terms


def assert_matches_target_reference(
    scores: np.ndarray,
    targets: np.ndarray,
    weight: np.ndarray | None = None,
    smoothing: float = 0.0,
) -> None:
    """Each loss and gradient entry within a few roundings of its terms, row by row."""
    dtype = scores.dtype
    eps = float(np.finfo(dtype).eps)
    options = {"label_smoothing": smoothing, "weight": weight}
    with overflow_is_an_error():
        per_example, _ = losses.softmax_cross_entropy(scores, targets, reduction="none", **options)
        _, grads = losses.softmax_cross_entropy(scores, targets, reduction="sum", **options)
    weights = np.ones(scores.shape[1]) if weight is None else weight
    tiniest = float(np.finfo(dtype).smallest_subnormal)
    for i, row in enumerate(scores):
        loss, grad, terms = decimal_cross_entropy_with_targets(row, targets[i], weights, smoothing)
        condition = 1 + float(np.max(row) - np.min(row))
        tolerance = ROUNDINGS_ALLOWED * eps * condition
        loss_scale = float(sum(terms)) + abs(float(loss))
        assert abs(float(per_example[i]) - float(loss)) <= tolerance * loss_scale + 4 * tiniest, (
            i,
            per_example[i],
            float(loss),
        )
        for c, (expected, term) in enumerate(zip(grad, terms, strict=True)):
            error = abs(float(grads["scores"][i, c]) - float(expected))
            assert error <= tolerance * float(term) + 4 * tiniest, (i, c, grads["scores"][i], grad)


def test_a_confident_row_keeps_its_gradient_with_probability_targets_as_with_labels() -> None:
    # The issue's example: q = e**-37.5 / (1 + e**-37.5), below float64's eps relative to 1.
    q = float(Decimal("-37.5").exp() / (1 + Decimal("-37.5").exp()))
    scores = np.array([[37.5, 0.0]])
    _, from_targets = losses.softmax_cross_entropy(scores, np.array([[1.0, 0.0]]))
    _, from_labels = losses.softmax_cross_entropy(scores, [0])
    np.testing.assert_allclose(from_targets["scores"], [[-q, q]], rtol=HIGH_PRECISION_RTOL)
    np.testing.assert_array_equal(from_targets["scores"], from_labels["scores"])


@pytest.mark.parametrize(
    ("top", "dtype"),
    [(37.5, np.float64), (30.0, np.float64), (15.0, np.float32), (20.0, np.float32)],
)
@pytest.mark.parametrize(
    "options",
    [{}, {"label_smoothing": 0.1}, {"weight": [2.0, 0.5]}],
    ids=["plain", "smoothing", "class-weights"],
)
def test_confident_rows_with_probability_targets_match_a_decimal_reference(
    top: float, dtype: type, options: dict[str, object]
) -> None:
    # float32 lost the whole gradient at [[20, 0]] (relative error 1), float64 1e-3 at 30.
    scores = np.array([[top, 0.0], [0.0, top]], dtype=dtype)
    targets = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=dtype)
    weight = np.array(options.get("weight", [1.0, 1.0]), dtype=dtype)
    assert_matches_target_reference(
        scores,
        targets,
        weight if "weight" in options else None,
        float(options.get("label_smoothing", 0.0)),  # type: ignore[arg-type]
    )


@st.composite
def confident_target_problems(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """Rows with one score far above the rest, targets on (or near) it, smoothing, weights."""
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    num_examples = draw(st.integers(1, 4))
    num_classes = draw(st.integers(2, 5))
    reach = 60.0 if dtype == np.float64 else 30.0
    scores = draw(
        st.lists(
            st.floats(-3, 3),
            min_size=num_examples * num_classes,
            max_size=num_examples * num_classes,
        )
    )
    scores = np.array(scores, dtype=np.float64).reshape(num_examples, num_classes)
    tops = draw(
        st.lists(st.integers(0, num_classes - 1), min_size=num_examples, max_size=num_examples)
    )
    leads = draw(st.lists(st.floats(0, reach), min_size=num_examples, max_size=num_examples))
    rows = np.arange(num_examples)
    scores[rows, tops] += np.array(leads)
    leftover = draw(st.sampled_from([0.0, 1e-20, 1e-9, 0.25]))  # mass off the top class
    targets = np.zeros((num_examples, num_classes))
    targets[:, :] = leftover / (num_classes - 1)
    targets[rows, tops] = 1 - leftover
    weight = draw(
        st.none() | st.lists(st.floats(0.25, 4.0), min_size=num_classes, max_size=num_classes)
    )
    smoothing = draw(st.sampled_from([0.0, 0.0, 0.05, 0.5]))
    return (
        scores.astype(dtype),
        targets.astype(dtype),
        None if weight is None else np.array(weight, dtype=dtype),
        np.array(smoothing),
    )


@given(problem=confident_target_problems())
def test_probability_targets_match_a_decimal_reference_on_confident_rows(
    problem: tuple[np.ndarray, ...],
) -> None:
    scores, targets, weight, smoothing = problem
    assert_matches_target_reference(scores, targets, weight, float(smoothing))


# Overflow (issue 10, item 7): the right value, or a FloatingPointError that names the
# dtype and the inputs' sizes; never a silent inf or NaN, never a RuntimeWarning (pytest
# turns warnings into errors).

BIGGEST = float(np.finfo(np.float64).max)

# (loss, scores or pred, labels or target, options, expected loss, expected gradient)
FINITE_AT_THE_EDGE: list[
    tuple[str, list[list[float]], object, dict[str, object], float, object]
] = [
    # s_j - s_y = -2e308 overflows to -inf on the way: max(0, -inf + 1) is 0, as it should be
    ("multiclass_svm", [[1e308, -1e308]], [0], {}, 0.0, [[0.0, 0.0]]),
    ("squared_hinge", [[1e308, -1e308]], [0], {}, 0.0, [[0.0, 0.0]]),
    # -log p = log(1 + e**(-2e308)) = 0 and p - onehot = (-0, 0)
    ("softmax_cross_entropy", [[1e308, -1e308]], [0], {}, 0.0, [[0.0, 0.0]]),
    ("softmax_cross_entropy", [[1e308, -1e308]], [[1.0, 0.0]], {}, 0.0, [[0.0, 0.0]]),
    # margin 1e308 exactly met: -1e308 - 0 + 1e308 = 0, the kink, inactive
    ("multiclass_svm", [[0.0, -1e308]], [0], {"margin": 1e308}, 0.0, [[0.0, 0.0]]),
    # each loss is 1e308 + 1 = 1e308: their sum overflows, their mean does not
    ("multiclass_svm", [[0.0, 1e308], [0.0, 1e308]], [0, 0], {}, 1e308, [[-0.5, 0.5]] * 2),
    ("l2", [[1e154, 0.0], [1e154, 0.0]], None, {}, 1e308, [[1e154, 0.0]] * 2),
]


@pytest.mark.parametrize(
    ("name", "x", "second", "options", "expected", "expected_grad"), FINITE_AT_THE_EDGE
)
def test_huge_finite_inputs_give_the_right_value_when_it_is_finite(
    name: str,
    x: list[list[float]],
    second: object,
    options: dict[str, object],
    expected: float,
    expected_grad: object,
) -> None:
    loss, grads = LOSSES[name].function(np.array(x), second, **options)
    assert loss == expected
    np.testing.assert_array_equal(grads[LOSSES[name].input_name], expected_grad)


# (loss, scores or pred, labels or target, options, dtype): the loss or the gradient is
# beyond the largest float, or a step on the way is.
OVERFLOWING: list[tuple[str, list[list[float]], object, dict[str, object], type]] = [
    ("multiclass_svm", [[1e308, -1e308, 0.0]], [1], {}, np.float64),  # a loss of 3e308
    ("squared_hinge", [[1e200, 0.0]], [1], {}, np.float64),  # (1e200)**2
    ("multiclass_svm", [[1.0, 0.0, 0.0]], [1], {"margin": 1e308}, np.float64),  # 2e308
    ("squared_hinge", [[1.0, 0.0, 0.0]], [1], {"margin": 1e200}, np.float64),
    ("softmax_cross_entropy", [[1e308, -1e308]], [1], {}, np.float64),  # -log p = 2e308
    ("softmax_cross_entropy", [[1e308, -1e308]], [[0.5, 0.5]], {}, np.float64),  # on the way
    ("softmax_cross_entropy", [[1e308, -1e308]], [0], {"label_smoothing": 0.1}, np.float64),
    ("l2", [[1e308]], [[-1e308]], {}, np.float64),
    ("squared_hinge", [[1e20, 0.0]], [1], {}, np.float32),  # 1e40: beyond float32
    (
        "multiclass_svm",
        [[0.0, 1.5, -1.0]],
        [0],
        {"sample_weight": [1e308], "reduction": "sum"},
        np.float64,
    ),
    # the loss 0.5 * 1e308 is finite, its gradient -2 * 1e308 at the label is not
    (
        "multiclass_svm",
        [[0.0, -0.75, -0.75]],
        [0],
        {"sample_weight": [1e308], "reduction": "sum"},
        np.float64,
    ),
]


@pytest.mark.parametrize(("name", "x", "second", "options", "dtype"), OVERFLOWING)
@pytest.mark.parametrize("implementation", ["function", "naive"])
def test_an_overflowing_loss_or_gradient_is_a_floating_point_error(
    implementation: str,
    name: str,
    x: list[list[float]],
    second: object,
    options: dict[str, object],
    dtype: type,
) -> None:
    function = getattr(LOSSES[name], implementation)
    second = np.array(second, dtype=dtype) if np.ndim(second) == 2 else second
    with pytest.raises(FloatingPointError, match="overflowed") as error:
        function(np.array(x, dtype=dtype), second, **options)
    if implementation == "function":
        message = str(error.value)
        assert name in message
        assert np.dtype(dtype).name in message
        assert LOSSES[name].input_name in message  # the inputs' sizes, to scale them down
        if dtype == np.float32:
            assert "float64" in message


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_finite_inputs_give_the_loop_references_value_or_a_floating_point_error(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(
        loss_calls(name, min_value=-BIGGEST, max_value=BIGGEST, off_kinks=False), label="call"
    )
    try:
        expected_loss, expected_grads = call.naive()
    except FloatingPointError:
        with pytest.raises(FloatingPointError):
            call.one_shot()
        return
    try:
        loss, grads = call.one_shot()
    except FloatingPointError:
        # A step on the way overflowed, where the loops' exact sums did not: allowed only
        # for inputs within a factor 4 C of the largest float (a sum of C such terms).
        assert max_abs(call.x) * 4 * call.x.shape[1] > BIGGEST
        return
    key = call.loss.input_name
    assert_close(loss, expected_loss, rtol=EXTREME_REFERENCE_RTOL, what="loss")
    assert_close(grads[key], expected_grads[key], rtol=EXTREME_REFERENCE_RTOL, what=f"d{key}")
