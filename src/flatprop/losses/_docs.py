"""The parameters the losses share, documented once.

Each loss is documented in its one-shot function's docstring (the staged pair points
there). A line ``{name}`` in that docstring's Parameters section stands for the entry
of ``name`` below; :func:`shared_parameters` writes them in when the module loads
(with :func:`flatprop._docstrings.fill_in`, flatprop's one way of sharing docs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flatprop._docstrings import fill_in

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
    """Fill in each ``{name}`` line of ``function``'s docstring with ``PARAMETERS[name]``."""
    doc = function.__doc__ or ""
    present = {name: text for name, text in PARAMETERS.items() if "{" + name + "}" in doc}
    return fill_in(function, **present)
