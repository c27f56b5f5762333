"""The gradient checks of the demo (the self check behind ``flatprop gradcheck`` and the
staged passes' reports) tell an entry on a kink from a bug (issue 10, item 6)."""

from __future__ import annotations

import numpy as np

from flatprop.demo import self_check
from flatprop.demo.staged import staged_svm, staged_two_layer_softmax, two_layer_inputs
from flatprop.gradcheck import numerical_gradient, rel_error
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
