"""The parameters the losses share, documented once.

Each loss is documented in its one-shot function's docstring (the staged pair points
there). A line ``{name}`` in that docstring's Parameters section stands for the entry
of ``name`` below; :func:`shared_parameters` writes them in when the module loads.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import TypeVar

Function = TypeVar("Function", bound=Callable[..., object])

PARAMETERS = {
    "margin": """
margin : float, default 1.0
    The margin Delta by which the correct class's score must beat every other.""",
    "weight": """
weight : array_like, shape (C,), optional
    Non-negative per-class weights (PyTorch's name); example i is weighted by
    ``weight[y[i]]``. Any scale: a mean does not depend on it.""",
    "sample_weight": """
sample_weight : array_like, shape (N,), optional
    Non-negative per-example weights (scikit-learn's name). Example i's weight is
    ``omega_i = sample_weight[i] * weight[y[i]]`` (a factor left out where not given);
    an example of weight 0 does not count, whatever its inputs.""",
    "reduction": """
reduction : {"mean", "sum", "none"}, default "mean"
    ``"mean"`` is ``sum_i omega_i L_i / sum_i omega_i`` (the mean over N examples
    when unweighted), ``"sum"`` is ``sum_i omega_i L_i``, and ``"none"`` returns the
    (N,) vector ``omega_i L_i``, whose gradient the one-shot call gives for its sum.""",
    "dloss": """
dloss : float or array_like of shape (N,), default 1.0
    The upstream gradient of the loss (1, for the loss itself); an (N,) array only
    with ``reduction="none"``, one entry per example.""",
    "check_finite": """
check_finite : bool, default True
    Refuse NaN and +-inf in the input before any computation. With False the caller
    takes responsibility for them (SciPy's convention).""",
}


def shared_parameters(function: Function) -> Function:
    """Replace each ``{name}`` line of ``function``'s docstring by ``PARAMETERS[name]``."""
    lines = []
    for line in (function.__doc__ or "").splitlines():
        name = line.strip()
        if name.startswith("{") and name.endswith("}"):
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(textwrap.indent(PARAMETERS[name[1:-1]].strip("\n"), indent))
        else:
            lines.append(line)
    function.__doc__ = "\n".join(lines)
    return function
