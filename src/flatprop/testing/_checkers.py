"""The three checkers, one per contract of CS231n-style assignments.

- :func:`check_loss_layer`: ``fn(scores, y) -> (loss, dscores)``;
- :func:`check_linear_loss`: ``fn(W, X, y, reg) -> (loss, dW)``;
- :func:`check_two_layer_loss`: ``fn(params, X, y, reg) -> (loss, grads)``.

Each draws inputs with :mod:`flatprop.testing.strategies`, runs the candidate and
flatprop's reference on them, and raises :class:`CheckFailedError` (an
``AssertionError``) with the smallest failing input, or returns a
:class:`CheckReport`.

How inputs are drawn
--------------------
Sizes are small (N up to 5, C up to 5) and values moderate (scores in +-10, W and X
in +-5, a two-layer net's params and X in +-2), so that a correct implementation's
softmax never underflows within a row, even one that takes ``np.log`` of its
probabilities.

Rows far apart. A softmax must subtract each row's own maximum. Subtracting the
batch's maximum (the global max) is exact while the rows' maxima lie within a few
hundred of each other, and underflows to ``log(0)`` once a row lies more than about
745 below the batch's maximum (104 in float32); subtracting none overflows past 709.
So the checkers draw rows far apart while each row stays moderate: the loss layer's
rows are shifted by whole numbers up to +-``max_row_shift`` (1000), which no loss
notices. With a softmax head, a third of a model's inputs put ``max_row_shift`` (1000)
as the weight of the last feature (for every class of a linear model; into the first
hidden unit alone of a two-layer net, whose row of W2 is then constant), so that each
example's scores are offset by 1000 times its last feature (drawn in the usual range)
and its spread stays what it is; on those inputs ``reg`` is the low end of its range.
A small input of two rows 1000 apart is tried first. A per-row shift makes every one
of them as exact as the moderate ones.

Half of the inputs (in Hypothesis's mix) are generic floats kept a relative gap of
``KINK_GAP`` away from every kink, so that no rounding difference between two
correct implementations can flip a hinge margin or a ReLU to the other side. With
``include_kinks=True`` (the default) the other half are multiples of
``KINK_GRID`` in [-``KINK_RANGE``, ``KINK_RANGE``], on which every sum is
exact and margins and pre-activations land exactly on 0 often: there the reference
takes the subgradient 0 (a hinge margin or a ReLU passes gradient only when > 0).

A failing input is shrunk by Hypothesis, then by deleting examples, features,
hidden units and classes and zeroing entries while it fails the same way and stays
an input the checker could have drawn.

Tolerances
----------
A quantity (the loss, or a gradient array) passes when its largest absolute
difference from the reference is at most ``atol + rtol * s``, ``s`` being the
reference's largest absolute entry. The defaults depend on the dtype:
``FLOAT64_RTOL`` and ``FLOAT64_ATOL`` (1e-7 and 1e-9) for float64,
``FLOAT32_RTOL`` and ``FLOAT32_ATOL`` (1e-4 and 1e-5) for float32: far above
the rounding differences of a correct implementation, far below any real bug.
(These constants live in :mod:`flatprop.testing._draws`.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from flatprop._docstrings import fill_in
from flatprop._validation import as_count, as_positive_scalar
from flatprop.testing._arrays import Size
from flatprop.testing._draws import (
    KINK_GAP,
    Domain,
    FarRows,
    dimension,
    hinge_margin,
    kink_probes,
    linear_scores,
    mean_is_defined,
    reg_range,
    rows_shifted,
    scores_as_given,
    set_up,
    two_layer_scores,
)
from flatprop.testing._engine import Contract, accepts_targets, run_check
from flatprop.testing._extras import InputSpace, diagnostic_inputs
from flatprop.testing._outputs import LossAndGradient, Outputs, StageOutputs
from flatprop.testing._references import (
    Reference,
    describe,
    linear_reference,
    loss_layer_reference,
    reg_term,
    stage_names,
    stages_reference,
    two_layer_reference,
)
from flatprop.testing._report import CheckReport
from flatprop.testing._variants import (
    loss_layer_variants,
    model_variants,
    model_without_regularization,
)
from flatprop.testing.strategies import (
    ClassificationProblem,
    LinearProblem,
    TwoLayerProblem,
    classification_problems,
    linear_problems,
    regression_problems,
    two_layer_problems,
)

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "check_linear_loss",
    "check_loss_layer",
    "check_two_layer_loss",
]

DEFAULT_MAX_EXAMPLES = 100

Checker = TypeVar("Checker", bound=Callable[..., CheckReport])


class _Shared(NamedTuple):
    """The options every checker takes, in the order of their signatures."""

    max_examples: int
    seed: int | None
    dtype: npt.DTypeLike
    rtol: float | None
    atol: float | None
    min_value: float
    max_value: float
    include_kinks: bool


_SHARED_DOC = """
    max_examples : int, default 100
        How many inputs to draw (shrinking a failure takes more calls).
    seed : int, optional
        Draw another deterministic sequence of inputs. Without it the sequence is
        fixed too: the same candidate always gets the same verdict and message.
    dtype : {float64, float32}, default float64
        The dtype of the drawn arrays (labels are int64).
    rtol, atol : float, optional
        Tolerances (see the module's notes); by default those of the dtype.
    include_kinks : bool, default True
        Also draw inputs exactly on the kinks (a hinge margin, a ReLU pre-activation
        exactly 0), where the reference takes the subgradient 0. With False, every
        input stays clear of them: for assignments that take another subgradient.
    quantities : list of str, optional
        Compare only these outputs: ``["loss"]``, ``["dW"]``, ``["grads"]`` (every
        gradient) or ``["W1", "b1"]`` (entries of grads). By default, all of them. For
        partial credit: a wrong gradient does not fail a check of the loss alone.
    timeout : float, default 10
        For a target: the seconds each call, and the import of the file, may take.
        Past them the worker is killed and the check fails on that input.
    memory : int, default 2048
        For a target: the MiB of memory (address space) of the worker process."""

_RETURNS_DOC = """
    Returns
    -------
    CheckReport
        When the candidate matched on every example; its ``str()`` is one line.

    Raises
    ------
    CheckFailedError
        An ``AssertionError`` whose message shows what went wrong on the smallest
        failing input found (a wrong value, an exception, a write into an input, a
        wrong type or shape, NaN or inf), that input as NumPy literals, and the
        reference's outputs beside the candidate's.
    ValueError, TypeError
        For an unknown reference or option, or a bad value of one (a target that is
        not ``"path/to/file.py:function"`` among them).

    Notes
    -----
    ``fn`` may be a target, ``"path/to/file.py:function"`` (a relative path is relative
    to the current working directory, as for :func:`open`, not to the file that names
    it): the function then runs in a worker process that imports the file (see
    :mod:`flatprop.grading`), limited by ``timeout`` and ``memory``, while the
    reference, the comparison and the verdict stay in this process. A crash, an exit, a
    timeout, a flood of output or a thread left running in the worker is the
    candidate's failure, and so is a file that is missing, cannot be imported or has no
    such function (``kind`` "missing" or "import")."""


def _with_shared_doc(checker: Checker) -> Checker:
    """Put the parameters and the returns that the checkers share into the docstring."""
    return fill_in(checker, shared=_SHARED_DOC, returns=_RETURNS_DOC)


@accepts_targets
@_with_shared_doc
def check_loss_layer(
    fn: Callable[..., Any],
    reference: str,
    *,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = None,
    dtype: npt.DTypeLike = np.float64,
    rtol: float | None = None,
    atol: float | None = None,
    num_examples: Size = (1, 5),
    num_classes: Size | None = None,
    min_value: float = -10.0,
    max_value: float = 10.0,
    max_row_shift: int = 1000,
    include_kinks: bool = True,
    **options: Any,
) -> CheckReport:
    """Check ``fn(scores, y) -> (loss, dscores)`` against one of flatprop's losses.

    For ``"l2"`` the contract is ``fn(pred, target) -> (loss, dpred)``.

    Parameters
    ----------
    fn : callable or str
        The candidate, or a target ``"path/to/file.py:function"``. It must return the
        loss (a number; an (N,) array with ``reduction="none"``) and its gradient with
        respect to the first argument, an array of its shape (N, C) (with ``"none"``,
        the gradient of the sum).
    reference : {"multiclass_svm", "squared_hinge", "softmax_cross_entropy", "l2"}
        The flatprop loss to compare with (``"svm"`` and ``"softmax"`` also work).
    {shared}
    num_examples, num_classes : int or (int, int), default (1, 5) and (2, 5)
        N and C (K for "l2"): fixed, or drawn from an inclusive range. A ``weight``
        option fixes C to its length (the default then).
    min_value, max_value : float, default -10.0 and 10.0
        The range of the drawn values (before the row shifts).
    max_row_shift : int >= 0, default 1000
        Each row of the scores is shifted by a whole number drawn in
        [-max_row_shift, max_row_shift] (not for "l2"). The losses do not change, but
        a softmax that overflows, or subtracts the global max, does.
    **options
        The reference's settings: ``margin`` (hinge losses), ``label_smoothing``
        (softmax), ``weight`` (per class; classification losses), ``reduction``
        ("mean", "sum" or "none").

    {returns}

    Examples
    --------
    >>> from flatprop.losses import multiclass_svm
    >>> def svm_loss(scores, y):
    ...     loss, grads = multiclass_svm(scores, y)
    ...     return loss, grads["scores"]
    >>> print(check_loss_layer(svm_loss, "multiclass_svm", max_examples=20))
    svm_loss passed check_loss_layer: loss and dscores matched
    flatprop.losses.multiclass_svm() on 20 examples

    A candidate that forgets to average over the batch:

    >>> def svm_loss_summed(scores, y):
    ...     loss, grads = multiclass_svm(scores, y, reduction="sum")
    ...     return loss, grads["scores"]
    >>> try:
    ...     check_loss_layer(svm_loss_summed, "multiclass_svm", max_examples=20)
    ... except AssertionError as error:
    ...     print(str(error).splitlines()[0])
    check_loss_layer: svm_loss_summed(scores, y) returned a wrong loss.
    """
    __tracebackhide__ = True
    shared = _Shared(max_examples, seed, dtype, rtol, atol, min_value, max_value, include_kinks)
    found, checked, classes, common = set_up(
        check_loss_layer,
        reference,
        "reference",
        options,
        reductions=("mean", "sum", "none"),
        num_classes=num_classes,
        default_classes=(2, 5),
        sizes={"num_examples": num_examples},
        **shared._asdict(),
    )
    max_row_shift = as_count(max_row_shift, "max_row_shift", minimum=0)
    margin = hinge_margin(found, checked)
    labels_ok = mean_is_defined(checked)
    if found.classification:
        problems_of_size = functools.partial(
            classification_problems,
            num_examples=num_examples,
            num_classes=classes,
            dtype=common.dtype,
            kink_gap=KINK_GAP,
        )
        problems = common.both_kinds(problems_of_size, hinge_margin=margin)
        if max_row_shift:
            problems = rows_shifted(problems, max_row_shift)
        problems = problems.filter(lambda problem: labels_ok(problem.y))
        arguments, gradient_name, labels = ("scores", "y"), "dscores", "y"
    else:
        problems = regression_problems(
            num_examples=num_examples,
            num_outputs=classes,
            dtype=common.dtype,
            min_value=common.min_value,
            max_value=common.max_value,
        )
        arguments, gradient_name, labels = ("pred", "target"), "dpred", None
    domain = Domain(
        scores_as_given,
        margin,
        common.include_kinks,
        (common.min_value, common.max_value),
        max_row_shift=max_row_shift if found.classification else 0,
        labels_ok=labels_ok,
    )
    first, second = arguments
    probes = kink_probes(
        "loss_layer",
        num_examples=num_examples,
        num_classes=classes,
        dtype=common.dtype,
        margin=margin,
    )
    contract = Contract(
        checker=common.checker,
        argument_names=arguments,
        gradient_name=gradient_name,
        quantities=("loss", gradient_name),
        problems=problems,
        reference=loss_layer_reference(found, checked),
        reference_description=describe(found, checked),
        kink_note=domain.note,
        rtol=common.rtol,
        atol=common.atol,
        dimensions=(
            dimension("N", num_examples, ((first,), 0), ((second,), 0)),
            dimension(
                "C",
                classes,
                ((first,), 1),
                *([] if labels else [((second,), 1)]),
                labels=labels,
            ),
        ),
        admissible=domain.admissible,
        probes=tuple(ClassificationProblem(**probe) for probe in probes)
        if common.include_kinks
        else (),
        variants=loss_layer_variants(found, checked),
        diagnostic_inputs=diagnostic_inputs(
            InputSpace(
                "loss_layer",
                {"N": num_examples, "C": classes},
                common.dtype,
                (common.min_value, common.max_value),
                domain.admissible,
                kink_range=common.kink_bounds if common.include_kinks else None,
                classification=found.classification,
                row_shift=max_row_shift if found.name == "softmax_cross_entropy" else 0,
                probes=tuple(probes) if common.include_kinks else (),
            )
        ),
    )
    return run_check(contract, fn, max_examples=common.max_examples, seed=common.seed)


@accepts_targets
@_with_shared_doc
def check_linear_loss(
    fn: Callable[..., Any],
    reference: str,
    *,
    reg_scale: float = 1.0,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = None,
    dtype: npt.DTypeLike = np.float64,
    rtol: float | None = None,
    atol: float | None = None,
    num_examples: Size = (1, 5),
    num_features: Size = (1, 4),
    num_classes: Size | None = None,
    min_value: float = -5.0,
    max_value: float = 5.0,
    reg: float | tuple[float, float] = (0.0, 1.0),
    max_row_shift: int | None = None,
    include_kinks: bool = True,
    **options: Any,
) -> CheckReport:
    """Check ``fn(W, X, y, reg) -> (loss, dW)``, the loss of a linear classifier.

    The reference is :class:`flatprop.nets.LinearClassifier` without bias: the mean
    (or summed) loss of the scores ``X W``, plus ``reg_scale * reg * sum(W**2)``.

    Parameters
    ----------
    fn : callable or str
        The candidate (or a target ``"path/to/file.py:function"``), as the problem
        set's ``svm_loss(W, X, y, reg)``: W (D, C), X (N, D), y (N,) labels (or (N, C)
        targets for "l2"), reg a float. It must return the loss (a number) and dW, an
        array of the shape of W.
    reference : {"multiclass_svm", "squared_hinge", "softmax_cross_entropy", "l2"}
        The loss on the scores (``"svm"`` and ``"softmax"`` also work).
    reg_scale : float > 0, default 1.0
        The regularization convention: the loss has ``reg_scale * reg * sum(W**2)``,
        so dW has ``2 * reg_scale * reg * W``. 1.0 is ``reg * sum(W**2)`` (the problem set's);
        0.5 is ``0.5 * reg * sum(W**2)``, whose gradient is ``reg * W``.
    {shared}
    num_examples, num_features, num_classes : int or (int, int)
        N, D and C, default (1, 5), (1, 4) and (2, 5): fixed, or drawn from an
        inclusive range. A ``weight`` option fixes C to its length.
    min_value, max_value : float, default -5.0 and 5.0
        The range of the entries of W and X (and of the targets, for "l2").
    reg : float or (float, float), default (0.0, 1.0)
        The regularization strength: fixed, or drawn from an inclusive range.
    max_row_shift : int >= 0, optional
        For the softmax: a third of the inputs have the last feature's weights set to
        ``max_row_shift``, which offsets each example's scores by that times its last
        feature (see the module's notes); 0 draws none. A softmax that subtracts the
        batch's max, or none, fails on them. By default 1000 (100 for float32, whose
        rounding grows with the offsets).
    **options
        The reference's settings: ``margin`` (hinge losses), ``label_smoothing``
        (softmax), ``weight`` (per class), ``reduction`` ("mean" or "sum").

    {returns}

    Examples
    --------
    >>> import numpy as np
    >>> def svm_loss(W, X, y, reg):  # vectorized, with the problem set's reg * sum(W**2)
    ...     scores = X @ W
    ...     rows = np.arange(len(y))
    ...     margins = np.maximum(0, scores - scores[rows, y][:, np.newaxis] + 1)
    ...     margins[rows, y] = 0
    ...     loss = margins.sum() / len(y) + reg * np.sum(W * W)
    ...     dscores = (margins > 0).astype(float)
    ...     dscores[rows, y] = -dscores.sum(axis=1)
    ...     return loss, X.T @ dscores / len(y) + 2 * reg * W
    >>> print(check_linear_loss(svm_loss, "multiclass_svm", max_examples=20))
    svm_loss passed check_linear_loss: loss and dW matched
    flatprop.nets.LinearClassifier(head='svm', bias=False) with regularization
    reg * sum(W**2) on 20 examples
    """
    __tracebackhide__ = True
    shared = _Shared(max_examples, seed, dtype, rtol, atol, min_value, max_value, include_kinks)
    sizes = {"num_examples": num_examples, "num_features": num_features}
    return _check_model(
        _LINEAR, fn, reference, options, sizes, num_classes, reg, reg_scale, max_row_shift, shared
    )


@accepts_targets
@_with_shared_doc
def check_two_layer_loss(
    fn: Callable[..., Any],
    head: str,
    *,
    reg_scale: float = 1.0,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = None,
    dtype: npt.DTypeLike = np.float64,
    rtol: float | None = None,
    atol: float | None = None,
    num_examples: Size = (1, 5),
    num_features: Size = (1, 3),
    num_hidden: Size = (1, 4),
    num_classes: Size | None = None,
    min_value: float = -2.0,
    max_value: float = 2.0,
    reg: float | tuple[float, float] = (0.0, 1.0),
    max_row_shift: int | None = None,
    include_kinks: bool = True,
    **options: Any,
) -> CheckReport:
    """Check ``fn(params, X, y, reg) -> (loss, grads)``, the loss of a two-layer net.

    The reference is :class:`flatprop.nets.TwoLayerNet`: ``scores = max(0, X W1 + b1)
    W2 + b2``, the head's loss on them, plus ``reg_scale * reg * (sum(W1**2) +
    sum(W2**2))`` (the biases are not regularized).

    Parameters
    ----------
    fn : callable or str
        The candidate (or a target ``"path/to/file.py:function"``): params a dict
        with ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,); X (N, D); y (N,)
        labels (or (N, C) targets for "l2"); reg a float. It must return the loss (a
        number) and grads, a dict with the keys of params and arrays of their shapes.
    head : {"softmax", "svm", "squared_hinge", "l2"}
        The loss on the scores (flatprop's loss names work too).
    reg_scale : float > 0, default 1.0
        The regularization convention, as in :func:`check_linear_loss`: 0.5 is the
        ``0.5 * reg * sum(W**2)`` of some assignments.
    {shared}
    num_examples, num_features, num_hidden, num_classes : int or (int, int)
        N, D, H and C, default (1, 5), (1, 3), (1, 4) and (2, 4): fixed, or drawn
        from an inclusive range. A ``weight`` option fixes C to its length.
    min_value, max_value : float, default -2.0 and 2.0
        The range of the entries of the params and X (and of the targets, for "l2").
    reg : float or (float, float), default (0.0, 1.0)
        The regularization strength: fixed, or drawn from an inclusive range.
    max_row_shift : int >= 0, optional
        For the softmax head: a third of the inputs have the weight from the last
        feature to the first hidden unit set to ``max_row_shift``, which offsets each
        example's scores through that unit (see the module's notes); 0 draws none. By
        default 1000 for float64, none for float32 (the gradient that reaches that
        unit is 0 up to rounding, which grows with the offsets past float32's atol).
    **options
        The head's settings: ``margin`` (hinge heads), ``label_smoothing`` (softmax),
        ``weight`` (per class), ``reduction`` ("mean" or "sum").

    {returns}

    Examples
    --------
    The net of :class:`flatprop.nets.TwoLayerNet` in the candidate's signature:

    >>> from flatprop.nets import TwoLayerNet
    >>> def two_layer_loss(params, X, y, reg):
    ...     net = TwoLayerNet(1, 1, 1, head="softmax")
    ...     net.params = dict(params)
    ...     return net.loss(X, y, reg=reg / 2)  # for the 0.5 * reg convention
    >>> report = check_two_layer_loss(two_layer_loss, "softmax", reg_scale=0.5, max_examples=20)
    >>> report.examples_passed
    20
    """
    __tracebackhide__ = True
    shared = _Shared(max_examples, seed, dtype, rtol, atol, min_value, max_value, include_kinks)
    sizes = {"num_examples": num_examples, "num_features": num_features, "num_hidden": num_hidden}
    return _check_model(
        _TWO_LAYER, fn, head, options, sizes, num_classes, reg, reg_scale, max_row_shift, shared
    )


@dataclass(frozen=True)
class _Model:
    """What tells the contract ``fn(W, X, y, reg)`` from ``fn(params, X, y, reg)``."""

    checker: Callable[..., CheckReport]  # the public function
    contract: str  # as kink_probes names it
    argument: str  # the checker's argument that names the loss
    default_classes: Size
    problems: Callable[..., Any]  # the strategy of its inputs
    off_kinks: dict[str, Any]  # the strategy's options that keep away from the kinks
    scores: Callable[[dict[str, Any]], tuple[np.ndarray, Any]]  # for the Domain
    argument_names: tuple[str, ...]
    gradient_name: str
    quantities: tuple[str, ...]
    reference: Callable[[Reference, dict[str, Any], float], Callable[..., Any]]
    net: str  # its class in flatprop.nets
    regularized: str  # what reg multiplies
    problem: Callable[..., Any]  # the NamedTuple of its inputs
    # Where each size sits in the inputs, for the shrinking: letter -> ((path, axis), ...).
    slots: dict[str, tuple[tuple[tuple[str, ...], int], ...]]
    class_slots: tuple[tuple[tuple[str, ...], int], ...]  # the same for C
    # The candidate's result (loss, gradient) from every stage of a model, for the variants
    result: Callable[[dict[str, Any]], Any]
    # The default max_row_shift, (float32, float64): past where a shift by the batch's max
    # underflows (exp(-745) is 0 in float64, exp(-104) in float32), short of where the
    # rounding of a correct float32 softmax, which grows with the offsets, would show.
    row_shift: tuple[int, int]


_LINEAR = _Model(
    checker=check_linear_loss,
    contract="linear",
    argument="reference",
    default_classes=(2, 5),
    problems=linear_problems,
    off_kinks={},
    scores=linear_scores,
    argument_names=("W", "X", "y", "reg"),
    gradient_name="dW",
    quantities=("loss", "dW"),
    reference=linear_reference,
    net="LinearClassifier",
    regularized="sum(W**2)",
    problem=LinearProblem,
    slots={"N": ((("X",), 0), (("y",), 0)), "D": ((("X",), 1), (("W",), 0))},
    class_slots=((("W",), 1),),
    result=lambda stages: (stages["loss"], stages["dW"]),
    row_shift=(100, 1000),
)

_TWO_LAYER = _Model(
    checker=check_two_layer_loss,
    contract="two_layer",
    argument="head",
    default_classes=(2, 4),
    problems=two_layer_problems,
    off_kinks={"avoid_relu_kinks": True},
    scores=two_layer_scores,
    argument_names=("params", "X", "y", "reg"),
    gradient_name="grads",
    quantities=("loss", "grads['W1']", "grads['b1']", "grads['W2']", "grads['b2']"),
    reference=two_layer_reference,
    net="TwoLayerNet",
    regularized="(sum(W1**2) + sum(W2**2))",
    problem=TwoLayerProblem,
    slots={
        "N": ((("X",), 0), (("y",), 0)),
        "D": ((("X",), 1), (("params", "W1"), 0)),
        "H": ((("params", "W1"), 1), (("params", "b1"), 0), (("params", "W2"), 0)),
    },
    class_slots=((("params", "W2"), 1), (("params", "b2"), 0)),
    result=lambda stages: (
        stages["loss"],
        {name: stages[f"d{name}"] for name in ("W1", "b1", "W2", "b2")},
    ),
    row_shift=(0, 1000),  # float32: the gradient reaching the offset unit is all rounding
)

_SIZE_NAMES = {"N": "num_examples", "D": "num_features", "H": "num_hidden"}


def _check_model(
    model: _Model,
    fn: Callable[..., Any],
    name: str,
    options: dict[str, Any],
    sizes: dict[str, Size],
    num_classes: Size | None,
    reg: float | tuple[float, float],
    reg_scale: float,
    max_row_shift: int | None,
    shared: _Shared,
    checker: Callable[..., CheckReport] | None = None,
) -> CheckReport:
    """What :func:`check_linear_loss` and :func:`check_two_layer_loss` do, for ``model``.

    With ``checker`` (a staged checker), the candidate returns its stages.
    """
    __tracebackhide__ = True
    staged = checker is not None
    found, checked, classes, common = set_up(
        checker or model.checker,
        name,
        model.argument,
        options,
        reductions=("mean", "sum"),
        num_classes=num_classes,
        default_classes=model.default_classes,
        sizes=sizes,
        **shared._asdict(),
    )
    reg_scale = as_positive_scalar(reg_scale, "reg_scale")
    if max_row_shift is None:
        max_row_shift = model.row_shift[common.dtype == np.float64]
    max_row_shift = as_count(max_row_shift, "max_row_shift", minimum=0)
    margin = hinge_margin(found, checked)
    labels_ok = mean_is_defined(checked)
    problems_of_size = functools.partial(
        model.problems,
        **sizes,
        num_classes=classes,
        dtype=common.dtype,
        reg=reg,
        regression=not found.classification,
        kink_gap=KINK_GAP,
    )
    problems = common.both_kinds(problems_of_size, hinge_margin=margin, **model.off_kinks)
    far_rows = None
    if found.name == "softmax_cross_entropy" and max_row_shift:
        far_rows = FarRows(model.contract, max_row_shift, common.constant, reg_range(reg)[0])
    domain = Domain(
        model.scores,
        margin,
        common.include_kinks,
        (common.min_value, common.max_value),
        reg_range=reg_range(reg),
        labels_ok=labels_ok,
        far_rows=far_rows,
    )
    if far_rows is not None:
        moderate = problems_of_size(
            min_value=common.min_value, max_value=common.max_value, **model.off_kinks
        )
        far = far_rows.strategy(moderate).filter(
            lambda problem: domain.admissible(problem._asdict())
        )
        problems = problems | far
    if found.classification:
        problems = problems.filter(lambda problem: labels_ok(problem.y))
    labels = "y" if found.classification else None
    probes = kink_probes(
        model.contract,
        **sizes,
        num_classes=classes,
        dtype=common.dtype,
        margin=margin,
        reg=reg,
        classification=found.classification,
    )
    dimensions = [
        dimension(letter, sizes[_SIZE_NAMES[letter]], *slots)
        for letter, slots in model.slots.items()
    ]
    target_columns = () if labels else ((("y",), 1),)  # real targets (N, C) have C columns
    dimensions.append(dimension("C", classes, *model.class_slots, *target_columns, labels=labels))
    all_probes = list(probes) if common.include_kinks else []
    if far_rows is not None:
        all_probes.append(far_rows.probe(**sizes, num_classes=classes, dtype=common.dtype))
    result: Callable[[dict[str, Any]], Any] = model.result
    if staged:
        names = stage_names(found, checked, model.contract)
        reference = stages_reference(found, checked, reg_scale, model.contract, names)
        outputs: Outputs = StageOutputs(names)
        quantities = names

        def result(stages: dict[str, Any]) -> Any:
            return {name: stages[name] for name in names}

    else:
        reference = model.reference(found, checked, reg_scale)
        outputs = LossAndGradient(model.gradient_name, model.argument_names[0])
        quantities = model.quantities
    space = InputSpace(
        model.contract,
        {letter: sizes[name] for letter, name in _SIZE_NAMES.items() if name in sizes}
        | {"C": classes},
        common.dtype,
        (common.min_value, common.max_value),
        domain.admissible,
        kink_range=common.kink_bounds if common.include_kinks else None,
        reg_range=reg_range(reg),
        classification=found.classification,
        far_rows=far_rows,
        probes=tuple(all_probes),
    )
    contract = Contract(
        checker=common.checker,
        argument_names=model.argument_names,
        gradient_name=model.gradient_name,
        quantities=quantities,
        problems=problems,
        reference=reference,
        reference_description=describe(found, checked, model.net)
        + f" with regularization {reg_term(reg_scale, model.regularized)}"
        + (", staged" if staged else ""),
        kink_note=domain.note,
        rtol=common.rtol,
        atol=common.atol,
        dimensions=tuple(dimensions),
        admissible=domain.admissible,
        probes=tuple(model.problem(**probe) for probe in all_probes),
        outputs=outputs,
        staged=staged,
        variants=model_variants(model.contract, found, checked, reg_scale, result),
        without_regularization=model_without_regularization(model.contract, found, checked, result),
        diagnostic_inputs=diagnostic_inputs(space),
    )
    return run_check(contract, fn, max_examples=common.max_examples, seed=common.seed)
