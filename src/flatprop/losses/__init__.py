"""Loss layers with staged ("flat") forward and backward passes.

Each loss ``X`` comes as three functions:

- ``X(inputs, ...) -> (loss, grads)``, the one-shot call;
- ``X_forward(inputs, ...) -> (loss, cache)``, whose cache names every stage;
- ``X_backward(cache, dloss=1.0) -> grads``.

``grads`` is a dict keyed by the input's name (``"scores"`` or ``"pred"``).
:data:`LOSSES` is the one registry of them: each loss's functions, its loop version,
the target it takes, its options and its kink convention.

Why ``X_backward(cache, dloss=1.0)`` while the layers of :mod:`flatprop.layers` take
``layer_backward(dout, cache)``: the layers follow CS231n's ``*_backward(dout, cache)``,
whose upstream gradient always comes from the layer above. A loss ends the graph, so
its upstream gradient is usually the 1 of d loss / d loss: ``dloss`` is optional and
defaults to 1.0, and an argument with a default must come last.

Weights: ``weight`` (C,) is per class (PyTorch's name), ``sample_weight`` (N,) per
example (scikit-learn's). Example i's weight is ``omega_i = sample_weight[i] *
weight[y[i]]`` (a factor left out where not given), and ``"mean"`` divides by
``sum_i omega_i``. Each cache keeps them under these names: ``weight`` (not for L2,
which has none), ``sample_weight`` and ``example_weight``.

=========================  ====================================================
loss                       per-example loss L_i
=========================  ====================================================
``multiclass_svm``         sum_{j != y_i} max(0, s_j - s_{y_i} + margin)
``squared_hinge``          sum_{j != y_i} max(0, s_j - s_{y_i} + margin)^2
``softmax_cross_entropy``  -sum_c a_ic log softmax(s_i)_c
``l2``                     ||pred_i - target_i||^2
=========================  ====================================================
"""

from flatprop.losses._registry import LOSSES, PER_CALL_OPTIONS, LossSpec, TargetKind, find_loss
from flatprop.losses.hinge import (
    HingeCache,
    multiclass_svm,
    multiclass_svm_backward,
    multiclass_svm_forward,
    squared_hinge,
    squared_hinge_backward,
    squared_hinge_forward,
)
from flatprop.losses.l2 import L2Cache, l2, l2_backward, l2_forward
from flatprop.losses.softmax import (
    SoftmaxCrossEntropyCache,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)

__all__ = [
    "LOSSES",
    "PER_CALL_OPTIONS",
    "HingeCache",
    "L2Cache",
    "LossSpec",
    "SoftmaxCrossEntropyCache",
    "TargetKind",
    "find_loss",
    "l2",
    "l2_backward",
    "l2_forward",
    "multiclass_svm",
    "multiclass_svm_backward",
    "multiclass_svm_forward",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward",
    "squared_hinge",
    "squared_hinge_backward",
    "squared_hinge_forward",
]
