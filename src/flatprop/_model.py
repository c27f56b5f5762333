"""What the models of :mod:`flatprop.nets` share: heads, checks, ``predict``, ``train``.

The checks are those of the params and of the inputs. The heads are the losses of the
registry :data:`flatprop.losses.LOSSES`, by their head names (:data:`HEADS`); the
registry states what each accepts. :class:`Model` is the base class; a model defines the
shapes of its ``params`` (in the letters D, H, C), ``scores`` and ``loss``, and inherits
the rest.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from flatprop._display import html_table, preview, shape_text, text_table
from flatprop._progress import TrainingProgress
from flatprop._threads import blas_threads_for
from flatprop._validation import (
    FloatArray,
    as_count,
    as_float_array,
    as_float_dtype,
    as_labels,
    as_non_negative_scalar,
    as_positive_scalar,
    as_rng,
)
from flatprop.graph import StageGraph
from flatprop.losses import LOSSES, LossSpec

__all__ = [
    "HEADS",
    "HeadStage",
    "Model",
    "ModelOverflowError",
    "Seed",
    "add_reg_gradient",
    "checked_stages",
    "head_stages",
    "require_finite_stage",
]


_HEADS: dict[str, LossSpec] = {spec.head: spec for spec in LOSSES.values()}

HEADS: tuple[str, ...] = tuple(_HEADS)
"""The names of the heads: ``("softmax", "svm", "squared_hinge", "l2")``, each a loss of
:data:`flatprop.losses.LOSSES` (its :attr:`~flatprop.losses.LossSpec.head`)."""

Seed = int | np.random.Generator | None

_SIZE_LETTERS = {"input_size": "D", "hidden_size": "H", "output_size": "C"}


class ModelOverflowError(FloatingPointError):
    """A stage of a model went beyond the float range: what overflowed and what to change.

    Attributes
    ----------
    stage : str
        What overflowed: ``"scores"``, ``"data_loss"``, ``"reg_loss"``, ``"loss"``, a
        gradient such as ``"dW1"``, or ``"params"`` (a training step).
    setting : {"reg", "learning_rate", "params"}
        What to change: the regularization strength, the learning rate, or the scale of
        the weights (``std`` at construction) or of X.
    value : float or None
        The setting's value, for ``"reg"`` and ``"learning_rate"``.
    iteration : int or None
        The training step at which it happened, within :meth:`Model.train`.
    """

    def __init__(
        self,
        message: str,
        *,
        stage: str,
        setting: str,
        value: float | None = None,
        iteration: int | None = None,
    ) -> None:
        super().__init__(message)
        self.stage, self.setting, self.value, self.iteration = stage, setting, value, iteration


def require_finite_stage(stage: FloatArray | np.floating, name: str) -> None:
    """Stop at a stage of the data's path (scores, data loss) that overflowed."""
    if not np.isfinite(stage).all():
        raise ModelOverflowError(
            f"the {name} overflowed (beyond the float range) with these params and X: the "
            "weights or X are too large; lower the weight scale std or standardise X",
            stage=name,
            setting="params",
        )


def _head_overflow(stage: str, error: FloatingPointError) -> ModelOverflowError:
    """A loss head's overflow as the models report it: the stage, and what to change."""
    return ModelOverflowError(
        f"the {stage} overflowed with these params and X ({error}); lower the weight scale "
        "std or standardise X",
        stage=stage,
        setting="params",
    )


class HeadStage(NamedTuple):
    """A named stage of a head's loss: its formula, its operands, its value."""

    formula: str
    operands: tuple[str, ...]
    value: Any


def head_stages(
    spec: LossSpec, cache: Any, dscores: FloatArray
) -> tuple[dict[str, HeadStage], tuple[str, tuple[str, ...]] | None, dict[str, HeadStage]]:
    """The named stages inside a head's loss, from its forward cache and its ``dscores``.

    The problem set's flat backprop names them: for the hinge heads ``margins`` (the
    cache's, 0 at j = y_i) and, backward, ``dmargins``, the gradient reaching each margin
    ``s_j - s_{y_i} + margin`` through its max (``1[margins > 0] / N`` for the SVM,
    ``2 margins / N`` for the squared hinge, weighted like the loss): ``dscores`` with
    each row's target entry set to 0. For the softmax head ``shifted`` (each row minus
    its max) and ``log_probs``. Returns the forward stages, ``data_loss``'s
    formula and operands (None for a head with no stages: L2), and the backward stages.
    """
    reduced = "mean" if cache.reduction == "mean" else "sum"
    weighted = ", weighted" if getattr(cache, "weight", None) is not None else ""
    if spec.has_margin:
        rows = np.arange(len(cache.y))
        dmargins = dscores.copy()
        dmargins[rows, cache.y] = 0
        power = "**2" if cache.squared else ""
        slope = "2 margins" if cache.squared else "1[margins > 0]"
        scale = " times the example's weight" if weighted else ""
        scale += " / N" if reduced == "mean" and not weighted else ""
        scale += " / the total weight" if reduced == "mean" and weighted else ""
        forward = {
            "margins": HeadStage(
                "max(0, scores - scores[i, y_i] + margin), 0 at j = y_i",
                ("scores", "y"),
                cache.margins,
            )
        }
        data_loss: tuple[str, tuple[str, ...]] = (
            f"{reduced} over i of sum_j margins{power}{weighted}",
            ("margins",),
        )
        backward = {
            "dmargins": HeadStage(
                f"{slope}{scale}, for the margins j != y_i",
                (),
                dmargins,
            )
        }
        return forward, data_loss, backward
    if spec.name == "softmax_cross_entropy":
        forward = {
            "shifted": HeadStage(
                "scores - max over j of scores, row by row",
                ("scores",),
                cache.scores - cache.row_max[:, np.newaxis],
            ),
            "log_probs": HeadStage(
                "shifted - log(sum over j of exp(shifted))", ("shifted",), cache.log_probs
            ),
        }
        labels_only = cache.y.ndim == 1 and cache.label_smoothing == 0
        picked = "log_probs[i, y_i]" if labels_only else "sum_c t_ic log_probs[i, c]"
        data_loss = (f"-{reduced} over i of {picked}{weighted}", ("log_probs", "y"))
        return forward, data_loss, {}
    return {}, None, {}


def add_reg_gradient(grad: FloatArray, weights: FloatArray, reg: float) -> None:
    """Add the penalty's gradient: ``grad += 2 * reg * weights``, in place.

    In an order where ``2 * reg`` alone cannot overflow: reg = 1e308 with a weight of 0
    gives 0, not NaN.
    """
    twice = 2 * reg
    if twice <= np.finfo(weights.dtype).max:
        grad += twice * weights
    else:
        grad += 2 * (reg * weights)


_StagedLoss = TypeVar("_StagedLoss", bound=Callable[..., dict[str, Any]])


def checked_stages(staged_loss: _StagedLoss) -> _StagedLoss:
    """Decorate a model's ``_staged_loss``, behind ``loss`` and ``stages``, with checks.

    No floating-point warning escapes it, and every parameter's gradient ``d<name>`` it
    returns is finite (or a :class:`ModelOverflowError` says what overflowed).
    """

    @functools.wraps(staged_loss)
    def checked(
        self: Model, X: npt.ArrayLike, y: npt.ArrayLike | None, reg: float
    ) -> dict[str, Any]:
        with np.errstate(all="ignore"):
            values = staged_loss(self, X, y, reg)
            for name in self._param_shapes():
                if not np.isfinite(values[f"d{name}"]).all():
                    raise _gradient_overflow(self, name, float(reg))
        return values

    return checked  # type: ignore[return-value]


def _gradient_overflow(model: Model, name: str, reg: float) -> ModelOverflowError:
    """Why the gradient of ``params[name]`` overflowed: the penalty's ``2 reg W``, or the data."""
    weights = np.asarray(model.params[name], dtype=np.float64)
    largest = float(np.finfo(model.params[name].dtype).max)
    if weights.ndim == 2 and reg > 0 and 2 * reg * float(np.max(np.abs(weights))) > largest / 4:
        return ModelOverflowError(
            f"the gradient d{name} overflowed: its penalty term 2 * reg * {name} is beyond "
            f"the float range with reg = {reg:g}; lower reg",
            stage=f"d{name}",
            setting="reg",
            value=reg,
        )
    return ModelOverflowError(
        f"the gradient d{name} overflowed (beyond the float range) with these params and X: "
        "the weights or X are too large; lower the weight scale std or standardise X",
        stage=f"d{name}",
        setting="params",
    )


_Train = TypeVar("_Train", bound=Callable[..., dict[str, list[float]]])


def training(train: _Train) -> _Train:
    """Decorate :meth:`Model.train` with the thread limit and the divergence report.

    One BLAS thread for small steps (see :mod:`flatprop._threads`), no floating-point
    warning, and an overflow after the first step reported as a divergence that names the
    learning rate.
    """
    signature = inspect.signature(train)

    @functools.wraps(train)
    def trained(self: Model, *args: Any, **kwargs: Any) -> dict[str, list[float]]:
        options = signature.bind(self, *args, **kwargs)
        options.apply_defaults()
        multiply_adds = _step_size(self, options.arguments["batch_size"])
        self._steps_taken = 0
        try:
            with (
                np.errstate(all="ignore"),
                blas_threads_for(multiply_adds),
            ):
                return train(*options.args, **options.kwargs)
        except ModelOverflowError as error:
            if error.setting == "reg" or self._steps_taken == 0:
                raise  # the initial weights, X or reg: not the steps
            raise _divergence(error, self._steps_taken + 1, options.arguments) from error

    return trained  # type: ignore[return-value]


def _step_size(model: Model, batch_size: object) -> int:
    """Multiply-adds of a step's forward products: batch_size times the weights' entries.

    0 for arguments that ``train`` is about to refuse with its own error.
    """
    if not isinstance(model.params, dict) or not isinstance(batch_size, int | np.integer):
        return 0
    weights = [value for value in model.params.values() if np.ndim(value) == 2]
    return int(batch_size) * sum(int(np.size(value)) for value in weights)


def _divergence(
    error: ModelOverflowError, iteration: int, options: dict[str, Any]
) -> ModelOverflowError:
    rate, reg = float(options["learning_rate"]), float(options["reg"])
    cause = f"lower learning_rate (it is {rate:g})"
    if 2 * rate * reg > 2:  # each step multiplies W by 1 - 2 rate reg, of size > 1
        cause = (
            f"lower learning_rate or reg (2 * learning_rate * reg = {2 * rate * reg:g} > 2 "
            "makes the weights grow at every step)"
        )
    return ModelOverflowError(
        f"training diverged at iteration {iteration} of {options['num_iters']}: the "
        f"{error.stage} overflowed; {cause}",
        stage=error.stage,
        setting="learning_rate",
        value=rate,
        iteration=iteration,
    )


class Model(ABC):
    """What both models share: the head, the checks of params and inputs, predict, train.

    ``Model.__init__`` checks the arguments both models take and sets ``params`` to the
    entries of :meth:`_param_shapes`: each weight matrix drawn as ``std * N(0, 1)`` from
    ``numpy.random.default_rng(seed)``, in that order, and each bias vector at zero.
    """

    params: dict[str, FloatArray]
    _steps_taken: int = 0  # by the running train: what a divergence is counted from

    def __init__(
        self,
        sizes: dict[str, int],
        head: str,
        std: float,
        seed: Seed,
        dtype: npt.DTypeLike,
        head_options: dict[str, Any],
    ) -> None:
        """``sizes``: the model's size arguments by name (``input_size``: D, ...)."""
        size_of = {_SIZE_LETTERS[name]: as_count(size, name) for name, size in sizes.items()}
        std = as_non_negative_scalar(std, "std")
        float_dtype = as_float_dtype(dtype)
        self._set_head(head, size_of["C"], float_dtype, head_options)
        rng = as_rng(seed)
        self.params = {}
        for name, letters in self._param_shapes().items():
            shape = tuple(size_of[letter] for letter in letters)
            if len(shape) == 2:  # a weight matrix
                with np.errstate(over="ignore"):
                    weights = (std * rng.standard_normal(shape)).astype(float_dtype)
                if not np.isfinite(weights).all():
                    raise ValueError(
                        f"std must keep the initial weights std * N(0, 1) within the "
                        f"{float_dtype} range ({float(np.finfo(float_dtype).max):.3g}), got "
                        f"std = {std:g}; use a small scale such as 0.01"
                    )
                self.params[name] = weights
            else:  # a bias
                self.params[name] = np.zeros(shape, float_dtype)

    def _set_head(
        self, head: str, output_size: int, dtype: np.dtype, head_options: dict[str, Any]
    ) -> None:
        """Check the head and its options' names; the loss checks their values on a probe."""
        if not isinstance(head, str) or head not in _HEADS:
            raise ValueError(f"head must be one of {', '.join(map(repr, HEADS))}, got {head!r}")
        spec = _HEADS[head]
        unknown = [name for name in head_options if name not in spec.options]
        if unknown:
            raise TypeError(
                f"{unknown[0]!r} is not an option of the {head!r} head nor an argument of "
                f"{type(self).__name__}; the {head!r} head takes {', '.join(spec.options)}"
            )
        reduction = head_options.get("reduction", "mean")
        if not isinstance(reduction, str) or reduction not in ("mean", "sum"):
            raise ValueError(
                f"reduction must be 'mean' or 'sum' (a model's loss is a scalar), got {reduction!r}"
            )
        # Let the loss check the other options' values now, on a one-example probe
        # ("sum", so that no class weight of 0 can make the probe's mean undefined).
        probe_labels = np.zeros(1, dtype=np.intp) if spec.classification else None
        probe_options = {**head_options, "reduction": "sum"}
        spec.forward(np.zeros((1, output_size), dtype), probe_labels, **probe_options)
        self._head = head
        self._spec = spec
        self._head_options = dict(head_options)

    @property
    def head(self) -> str:
        """The name of the head, one of :data:`HEADS`."""
        return self._head

    @property
    def head_options(self) -> dict[str, Any]:
        """The head options given at construction (a copy)."""
        return dict(self._head_options)

    def _extra_arguments(self) -> dict[str, Any]:
        """Constructor arguments beyond the sizes, head and dtype that the repr shows."""
        return {}

    def _display_parts(self) -> tuple[str, list[tuple[str, str, str]]]:
        """The constructor call that makes a model like this one, and a row per parameter.

        Read from ``params`` as they are now (they may have been replaced), without
        checking them: a repr never raises.
        """
        params = self.params if isinstance(self.params, dict) else {}
        sizes: dict[str, int] = {}
        for name, letters in self._param_shapes().items():
            shape = np.shape(params.get(name, ()))
            if len(shape) == len(letters):
                for letter, size in zip(letters, shape, strict=True):
                    sizes.setdefault(letter, size)
        used = {letter for shape in self._param_shapes().values() for letter in shape}
        arguments = [
            f"{name}={sizes.get(letter, '?')}"
            for name, letter in _SIZE_LETTERS.items()
            if letter in used
        ]
        arguments.append(f"head={self._head!r}")
        arguments += [f"{name}={value!r}" for name, value in self._head_options.items()]
        arguments += [f"{name}={value!r}" for name, value in self._extra_arguments().items()]
        arrays = [value for value in params.values() if isinstance(value, np.ndarray)]
        if arrays:
            arguments.append(f"dtype={np.result_type(*arrays)}")
        rows = [(name, shape_text(value), preview(value)) for name, value in params.items()]
        return f"{type(self).__name__}({', '.join(arguments)})", rows

    def __repr__(self) -> str:
        title, rows = self._display_parts()
        return f"{title}\n{text_table(rows)}" if rows else title

    def _repr_html_(self) -> str:
        title, rows = self._display_parts()
        return html_table(title, ("parameter", "shape, dtype", "values"), rows)

    @abstractmethod
    def _param_shapes(self) -> dict[str, tuple[str, ...]]:
        """Each entry of ``params`` and its shape in letters; D first, C last."""

    @abstractmethod
    def scores(self, X: npt.ArrayLike) -> FloatArray:
        """The (N, C) scores (outputs) of the model for X: the forward pass only."""

    @abstractmethod
    def loss(
        self, X: npt.ArrayLike, y: npt.ArrayLike | None = None, *, reg: float = 0.0
    ) -> tuple[np.floating, dict[str, FloatArray]]:
        """The loss on (X, y) and its gradient with respect to every entry of ``params``."""

    @abstractmethod
    def _staged_loss(self, X: npt.ArrayLike, y: npt.ArrayLike | None, reg: float) -> dict[str, Any]:
        """Every named value of :meth:`loss`: its arguments, the stages, the gradients."""

    @abstractmethod
    def _operations(self, reg: float, has_target: bool) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Each stage of :meth:`_staged_loss`: its formula and operands (none for a gradient)."""

    def _arguments(
        self, X: FloatArray, params: dict[str, FloatArray], y: npt.NDArray[Any] | None
    ) -> dict[str, Any]:
        """The sources of the staged loss: X, the parameters, and y when there is one."""
        return {"X": X, **params} if y is None else {"X": X, **params, "y": y}

    def _head_formula(self, has_target: bool) -> str:
        """The head's loss as a call: ``softmax_cross_entropy(scores, y, label_smoothing=0.1)``."""
        arguments = ["scores", "y"] if has_target else ["scores"]
        arguments += [f"{name}={value!r}" for name, value in self._head_options.items()]
        return f"{self._spec.name}({', '.join(arguments)})"

    def stages(
        self, X: npt.ArrayLike, y: npt.ArrayLike | None = None, *, reg: float = 0.0
    ) -> StageGraph:
        """Every named stage of :meth:`loss`, forward and backward, as a computational graph.

        The same computation as :meth:`loss`, with the same arguments and checks, keeping
        what ``loss`` throws away: ``X``, the parameters and ``y``, each forward stage
        (``z1``, ``h1``, ``scores``, the head's stages, ``data_loss``, ``reg_loss``,
        ``loss`` for the two-layer net; ``scores`` on for the linear model) and each
        gradient (``dscores``, ``dh1``, ``dW2``, ``db2``, ``dz1``, ``dW1``, ``db1``; ``dW``,
        ``db``). The head's stages are those of the problem set's flat backprop
        (:func:`head_stages`): ``margins`` and ``dmargins`` for the hinge heads,
        ``shifted`` and ``log_probs`` for the softmax head.

        Parameters
        ----------
        X, y, reg
            As for :meth:`loss`.

        Returns
        -------
        flatprop.graph.StageGraph
            A mapping of every name to its value (``stages["dW1"]``) that draws itself:
            ``to_dot()``, ``to_svg()``, ``render(path)``, and a picture in Jupyter.

        Examples
        --------
        >>> import numpy as np
        >>> from flatprop.nets import TwoLayerNet
        >>> net = TwoLayerNet(2, 3, 2, seed=0)
        >>> X = np.array([[0.2, 0.4]])
        >>> stages = net.stages(X, [1], reg=0.1)
        >>> stages.stages
        ('z1', 'h1', 'scores', 'shifted', 'log_probs', 'data_loss', 'reg_loss', 'loss')
        >>> sorted(stages.gradients)
        ['dW1', 'dW2', 'db1', 'db2', 'dh1', 'dscores', 'dz1']
        >>> loss, grads = net.loss(X, [1], reg=0.1)
        >>> bool(stages["loss"] == loss), bool(np.all(stages["dW1"] == grads["W1"]))
        (True, True)
        """
        values = self._staged_loss(X, y, reg)
        operations = self._operations(float(reg), "y" in values)
        values, operations = self._with_head_stages(values, operations)
        head = "" if self._spec.classification or "y" in values else ", no target"
        return StageGraph(
            values,
            {name: operands for name, (_, operands) in operations.items() if operands},
            formulas={name: formula for name, (formula, _) in operations.items()},
            title=f"{type(self).__name__}.loss ({self._head!r} head{head}), staged",
        )

    def _with_head_stages(
        self, values: dict[str, Any], operations: dict[str, tuple[str, tuple[str, ...]]]
    ) -> tuple[dict[str, Any], dict[str, tuple[str, tuple[str, ...]]]]:
        """The stages with the head's own (:func:`head_stages`) spliced in.

        The head's forward stages go before ``data_loss``, which then reads them, and
        its backward stages before ``dscores``. The head's forward pass runs again on
        the scores, for the cache that :meth:`loss` does not keep.
        """
        _, cache = self._data_loss(values["scores"], values.get("y"))
        forward, data_loss, backward = head_stages(self._spec, cache, values["dscores"])
        if data_loss is None:
            return values, operations
        spliced: dict[str, Any] = {}
        spliced_operations = dict(operations)
        for name, value in values.items():
            if name == "data_loss":
                spliced.update((stage, head.value) for stage, head in forward.items())
            if name == "dscores":
                spliced.update((stage, head.value) for stage, head in backward.items())
            spliced[name] = value
        for stage, head in {**forward, **backward}.items():
            spliced_operations[stage] = (head.formula, head.operands)
        spliced_operations["data_loss"] = data_loss
        return spliced, spliced_operations

    def _checked_params(self) -> tuple[dict[str, FloatArray], dict[str, int]]:
        """``params`` as float arrays of one common dtype, and the sizes D, H, C."""
        shapes = self._param_shapes()
        if not isinstance(self.params, dict):
            raise TypeError(f"params must be a dict of arrays, got {type(self.params).__name__}")
        if set(self.params) != set(shapes):
            raise ValueError(
                f"params of a {type(self).__name__} must have exactly the entries "
                f"{', '.join(shapes)}, got {', '.join(map(repr, self.params)) or 'none'}"
            )
        arrays: dict[str, FloatArray] = {}
        sizes: dict[str, int] = {}
        owner: dict[str, str] = {}  # which entry fixed each size
        for name, letters in shapes.items():
            label = f"params[{name!r}]"
            array = as_float_array(self.params[name], label, ndim=len(letters))
            for letter, size in zip(letters, array.shape, strict=True):
                if sizes.setdefault(letter, size) != size:
                    source = owner[letter]
                    raise ValueError(
                        f"{label} must have shape ({', '.join(letters)}) with {letter} = "
                        f"{sizes[letter]}, as in params[{source!r}] of shape "
                        f"{arrays[source].shape}; got shape {array.shape}"
                    )
                owner.setdefault(letter, name)
            arrays[name] = array
        dtype = np.result_type(*arrays.values())
        return {name: array.astype(dtype, copy=False) for name, array in arrays.items()}, sizes

    def _checked_inputs(
        self, X: npt.ArrayLike, name: str = "X"
    ) -> tuple[dict[str, FloatArray], dict[str, int], FloatArray]:
        """The checked params and sizes, and X as an (N, D) array of the params' dtype."""
        params, sizes = self._checked_params()
        first = next(iter(params))
        data = as_float_array(X, name, ndim=2, dtype=params[first].dtype)
        if data.shape[1] != sizes["D"]:
            raise ValueError(
                f"{name} must have D = {sizes['D']} features (columns) to match "
                f"params[{first!r}] of shape {params[first].shape}, got shape {data.shape}"
            )
        return params, sizes, data

    def _checked_target(
        self, y: npt.ArrayLike | None, shape: tuple[int, int], dtype: np.dtype, name: str = "y"
    ) -> npt.NDArray[Any] | None:
        """Labels (N,) for a classification head; targets (N, C) or None for "l2"."""
        num_examples, num_outputs = shape
        if self._spec.classification:
            if y is None:
                raise TypeError(
                    f"{name} is required by the {self._head!r} head: integer class labels "
                    f"of shape (N,) = ({num_examples},), got None"
                )
            return as_labels(y, name, num_examples=num_examples, num_classes=num_outputs)
        if y is None:
            return None
        targets = as_float_array(y, name, dtype=dtype)
        if targets.shape != shape:
            raise ValueError(
                f"{name} of the {self._head!r} head must be targets of shape (N, C) = {shape} "
                f"(or None for zeros), got shape {targets.shape}"
            )
        return targets

    def _data_loss(self, scores: FloatArray, y: npt.NDArray[Any] | None) -> tuple[np.floating, Any]:
        """The head's forward pass: its loss and its cache."""
        try:
            return self._spec.forward(scores, y, check_finite=False, **self._head_options)
        except FloatingPointError as error:  # the loss overflowed: say what, and what to change
            raise _head_overflow("data_loss", error) from error

    def _dscores(self, head_cache: Any) -> FloatArray:
        """The head's backward pass: the gradient of the data loss for the scores."""
        try:
            return self._spec.backward(head_cache)[self._spec.input_name]
        except FloatingPointError as error:
            raise _head_overflow("dscores", error) from error

    def _require_finite_loss(
        self, data_loss: np.floating, reg_loss: np.floating, reg: float
    ) -> None:
        """Stop at a loss that overflowed, naming ``reg`` when the penalty did it."""
        require_finite_stage(data_loss, "data_loss")
        if np.isfinite(reg_loss) and np.isfinite(data_loss + reg_loss):
            return
        with np.errstate(over="ignore"):
            squares = [np.vdot(W, W) for W in self.params.values() if np.ndim(W) == 2]
        if not np.isfinite(squares).all():
            raise ModelOverflowError(
                "reg_loss overflowed: sum(W**2) of the weights is beyond the float range; "
                "the weights are too large (lower std, or the learning rate in training)",
                stage="reg_loss",
                setting="params",
            )
        raise ModelOverflowError(
            f"reg_loss = reg * sum(W**2) overflowed the loss with reg = {reg:g}; lower reg",
            stage="reg_loss",
            setting="reg",
            value=reg,
        )

    def _sgd_step(self, grads: dict[str, FloatArray], rate: float) -> None:
        """Take a step: ``params[name] = params[name] - rate * grads[name]``, new arrays.

        A :class:`ModelOverflowError` if the step leaves the float range.
        """
        stepped = {name: self.params[name] - rate * grad for name, grad in grads.items()}
        for name, value in stepped.items():
            if not np.isfinite(value).all():
                raise ModelOverflowError(
                    f"params[{name!r}] overflowed in a step", stage="params", setting="params"
                )
        self.params.update(stepped)
        self._steps_taken += 1

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """Class labels (the argmax of the scores) of shape (N,), or the (N, C) outputs for "l2".

        Parameters
        ----------
        X : array_like, shape (N, D)

        Returns
        -------
        ndarray of int, shape (N,), or ndarray of float, shape (N, C)

        Examples
        --------
        >>> import numpy as np
        >>> from flatprop.nets import LinearClassifier
        >>> model = LinearClassifier(2, 3, bias=False)
        >>> model.params["W"] = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
        >>> model.predict(np.array([[2.0, 1.0], [0.0, 3.0], [-1.0, -2.0]]))
        array([0, 1, 2])
        """
        scores = self.scores(X)
        return scores.argmax(axis=1) if self._spec.classification else scores

    @training
    def train(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike | None,
        X_val: npt.ArrayLike | None = None,
        y_val: npt.ArrayLike | None = None,
        *,
        learning_rate: float = 1e-3,
        learning_rate_decay: float = 0.95,
        reg: float = 5e-6,
        num_iters: int = 100,
        batch_size: int = 200,
        seed: Seed = None,
        verbose: bool = False,
        progress: bool = False,
        callback: Callable[[dict[str, list[float]]], bool | None] | None = None,
    ) -> dict[str, list[float]]:
        """Minibatch stochastic gradient descent on ``params``, as in CS231n.

        Each iteration draws ``batch_size`` examples with replacement
        (``rng.integers(N, size=batch_size)`` with ``rng = numpy.random.default_rng(seed)``,
        so ``batch_size > N`` works), computes ``loss(X_batch, y_batch, reg=reg)`` and
        sets every ``params[name]`` to the new array ``params[name] - learning_rate *
        grads[name]``. After every epoch (``max(N // batch_size, 1)`` iterations) the
        accuracies are recorded and the learning rate is multiplied by
        ``learning_rate_decay``.

        Parameters
        ----------
        X : array_like, shape (N, D)
            Training data.
        y : array_like
            Labels (N,) for a classification head; targets (N, C) or None for "l2".
        X_val, y_val : array_like, optional
            Validation data and labels, both or neither (classification heads only).
        learning_rate : float > 0, default 1e-3
        learning_rate_decay : float > 0, default 0.95
            Factor applied to the learning rate once per epoch.
        reg : float >= 0, default 5e-6
            Regularization strength (see :meth:`loss` for the convention).
        num_iters : int >= 0, default 100
        batch_size : int >= 1, default 200
        seed : int, numpy.random.Generator or None
            Seeds the minibatch sampling; the global NumPy random state is not used.
        verbose : bool, default False
            Print about ten progress lines: iteration, loss, and the latest accuracies.
        progress : bool, default False
            Show a progress bar instead, with the loss and the latest accuracies: tqdm's
            (``tqdm.auto``, a widget in Jupyter) when tqdm is installed
            (``pip install "flatprop[progress]"``), else the lines of ``verbose``.
        callback : callable, optional
            ``callback(history) -> bool | None``, called after every epoch (after the
            learning rate's decay) with the history so far, the dict this method
            returns (read it; do not modify it). Return False to stop training there;
            anything else (None included) goes on. For plots that update while
            training, early stopping, or keeping the best parameters.

        Returns
        -------
        history : dict
            ``"loss_history"``: the minibatch loss at every iteration;
            ``"train_acc_history"``: the accuracy on the epoch's last minibatch, after
            its step, once per epoch; ``"val_acc_history"``: the accuracy on
            (X_val, y_val) once per epoch, when given. The accuracy lists stay empty
            for the "l2" head.

        Raises
        ------
        ModelOverflowError
            A ``FloatingPointError`` if a stage leaves the float range, with the setting
            to change: ``"learning_rate"`` when training diverged after some steps
            ("training diverged at iteration 12 of 100: ..."), ``"reg"`` when the
            penalty did it, ``"params"`` for initial weights or X too large.

        Notes
        -----
        The steps run with one BLAS thread when their products are small (see
        :mod:`flatprop._threads`): threads cost more than they save there, and spin when
        the cores are busy. Set ``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``) to choose
        yourself; flatprop then leaves the threads alone.

        Examples
        --------
        >>> import numpy as np
        >>> from flatprop.nets import LinearClassifier
        >>> X = np.random.default_rng(0).standard_normal((60, 2))
        >>> y = (X[:, 0] > 0).astype(int)  # two half-planes
        >>> model = LinearClassifier(2, 2, head="softmax", seed=0)
        >>> history = model.train(X, y, learning_rate=0.5, num_iters=30, batch_size=20, seed=0)
        >>> len(history["loss_history"]), len(history["train_acc_history"])  # 3 steps an epoch
        (30, 10)
        >>> bool(np.mean(model.predict(X) == y) > 0.9)
        True

        A callback that stops as soon as the epoch's minibatch is all classified right:

        >>> def stop_when_perfect(history):
        ...     return history["train_acc_history"][-1] < 1.0
        >>> model = LinearClassifier(2, 2, head="softmax", seed=0)
        >>> history = model.train(X, y, learning_rate=0.5, num_iters=300, batch_size=20,
        ...                       seed=0, callback=stop_when_perfect)
        >>> history["train_acc_history"][-1], len(history["loss_history"]) < 300
        (1.0, True)
        """
        _, sizes, data = self._checked_inputs(X)
        num_train = data.shape[0]
        if num_train == 0:
            raise ValueError(
                f"X must hold at least one example to train on, got shape {data.shape}"
            )
        labels = self._checked_target(y, (num_train, sizes["C"]), data.dtype)
        has_validation = X_val is not None or y_val is not None
        if has_validation:
            if not self._spec.classification:
                raise ValueError(
                    f"X_val and y_val give a validation accuracy: the {self._head!r} head has none"
                )
            if X_val is None or y_val is None:
                missing = "X_val" if X_val is None else "y_val"
                raise ValueError(f"X_val and y_val must be given together, got {missing}=None")
            _, _, val_data = self._checked_inputs(X_val, "X_val")
            val_labels = self._checked_target(
                y_val, (val_data.shape[0], sizes["C"]), data.dtype, "y_val"
            )
        rate = as_positive_scalar(learning_rate, "learning_rate")
        decay = as_positive_scalar(learning_rate_decay, "learning_rate_decay")
        reg = as_non_negative_scalar(reg, "reg")
        num_iters = as_count(num_iters, "num_iters", minimum=0)
        batch_size = as_count(batch_size, "batch_size")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {callback!r}")

        rng = as_rng(seed)
        iterations_per_epoch = max(num_train // batch_size, 1)
        report = TrainingProgress(num_iters, verbose=verbose, progress=progress)
        history: dict[str, list[float]] = {
            "loss_history": [],
            "train_acc_history": [],
            "val_acc_history": [],
        }
        stop = False
        for iteration in range(1, num_iters + 1):
            batch = rng.integers(num_train, size=batch_size)  # with replacement
            batch_labels = None if labels is None else labels[batch]
            loss, grads = self.loss(data[batch], batch_labels, reg=reg)
            history["loss_history"].append(float(loss))
            self._sgd_step(grads, rate)

            if iteration % iterations_per_epoch == 0:
                if self._spec.classification:
                    accuracy = np.mean(self.predict(data[batch]) == batch_labels)
                    history["train_acc_history"].append(float(accuracy))
                    if has_validation:
                        accuracy = np.mean(self.predict(val_data) == val_labels)
                        history["val_acc_history"].append(float(accuracy))
                rate *= decay
                stop = callback is not None and callback(history) is False

            report.step(iteration, float(loss), history, last=stop)
            if stop:
                break
        report.close()
        return history
