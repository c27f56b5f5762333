"""Docstring sections that several functions share, written once and put in their place."""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["fill_in"]

F = TypeVar("F", bound=Callable[..., Any])


def fill_in(function: F, **sections: str) -> F:
    r"""Replace each line ``{name}`` of the docstring of ``function`` by ``sections[name]``.

    A section is written indented as in a function's docstring; it is re-indented to
    the placeholder's own indentation: Python 3.13 strips the common indentation of
    docstrings when it compiles them, earlier versions keep it.

    Parameters
    ----------
    function : callable
        The function whose ``__doc__`` has the placeholders, each alone on its line.
    **sections : str
        The text that replaces the placeholder of each name.

    Returns
    -------
    callable
        ``function``, its docstring filled in (so that this can serve as a decorator).

    Raises
    ------
    ValueError
        If the docstring has no placeholder for one of ``sections``.

    Examples
    --------
    >>> def f():
    ...     pass
    >>> f.__doc__ = "Summary.\n\n  {shared}\n"
    >>> print(fill_in(f, shared="    x : int\n        A number.").__doc__.rstrip())
    Summary.
    <BLANKLINE>
      x : int
          A number.
    """
    doc = function.__doc__ or ""
    for name, text in sections.items():
        section = textwrap.dedent(text.strip("\n"))
        placeholder = re.compile(rf"^([ \t]*)\{{{name}\}}[ \t]*$", flags=re.MULTILINE)
        if not placeholder.search(doc):
            raise ValueError(f"the docstring of {function.__qualname__} has no {{{name}}} line")
        doc = placeholder.sub(functools.partial(_indent_as_placeholder, section), doc)
    function.__doc__ = doc
    return function


def _indent_as_placeholder(section: str, placeholder: re.Match[str]) -> str:
    return textwrap.indent(section, placeholder[1])
