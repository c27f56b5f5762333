"""Every docstring example of the installed package runs and prints what it says."""

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import flatprop

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


def test_every_public_loss_has_a_docstring_example() -> None:
    from flatprop import losses

    missing = [
        name
        for name in losses.__all__
        if callable(getattr(losses, name))
        and not name[0].isupper()
        and ">>>" not in (getattr(losses, name).__doc__ or "")
    ]
    assert missing == []
