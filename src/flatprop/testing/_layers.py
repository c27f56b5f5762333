"""The checker of CS231n's layer pairs: a forward pass and its backward pass, together.

CS231n's assignments ask for each layer as two functions, ``layer_forward(...) -> (out,
cache)`` and ``layer_backward(dout, cache) -> grads``, the cache being the student's
own object. :func:`check_layer_pair` runs them as one call, forward then backward on
the drawn ``dout``, and compares ``out`` and the gradients with
:mod:`flatprop.layers`'s. The cache stays where the pair runs: for a target, in the
worker process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flatprop.layers import affine_backward, affine_forward, relu_backward, relu_forward
from flatprop.testing import _arrays
from flatprop.testing._arrays import Size
from flatprop.testing._calls import layer_pair
from flatprop.testing._checkers import DEFAULT_MAX_EXAMPLES
from flatprop.testing._draws import (
    KINK_GAP,
    KINK_GRID,
    Common,
    _on_the_grid,
    dimension,
    largest,
    smallest,
)
from flatprop.testing._engine import Contract, Target, run_candidate, run_check
from flatprop.testing._extras import InputSpace, diagnostic_inputs
from flatprop.testing._outputs import LayerOutputs
from flatprop.testing._report import CheckReport, value_summary
from flatprop.testing._variants import layer_variants

__all__ = ["AffineProblem", "ReluProblem", "check_layer_pair"]

LAYERS = ("affine", "relu")
_MAX_DIMENSION = 3  # the largest d_i of x (N, d1, ..., dk)
_RELU_NOTE = (
    "On this input an entry of x is exactly 0 (the ReLU's kink). flatprop takes the "
    "subgradient 0 there: dx = dout * (x > 0). (An assignment that takes another "
    "subgradient checks with include_kinks=False.)"
)


class AffineProblem(NamedTuple):
    """The inputs of an affine pair: x (N, d1, ..., dk), w (D, M), b (M,), dout (N, M)."""

    x: npt.NDArray[np.floating]
    w: npt.NDArray[np.floating]
    b: npt.NDArray[np.floating]
    dout: npt.NDArray[np.floating]


class ReluProblem(NamedTuple):
    """The inputs of a ReLU pair: x (N, d1, ..., dk) and dout of its shape."""

    x: npt.NDArray[np.floating]
    dout: npt.NDArray[np.floating]


@st.composite
def _pair_problems(
    draw: st.DrawFn,
    layer: str,
    *,
    num_examples: Size,
    num_dims: Size,
    num_outputs: Size,
    dtype: np.dtype,
    min_value: float,
    max_value: float,
    grid: float | None = None,
) -> AffineProblem | ReluProblem:
    values = _arrays.array_entries(dtype, min_value, max_value, grid)
    n = draw(_arrays.size_range(num_examples, "num_examples", minimum=1))
    k = draw(_arrays.size_range(num_dims, "num_dims", minimum=1))
    dims = tuple(draw(st.integers(1, _MAX_DIMENSION)) for _ in range(k))
    if layer == "relu":
        x_values = values if grid is not None else values.filter(lambda v: abs(v) > KINK_GAP)
        x = draw(hnp.arrays(dtype, (n, *dims), elements=x_values))
        return ReluProblem(x, draw(hnp.arrays(dtype, x.shape, elements=values)))
    m = draw(_arrays.size_range(num_outputs, "num_outputs", minimum=1))
    d = int(np.prod(dims))
    return AffineProblem(
        draw(hnp.arrays(dtype, (n, *dims), elements=values)),
        draw(hnp.arrays(dtype, (d, m), elements=values)),
        draw(hnp.arrays(dtype, (m,), elements=values)),
        draw(hnp.arrays(dtype, (n, m), elements=values)),
    )


def _reference(layer: str) -> Callable[..., dict[str, Any]]:
    """Flatprop's layer pair, returning what the adapter of a candidate's pair returns."""
    if layer == "affine":

        def affine(x: Any, w: Any, b: Any, dout: Any) -> dict[str, Any]:
            out, cache = affine_forward(x, w, b)
            grads = affine_backward(dout, cache)
            return {
                "out": out,
                "grads": (grads["x"], grads["w"], grads["b"]),
                "cache_written": None,
            }

        return affine

    def relu(x: Any, dout: Any) -> dict[str, Any]:
        out, cache = relu_forward(x)
        return {"out": out, "grads": relu_backward(dout, cache)["x"], "cache_written": None}

    return relu


def _admissible(layer: str, common: Common) -> Callable[[dict[str, Any]], bool]:
    """Whether the checker could have drawn an input: in range, x off 0 unless on the grid."""

    def admissible(inputs: dict[str, Any]) -> bool:
        arrays = list(inputs.values())
        if any(np.any((a < common.min_value) | (a > common.max_value)) for a in arrays):
            return False
        if layer == "affine":
            return True
        x = inputs["x"]
        near = np.any(np.abs(x) <= KINK_GAP)
        return not near or (common.include_kinks and _on_the_grid(inputs))

    return admissible


def _probe(layer: str, num_examples: Size, num_dims: Size, common: Common) -> dict[str, Any]:
    """An input tried first: a ReLU's x with exact zeros; an affine x of 2 extra axes."""
    n = smallest(num_examples)
    k = min(max(smallest(num_dims), 2), largest(num_dims))
    shape = (n, *([2] * k))
    low, high_value = common.kink_bounds
    values = np.resize(np.arange(low, high_value + KINK_GRID, KINK_GRID), int(np.prod(shape)))
    x = values.reshape(shape).astype(common.dtype)
    if layer == "relu":
        x.flat[0] = 0
        return {"x": x, "dout": np.ones(shape, common.dtype)}
    d = int(np.prod(shape[1:]))
    return {
        "x": x,
        "w": np.resize(values[::-1], (d, 2)).astype(common.dtype),
        "b": np.zeros(2, common.dtype),
        "dout": np.ones((n, 2), common.dtype),
    }


def _pair_candidate(
    forward: Any, backward: Any
) -> tuple[Callable[..., Any] | Target, tuple[str, str]]:
    """What runs the pair (in this process, or a target's worker) and the two names."""
    if isinstance(forward, str) or isinstance(backward, str):
        if not (isinstance(forward, str) and isinstance(backward, str)):
            raise TypeError(
                "check_layer_pair: forward and backward must both be functions or both be "
                f"targets 'path/to/file.py:function', got {value_summary(forward)} and "
                f"{value_summary(backward)}"
            )
        from flatprop.grading._runner import parse_target  # a target's grammar

        try:
            (forward_file, forward_name), (backward_file, backward_name) = (
                parse_target(forward),
                parse_target(backward),
            )
        except ValueError as error:
            raise ValueError(f"check_layer_pair: {error}") from None
        if Path(forward_file).resolve() != Path(backward_file).resolve():
            raise ValueError(
                "check_layer_pair: forward and backward must be in the same file (they run "
                f"in one worker process, which keeps the cache), got {forward!r} and "
                f"{backward!r}"
            )
        return Target(forward, ("pair", forward_name, backward_name)), (
            forward_name,
            backward_name,
        )
    for name, function in (("forward", forward), ("backward", backward)):
        if not callable(function):
            raise TypeError(
                f"check_layer_pair: {name} must be a function or a target "
                f"'path/to/file.py:function', got {value_summary(function)}"
            )
    names = tuple(
        name if isinstance(name, str) and name.isidentifier() else default
        for name, default in (
            (getattr(forward, "__name__", ""), "forward"),
            (getattr(backward, "__name__", ""), "backward"),
        )
    )
    return layer_pair(forward, backward), (names[0], names[1])


def check_layer_pair(
    forward: Callable[..., Any] | str,
    backward: Callable[..., Any] | str,
    layer: str,
    *,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = None,
    dtype: npt.DTypeLike = np.float64,
    rtol: float | None = None,
    atol: float | None = None,
    num_examples: Size = (1, 4),
    num_dims: Size = (1, 3),
    num_outputs: Size = (1, 4),
    min_value: float = -5.0,
    max_value: float = 5.0,
    include_kinks: bool = True,
    quantities: Sequence[str] | None = None,
    timeout: float | None = None,
    memory: int | None = None,
) -> CheckReport:
    """Check a CS231n layer pair, forward and backward, against :mod:`flatprop.layers`.

    The contracts are CS231n's: for ``"affine"``, ``affine_forward(x, w, b) -> (out,
    cache)`` with x of shape (N, d1, ..., dk), w (D, M) where D = d1 * ... * dk, b (M,)
    and out = x.reshape(N, D) w + b, and ``affine_backward(dout, cache) -> (dx, dw, db)``,
    dx of x's shape; for ``"relu"``, ``relu_forward(x) -> (out, cache)`` and
    ``relu_backward(dout, cache) -> dx``. Each drawn input is run as one call: the
    forward pass, then the backward pass on its own cache and the drawn ``dout``.
    Neither may write into its arguments, ``dout`` or the cache (which may be any
    object; a copy of its arrays, tuples, lists, dicts and attributes is compared after
    the backward pass).

    Parameters
    ----------
    forward, backward : callable or str
        The two functions, or two targets ``"path/to/file.py:function"`` naming
        functions of one file (they then run in one worker process, which keeps the
        cache: it never comes back to this process).
    layer : {"affine", "relu"}
        Which pair.
    max_examples : int, default 100
        How many inputs to draw.
    seed : int, optional
        Draw another deterministic sequence of inputs.
    dtype : {float64, float32}, default float64
        The dtype of the drawn arrays.
    rtol, atol : float, optional
        Tolerances, as for the other checkers; by default those of the dtype.
    num_examples, num_dims, num_outputs : int or (int, int), default (1, 4), (1, 3), (1, 4)
        N, the number k of axes of x after the first (each of length 1 to 3), and M
        (affine only): fixed, or drawn from an inclusive range.
    min_value, max_value : float, default -5.0 and 5.0
        The range of the drawn values.
    include_kinks : bool, default True
        Also draw a ReLU's x on a grid of halves, with entries exactly 0, where the
        reference's gradient is 0 (``dx = dout * (x > 0)``).
    quantities : list of str, optional
        Compare only these outputs: ``"out"``, ``"dx"``, ``"dw"``, ``"db"``.
    timeout, memory : optional
        For targets: seconds per call and MiB of the worker, as for the other checkers.

    Returns
    -------
    CheckReport
        When the pair matched on every example.

    Raises
    ------
    CheckFailedError
        With the smallest failing input: a wrong ``out`` or gradient, a gradient of the
        wrong shape (``dx`` not reshaped to x's shape: ``diagnosis`` "dx_not_reshaped"),
        a write into x, w, b, ``dout`` or the cache (``kind`` "mutation", ``diagnosis``
        "writes_input"), an exception.
    ValueError, TypeError
        For an unknown layer, bad options, a target that is not one, or targets in two
        files.

    Notes
    -----
    CS231n's loss functions ``svm_loss(x, y)`` and ``softmax_loss(x, y) -> (loss, dx)``
    are :func:`check_loss_layer`'s contract, with x the scores.

    Examples
    --------
    >>> import numpy as np
    >>> def relu_forward(x):
    ...     return np.maximum(0, x), x
    >>> def relu_backward(dout, cache):
    ...     dout[cache <= 0] = 0  # writes into dout
    ...     return dout
    >>> try:
    ...     check_layer_pair(relu_forward, relu_backward, "relu", max_examples=20)
    ... except AssertionError as error:
    ...     print(error.kind, error.quantity, error.diagnosis)
    mutation dout writes_input
    """
    __tracebackhide__ = True
    if not isinstance(layer, str) or layer not in LAYERS:
        raise ValueError(
            f"check_layer_pair: layer must be one of {', '.join(map(repr, LAYERS))}, got {layer!r}"
        )
    candidate, names = _pair_candidate(forward, backward)
    sizes = {"num_examples": num_examples, "num_dims": num_dims, "num_outputs": num_outputs}
    common = Common.checked(
        "check_layer_pair",
        max_examples=max_examples,
        seed=seed,
        dtype=dtype,
        rtol=rtol,
        atol=atol,
        min_value=min_value,
        max_value=max_value,
        include_kinks=include_kinks,
        sizes=sizes,
    )
    argument_names = ("x", "w", "b", "dout") if layer == "affine" else ("x", "dout")
    outputs = LayerOutputs(layer, *names, argument_names[:-1])
    admissible = _admissible(layer, common)

    def problems(**bounds: Any) -> st.SearchStrategy[Any]:
        return _pair_problems(
            layer,
            num_examples=num_examples,
            num_dims=num_dims,
            num_outputs=num_outputs,
            dtype=common.dtype,
            **bounds,
        ).filter(lambda problem: admissible(problem._asdict()))

    drawn = problems(min_value=common.min_value, max_value=common.max_value)
    if layer == "relu" and include_kinks:
        low, high = common.kink_bounds
        drawn = drawn | problems(min_value=low, max_value=high, grid=KINK_GRID)
    probe = _probe(layer, num_examples, num_dims, common)
    problem = AffineProblem if layer == "affine" else ReluProblem
    dimensions = [dimension("N", num_examples, (("x",), 0), (("dout",), 0))]
    if layer == "affine":
        dimensions.append(dimension("M", num_outputs, (("w",), 1), (("b",), 0), (("dout",), 1)))
    space_sizes = {"N": num_examples, "k": num_dims} | (
        {"M": num_outputs} if layer == "affine" else {}
    )

    def check(candidate: Any) -> CheckReport:
        contract = Contract(
            checker="check_layer_pair",
            argument_names=argument_names,
            gradient_name="grads",
            quantities=("out", *outputs.gradients),
            problems=drawn,
            reference=_reference(layer),
            reference_description=f"flatprop.layers.{layer}_forward and {layer}_backward",
            kink_note=lambda inputs: (
                _RELU_NOTE if layer == "relu" and np.any(inputs["x"] == 0) else None
            ),
            rtol=common.rtol,
            atol=common.atol,
            dimensions=tuple(dimensions),
            admissible=admissible,
            probes=(problem(**probe),) if admissible(probe) else (),
            outputs=outputs,
            variants=layer_variants(layer),
            diagnostic_inputs=diagnostic_inputs(
                InputSpace(
                    layer,
                    space_sizes,
                    common.dtype,
                    (common.min_value, common.max_value),
                    admissible,
                    kink_range=common.kink_bounds if include_kinks else None,
                    probes=(probe,),
                )
            ),
        )
        return run_check(contract, candidate, max_examples=common.max_examples, seed=common.seed)

    return run_candidate(
        "check_layer_pair",
        candidate,
        check,
        quantities=quantities,
        timeout=timeout,
        memory=memory,
    )
