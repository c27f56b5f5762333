"""The problem set's table (the CS231n slide) and its questions a-e, worked by hand.

Scores per example, as (cat, car, frog), with labels cat, car, frog:

=========  =====  =====  =====
example      cat    car   frog
=========  =====  =====  =====
1 (cat)      3.2    5.1   -1.7
2 (car)      1.3    4.9    2.0
3 (frog)     2.2    2.5   -3.1
=========  =====  =====  =====

SVM losses (margin 1): 2.9, 0 and 12.9.
"""

import numpy as np
import pytest

from flatprop import losses, naive
from helpers import HAND_RTOL

SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
LABELS = np.array([0, 1, 2])  # cat, car, frog
SLIDE_LOSSES = [2.9, 0.0, 12.9]


@pytest.mark.parametrize("svm", [losses.multiclass_svm, naive.multiclass_svm])
def test_the_slide_table_of_svm_losses(svm: object) -> None:
    # 1: max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0
    # 2: max(0, 1.3 - 4.9 + 1) + max(0, 2.0 - 4.9 + 1) = 0 + 0
    # 3: max(0, 2.2 + 3.1 + 1) + max(0, 2.5 + 3.1 + 1) = 6.3 + 6.6
    per_example, _ = svm(SCORES, LABELS, reduction="none")  # type: ignore[operator]
    np.testing.assert_allclose(per_example, SLIDE_LOSSES, rtol=HAND_RTOL, atol=HAND_RTOL)
    mean, _ = svm(SCORES, LABELS)  # type: ignore[operator]
    assert mean == pytest.approx((2.9 + 0 + 12.9) / 3, rel=HAND_RTOL)  # 5.27 on the slide


def test_the_slide_gradient_counts_the_active_margins() -> None:
    # Each active margin adds +1 to its class and -1 to the label's class.
    _, grads = losses.multiclass_svm(SCORES, LABELS, reduction="sum")
    expected = [[-1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, -2.0]]
    np.testing.assert_array_equal(grads["scores"], expected)


def test_question_a_changing_the_car_scores_a_bit() -> None:
    # Example 2 (car) keeps a loss of 0: its margins are met with room to spare. In
    # examples 1 and 3 the car margin is active, so their losses move with the change.
    change = 0.05
    nudged = SCORES.copy()
    nudged[:, 1] += change
    per_example, _ = losses.multiclass_svm(nudged, LABELS, reduction="none")
    expected = [2.9 + change, 0.0, 12.9 + change]
    np.testing.assert_allclose(per_example, expected, rtol=HAND_RTOL, atol=HAND_RTOL)


def test_question_b_scores_near_zero_give_c_minus_one() -> None:
    small = np.full((3, 3), 1e-9) * np.arange(9).reshape(3, 3)
    per_example, _ = losses.multiclass_svm(small, LABELS, reduction="none")
    np.testing.assert_allclose(per_example, 3 - 1, rtol=1e-8)


def test_question_c_summing_over_all_classes_adds_the_margin() -> None:
    # The j = y_i term is max(0, s_y - s_y + 1) = 1 for every example.
    all_classes = np.maximum(0, SCORES - SCORES[np.arange(3), LABELS][:, np.newaxis] + 1).sum(1)
    per_example, _ = losses.multiclass_svm(SCORES, LABELS, reduction="none")
    np.testing.assert_allclose(all_classes, per_example + 1, rtol=HAND_RTOL)


def test_question_d_the_mean_is_the_sum_over_n() -> None:
    mean, mean_grads = losses.multiclass_svm(SCORES, LABELS, reduction="mean")
    total, total_grads = losses.multiclass_svm(SCORES, LABELS, reduction="sum")
    assert mean == pytest.approx(total / 3, rel=HAND_RTOL)
    np.testing.assert_allclose(mean_grads["scores"], total_grads["scores"] / 3, rtol=HAND_RTOL)


def test_question_e_the_squared_hinge_squares_each_margin() -> None:
    per_example, _ = losses.squared_hinge(SCORES, LABELS, reduction="none")
    expected = [2.9**2, 0.0, 6.3**2 + 6.6**2]
    np.testing.assert_allclose(per_example, expected, rtol=HAND_RTOL, atol=HAND_RTOL)
