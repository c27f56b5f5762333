"""Every public function has a docstring example, and every example of the installed
package runs and prints what it says."""

import doctest
import importlib
import importlib.util
import pkgutil
from types import ModuleType
from typing import Any

import pytest

import flatprop
from flatprop import layers, losses
from flatprop.graph import StageGraph, graphviz_available
from flatprop.nets import LinearClassifier, TwoLayerNet

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(flatprop.__path__, prefix="flatprop.")
    if not name.startswith(("flatprop.testing", "flatprop.grading"))
    or importlib.util.find_spec("hypothesis") is not None
)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run_and_print_what_they_claim(module_name: str) -> None:
    module = importlib.import_module(module_name)
    results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.failed == 0


def public_functions(module: ModuleType) -> list[Any]:
    """The functions of a module's ``__all__``: its callables with lower-case names."""
    members = [getattr(module, name) for name in module.__all__ if not name[0].isupper()]
    return [member for member in members if callable(member)]


DOCUMENTED = {
    "flatprop.losses": public_functions(losses),
    "flatprop.layers": public_functions(layers),
    "flatprop.graph": [StageGraph, StageGraph.to_dot, graphviz_available],
    **{
        model.__name__: [model, model.scores, model.loss, model.stages, model.predict, model.train]
        for model in (TwoLayerNet, LinearClassifier)
    },
}


@pytest.mark.parametrize("objects", DOCUMENTED.values(), ids=DOCUMENTED.keys())
def test_every_public_function_and_method_has_a_docstring_example(objects: list[Any]) -> None:
    missing = [obj.__name__ for obj in objects if ">>>" not in (obj.__doc__ or "")]
    assert missing == []
