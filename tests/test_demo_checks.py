"""The gradient checks of the demo (the self check behind ``flatprop gradcheck`` and the
staged passes' reports) tell an entry on a kink from a bug (issue 10, item 6)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from flatprop.demo import self_check
from flatprop.demo.staged import (
    problem_set_svm_inputs,
    staged_svm,
    staged_two_layer_softmax,
    two_layer_inputs,
)
from flatprop.gradcheck import check_gradient, numerical_gradient, rel_error
from flatprop.layers import RELU_KINK
from flatprop.losses import LOSSES
from flatprop.nets import TwoLayerNet
from helpers import REL_ERROR_MATCH

# The slide's table with the frog image's scores changed so that the car's margin for the
# cat image is exactly 0: 2 - 3 + 1 (exact in binary).
W_AT_A_HINGE_KINK = np.array([[3.0, 2.0, -1.0], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])


def test_staged_svm_at_a_hinge_kink_says_kink_not_error() -> None:
    X, y = np.eye(3), np.array([0, 1, 2])
    staged = staged_svm(W_AT_A_HINGE_KINK, X, y)
    # What the report showed before: a relative error of order 1 on dW.
    naive = numerical_gradient(
        lambda W: float(staged_svm(W, X, y)["loss"]), W_AT_A_HINGE_KINK.copy()
    )
    assert rel_error(staged["dW"], naive) > 0.3
    (check,) = staged.checks
    assert check.report.kink_indices == [(0, 0), (0, 1)]  # the cat row: s_cat, s_car
    assert staged.max_relative_error < REL_ERROR_MATCH
    text = staged.report()
    assert "2 on a kink" in text
    assert "not a bug" in text
    assert " ".join(LOSSES["multiclass_svm"].kink.split()) in " ".join(text.split())


def test_staged_two_layer_net_at_a_relu_kink_says_kink_not_error() -> None:
    params, X, y = two_layer_inputs()
    params["b1"][0] = -(X[0] @ params["W1"][:, 0])  # the first ReLU input of X[0] at 0
    staged = staged_two_layer_softmax(params, X, y)
    assert abs(staged["z1"][0, 0]) < 1e-15
    kinks = {check.name: check.kinks for check in staged.checks}
    assert kinks["db1"] >= 1
    assert staged.max_relative_error < REL_ERROR_MATCH
    assert "the ReLU passes no gradient at x = 0" in " ".join(staged.report().split())


def test_staged_reports_without_kinks_say_nothing_of_kinks() -> None:
    params, X, y = two_layer_inputs()
    text = staged_two_layer_softmax(params, X, y, reg=0.05).report()
    assert "kink" not in text


def tiny_first_layer_net() -> tuple[TwoLayerNet, np.ndarray, np.ndarray]:
    """The issue's case: a correct net whose ReLU inputs all lie within h = 1e-5 of 0."""
    net = TwoLayerNet(4, 6, 3, std=1e-6, seed=0)
    rng = np.random.default_rng(0)
    net.params["W2"] = rng.standard_normal((6, 3))
    return net, rng.standard_normal((5, 4)), np.array([0, 1, 2, 0, 1])


def test_the_self_check_passes_a_right_net_on_kinks_and_reports_them_apart() -> None:
    net, X, y = tiny_first_layer_net()
    naive = numerical_gradient(lambda _: float(net.loss(X, y)[0]), net.params["W1"])
    assert rel_error(net.loss(X, y)[1]["W1"], naive) > 0.5  # looked like a bug
    results = self_check.run_checks(self_check.model_cases(net, X, y))
    assert all(result.passed for result in results)
    assert {result.parameter for result in results if result.kinks} == {"W1", "b1"}
    text = self_check.report(results)
    assert "On kinks, not failures" in text
    assert RELU_KINK in text
    assert "All 4 gradients match" in text


def test_the_self_check_still_fails_a_wrong_gradient_on_kinks() -> None:
    net, X, y = tiny_first_layer_net()
    cases = self_check.model_cases(net, X, y)
    wrong = [
        self_check.GradientCase(
            case.group, case.name, case.parameter, lambda case=case: 0.5 * case.analytic(),
            case.check, case.kink,
        )
        for case in cases
        if case.parameter in ("W1", "b1")
    ]  # fmt: skip
    assert not any(result.passed for result in self_check.run_checks(wrong))


def square_case(name: str, factor: float) -> self_check.GradientCase:
    """sum(x**2) at x = (1, 2) with the gradient 2x times ``factor``: by hand, relative
    error |factor - 1| / (factor + 1) on each entry (central differences of a quadratic
    are exact but for rounding, about 1e-11 here)."""
    x = np.array([1.0, 2.0])

    def check(analytic: np.ndarray, tolerance: float):  # type: ignore[no-untyped-def]
        return check_gradient(lambda v: float(np.sum(v**2)), x, analytic, tolerance=tolerance)

    return self_check.GradientCase("x", name, "x", lambda: 2 * x * factor, check)


def test_a_tolerance_below_a_gradients_error_fails_it() -> None:
    case = square_case("2x (1 + 1e-7)", 1 + 1e-7)
    by_hand = 1e-7 / (2 + 1e-7)  # 5e-8
    (loose,) = self_check.run_checks([case], tolerance=1e-7)
    (tight,) = self_check.run_checks([case], tolerance=1e-8)
    assert loose.passed
    assert not tight.passed
    assert tight.relative_error == pytest.approx(by_hand, rel=1e-3)
    text = self_check.report([tight])
    assert text.splitlines()[1].endswith("5.0e-08   FAIL")
    assert text.endswith("1 of 1 gradients FAIL: largest relative error 5.0e-08 > tolerance 1e-08.")


@pytest.mark.parametrize("seed", range(10))
def test_the_self_check_tells_the_truth_for_seeds_0_to_9(seed: int) -> None:
    # Seeds 2, 3, 5, 6, 7 printed rows at 2.6e-04 to 2.2e-03 as "ok", no kink mentioned,
    # and a verdict "largest relative error 2.2e-03 <= 1e-06".
    results = self_check.run_checks(self_check.library_cases(seed=seed))
    text = self_check.report(results)
    assert all(result.passed for result in results), text
    for result in results:
        assert result.relative_error <= result.tolerance, (result, text)
    apart = [result for result in results if result.kinks or result.within_rounding]
    for result in apart:
        if result.kinks:
            assert f"{result.kinks} on kinks" in text
        if result.within_rounding:
            assert f"{result.within_rounding} within rounding" in text
    verdict = text.splitlines()[-1]
    largest = float(re.search(r"largest relative error (\S+) <= tolerance 1e-06", verdict)[1])
    assert largest == pytest.approx(max(result.relative_error for result in results), rel=0.05)
    assert ("listed above" in verdict) == bool(apart)


def test_an_entry_whose_gradient_is_0_is_within_rounding_not_a_kink() -> None:
    # f(v) = (v0 + v1) - v1: df/dv1 = 0 exactly, and f is smooth (no kink anywhere). At
    # v1 = 0.3, f(v + h e_1) and f(v - h e_1) differ by one rounding of v0 + v1 (an ulp
    # of 0.633, 1.11e-16): the central difference is 1.11e-16 / 2e-5 = 5.55e-12, a
    # relative error of 5.55e-4 next to 0 (rel_error's floor 1e-8).
    x = np.array([1 / 3, 0.3])
    report = check_gradient(lambda v: float((v[0] + v[1]) - v[1]), x, [1.0, 0.0])
    assert abs(report.numerical[1]) == pytest.approx(np.spacing(1 / 3 + 0.3) / 2e-5, rel=1e-6)
    assert report.passed
    assert not report.kinks.any()
    assert report.within_rounding.tolist() == [False, True]
    assert report.errors[1] == pytest.approx(5.55e-4, rel=1e-3)
    assert "1 entry beyond the tolerance differs by at most 5.6e-12" in report.describe()
    # A tolerance of 1e-12 times f's size (1/3) is less than that noise: it fails.
    assert not check_gradient(
        lambda v: float((v[0] + v[1]) - v[1]), x, [1.0, 0.0], tolerance=1e-12
    ).passed


def test_a_staged_report_marks_the_tiny_gradients_within_rounding() -> None:
    # The problem set's input: both rows are one image, labelled 0 and 1, so the data
    # gradients cancel and dW = 2 reg W (by hand), entries of 1e-6 next to a loss of ~1:
    # their central differences are rounding noise, a relative error above 1e-6 that the
    # report printed unmarked.
    W, X, y = problem_set_svm_inputs(seed=0)
    staged = staged_svm(W, X, y, reg=5e-6)
    np.testing.assert_allclose(staged["dW"], 2 * 5e-6 * W, rtol=1e-12)
    (check,) = staged.checks
    assert check.relative_error > self_check.TOLERANCE
    assert check.report.passed
    assert int(check.report.within_rounding.sum()) == 3
    text = " ".join(staged.report().split())
    assert "3 within rounding" in text
    assert "dW: 3 of 4 entries beyond the tolerance 1e-06 differ from central" in text
