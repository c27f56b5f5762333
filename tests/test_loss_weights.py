"""The weight words, from the argument to the cache: ``weight`` is per class,
``sample_weight`` per example, and example i's weight ``example_weight[i]`` is
``sample_weight[i] * weight[y[i]]``.

The expected values are worked by hand for WEIGHT, SAMPLE_WEIGHT and LABELS below.
"""

from __future__ import annotations

import numpy as np
import pytest

from flatprop.losses import LOSSES, LossSpec

WEIGHT = np.array([1.0, 2.0, 3.0])  # per class
SAMPLE_WEIGHT = np.array([0.5, 1.0, 2.0])  # per example
LABELS = np.array([0, 2, 2])
# sample_weight[i] * weight[y[i]]: 0.5 * 1, 1 * 3, 2 * 3
EXAMPLE_WEIGHT = np.array([0.5, 3.0, 6.0])
CLASSIFICATION = [spec for spec in LOSSES.values() if spec.classification]
REGRESSION = [spec for spec in LOSSES.values() if not spec.classification]


def each(specs: list[LossSpec]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("spec", specs, ids=[spec.name for spec in specs])


@each(CLASSIFICATION)
def test_a_classification_cache_keeps_weight_sample_weight_and_their_product(
    spec: LossSpec,
) -> None:
    _, cache = spec.forward(
        np.zeros((3, 3)), LABELS, weight=WEIGHT.tolist(), sample_weight=SAMPLE_WEIGHT.tolist()
    )
    np.testing.assert_array_equal(cache.weight, WEIGHT)
    np.testing.assert_array_equal(cache.sample_weight, SAMPLE_WEIGHT)
    np.testing.assert_array_equal(cache.example_weight, EXAMPLE_WEIGHT)


@each(CLASSIFICATION)
def test_with_class_weights_alone_an_examples_weight_is_its_labels_weight(
    spec: LossSpec,
) -> None:
    _, cache = spec.forward(np.zeros((3, 3)), LABELS, weight=WEIGHT)
    assert cache.sample_weight is None
    np.testing.assert_array_equal(cache.example_weight, [1.0, 3.0, 3.0])


@each(list(LOSSES.values()))
def test_an_unweighted_cache_holds_none_for_every_weight(spec: LossSpec) -> None:
    target = LABELS if spec.classification else np.ones((3, 3))
    _, cache = spec.forward(np.zeros((3, 3)), target)
    assert cache.sample_weight is None
    assert cache.example_weight is None
    assert getattr(cache, "weight", None) is None


@each(REGRESSION)
def test_a_regression_cache_has_no_class_weights_and_its_example_weight_is_sample_weight(
    spec: LossSpec,
) -> None:
    _, cache = spec.forward(np.zeros((3, 2)), np.ones((3, 2)), sample_weight=SAMPLE_WEIGHT)
    assert not hasattr(cache, "weight")
    np.testing.assert_array_equal(cache.sample_weight, SAMPLE_WEIGHT)
    np.testing.assert_array_equal(cache.example_weight, SAMPLE_WEIGHT)


def test_with_probability_targets_an_examples_weight_is_its_sample_weight() -> None:
    spec = LOSSES["softmax_cross_entropy"]
    targets = np.full((3, 3), 1 / 3)
    _, cache = spec.forward(np.zeros((3, 3)), targets, weight=WEIGHT, sample_weight=SAMPLE_WEIGHT)
    np.testing.assert_array_equal(cache.weight, WEIGHT)
    np.testing.assert_array_equal(cache.example_weight, SAMPLE_WEIGHT)


@each(CLASSIFICATION)
def test_the_mean_divides_the_sum_by_the_total_example_weight(spec: LossSpec) -> None:
    scores = np.array([[1.0, -0.5, 0.25], [0.0, 2.0, -1.0], [0.5, 0.5, 3.0]])
    options = {"weight": WEIGHT, "sample_weight": SAMPLE_WEIGHT}
    total, _ = spec.function(scores, LABELS, reduction="sum", **options)
    mean, _ = spec.function(scores, LABELS, reduction="mean", **options)
    assert total / mean == pytest.approx(EXAMPLE_WEIGHT.sum(), rel=1e-12)  # 9.5
