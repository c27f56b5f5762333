"""How a check calls what it checks when that is more than one function: adapters.

- :func:`layer_pair`: a CS231n layer pair ``forward(*inputs) -> (out, cache)`` and
  ``backward(dout, cache) -> grads`` as one call ``pair(*inputs, dout)``, which also
  says whether the backward pass wrote into the cache;
- :func:`net_loss`: a class-based net (``net.params``, ``net.loss(X, y)``) as the
  function ``fn(params, X, y, reg) -> (loss, grads)``.

An adapter runs the candidate's code, so it runs where the candidate runs: in the
caller's process for a function object, in the worker process for a target. The
worker of :mod:`flatprop.grading` loads this file by its path (it imports nothing of
flatprop), so it needs the standard library and NumPy alone; the forward pass's cache
never leaves the process it was made in.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["layer_pair", "net_loss"]

_UNCOMPARED = object()  # a part of a cache that could not be copied


def layer_pair(forward: Callable[..., Any], backward: Callable[..., Any]) -> Callable[..., Any]:
    """``pair(*inputs, dout)``: the forward pass on the inputs, then the backward on dout.

    Returns a dict: ``out`` and ``grads`` as the two passes returned them, and
    ``cache_written``, a sentence saying where the backward pass wrote into the cache
    (None if it did not); or ``{"forward_returned": value}`` when the forward pass did
    not return a pair ``(out, cache)``.
    """

    def pair(*arguments: Any) -> dict[str, Any]:
        *inputs, dout = arguments
        returned = forward(*inputs)
        if not isinstance(returned, tuple | list) or len(returned) != 2:
            return {"forward_returned": returned}
        out, cache = returned
        before = _copy(cache)
        grads = backward(dout, cache)
        return {"out": out, "grads": grads, "cache_written": _first_change("cache", before, cache)}

    return pair


def net_loss(make_net: Callable[..., Any]) -> Callable[..., Any]:
    """A class-based two-layer net as the function ``fn(params, X, y, reg) -> (loss, grads)``.

    What :func:`check_two_layer_loss` checks is a function; CS231n's nets are classes
    whose ``loss`` reads the parameters from ``self.params``. For each call, the
    adapter builds a net with ``make_net(D, H, C)`` (CS231n's
    ``TwoLayerNet(input_size, hidden_size, output_size)`` and ``TwoLayerNet(input_dim,
    hidden_dim, num_classes)`` take their sizes in this order, and so does
    :class:`flatprop.nets.TwoLayerNet`), sets its ``params`` to copies of the drawn ones,
    and returns ``net.loss(X, y, reg=reg)``. A ``loss`` with no ``reg`` parameter
    (assignment 2's, which reads ``self.reg``) is called as ``net.loss(X, y)`` after
    ``net.reg = reg``.

    Parameters
    ----------
    make_net : callable
        The net's class, or any callable ``(D, H, C) -> net``.

    Returns
    -------
    callable
        ``fn(params, X, y, reg) -> (loss, grads)``, named ``"<class>.loss"``.

    Notes
    -----
    To run a class of a submitted file in a worker process, give the checker the target
    ``"path/to/file.py:TwoLayerNet.loss"``: the same adapter runs there. Assignment 2's
    nets regularize with ``0.5 * reg * sum(W**2)``: check them with ``reg_scale=0.5``.

    Examples
    --------
    >>> from flatprop.nets import TwoLayerNet
    >>> from flatprop.testing import check_two_layer_loss
    >>> fn = net_loss(TwoLayerNet)
    >>> fn.__name__
    'TwoLayerNet.loss'
    >>> check_two_layer_loss(fn, "softmax", max_examples=10).examples_passed
    10
    """

    def loss(params: Mapping[str, Any], X: Any, y: Any, reg: float) -> Any:
        input_size, hidden_size = np.shape(params["W1"])
        num_classes = np.shape(params["W2"])[1]
        net = make_net(input_size, hidden_size, num_classes)
        net.params = {name: np.array(value, copy=True) for name, value in params.items()}
        method = net.loss
        try:
            takes_reg = "reg" in inspect.signature(method).parameters
        except (TypeError, ValueError):
            takes_reg = True
        if takes_reg:
            return method(X, y, reg=reg)
        net.reg = reg
        return method(X, y)

    loss.__name__ = loss.__qualname__ = f"{getattr(make_net, '__name__', 'net')}.loss"
    return loss


class _Attributes(dict[str, Any]):
    """The attributes of an object in a cache, copied."""


def _copy(value: Any, depth: int = 0) -> Any:
    """A copy of a cache to compare it with after the backward pass (what can be copied)."""
    if depth > 8:
        return _UNCOMPARED
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple | list):
        items = [_copy(item, depth + 1) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {key: _copy(item, depth + 1) for key, item in value.items()}
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return _Attributes({key: _copy(item, depth + 1) for key, item in vars(value).items()})
    try:
        return copy.deepcopy(value)  # a number, a string: never written into
    except Exception:
        return _UNCOMPARED


def _first_change(name: str, before: Any, after: Any) -> str | None:
    """Where ``after`` differs from the copy ``before``, in a sentence; None if nowhere."""
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or after.shape != before.shape:
            return f"{name} was replaced by something else"
        changed = np.argwhere(~((after == before) | (np.isnan(after) & np.isnan(before))))
        if not len(changed):
            return None
        index = tuple(int(i) for i in changed[0])
        where = f"{name}[{', '.join(map(str, index))}]" if index else name
        return (
            f"{where} was {before[index]!r} after the forward pass and is {after[index]!r} "
            f"after the backward pass ({len(changed)} of {before.size} entries changed)"
        )
    if isinstance(before, _Attributes):
        current = getattr(after, "__dict__", None)
        if not isinstance(current, dict) or list(current) != list(before):
            return f"{name} had its attributes changed"
        parts = [(f"{name}.{key}", item, current[key]) for key, item in before.items()]
    elif isinstance(before, dict):
        if not isinstance(after, dict) or list(after) != list(before):
            return f"{name} had its entries changed"
        parts = [(f"{name}[{key!r}]", item, after[key]) for key, item in before.items()]
    elif isinstance(before, tuple | list):
        if not isinstance(after, tuple | list) or len(after) != len(before):
            return f"{name} had its entries changed"
        parts = [(f"{name}[{index}]", item, after[index]) for index, item in enumerate(before)]
    else:
        return None  # a number, a string, or what could not be copied
    for part, item_before, item_after in parts:
        change = _first_change(part, item_before, item_after)
        if change is not None:
            return change
    return None
