"""Public signatures written out twice on purpose, kept in step.

Each public function keeps its own explicit signature and docstring (what a reader and a
type checker see), so functions of one family spell out the same options again. These
tests fail when one of them drifts from the others.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

from flatprop.nets import LinearClassifier, TwoLayerNet
from flatprop.testing import (
    check_layer_pair,
    check_linear_loss,
    check_loss_layer,
    check_staged_linear_loss,
    check_staged_two_layer_loss,
    check_two_layer_loss,
)
from flatprop.testing._checkers import _Shared
from flatprop.testing.strategies import linear_problems, two_layer_problems

CHECKERS = (check_loss_layer, check_linear_loss, check_two_layer_loss)
# Each staged checker spells out the signature of the checker whose contract it stages.
STAGED = {
    check_staged_linear_loss: check_linear_loss,
    check_staged_two_layer_loss: check_two_layer_loss,
}
# What every checker takes for a target, beside the options of _Shared.
TARGET_OPTIONS = ("quantities", "timeout", "memory")
# Options whose defaults differ on purpose: the sizes and value ranges of each contract.
CONTRACT_DEFAULTS = {"num_features", "num_hidden", "num_classes", "min_value", "max_value"}


def keyword_options(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return {
        name: parameter
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def without_wrapping(function: Callable[..., Any]) -> Callable[..., Any]:
    return getattr(function, "hypothesis_inner_test", None) or getattr(
        function, "__wrapped__", function
    )


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda checker: checker.__name__)
def test_every_checker_takes_the_shared_options_with_the_same_annotations(
    checker: Callable[..., Any],
) -> None:
    options = keyword_options(checker)
    reference = keyword_options(check_loss_layer)
    for name in _Shared._fields:
        assert options[name].annotation == reference[name].annotation, name
        if name not in CONTRACT_DEFAULTS:
            assert options[name].default == reference[name].default, name


@pytest.mark.parametrize("staged", STAGED, ids=lambda checker: checker.__name__)
def test_each_staged_checker_takes_exactly_the_options_of_the_checker_it_stages(
    staged: Callable[..., Any],
) -> None:
    assert inspect.signature(staged) == inspect.signature(STAGED[staged])


def test_the_layer_pair_checker_takes_the_shared_and_target_options_like_the_others() -> None:
    options = keyword_options(check_layer_pair)
    reference = keyword_options(check_loss_layer)
    for name in (*_Shared._fields, *TARGET_OPTIONS):
        assert options[name].annotation == reference[name].annotation, name
        if name not in CONTRACT_DEFAULTS:
            assert options[name].default == reference[name].default, name


def test_the_two_model_checkers_take_the_same_options_but_the_hidden_size() -> None:
    linear = keyword_options(check_linear_loss)
    two_layer = keyword_options(check_two_layer_loss)
    assert set(two_layer) - set(linear) == {"num_hidden"}
    assert set(linear) <= set(two_layer)
    for name, parameter in linear.items():
        assert parameter.annotation == two_layer[name].annotation, name
        if name not in CONTRACT_DEFAULTS:
            assert parameter.default == two_layer[name].default, name


@pytest.mark.parametrize(
    "checker", [*CHECKERS, *STAGED, check_layer_pair], ids=lambda checker: checker.__name__
)
def test_each_checker_documents_every_option_it_takes(checker: Callable[..., Any]) -> None:
    docstring = inspect.getdoc(checker) or ""  # indented alike on every Python (3.13 dedents)
    documented = {
        name
        for line in re.findall(r"^(\w[\w, ]*) :", docstring, flags=re.MULTILINE)
        for name in line.split(", ")
    }
    assert set(keyword_options(checker)) <= documented


def test_the_two_model_strategies_take_the_same_options_but_the_hidden_layers() -> None:
    linear = inspect.signature(without_wrapping(linear_problems)).parameters
    two_layer = inspect.signature(without_wrapping(two_layer_problems)).parameters
    assert set(two_layer) - set(linear) == {"num_hidden", "avoid_relu_kinks"}
    assert set(linear) <= set(two_layer)
    for name, parameter in linear.items():
        assert parameter.annotation == two_layer[name].annotation, name
        assert parameter.kind == two_layer[name].kind, name
        if name not in CONTRACT_DEFAULTS:
            assert parameter.default == two_layer[name].default, name


def test_the_two_nets_take_the_same_options_but_their_own() -> None:
    linear = inspect.signature(LinearClassifier).parameters
    two_layer = inspect.signature(TwoLayerNet).parameters
    assert set(linear) - set(two_layer) == {"bias"}
    assert set(two_layer) - set(linear) == {"hidden_size"}
    for name in set(linear) & set(two_layer) - {"head"}:  # head: "svm" vs "softmax"
        assert linear[name] == two_layer[name], name
