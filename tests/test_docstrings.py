"""Docstrings written once and shared are put in whole, on every Python version.

Python 3.13 strips the common indentation of a docstring when it compiles it; earlier
versions keep it. A shared section must land at its placeholder's indentation either way.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re

import pytest

import flatprop
from flatprop._docstrings import fill_in

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(flatprop.__path__, prefix="flatprop.")
    if ".testing" not in name or importlib.util.find_spec("hypothesis") is not None
)
PLACEHOLDER = re.compile(r"^\s*\{\w+\}\s*$", flags=re.MULTILINE)


@pytest.mark.parametrize("module_name", MODULES)
def test_no_docstring_keeps_a_placeholder_line(module_name: str) -> None:
    module = importlib.import_module(module_name)
    left = [
        name
        for name, member in inspect.getmembers(module)
        if PLACEHOLDER.search(getattr(member, "__doc__", None) or "")
        and getattr(member, "__module__", None) == module_name
    ]
    assert left == []


SECTION = """
    x : int
        A number.
"""


def a_function_with_doc(doc: str) -> object:
    def function() -> None:
        pass

    function.__doc__ = doc
    return function


@pytest.mark.parametrize(
    ("placeholder_indent", "expected"),
    [
        ("    ", "Summary.\n\n    x : int\n        A number.\n    "),  # as Python <= 3.12 keeps it
        ("", "Summary.\n\nx : int\n    A number.\n"),  # as Python 3.13 compiles it
    ],
)
def test_a_section_takes_the_indentation_of_its_placeholder(
    placeholder_indent: str, expected: str
) -> None:
    tail = "\n    " if placeholder_indent else "\n"
    function = a_function_with_doc(f"Summary.\n\n{placeholder_indent}{{shared}}{tail}")
    assert fill_in(function, shared=SECTION).__doc__ == expected


def test_a_missing_placeholder_is_an_error_naming_it() -> None:
    function = a_function_with_doc("Summary.\n")
    with pytest.raises(ValueError, match=r"\{shared\}"):
        fill_in(function, shared=SECTION)
