"""Tools for testing and grading code against flatprop; they need Hypothesis.

Install them with ``pip install "flatprop[test]"`` (from a clone of the repository:
``pip install ".[test]"``); the rest of flatprop does not
need Hypothesis, and ``import flatprop`` does not import this subpackage.

Modules and functions
---------------------
strategies
    Composite Hypothesis strategies that draw score matrices with labels, probability
    targets, weights, regression problems, and the inputs of a linear classifier's
    and a two-layer net's loss, with options for shapes, dtypes, value ranges and
    the kinks.
check_loss_layer, check_linear_loss, check_two_layer_loss
    Graders for the three contracts of CS231n-style assignments:
    ``fn(scores, y) -> (loss, dscores)``, ``fn(W, X, y, reg) -> (loss, dW)`` and
    ``fn(params, X, y, reg) -> (loss, grads)``. Each compares the candidate with
    flatprop's reference on inputs drawn by Hypothesis and raises an
    ``AssertionError`` showing the smallest input on which it is wrong, and the known
    mistake that reproduces its outputs, when one does.
check_staged_linear_loss, check_staged_two_layer_loss
    The same contracts staged ("flat backprop"): ``fn`` returns a dict of its named
    stages, checked one by one, forward then backward.
check_layer_pair
    CS231n's layer pairs, ``affine_forward``/``affine_backward`` and
    ``relu_forward``/``relu_backward``, checked together.
net_loss
    A class-based net (``net.params``, ``net.loss(X, y)``) as the function
    :func:`check_two_layer_loss` checks.
mistakes
    The catalogue of known mistakes that a failure is diagnosed with.
CheckReport, CheckFailedError
    What the checkers return on success and raise on failure.

Notes
-----
A checker runs a Hypothesis search of its own, deterministic (derandomized, or
seeded with ``seed=``) and without an example database. Call it from a plain test
function or script: inside a ``@given`` test, Hypothesis refuses the nested search
unless that test suppresses ``HealthCheck.nested_given``. Hypothesis itself may
cache constants that it reads in local source files under ``.hypothesis/``
(``HYPOTHESIS_STORAGE_DIRECTORY`` moves it).
"""

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "flatprop.testing needs Hypothesis, which is not installed: "
        'pip install "flatprop[test]"  (from a clone of the repository: pip install ".[test]")',
        name="hypothesis",
    ) from error

from flatprop.testing import mistakes, strategies
from flatprop.testing._calls import net_loss
from flatprop.testing._checkers import check_linear_loss, check_loss_layer, check_two_layer_loss
from flatprop.testing._layers import check_layer_pair
from flatprop.testing._report import CheckFailedError, CheckReport
from flatprop.testing._staged import check_staged_linear_loss, check_staged_two_layer_loss

CheckFailedError.__module__ = CheckReport.__module__ = __name__  # their public home

__all__ = [
    "CheckFailedError",
    "CheckReport",
    "check_layer_pair",
    "check_linear_loss",
    "check_loss_layer",
    "check_staged_linear_loss",
    "check_staged_two_layer_loss",
    "check_two_layer_loss",
    "mistakes",
    "net_loss",
    "strategies",
]
