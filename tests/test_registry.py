"""flatprop.losses.LOSSES agrees with the functions it names, and its readers with it.

The registry states each loss's options, target and gradient key once; the one-shot,
forward and loop functions spell their signatures out again (each a public function with
its own docstring). These tests keep the two in step: a deliberate mirror.
"""

from __future__ import annotations

import inspect
import re
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import flatprop.losses
import flatprop.naive
from flatprop.demo import figures, recipes
from flatprop.losses import LOSSES, PER_CALL_OPTIONS, LossSpec, find_loss
from flatprop.nets import HEADS

ROOT = Path(__file__).resolve().parent.parent
SPECS = list(LOSSES.values())


def each_loss(test: Callable[..., None]) -> Callable[..., None]:
    return pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])(test)


def parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    return list(inspect.signature(function).parameters.values())


def keyword_only(function: Callable[..., Any]) -> list[str]:
    return [p.name for p in parameters(function) if p.kind is inspect.Parameter.KEYWORD_ONLY]


def a_target(spec: LossSpec, num_examples: int, num_classes: int) -> np.ndarray:
    """A second argument of the kind ``spec.target`` says the loss takes."""
    if spec.classification:
        return np.arange(num_examples) % num_classes
    return np.ones((num_examples, num_classes))


@each_loss
def test_one_shot_forward_and_loop_versions_take_exactly_the_same_parameters(
    spec: LossSpec,
) -> None:
    assert parameters(spec.forward) == parameters(spec.function)
    assert parameters(spec.naive) == parameters(spec.function)


@each_loss
def test_the_registry_names_exactly_the_keyword_options_of_the_loss(spec: LossSpec) -> None:
    assert len(set(spec.options)) == len(spec.options)
    assert sorted(keyword_only(spec.function)) == sorted(spec.options + PER_CALL_OPTIONS)


@each_loss
def test_every_option_has_a_default_and_the_first_two_arguments_are_positional(
    spec: LossSpec,
) -> None:
    first, second, *options = parameters(spec.function)
    assert first.name == spec.input_name
    assert first.default is inspect.Parameter.empty
    assert second.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(option.default is not inspect.Parameter.empty for option in options)


@each_loss
def test_backward_takes_the_cache_then_an_upstream_gradient_defaulting_to_one(
    spec: LossSpec,
) -> None:
    cache, dloss = parameters(spec.backward)
    assert cache.name == "cache"
    assert (dloss.name, dloss.default) == ("dloss", 1.0)


def documented(function: Callable[..., Any]) -> set[str]:
    """The names of a numpydoc Parameters section: each line ``name[, name ...] : type``."""
    docstring = inspect.getdoc(function) or ""
    lines = re.findall(r"^(\w[\w, ]*) :", docstring, flags=re.MULTILINE)
    return {name for line in lines for name in line.split(", ")}


@each_loss
def test_the_one_shot_and_backward_docstrings_document_every_parameter(spec: LossSpec) -> None:
    # Each loss writes its own docstrings (the shared entries filled in from losses._docs):
    # this keeps them in step with the signatures. The forward pass points to the one-shot.
    for function in (spec.function, spec.backward):
        assert {p.name for p in parameters(function)} <= documented(function), function


@each_loss
def test_the_registry_names_the_functions_by_their_own_names(spec: LossSpec) -> None:
    assert getattr(flatprop.losses, spec.name) is spec.function
    assert getattr(flatprop.losses, f"{spec.name}_forward") is spec.forward
    assert getattr(flatprop.losses, f"{spec.name}_backward") is spec.backward
    assert getattr(flatprop.naive, spec.name) is spec.naive


@each_loss
def test_the_gradient_is_keyed_by_the_input_name_in_every_version(spec: LossSpec) -> None:
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
    target = a_target(spec, *x.shape)
    _, cache = spec.forward(x, target)
    for grads in (spec.function(x, target)[1], spec.backward(cache), spec.naive(x, target)[1]):
        assert list(grads) == [spec.input_name]
        assert grads[spec.input_name].shape == x.shape


@each_loss
def test_a_classification_loss_takes_labels_and_a_regression_loss_real_targets(
    spec: LossSpec,
) -> None:
    x = np.zeros((2, 3))
    labels = np.array([0, 2])
    if spec.target == "values":
        spec.function(x, np.ones((2, 3)))
        spec.function(x, None)
        with pytest.raises(ValueError, match="target"):
            spec.function(x, labels)
    else:
        spec.function(x, labels)
        if spec.target == "labels or probabilities":
            spec.function(x, np.full((2, 3), 1 / 3))
        else:
            with pytest.raises((ValueError, TypeError), match="y"):
                spec.function(x, np.full((2, 3), 1 / 3))


@each_loss
def test_a_loss_has_a_kink_convention_exactly_when_it_has_a_margin(spec: LossSpec) -> None:
    assert (spec.kink is not None) == spec.has_margin


def test_names_heads_and_titles_are_unique_and_find_loss_finds_each_both_ways() -> None:
    for field in ("name", "head", "title"):
        values = [getattr(spec, field) for spec in SPECS]
        assert len(set(values)) == len(values), field
    for spec in SPECS:
        assert find_loss(spec.name) is spec
        assert find_loss(spec.head) is spec


def test_the_nets_heads_are_the_registrys_losses_in_its_order() -> None:
    assert tuple(spec.head for spec in SPECS) == HEADS


def test_the_training_recipes_offer_every_classification_head_and_only_those() -> None:
    assert set(recipes.HEAD_NAMES) == {spec.head for spec in SPECS if spec.classification}


def test_the_figure_of_the_loss_shapes_draws_every_loss_and_styles_only_known_ones() -> None:
    assert len(figures.loss_shapes([0.0, 1.0])) == len(LOSSES)
    assert set(figures.LINE_STYLES) <= set(LOSSES)


def test_the_benchmarks_have_a_pytorch_baseline_for_every_loss_and_no_other() -> None:
    path = ROOT / "benchmarks" / "run.py"
    if not path.exists():
        pytest.skip("benchmarks/run.py is not part of this installation")
    benchmarks = runpy.run_path(str(path), run_name="flatprop_benchmarks")
    assert set(benchmarks["TORCH_BASELINES"]) == set(LOSSES)
