"""What the tests share: their tolerances, comparisons, fresh interpreters and text parsing.

Every tolerance of the suite is defined here once, under a name that says what it
bounds and a comment that says where its value comes from; a test file imports the
names it needs. The losses as data (the calls that Hypothesis draws) are in
``loss_cases.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# Tolerances

EPS = float(np.finfo(np.float64).eps)  # the relative rounding error of one float64 operation
ROUNDINGS_ALLOWED = 16  # roundings a first-order error bound allows per term: a few, and room
EXACT = 0.0  # no tolerance: the values are small integers divided by 16, exact in binary

# The same real number computed by another order of float64 operations (a loop and a
# matrix product, a sum and a mean, two equivalent formulas): a few ulps per term over a
# few dozen terms, far below 1e-12 relative.
REORDERED_RTOL = 1e-12
# Hand values written in decimals (2.9, 12.9, 0.5476) that are not exact binary numbers:
# the float64 computation differs from them by a few ulps.
HAND_RTOL = 1e-14
# A result with an error of a few roundings at most, against a 50-60 digit reference.
HIGH_PRECISION_RTOL = 1e-15
UNIFORM_LOSS_RTOL = 4 * EPS  # log C computed from all-equal scores: a few roundings
# flatprop.naive's loops, relative to the largest entry (at least 1): Python floats, and
# log/exp of other (equal in real arithmetic) arguments than the vectorized code's.
REFERENCE_RTOL = 1e-10
# The loops and the vectorized code summing terms of order 1e300 in other orders.
EXTREME_REFERENCE_RTOL = 1e-14
TORCH_RTOL = 1e-10  # float64 on both sides, summed in different orders
# float32 against float64 on the same inputs, relative to the largest float64 entry:
# float32's eps is 1.2e-7, and a loss or gradient entry adds up a few dozen roundings.
FLOAT32_RTOL = 1e-5
# A drawn row of probabilities (masses divided by their sum, then cast to the dtype) sums
# to 1 within a few roundings of its dtype.
ROW_SUM_RTOL = {np.float64: 1e-12, np.float32: 1e-5}

# Numerical gradients: central differences (flatprop.gradcheck) with step STEP have a
# truncation error O(STEP**2) = 1e-10 times the third derivative, and a rounding error of
# about EPS * |f| / STEP.
STEP = 1e-5  # the step h, flatprop.gradcheck's default
GRADIENT_RTOL = 1e-6  # a loss's gradient, relative to its largest entry (at least 1)
CENTRAL_DIFFERENCE_RTOL = 1e-8  # central differences of smooth functions with |f'''| <= 6
TRUNCATION_ERROR = 1e-10  # STEP**2 / 6 times |f'''| <= 6 for the functions of test_gradcheck
LAYER_GRADIENT_RTOL = 1e-6  # a linear (or piecewise linear) layer: only rounding remains
LAYER_GRADIENT_ATOL = 1e-8
NET_GRADIENT_RTOL = 1e-5  # a model's loss: a chain of layers and a loss, in float64
NET_GRADIENT_ATOL = 1e-7  # rounding noise EPS * loss / STEP on entries whose gradient is ~0
KINK_DISTANCE = 1e-3  # far more than STEP: a step moves a kink's argument by < 2e-4
KINK_GAP = 1e-3  # flatprop.testing.strategies' default kink_gap
# CS231n's FullyConnectedNets notebook prints 3.3e-12 (relu_backward) and 1e-10 .. 8e-12
# (affine_backward) for its seed-231 checks; a numerical gradient that subtracts the
# outputs first stays below this.
CS231N_NOTEBOOK_REL_ERROR = 1e-10
# float32 points x +- h rounded: for a quadratic the quotient over the stored points is
# x_plus + x_minus = 2x up to two float32 roundings of x (1.2e-7 each).
FLOAT32_STEP_RTOL = 3e-7
# rel_error below which a float64 gradient is right: flatprop.gradcheck.rel_error's rule
# of thumb (CS231n's: 1e-7 and less, "you should be happy").
REL_ERROR_MATCH = 1e-7

# What the grading kit calls equal by default in float64 (flatprop.testing's checkers).
CHECKER_RTOL = 1e-7
CHECKER_ATOL = 1e-9

# Printed numbers read back: the examples print the hand-derived values' exact digits.
PRINTED_ATOL = 1e-9
DIGITS_ACCURACY_FLOOR = 0.97  # the target held-out accuracy on the digits
SPIRAL_TWO_LAYER_FLOOR = 0.9  # the spiral is nearly separable by a small ReLU net
SPIRAL_LINEAR_CEILING = 0.75  # and far from it by straight lines (3 classes: chance 1/3)
# Every head's defaults (flatprop.demo.recipes.default_settings) train to at least this
# held-out accuracy on the default split: the two-layer net nearly fits both sets (0.97 -
# 0.99 measured); the linear classifier reaches 0.93 - 0.96 on the digits and, on the
# spiral, clearly more than chance (1/3, where a diverged run ends): 0.43 - 0.67 measured.
HEAD_DEFAULTS_FLOOR = {
    ("digits", "two-layer"): 0.95,
    ("spiral", "two-layer"): 0.9,
    ("digits", "linear"): 0.9,
    ("spiral", "linear"): 0.4,
}


# Comparisons


def max_abs(values: Any) -> float:
    """The largest absolute entry, 0 for an empty array."""
    return float(np.max(np.abs(values), initial=0.0))


def assert_close(
    actual: Any, expected: Any, *, rtol: float, slack: float = 0.0, what: str = ""
) -> None:
    """Entries agree to ``rtol`` relative to the largest entry of ``expected``, or to 1.

    That is ``|actual - expected| <= rtol * max(1, max |expected|) + slack`` entry by
    entry, with ``slack`` an absolute allowance (a numerical gradient's rounding error).
    Entry-wise relative error is the wrong measure where an entry is a difference of
    nearly equal numbers (a softmax gradient ``p - a``, with p and a of order 1): the
    error is judged against the scale of the whole result, and at least against 1, the
    order of the terms that cancel. (The tiny losses of confident rows are checked
    entry by entry against high-precision references in test_losses_extreme.py.)
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, max_abs(expected))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale + slack, err_msg=what)


def read_only(array: Any) -> np.ndarray:
    """A read-only copy of ``array``."""
    array = np.array(array)
    array.flags.writeable = False
    return array


# Models by hand


def hinge_margins(scores: np.ndarray, y: np.ndarray, margin: float = 1.0) -> np.ndarray:
    """``s_j - s_y + margin`` for every j != y, flattened: the arguments of the hinge's kinks."""
    rows = np.arange(len(y))
    margins = scores - scores[rows, y][:, np.newaxis] + margin
    return np.delete(margins.ravel(), rows * scores.shape[1] + y)


def two_layer_forward(params: dict[str, np.ndarray], X: np.ndarray) -> tuple[np.ndarray, ...]:
    """The two-layer forward pass in plain NumPy: the pre-activations z1 and the scores."""
    z1 = X @ params["W1"] + params["b1"]
    return z1, np.maximum(z1, 0) @ params["W2"] + params["b2"]


# Fresh interpreters


def run_python(
    *arguments: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python ARGUMENTS`` in a fresh interpreter (this one's), its output captured as text."""
    return subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def with_this_path() -> dict[str, str]:
    """The environment, with this interpreter's ``sys.path`` as PYTHONPATH: a fresh
    interpreter (or a pytest it runs) then imports this flatprop and the tests' helpers."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def hide(module: str) -> str:
    """Python code that makes ``import module`` fail, as if it were not installed."""
    return f"import sys; sys.modules[{module!r}] = None; "


# Printed text


def numbers_after(label: str, text: str) -> list[float]:
    """The numbers on the line that starts (after spaces) with ``label``."""
    for line in text.splitlines():
        if line.strip().startswith(label):
            rest = line.strip()[len(label) :]
            return [float(token) for token in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", rest)]
    raise AssertionError(f"no line starting with {label!r} in:\n{text}")


def relative_errors(text: str) -> list[float]:
    """Every number printed after "relative error"."""
    return [float(value) for value in re.findall(r"relative error ([0-9.e+-]+)", text)]


def failing_input_code(error: BaseException) -> str:
    """The input block of a checker's failure message, ending with the call of the candidate."""
    block = str(error).split("The smallest failing input found:\n\n")[1].split("\n\n")[0]
    return textwrap.dedent(block)


def failing_input(error: BaseException) -> dict[str, Any]:
    """Run the input block of a checker's failure message, without the call; its variables."""
    code = failing_input_code(error).splitlines()[:-1]
    namespace: dict[str, Any] = {}
    exec("\n".join(code), namespace)
    return {name: value for name, value in namespace.items() if not name.startswith("__")}
