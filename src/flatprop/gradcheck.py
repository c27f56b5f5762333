"""Numerical gradients, the relative error, and a check that tells a kink from a bug.

These are the tools for checking a backward pass by hand (and what flatprop's own tests
use): perturb one entry of x by +-h, evaluate the function twice, and divide the
difference of the two values by the difference of the two points.

- :func:`numerical_gradient`: the gradient of a scalar function ``f(x)``.
- :func:`numerical_gradient_array`: the gradient of ``sum(f(x) * dout)`` for an
  array-valued layer ``f``, what its backward pass returns for ``x``.
- :func:`rel_error`: the largest entry-wise relative error of two arrays.
- :func:`check_gradient`: a backward pass's gradient against central differences, entry
  by entry, with the entries that lie on a kink (of a ReLU, a hinge) reported apart.

Conventions
-----------
- **The step is relative**: entry k moves by ``h * max(1, |x_k|)``, as in SciPy's
  ``approx_derivative``, so that a large entry (1e12, say) still moves. The quotient
  divides by the distance between the two points *as stored* in x's dtype, not by 2h,
  so that the rounding of ``x +- h`` (large in float32) does not bias the result.
- The error of a central difference is O(h^2) where f is smooth (its truncation) plus
  about ``eps |f| / h`` (the rounding of f): h = 1e-5 suits float64 and about 1e-2 float32.
- Near a **kink** (a ReLU at 0, a hinge's margin at 0) within the step, a central
  difference averages two slopes and says nothing about the derivative at x:
  :func:`check_gradient` finds such entries and does not count them as failures.
- An entry of about 0 next to a large f has a central difference that is rounding
  noise (about ``eps |f| / h``) and a meaningless relative error: :func:`check_gradient`
  reports it apart, **within rounding**, as long as the difference is also within the
  tolerance times ``|f|`` (so a tolerance finer than central differences resolve fails).
- Inputs are checked: x must be a writeable float32 or float64 array (it is perturbed in
  place and restored); f must return a real scalar (or, for the array version, a real
  array of the shape of ``dout``), finite at every point tried.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from flatprop._display import html_table, preview, shape_text, shortened, text_table
from flatprop._validation import FloatArray, as_float_array, as_real_scalar, require_finite

__all__ = [
    "GradientReport",
    "check_gradient",
    "numerical_gradient",
    "numerical_gradient_array",
    "rel_error",
]

DEFAULT_STEP = 1e-5
DEFAULT_TOLERANCE = 1e-6
""":func:`check_gradient`'s default: the largest relative error of an entry that passes."""
REFINEMENTS = 3
"""How many times :func:`check_gradient` divides the step by 10 to look at a failing entry."""
_SHRINKING = 0.2
"""A smooth function's one-sided differences disagree by about ``h |f''|``: a tenth as much at a
tenth of the step. A kink's disagreement is its jump in slope, which does not shrink so: an
entry whose disagreement falls by less than this factor is taken to be on a kink."""
_RESOLUTION = 10
"""A smaller step tells a kink only where its rounding is a tenth of the disagreement."""
_REL_ERROR_FLOOR = 1e-8  # rel_error's floor of |a| + |b|, for entries that are both ~0
EPS = float(np.finfo(np.float64).eps)
ROUNDINGS = 16
"""Roundings of f's size that a value of f may carry (a loss adds up a few dozen terms)."""


# Checks of the arguments


def _check_point(x: object, h: object) -> tuple[np.ndarray, float]:
    """X as a writeable float32/float64 array, and h as a positive step that does not vanish."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"x must be a NumPy array (it is perturbed in place), got {type(x).__name__}"
        )
    if x.dtype.kind != "f":
        raise TypeError(
            f"x must be a floating array (an integer array cannot hold x + h), got dtype {x.dtype}"
        )
    if x.dtype == np.float16:
        raise TypeError(
            "x must be float32 or float64, got float16: with 3 significant digits, a step "
            "small enough for a derivative is lost to rounding (1 + 1e-5 == 1 in float16); "
            "check x.astype(np.float64) with an f that computes in float64"
        )
    if not x.flags.writeable:
        raise ValueError(
            "x must be writeable (it is perturbed in place and restored), got a read-only array"
        )
    step = as_real_scalar(h, "h")  # a TypeError for True, "1e-5", complex, ...
    if step <= 0:
        raise ValueError(f"h must be a positive step, got {h!r}")
    eps = float(np.finfo(x.dtype).eps)
    if step < eps:
        raise ValueError(
            f"h must be at least the {x.dtype} eps {eps:.3g}, got {step!r}: a smaller step "
            f"vanishes relative to x (x + h == x); use about "
            f"{'1e-5 for float64' if x.dtype == np.float64 else '1e-2 for float32'}"
        )
    require_finite(x, "x", advice=None)
    return x, step


def _finite_float64(value: npt.ArrayLike, name: str) -> FloatArray:
    array = as_float_array(value, name, dtype=np.dtype(np.float64), check_finite=False)
    require_finite(array, name, advice=None)
    return array


def _describe_value(value: object) -> str:
    return shortened(repr(value), 60)


def _scalar_value(value: object) -> float:
    """What f returned, as a float; a TypeError naming f for anything but a real scalar."""
    if isinstance(value, tuple):
        raise TypeError(
            f"f must return a real scalar, the loss alone; f returned a tuple of {len(value)} "
            "items: did you forget [0]? (e.g. lambda v: loss_function(v, y)[0])"
        )
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        return float(value.reshape(()))
    is_flag = isinstance(value, bool | np.bool_)
    if isinstance(value, numbers.Real | np.integer | np.floating) and not is_flag:
        return float(value)
    raise TypeError(
        "f must return a real scalar (a float, a NumPy number or a one-element array), "
        f"got {_describe_value(value)} of type {type(value).__name__}"
    )


def _array_value(value: object, shape: tuple[int, ...]) -> FloatArray:
    """What f returned, as a float64 array of ``shape``; an error naming f otherwise."""
    if isinstance(value, tuple) and not all(isinstance(item, numbers.Real) for item in value):
        raise TypeError(
            f"f must return the layer's output array; f returned a tuple of {len(value)} "
            "items: did you forget [0]? (e.g. lambda v: affine_forward(v, w, b)[0])"
        )
    try:
        array = np.asarray(value)
    except ValueError:  # a ragged sequence
        array = np.asarray(None)
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"f must return an array of real numbers, got {_describe_value(value)} "
            f"of type {type(value).__name__}"
        )
    if array.shape != shape:
        raise ValueError(f"dout must have the shape of f(x) {array.shape}, got shape {shape}")
    return array.astype(np.float64, copy=False)


class _Objective:
    """f with its checks: ``value()`` evaluates it at the current x, ``difference`` subtracts.

    For an array-valued f (``dout`` given), the objective is ``sum(f(x) * dout)`` and the
    difference of two evaluations is ``sum((out_a - out_b) * dout)``: the outputs are
    subtracted first, so that two large totals never cancel (CS231n's own recipe).
    """

    def __init__(self, f: Callable[[np.ndarray], Any], x: np.ndarray, dout: FloatArray | None):
        if not callable(f):
            raise TypeError(f"f must be a function of x, got {type(f).__name__}")
        self.f, self.x, self.dout = f, x, dout

    def value(self, where: str) -> Any:
        result = self.f(self.x)
        if self.dout is None:
            number = _scalar_value(result)
            if not np.isfinite(number):
                raise ValueError(f"f must be finite, got {number!r} at {where}")
            return number
        out = _array_value(result, self.dout.shape)
        if not np.isfinite(out).all():
            raise ValueError(f"f must return finite values, got NaN or inf at {where}")
        return out

    def scale(self, value: Any) -> float:
        """The size of f's value that its rounding is relative to."""
        if self.dout is None:
            return abs(float(value))
        return float(np.sum(np.abs(value * self.dout)))

    def difference(self, first: Any, second: Any) -> float:
        if self.dout is None:
            return float(first - second)
        return float(np.sum((first - second) * self.dout))


def _steps(x: np.ndarray, h: float) -> FloatArray:
    """Each entry's step ``h * max(1, |x_k|)``."""
    return h * np.maximum(1.0, np.abs(x.astype(np.float64)))


def _stored(x: np.ndarray, moved: FloatArray) -> FloatArray:
    """``moved`` rounded to x's dtype (what x holds when set to it), as float64."""
    with np.errstate(over="ignore"):
        stored = moved.astype(x.dtype).astype(np.float64)
    if not np.isfinite(stored).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(stored))[0])
        raise ValueError(
            f"x + h overflows {x.dtype} at index {index} (x = {float(x[index])!r}): "
            "x must stay within the float range when moved by its step"
        )
    return stored


@dataclass(frozen=True)
class _Differences:
    """f at x moved by -step and +step along each entry, and the points as stored."""

    plus: list[Any]
    minus: list[Any]
    x_plus: FloatArray
    x_minus: FloatArray


def _evaluate(
    objective: _Objective, h: float, indices: list[tuple[int, ...]], *, level: str = ""
) -> _Differences:
    """Evaluate f at ``x +- h max(1, |x_k|) e_k`` for each index k.

    x is restored after each (also if f raises).
    """
    x = objective.x
    center = x.astype(np.float64)
    steps = _steps(x, h)
    with np.errstate(over="ignore"):  # an x moved out of the float range: _stored says so
        x_plus, x_minus = _stored(x, center + steps), _stored(x, center - steps)
    plus, minus = [], []
    for index in indices:
        original = x[index]
        try:
            x[index] = x_plus[index]
            plus.append(objective.value(f"x + h e_k{level}, index k = {index}"))
            x[index] = x_minus[index]
            minus.append(objective.value(f"x - h e_k{level}, index k = {index}"))
        finally:
            x[index] = original
    return _Differences(plus, minus, x_plus, x_minus)


def _quotients(
    objective: _Objective, moved: _Differences, indices: list[tuple[int, ...]], f_x: Any
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Central, forward and backward differences at ``indices`` (the last two need f(x))."""
    x = objective.x.astype(np.float64)
    central, forward, backward = (np.zeros(len(indices)) for _ in range(3))
    with np.errstate(over="ignore", invalid="ignore"):
        for n, index in enumerate(indices):
            plus, minus = moved.plus[n], moved.minus[n]
            central[n] = objective.difference(plus, minus) / (
                moved.x_plus[index] - moved.x_minus[index]
            )
            if f_x is not None:
                forward[n] = objective.difference(plus, f_x) / (moved.x_plus[index] - x[index])
                backward[n] = objective.difference(f_x, minus) / (x[index] - moved.x_minus[index])
    if not np.isfinite(central).all():
        index = indices[int(np.argmin(np.isfinite(central)))]
        raise ValueError(
            f"the numerical gradient overflows float64 at index {index}: f changes by more "
            "than the float range over the step"
        )
    return central, forward, backward


def _central_differences(objective: _Objective, h: float) -> FloatArray:
    x = objective.x
    indices = list(np.ndindex(x.shape))
    moved = _evaluate(objective, h, indices)
    central, _, _ = _quotients(objective, moved, indices, None)
    return central.reshape(x.shape)


def numerical_gradient(
    f: Callable[[np.ndarray], object], x: np.ndarray, *, h: float = DEFAULT_STEP
) -> FloatArray:
    r"""Gradient of a scalar function by central differences over every entry of ``x``.

    .. math:: \frac{\partial f}{\partial x_k} \approx
        \frac{f(x + s_k e_k) - f(x - s_k e_k)}{2 s_k}, \qquad s_k = h \max(1, |x_k|)

    (dividing by the two points' distance as stored in x's dtype, which is 2 s_k up to
    rounding). ``x`` is perturbed in place, one entry at a time, and restored (also if
    ``f`` raises), so ``f`` may ignore its argument and read ``x`` from elsewhere, e.g.
    ``lambda _: net.loss(X, y)[0]`` with ``x = net.params["W1"]``.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a real scalar: a float, a NumPy number or a one-element array.
    x : ndarray of float32 or float64
        The point; writeable and finite.
    h : float, default 1e-5
        The relative step: entry k moves by ``h * max(1, |x_k|)``. At least the eps of
        x's dtype; with float32 ``x``, use a larger step (around 1e-2) or expect noise.

    Returns
    -------
    grad : ndarray of float64, the shape of ``x``
        ``df/dx``, entry by entry. Near a kink of f within the step, an average of the
        slopes on its two sides: see :func:`check_gradient`.

    Raises
    ------
    TypeError
        If ``x`` is not a float32/float64 NumPy array (float16 is refused: its rounding
        swallows any useful step), ``h`` not a real number, or ``f`` returns anything but
        a real scalar (None, a string, or the ``(loss, grads)`` pair of a loss function:
        "did you forget [0]?").
    ValueError
        If ``x`` is read-only or not finite, ``h`` is not positive or below the eps of
        x's dtype (the step would vanish: ``x + h == x``), or ``f`` returns NaN or inf.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> grad = numerical_gradient(lambda v: np.sum(v ** 2), x)
    >>> print(np.round(grad, 6))  # 2 x
    [2. 4. 6.]
    >>> big = np.array([1e12])  # the step is relative: 1e12 moves by 1e7
    >>> print(numerical_gradient(lambda v: float(np.sum(v ** 2)), big))
    [2.e+12]
    """
    x, step = _check_point(x, h)
    return _central_differences(_Objective(f, x, None), step)


def numerical_gradient_array(
    f: Callable[[np.ndarray], npt.ArrayLike],
    x: np.ndarray,
    dout: npt.ArrayLike,
    *,
    h: float = DEFAULT_STEP,
) -> FloatArray:
    r"""Gradient of ``sum(f(x) * dout)`` by central differences: a backward pass's check.

    For an array-valued layer ``out = f(x)`` and an upstream gradient ``dout`` of the
    shape of ``out``, this is what the layer's backward pass should return as ``dx``:

    .. math:: dx_k \approx \frac{\sum \big(f(x + s_k e_k) - f(x - s_k e_k)\big)
        \odot dout}{2 s_k}, \qquad s_k = h \max(1, |x_k|).

    The two outputs are subtracted *before* they are weighted and summed (as in CS231n's
    ``eval_numerical_gradient_array``): summing first would cancel two large totals and
    lose digits (errors of 5e-9 where 3e-12 is right on CS231n's own checks).

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a real array of the shape of ``dout``.
    x : ndarray of float32 or float64
        The point; perturbed in place and restored.
    dout : array_like
        The upstream gradient; finite.
    h : float, default 1e-5
        The relative step, as in :func:`numerical_gradient`.

    Returns
    -------
    dx : ndarray of float64, the shape of ``x``
        What the layer's backward pass should return for ``x`` given ``dout``.

    Raises
    ------
    TypeError, ValueError
        As :func:`numerical_gradient`; a TypeError if ``f`` returns a tuple (such as a
        forward pass's ``(out, cache)``: "did you forget [0]?") or no real array, and a
        ValueError if ``f(x)`` does not have the shape of ``dout``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[-1.0, 2.0]])
    >>> dx = numerical_gradient_array(lambda v: np.maximum(v, 0), x, np.array([[5.0, 5.0]]))
    >>> print(np.round(dx, 6))  # ReLU passes dout where x > 0
    [[0. 5.]]
    """
    x, step = _check_point(x, h)
    upstream = _finite_float64(dout, "dout")
    return _central_differences(_Objective(f, x, upstream), step)


def rel_error(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Largest relative error between two arrays, ``max |a - b| / max(1e-8, |a| + |b|)``.

    The floor of 1e-8 keeps entries that are both (nearly) zero from dividing by zero.
    The quotient is computed from ``a / 2`` and ``b / 2``, so that entries near the
    float range do not overflow: ``rel_error([1e308], [-1e308])`` is 1.0.

    As a rule of thumb for float64 gradients: below 1e-7 is right; above 1e-4 is a bug,
    *unless* the entries that disagree lie on a kink within the step (a ReLU input or a
    hinge margin within h of 0), where a central difference averages two slopes and any
    error up to 1 can come from a right gradient. Check with :func:`check_gradient`,
    which reports such entries apart, or move the point off the kink.

    Raises
    ------
    ValueError
        If the shapes differ, or an entry is NaN or infinite.

    Examples
    --------
    >>> rel_error([1.0, 2.0], [1.0, 2.0])
    0.0
    >>> print(f"{rel_error([1.0], [1.001]):.2e}")
    5.00e-04
    >>> rel_error([1e308], [-1e308])
    1.0
    """
    first = _finite_float64(a, "a")
    second = _finite_float64(b, "b")
    if first.shape != second.shape:
        raise ValueError(f"a and b must have the same shape, got {first.shape} and {second.shape}")
    if first.size == 0:
        return 0.0
    return float(np.max(_entry_errors(first, second)))


def _entry_errors(first: FloatArray, second: FloatArray) -> FloatArray:
    """``|a - b| / max(1e-8, |a| + |b|)`` entry by entry, from the halves: no overflow."""
    half_a, half_b = first / 2, second / 2  # exact (but for subnormals, far below the floor)
    return np.abs(half_a - half_b) / np.maximum(
        _REL_ERROR_FLOOR / 2, np.abs(half_a) + np.abs(half_b)
    )


# The check that tells a kink from a bug


@dataclass(frozen=True, eq=False)
class GradientReport:
    """What :func:`check_gradient` found: the two gradients, entry by entry, and the kinks.

    Attributes
    ----------
    analytic : ndarray of float64, the shape of x
        The gradient under test (a backward pass's).
    numerical : ndarray of float64, the shape of x
        Central differences with the step ``h``.
    forward, backward : ndarray of float64, the shape of x
        The one-sided differences ``(f(x + s e_k) - f(x)) / s`` and
        ``(f(x) - f(x - s e_k)) / s``: the slopes just right and just left of x.
    rounding : ndarray of float64, the shape of x
        What rounding f can contribute to each central difference, about
        ``eps |f(x)| / s``: a difference within it is noise, not an error.
    kinks : ndarray of bool, the shape of x
        The entries on a kink within the step (see :func:`check_gradient`).
    h : float
        The relative step.
    tolerance : float
        The largest relative error of an entry that passes.

    Examples
    --------
    It prints as its verdict, the two gradients in short, and where the entries that
    fail, lie on a kink or are within rounding are. A ReLU at 0 (central differences
    see half the slope there, the backward pass chose 0):

    >>> import numpy as np
    >>> check_gradient(lambda v: np.maximum(v, 0).sum(), np.array([-1.0, 0.0, 2.0]), [0, 0, 1])
    GradientReport(passed, relative error 0.0e+00 off the kinks, tolerance 1e-06, h=1e-05)
      analytic         (3,) float64  [0 0 1]
      numerical        (3,) float64  [0 0.5 1]
      failures         0 of 3
      on kinks         1 of 3        not counted; at (1,)
      within rounding  0 of 3
    """

    analytic: FloatArray
    numerical: FloatArray
    forward: FloatArray
    backward: FloatArray
    rounding: FloatArray
    kinks: npt.NDArray[np.bool_]
    h: float
    tolerance: float

    @property
    def errors(self) -> FloatArray:
        """Each entry's relative error, as in :func:`rel_error`; 0 on the kinks."""
        return np.where(self.kinks, 0.0, _entry_errors(self.analytic, self.numerical))

    @property
    def relative_error(self) -> float:
        """The largest relative error off the kinks (0 for no entries)."""
        return float(np.max(self.errors, initial=0.0))

    @property
    def rounding_allowance(self) -> FloatArray:
        """The difference up to which an entry beyond the tolerance is put down to rounding.

        :attr:`rounding`, but at most ``tolerance * |f| / max(1, |x_k|)`` (the tolerance
        at the scale of f itself): so a tolerance finer than float64 central differences
        can resolve (about ``ROUNDINGS * eps / h``, 3.6e-10 for h = 1e-5) is not passed
        unseen by the rounding; the entries it cannot confirm fail.
        """
        return _allowance(self.rounding, self.tolerance, self.h)

    @property
    def within_rounding(self) -> npt.NDArray[np.bool_]:
        """The entries off the kinks beyond the tolerance, but within the rounding of f.

        Their relative error exceeds the tolerance, but the difference of the two
        gradients is within what rounding f's values can contribute to a central
        difference (:attr:`rounding_allowance`): typically an entry that is 0, or nearly,
        next to a large f, where central differences return noise of about
        ``eps |f| / h`` and a relative error says nothing. They do not fail.
        """
        within = np.abs(self.analytic - self.numerical) <= self.rounding_allowance
        return (self.errors > self.tolerance) & within

    @property
    def failures(self) -> npt.NDArray[np.bool_]:
        """The entries off the kinks that fail.

        Their relative error exceeds the tolerance, and their difference exceeds what
        rounding f's values can contribute (:attr:`rounding_allowance`).
        """
        beyond_rounding = np.abs(self.analytic - self.numerical) > self.rounding_allowance
        return (self.errors > self.tolerance) & beyond_rounding

    @property
    def kink_indices(self) -> list[tuple[int, ...]]:
        """The indices of the entries on a kink, in row-major order."""
        return [tuple(int(i) for i in index) for index in np.argwhere(self.kinks)]

    @property
    def passed(self) -> bool:
        """Whether every entry off the kinks agrees.

        Within the tolerance, or within the rounding of f's values.
        """
        return not self.failures.any()

    def _display_parts(self) -> tuple[str, list[tuple[str, str, str]]]:
        """The title line (the verdict) and a row (what, shape or count, values) each."""
        verdict = "passed" if self.passed else "FAILED"
        title = (
            f"GradientReport({verdict}, relative error {self.relative_error:.1e} off the "
            f"kinks, tolerance {self.tolerance:g}, h={self.h:g})"
        )
        rows = [
            (name, shape_text(value), preview(value))
            for name, value in (("analytic", self.analytic), ("numerical", self.numerical))
        ]
        size = self.kinks.size
        for what, mask, note in (
            ("failures", self.failures, ""),
            ("on kinks", self.kinks, "not counted; "),
            ("within rounding", self.within_rounding, "not counted; "),
        ):
            indices = [tuple(int(i) for i in index) for index in np.argwhere(mask)]
            where = ", ".join(map(str, indices[:4])) + (", ..." if len(indices) > 4 else "")
            rows.append((what, f"{len(indices)} of {size}", f"{note}at {where}" if indices else ""))
        return title, rows

    def __repr__(self) -> str:
        title, rows = self._display_parts()
        return f"{title}\n{text_table(rows)}"

    def _repr_html_(self) -> str:
        title, rows = self._display_parts()
        return html_table(title, ("", "entries", ""), rows)

    def describe(self, *, kink: str | None = None) -> str:
        """A few lines: the relative error off the kinks, and each kink entry's slopes.

        ``kink`` says which subgradient the backward pass chooses at a kink (e.g. a
        :attr:`flatprop.losses.LossSpec.kink`), shown with the kinks.
        """
        num_kinks = int(self.kinks.sum())
        verdict = "passes" if self.passed else "FAILS"
        lines = [
            f"relative error {self.relative_error:.1e} off the kinks "
            f"({self.kinks.size - num_kinks} of {self.kinks.size} entries): "
            f"{verdict} (tolerance {self.tolerance:g})"
        ]
        num_within = int(self.within_rounding.sum())
        if num_within:
            largest = float(np.max(np.abs(self.analytic - self.numerical)[self.within_rounding]))
            lines.append(
                f"{num_within} {'entry' if num_within == 1 else 'entries'} beyond the "
                f"tolerance {'differs' if num_within == 1 else 'differ'} by at most "
                f"{largest:.1e}, within what rounding f's values contributes (up to "
                f"{float(np.max(self.rounding_allowance)):.1e}), not counted as failures: "
                "gradients of about 0 next to a large f, where a relative error says nothing"
            )
        if num_kinks:
            lines.append(
                f"{num_kinks} {'entry lies' if num_kinks == 1 else 'entries lie'} on a kink "
                f"within the step h = {self.h:g}, not counted: the slopes left and right of "
                "x differ, and the backward pass's value lies between them (a subgradient)"
                + (f"; at a kink, {kink}" if kink else "")
            )
            for index in self.kink_indices[:3]:
                lines.append(
                    f"  at {index}: backward pass {self.analytic[index]:.6g}, slope left "
                    f"{self.backward[index]:.6g}, right {self.forward[index]:.6g}"
                )
            if num_kinks > 3:
                lines.append(f"  ... and {num_kinks - 3} more")
        return "\n".join(lines)


def _between(value: float, left: float, right: float, tolerance: float) -> bool:
    """Whether ``value`` lies within [left, right] (either order), give or take the tolerance."""
    slack = tolerance * max(_REL_ERROR_FLOOR, abs(left) + abs(right))
    return min(left, right) - slack <= value <= max(left, right) + slack


def check_gradient(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    analytic: npt.ArrayLike,
    *,
    dout: npt.ArrayLike | None = None,
    h: float = DEFAULT_STEP,
    tolerance: float = DEFAULT_TOLERANCE,
) -> GradientReport:
    """Check a gradient against central differences, telling the kinks from the bugs.

    Each entry of ``analytic`` is compared with the central difference of f along that
    entry of x (as :func:`numerical_gradient`, or :func:`numerical_gradient_array` when
    ``dout`` is given). An entry that disagrees beyond ``tolerance`` (and beyond what
    rounding f can contribute, about ``eps |f(x)| / h``: see below) is looked at more
    closely, with the step divided by 10, again and again (``REFINEMENTS`` times, down
    to h / 1000):

    - if the central difference with a smaller step agrees, the disagreement came from a
      kink that the step h straddled: a **kink** entry;
    - if the one-sided differences (the slopes just left and just right of x) still
      disagree by about as much as with the step h (a smooth function's disagree by
      about ``h |f''|``, which shrinks with the step; a kink's by its jump in slope, which does
      not), and the analytic value lies between them (a subgradient): a **kink**;
    - otherwise, a disagreement that does not go away as the step shrinks: a **bug**.

    Kink entries are reported apart and do not fail the check: at a kink, the backward
    pass chooses one subgradient (flatprop's ReLU and hinges choose 0), and no numerical
    gradient can confirm or refute that choice. The other entries pass if their relative
    error (as in :func:`rel_error`) is at most ``tolerance``, or if the two gradients
    differ by no more than rounding f's values can contribute to a central difference
    (``GradientReport.within_rounding``, reported apart): an entry of about 0 next to a
    large f, where central differences return noise of about ``eps |f| / h`` and the
    relative error of two near-zeros says nothing. That allowance is capped at
    ``tolerance * |f| / max(1, |x_k|)``, so that a tolerance finer than central
    differences resolve in float64 (about 4e-10 with h = 1e-5) is not met by rounding:
    the entries it cannot confirm fail.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a real scalar; with ``dout``, a real array of its shape.
    x : ndarray of float32 or float64
        The point; perturbed in place and restored.
    analytic : array_like, the shape of x
        The gradient to check, e.g. a backward pass's.
    dout : array_like, optional
        The upstream gradient of an array-valued f (checks ``sum(f(x) * dout)``).
    h : float, default 1e-5
        The relative step, as in :func:`numerical_gradient`.
    tolerance : float, default 1e-6
        The largest relative error of an entry that passes; positive and finite. As a
        rule of thumb for float64: a right gradient is within 1e-7 of central differences
        off the kinks; above 1e-4 off the kinks is a bug. Below about 1e-9, expect
        right gradients to fail: central differences cannot confirm them so finely.

    Returns
    -------
    GradientReport
        ``passed``, ``relative_error`` (off the kinks), ``kinks`` and
        ``within_rounding`` (masks), ``describe()`` for a few lines of text; printed,
        the verdict and where the failures, kinks and entries within rounding are.

    Raises
    ------
    TypeError, ValueError
        As :func:`numerical_gradient`; a ValueError if ``analytic`` does not have the
        shape of x or is not finite, or ``tolerance`` is not positive and finite.

    Examples
    --------
    A ReLU at exactly 0: the backward pass passes no gradient there (the subgradient 0),
    central differences see half a slope. The entry is a kink, not a failure:

    >>> import numpy as np
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> report = check_gradient(lambda v: np.maximum(v, 0).sum(), x, [0.0, 0.0, 1.0])
    >>> report.numerical
    array([0. , 0.5, 1. ])
    >>> report.kink_indices, report.passed
    ([(1,)], True)

    A wrong gradient stays a failure:

    >>> check_gradient(lambda v: np.sum(v ** 2), np.array([1.0, 2.0]), [2.0, 5.0]).passed
    False
    """
    x, step = _check_point(x, h)
    tolerance = as_real_scalar(tolerance, "tolerance")
    if tolerance <= 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
    upstream = None if dout is None else _finite_float64(dout, "dout")
    expected = _finite_float64(analytic, "analytic")
    if expected.shape != x.shape:
        raise ValueError(f"analytic must have the shape of x {x.shape}, got shape {expected.shape}")
    objective = _Objective(f, x, upstream)
    f_x = objective.value("x")
    indices = list(np.ndindex(x.shape))
    moved = _evaluate(objective, step, indices)
    central, forward, backward = _quotients(objective, moved, indices, f_x)
    rounding = _rounding(objective, f_x, moved.x_plus - moved.x_minus).reshape(-1)
    allowance = _allowance(rounding, tolerance, step)
    flat_expected = expected.reshape(-1)
    kinks = np.zeros(len(indices), dtype=bool)
    beyond_rounding = np.abs(flat_expected - central) > allowance
    failing = np.flatnonzero((_entry_errors(flat_expected, central) > tolerance) & beyond_rounding)
    if failing.size:
        kinks[failing] = _on_kinks(
            objective,
            step,
            [indices[n] for n in failing],
            flat_expected[failing],
            central_at_h=central[failing],
            spread=np.abs(forward[failing] - backward[failing]),
            f_x=f_x,
            tolerance=tolerance,
        )
    return GradientReport(
        analytic=expected,
        numerical=central.reshape(x.shape),
        forward=forward.reshape(x.shape),
        backward=backward.reshape(x.shape),
        rounding=rounding.reshape(x.shape),
        kinks=kinks.reshape(x.shape),
        h=step,
        tolerance=tolerance,
    )


def _rounding(objective: _Objective, f_x: Any, span: FloatArray) -> FloatArray:
    """Bound what rounding f's values can contribute to a quotient over ``span``.

    ``ROUNDINGS`` roundings of f's size, twice (two evaluations), over the span.
    """
    return 2 * ROUNDINGS * EPS * objective.scale(f_x) / np.abs(span)


def _allowance(rounding: FloatArray, tolerance: float, h: float) -> FloatArray:
    """``rounding``, capped at ``tolerance * |f| / max(1, |x_k|)``.

    ``rounding`` is ``2 ROUNDINGS eps |f| / span`` with the span ``2 h max(1, |x_k|)``:
    the cap is ``rounding`` times ``tolerance h / (ROUNDINGS eps)``.
    """
    return rounding * min(1.0, tolerance * h / (ROUNDINGS * EPS))


def _on_kinks(
    objective: _Objective,
    h: float,
    indices: list[tuple[int, ...]],
    analytic: FloatArray,
    *,
    central_at_h: FloatArray,
    spread: FloatArray,
    f_x: Any,
    tolerance: float,
) -> npt.NDArray[np.bool_]:
    """For entries that fail with the step h: which lie on a kink (see check_gradient)."""
    kinks = np.zeros(len(indices), dtype=bool)
    disagreement = np.abs(analytic - central_at_h)
    undecided = list(range(len(indices)))
    for refinement in range(1, REFINEMENTS + 1):
        if not undecided:
            break
        step = h / 10**refinement
        subset = [indices[n] for n in undecided]
        moved = _evaluate(objective, step, subset, level=f" (step h / {10**refinement})")
        central, forward, backward = _quotients(objective, moved, subset, f_x)
        spans = np.array([moved.x_plus[index] - moved.x_minus[index] for index in subset])
        rounding = _rounding(objective, f_x, spans)
        still_undecided = []
        for m, n in enumerate(undecided):
            if _RESOLUTION * rounding[m] > disagreement[n]:
                continue  # this step's rounding hides the disagreement: it stays a failure
            new_spread = abs(forward[m] - backward[m])
            difference = abs(analytic[n] - central[m])
            agrees = difference <= rounding[m] or (
                _entry_errors(np.array(analytic[n]), np.array(central[m])) <= tolerance
            )
            stays = new_spread > max(_SHRINKING * spread[n], 2 * rounding[m])
            if agrees or (stays and _between(analytic[n], backward[m], forward[m], tolerance)):
                kinks[n] = True
            else:
                spread[n] = new_spread
                still_undecided.append(n)
        undecided = still_undecided
    return kinks
