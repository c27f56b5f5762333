r"""The catalogue of known mistakes that a failed check is diagnosed with.

When a check fails, the checker runs the candidate on a few more inputs chosen to tell
the mistakes apart (N > 1, ``reg > 0``, margins and ReLU inputs exactly at 0, rows of
scores far apart, more than one active margin per row), and tries each known mistake
of its contract: flatprop's reference with that one thing done wrong. A mistake is
named only if it reproduces the candidate's outputs, every compared output, on every
input tried (the failing one and the extra ones); its id is then
:attr:`CheckFailedError.diagnosis <flatprop.testing.CheckFailedError>`, and the report
says so, with what the outputs have in common with the reference:

.. code-block:: text

    This matches a known mistake, reg_gradient_missing_2: regularization gradient reg·W
    instead of 2·reg·W. On all 8 inputs tried, the loss is right; dW - reference = -reg·W.

When none matches (or more than one does), ``diagnosis`` is None and the report states
an exact relation between the candidate's output and the reference's when one holds on
every input tried: a constant ratio (``-1``: the sign), a ratio of N, C or N·C, a
constant offset, a transposition, the right values in the wrong shape, or, on the
failing input, a single wrong row or column; for a model, a regularization part k times
the reference's with the rest right.

The ids are part of the API: they stay, and a new mistake gets a new id.

.. list-table:: The known mistakes
   :header-rows: 1
   :widths: 30 50 20

   * - id
     - mistake
     - diagnosed by the checks of

   * - ``no_mean``
     - loss and gradient summed over the batch, not averaged
     - loss layers, linear, two-layer
   * - ``gradient_not_averaged``
     - the loss averaged over N but the gradient not (or the reverse)
     - loss layers, linear, two-layer
   * - ``mean_over_classes``
     - divided by N·C (or by C) instead of N
     - loss layers, linear, two-layer
   * - ``target_in_hinge_sum``
     - the hinge sum includes j = y_i: each example's loss gains the margin (and,
       vectorized, its gradient a term)
     - hinge losses
   * - ``kink_counted``
     - a margin of exactly 0 counted as active (``>=`` at the kink)
     - multiclass SVM
   * - ``global_max``
     - the softmax shifted by the batch's maximum, not each row's
     - softmax
   * - ``no_max_shift``
     - the softmax without any maximum subtracted (overflows)
     - softmax
   * - ``target_not_subtracted``
     - the softmax gradient p instead of p - onehot(y)
     - softmax
   * - ``gradient_sign``
     - the gradient's sign flipped (its data part, or all of it)
     - every loss
   * - ``reg_gradient_missing_2``
     - regularization gradient reg·W instead of 2·reg·W
     - linear, two-layer
   * - ``half_reg``
     - the 0.5·reg·ΣW² convention where the check expects another, reg·ΣW² by default
       (check with ``reg_scale=0.5`` if 0.5·reg·ΣW² is the assignment's)
     - linear, two-layer
   * - ``full_reg``
     - the reg·ΣW² convention where the check expects another, 0.5·reg·ΣW² with
       ``reg_scale=0.5`` (check with the default ``reg_scale=1`` if reg·ΣW² is the
       assignment's)
     - linear, two-layer
   * - ``reg_missing``
     - regularization missing from the loss, the gradient, or both
     - linear, two-layer
   * - ``bias_regularized``
     - biases regularized
     - two-layer
   * - ``pre_relu_forward``
     - the pre-ReLU activations z1 fed to the second layer
     - two-layer
   * - ``relu_mask_wrong``
     - the ReLU's backward masks with the wrong array (dout) or the wrong inequality (``>=
       0``), or not at all
     - two-layer, ``relu`` pair
   * - ``squared_hinge_gradient_missing_2``
     - the squared hinge's gradient without its factor 2
     - squared hinge
   * - ``crammer_singer``
     - the maximum over wrong classes instead of the sum (Crammer-Singer)
     - multiclass SVM
   * - ``smoothing_over_others``
     - label smoothing spread as ε/(C-1) over the other classes
     - softmax with ``label_smoothing``
   * - ``writes_input``
     - writes into the caller's arrays (an input, ``dout``, or the cache of a forward pass)
     - every contract
   * - ``dx_not_reshaped``
     - ``affine_backward``'s dx left as (N, D), not reshaped to x's shape (N, d1, ..., dk)
     - ``affine`` pair

"loss layers" are :func:`~flatprop.testing.check_loss_layer`'s contract (CS231n's
``svm_loss(x, y)`` and ``softmax_loss(x, y)`` among them), "linear" and "two-layer"
those of :func:`~flatprop.testing.check_linear_loss` and
:func:`~flatprop.testing.check_two_layer_loss` and their staged versions, the pairs
those of :func:`~flatprop.testing.check_layer_pair`. The variants that rewrite a loss
from its formula (the hinge and softmax ones) are tried without a per-class ``weight``
option only; the others whatever the options.

Examples
--------
>>> from flatprop.testing.mistakes import MISTAKES
>>> MISTAKES["reg_gradient_missing_2"].summary
'regularization gradient reg·W instead of 2·reg·W'
>>> len(MISTAKES)
21
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["MISTAKES", "Mistake"]


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its id (what ``CheckFailedError.diagnosis`` holds) and what it is.

    Attributes
    ----------
    id : str
        The stable name, e.g. ``"no_mean"``.
    summary : str
        What the mistake is, in a phrase (the catalogue's second column).
    """

    id: str
    summary: str


MISTAKES = MappingProxyType(
    {
        mistake.id: mistake
        for mistake in (
            Mistake("no_mean", "loss and gradient summed over the batch instead of averaged"),
            Mistake(
                "gradient_not_averaged",
                "the loss averaged over N but not the gradient (or the reverse)",
            ),
            Mistake("mean_over_classes", "divided by N·C (or by C) instead of N"),
            Mistake(
                "target_in_hinge_sum",
                "the hinge sum includes j = y_i (each example's loss gains the margin)",
            ),
            Mistake("kink_counted", "a margin of exactly 0 counted as active (>= at the kink)"),
            Mistake(
                "global_max", "the softmax shifted by the batch's maximum instead of each row's"
            ),
            Mistake("no_max_shift", "the softmax without any maximum subtracted (overflows)"),
            Mistake("target_not_subtracted", "the softmax gradient p instead of p - onehot(y)"),
            Mistake("gradient_sign", "the gradient's sign flipped"),
            Mistake("reg_gradient_missing_2", "regularization gradient reg·W instead of 2·reg·W"),
            Mistake(
                "half_reg",
                "the 0.5·reg·ΣW² convention where the check expects another, reg·ΣW² by "
                "default (if the assignment has 0.5·reg·ΣW², check with reg_scale=0.5)",
            ),
            Mistake(
                "full_reg",
                "the reg·ΣW² convention where the check expects another, 0.5·reg·ΣW² with "
                "reg_scale=0.5 (if the assignment has reg·ΣW², check with the default "
                "reg_scale=1)",
            ),
            Mistake("reg_missing", "regularization missing from the loss, the gradient, or both"),
            Mistake("bias_regularized", "biases regularized"),
            Mistake("pre_relu_forward", "the pre-ReLU activations fed to the second layer"),
            Mistake(
                "relu_mask_wrong",
                "the ReLU backward masks with the wrong array or the wrong inequality",
            ),
            Mistake(
                "squared_hinge_gradient_missing_2", "the squared hinge's gradient without its 2"
            ),
            Mistake(
                "crammer_singer",
                "the maximum over wrong classes instead of the sum (Crammer-Singer)",
            ),
            Mistake(
                "smoothing_over_others",
                "label smoothing spread as ε/(C-1) over the other classes",
            ),
            Mistake("writes_input", "writes into the caller's arrays"),
            Mistake(
                "dx_not_reshaped",
                "affine_backward's dx left as (N, D) instead of x's shape (N, d1, ..., dk)",
            ),
        )
    }
)
"""Every known mistake, by id, in the order of the catalogue's table."""
