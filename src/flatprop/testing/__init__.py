"""Tools for testing code against flatprop: Hypothesis strategies for its inputs.

This subpackage needs Hypothesis (``pip install "flatprop[test]"``); the rest of
flatprop does not, and ``import flatprop`` does not import it.

Modules
-------
strategies
    Composite strategies that draw score matrices with labels, probability targets,
    weights and regression problems, with options for shapes, dtypes, value ranges
    and staying off the kinks of the hinge losses.
"""

from flatprop.testing import strategies

__all__ = ["strategies"]
