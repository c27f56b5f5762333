"""The engine of the checkers: run a candidate on drawn inputs, compare, shrink, report.

A check is a Hypothesis test built on the fly. Its body calls the candidate and the
reference on one drawn input and raises :class:`CheckFailedError` at the first thing
wrong: an exception, a write into an input, a wrong type or shape, NaN or inf, or a
value off the reference's by more than the tolerance. Hypothesis then shrinks the
input to the smallest one that still fails; a last pass (:mod:`._shrink`) deletes
what Hypothesis could not (an example, a class, a hidden unit), and the checker
raises that input's error afresh, without Hypothesis's own report attached.

The candidate's code runs only inside one guarded block per input (:meth:`_Example.check`):
the call, the conversion of what it returned into plain arrays, and a snapshot of the
inputs after the call. Whatever it raises there, ``BaseException`` included
(``SystemExit``, ``KeyboardInterrupt``, ``hypothesis.reject()``, ``pytest.skip()``), is
that input's failure, never an exit, a skip or an input dropped; a real Ctrl-C still
stops the check. The kit's own work (drawing inputs, the reference, the comparison)
runs under a pinned NumPy error state and warning filters, whatever the caller or the
candidate set, and a check fails unless every input it called the candidate on was
compared to the end.
"""

from __future__ import annotations

import copy
import functools
import inspect
import os
import signal
import textwrap
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

import hypothesis
import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from flatprop.testing._report import (
    CheckFailedError,
    CheckReport,
    Difference,
    Opaque,
    assignment_block,
    literal,
    value_summary,
)
from flatprop.testing._shrink import Dimension, shrink_further

__all__ = ["Candidate", "CandidateError", "Contract", "accepts_targets", "covers", "run_check"]

_WIDTH = 92  # of the wrapped lines of a message
_NUMPY_DIRECTORY = os.path.dirname(np.__file__)
_TESTING_DIRECTORY = os.path.dirname(__file__)


@dataclass(frozen=True)
class Contract:
    """What a checker checks: the candidate's signature, its inputs and its reference.

    The candidate is called as ``fn(*arguments)`` and must return ``(loss, gradient)``,
    the gradient being with respect to the first argument: an array of its shape, or,
    when the first argument is a dict of arrays, a dict with the same keys and shapes.
    """

    checker: str  # "check_linear_loss"
    argument_names: tuple[str, ...]  # ("W", "X", "y", "reg")
    gradient_name: str  # "dW", or "grads" for a dict of gradients
    quantities: tuple[str, ...]  # what is compared, for the report: ("loss", "dW")
    problems: st.SearchStrategy[Any]  # draws NamedTuples of the arguments
    reference: Callable[..., tuple[Any, Any]]
    reference_description: str
    kink_note: Callable[[dict[str, Any]], str | None]  # on a gradient mismatch
    rtol: float
    atol: float
    dimensions: tuple[Dimension, ...]  # N, D, H, C: for the last shrinking pass
    admissible: Callable[[dict[str, Any]], bool]  # could the checker have drawn this input?
    probes: tuple[Any, ...] = ()  # problems tried before the drawn ones (exact kinks)


class CandidateError(Exception):
    """A failure of the candidate as the code that called it describes it.

    A proxy callable raises it in place of the candidate's own exceptions:
    :mod:`flatprop.grading` calls a submitted function in a worker process and reports
    what happened there (an exception raised, a timeout, a crash) with one of these.
    The check turns it into its :class:`CheckFailedError`, in the usual form.

    Parameters
    ----------
    headline : str
        What happened, as it follows the call in the message's first line:
        ``"timed out on this input: no answer within 10 s"``.
    details : sequence of str
        Lines (wrapped) shown under it.
    kind : str, default "exception"
        The :attr:`CheckFailedError.kind`: ``"exception"``, ``"timeout"``, ``"crash"``,
        ``"exit"``, ``"output"``, ``"thread"``, ``"import"``, ``"missing"``, ...
    quantity : str, optional
        The :attr:`CheckFailedError.quantity`.
    final : bool, default False
        The end of the check: no other input is tried (shrinking included), and this
        one is not run again (a timeout must not be paid twice).
    about_input : bool, default True
        False when the input played no part (a file that cannot be imported): the
        message then shows none.
    """

    def __init__(
        self,
        headline: str,
        details: Sequence[str] = (),
        *,
        kind: str = "exception",
        quantity: str | None = None,
        final: bool = False,
        about_input: bool = True,
    ):
        super().__init__(headline)
        self.headline = headline
        self.details = list(details)
        self.kind = kind
        self.quantity = quantity
        self.final = final
        self.about_input = about_input


class _StopSearch(BaseException):
    """Carries a final failure out of the Hypothesis search, past its shrinking and replay.

    A ``BaseException`` that Hypothesis does not treat as a test failure.
    """

    def __init__(self, failure: CheckFailedError):
        super().__init__(str(failure))
        self.failure = failure


@dataclass(frozen=True)
class Candidate:
    """What a check runs: a function or the proxy of a target, and which outputs it compares.

    ``quantities`` None compares all of them.
    """

    function: Callable[..., Any]
    quantities: tuple[str, ...] | None = None


def covers(name: str, quantity: str) -> bool:
    """Whether a name given in ``quantities=`` stands for a compared quantity.

    A quantity's own label (``"loss"``, ``"dW"``, ``"grads['W1']"``), the name of a dict
    of gradients for all its entries (``"grads"``), or a key of it (``"W1"``). The dict
    as a whole (``"grads"``, when it is keyed wrong) concerns every name but the loss.
    """
    return (
        name == quantity
        or quantity.startswith(f"{name}[")
        or quantity == f"grads[{name!r}]"
        or (quantity == "grads" and name != "loss")
    )


def _compared(contract: Contract, names: tuple[str, ...] | None) -> tuple[str, ...]:
    """The contract's quantities that ``quantities=`` names, in the contract's order."""
    if names is None:
        return contract.quantities
    keys = sorted({q[len("grads[") : -1].strip("'") for q in contract.quantities if "[" in q})
    valid = [*contract.quantities, *([contract.gradient_name] if keys else []), *keys]
    for name in names:
        if not any(covers(name, quantity) for quantity in contract.quantities):
            raise ValueError(
                f"{contract.checker}: quantities must name what it compares, some of "
                f"{', '.join(map(repr, valid))}; got {name!r}"
            )
    return tuple(q for q in contract.quantities if any(covers(name, q) for name in names))


@contextmanager
def _pinned_numerics() -> Iterator[None]:
    """NumPy's error state and the warning filters, pinned: no warning, no FloatingPointError.

    Around the kit's own work, so that ``np.seterr(all="raise")`` or
    ``warnings.simplefilter("error")`` in a caller, a conftest or a candidate's module
    cannot make it fail; and around each call of the candidate, whose NaN and inf are
    judged on its outputs. Leaving the block restores what the candidate changed.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


class _Interrupts:
    """Tells a real Ctrl-C from a ``KeyboardInterrupt`` that the candidate raises itself.

    While a check runs in the main thread with Python's default SIGINT handler, the
    handler is replaced by one that records the signal before raising: a
    ``KeyboardInterrupt`` with no signal recorded is the candidate's, and a failure.
    """

    def __init__(self) -> None:
        self.received = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = True
        raise KeyboardInterrupt

    def __enter__(self) -> _Interrupts:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _name(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__name__", "")
    return name if isinstance(name, str) and name.isidentifier() else "fn"


def _message(error: BaseException) -> str:
    """``str(error)``, which runs the candidate's code for its own exception classes."""
    try:
        return str(error)
    except Exception:
        return "(its message could not be made into text)"


def _where_raised(error: BaseException, fn: Callable[..., Any]) -> list[str]:
    """Where in the candidate's code the error came from: the line and its code.

    The innermost frame in the candidate's own file if any, else the innermost one
    outside NumPy (and outside this kit).
    """
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith(_TESTING_DIRECTORY)
    ]
    code = getattr(fn, "__code__", None)
    own = [frame for frame in frames if code is not None and frame.filename == code.co_filename]
    outside_numpy = [frame for frame in frames if not frame.filename.startswith(_NUMPY_DIRECTORY)]
    candidates = own or outside_numpy or frames
    if not candidates:
        return []
    frame = candidates[-1]
    where = f"at line {frame.lineno} of {frame.filename}, in {frame.name}:"
    return [where, f"    {frame.line.strip()}"] if frame.line else [where]


def _as_numeric_array(value: Any) -> np.ndarray | None:
    """``value`` as a real (integer or float) array, or None if it is not one."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged sequences, odd objects
        return None
    return array if array.dtype.kind in "iuf" else None


def _unchanged(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and after.shape == before.shape
            and after.dtype == before.dtype
            and bool(np.array_equal(after, before, equal_nan=True))
        )
    if isinstance(before, dict):
        return (
            isinstance(after, dict)
            and list(after) == list(before)
            and all(_unchanged(before[key], after[key]) for key in before)
        )
    return True  # numbers cannot be written into


def _snapshot(value: Any) -> Any:
    """A copy of an input after the call, as plain data (what is not, as its description).

    The inputs are the kit's own arrays, dicts and numbers; what the candidate put in
    their place (an entry of a dict replaced) is described, never kept.
    """
    if type(value) is np.ndarray:
        return value.copy()
    if type(value) is dict:
        return {key: _snapshot(item) for key, item in value.items()}
    if type(value) in (int, float, bool):
        return value
    return Opaque.of(value)


def _first_change(name: str, before: Any, after: Any) -> str:
    """Where an input was written into, and how, in one sentence."""
    if isinstance(before, np.ndarray) and not isinstance(after, np.ndarray):
        return f"{name} was replaced by {value_summary(after)}"
    if isinstance(before, dict):
        if not isinstance(after, dict) or list(after) != list(before):
            keys = list(after) if isinstance(after, dict) else after
            return f"its entries went from {list(before)} to {keys}"
        key = next(key for key in before if not _unchanged(before[key], after[key]))
        return _first_change(f"{name}[{key!r}]", before[key], after[key])
    if after.shape != before.shape or after.dtype != before.dtype:
        return (
            f"{name} went from shape {before.shape} {before.dtype} to {after.shape} {after.dtype}"
        )
    changed = np.argwhere(~((after == before) | (np.isnan(after) & np.isnan(before))))
    index = tuple(int(i) for i in changed[0])
    where = f"{name}[{', '.join(map(str, index))}]" if index else name
    return (
        f"{where} was {literal(before[index])} before the call and is {literal(after[index])} "
        f"after it ({len(changed)} of {before.size} entries changed)"
    )


class _ReturnProblemError(Exception):
    """A return value of the wrong kind: the quantity at fault and what was wrong."""

    def __init__(self, quantity: str | None, detail: str):
        super().__init__(detail)
        self.quantity = quantity
        self.detail = detail


class _Example:
    """One drawn input: runs the candidate on it and raises at the first thing wrong."""

    def __init__(
        self,
        contract: Contract,
        fn: Callable[..., Any],
        arguments: dict[str, Any],
        interrupts: _Interrupts,
        compared: tuple[str, ...],
    ):
        self.contract = contract
        self.fn = fn
        self.compared = compared
        self.name = _name(fn)
        self.arguments = arguments
        self.interrupts = interrupts
        self.pristine = copy.deepcopy(arguments)
        with _pinned_numerics():
            try:
                loss, gradient = contract.reference(*copy.deepcopy(arguments).values())
                expected = {"loss": np.asarray(loss), **self._labelled(gradient)}
                if not all(np.all(np.isfinite(value)) for value in expected.values()):
                    raise FloatingPointError("the reference's outputs are not all finite")
            except Exception as error:  # pragma: no cover - a bug in flatprop, not the candidate
                raise RuntimeError(
                    f"flatprop's reference {contract.reference_description} failed on an "
                    f"input that the checker drew: {error!r}. This is a bug in flatprop; please "
                    f"report it with this input: {self.pristine!r}"
                ) from error
        self.expected = expected
        self.reference_outputs = {"loss": np.asarray(loss), contract.gradient_name: gradient}

    def _labelled(self, gradient: Any) -> dict[str, np.ndarray]:
        if self.contract.gradient_name == "grads":
            return {f"grads[{key!r}]": np.asarray(value) for key, value in gradient.items()}
        return {self.contract.gradient_name: np.asarray(gradient)}

    def check(self) -> None:
        got, after = self._call()
        with _pinned_numerics():
            self._judge(got, after)

    def _call(self) -> tuple[dict[str, np.ndarray] | _ReturnProblemError, dict[str, Any]]:
        """The guarded block: the candidate's outputs and the inputs after the call.

        Everything that can run the candidate's code happens here: the call, reading
        what it returned (``__array__``, ``__len__``, ``__getitem__``, ``__repr__`` ...)
        and looking at the inputs it was given. What it raises is this input's failure.
        """
        try:
            with _pinned_numerics():
                result = self.fn(*self.arguments.values())
                after = {name: _snapshot(value) for name, value in self.arguments.items()}
                try:
                    got: dict[str, np.ndarray] | _ReturnProblemError = self._unpacked(result)
                except _ReturnProblemError as problem:
                    got = problem
        except CandidateError as error:  # from a proxy: its own account of what happened
            failure = self._failure(
                error.kind,
                error.quantity,
                error.headline,
                error.details,
                about_input=error.about_input,
            )
            if error.final:
                raise _StopSearch(failure) from None
            raise failure from None
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt) and self.interrupts.received:
                raise  # Ctrl-C: stop the check
            raise self._failure(
                "exception",
                None,
                f"raised {type(error).__name__}: {_message(error)}",
                _where_raised(error, self.fn),
            ) from None
        return got, after

    def _judge(
        self, got: dict[str, np.ndarray] | _ReturnProblemError, after: dict[str, Any]
    ) -> None:
        """Raise the failure of the outputs, if any: plain data against the reference."""
        for name, before in self.pristine.items():
            if not _unchanged(before, after[name]):
                raise self._failure(
                    "mutation",
                    name,
                    f"wrote into its input {name}",
                    [
                        _first_change(name, before, after[name]),
                        "A loss function must not modify its arguments: compute into new "
                        "arrays, or work on a copy.",
                    ],
                    got={name: after[name]},
                    got_heading=f"After the call to {self.name}, {name} holds:",
                )
        if isinstance(got, _ReturnProblemError):
            raise self._return_failure(got.quantity, got.detail)
        for quantity, value in got.items():
            finite = np.isfinite(value)
            if not finite.all():
                raise self._failure(
                    "non-finite",
                    quantity,
                    f"returned a {quantity} that is not finite (NaN or inf)",
                    [_where_not_finite(quantity, value, finite)],
                    got=self._shown(got, quantity),
                )
        for quantity, value in got.items():
            difference = Difference.between(value, self.expected[quantity])
            if difference.exceeds(self.contract.rtol, self.contract.atol):
                details = difference.describe(quantity, self.contract.rtol, self.contract.atol)
                note = self.contract.kink_note(self.pristine) if quantity != "loss" else None
                raise self._failure(
                    "mismatch",
                    quantity,
                    f"returned a wrong {quantity}",
                    details + (["", note] if note else []),
                    got=self._shown(got, quantity),
                )

    def _unpacked(self, result: Any) -> dict[str, np.ndarray]:
        """The candidate's loss and gradient(s), labelled, as arrays of its own.

        Raises :class:`_ReturnProblemError` for a wrong type or shape. Reading ``result`` runs
        the candidate's code: this runs inside the guarded block.
        """
        gradient_name = self.contract.gradient_name
        if not isinstance(result, tuple | list) or len(result) != 2:
            raise _ReturnProblemError(
                None,
                f"{self.name} must return a pair (loss, {gradient_name}), "
                f"got {value_summary(result)}",
            )
        loss, gradient = result
        labelled: dict[str, np.ndarray] = {}
        if "loss" in self.compared:
            loss_shape = self.expected["loss"].shape
            loss_array = _as_numeric_array(loss)
            if loss_array is None or loss_array.shape != loss_shape:
                wanted = "a number" if loss_shape == () else f"an array of shape {loss_shape}"
                raise _ReturnProblemError(
                    "loss", f"loss must be {wanted}, got {value_summary(loss)}"
                )
            labelled["loss"] = loss_array.copy()
        first_name = self.contract.argument_names[0]
        first = self.pristine[first_name]
        if gradient_name == "grads":
            entries = {f"grads[{key!r}]": key for key in first}
            if any(label in self.compared for label in entries) and (
                not isinstance(gradient, Mapping) or set(gradient) != set(first)
            ):
                keys = list(gradient) if isinstance(gradient, Mapping) else None
                got = f"keys {keys}" if keys is not None else value_summary(gradient)
                raise _ReturnProblemError(
                    "grads",
                    f"grads must be a dict keyed like {first_name}, {list(first)}, got {got}",
                )
            pairs = {
                label: (gradient[key], first[key])
                for label, key in entries.items()
                if label in self.compared
            }
        else:
            pairs = {gradient_name: (gradient, first)} if gradient_name in self.compared else {}
        for label, (value, like) in pairs.items():
            array = _as_numeric_array(value)
            if array is None or array.shape != like.shape:
                raise _ReturnProblemError(
                    label,
                    f"{label} must be an array of shape {like.shape}, the shape of "
                    f"{first_name}, got {value_summary(value)}",
                )
            labelled[label] = array.copy()
        return labelled

    def _shown(self, got: dict[str, np.ndarray], quantity: str) -> dict[str, np.ndarray]:
        """The loss (if compared) and the failing quantity: what a mismatch message shows."""
        return {name: got[name] for name in dict.fromkeys(("loss", quantity)) if name in got}

    def _return_failure(self, quantity: str | None, detail: str) -> CheckFailedError:
        return self._failure("return", quantity, "returned the wrong kind of value", [detail])

    def _failure(
        self,
        kind: str,
        quantity: str | None,
        headline: str,
        details: list[str],
        *,
        got: dict[str, Any] | None = None,
        got_heading: str = "",
        about_input: bool = True,
    ) -> CheckFailedError:
        """The error for this input: what went wrong, the input, expected and got."""
        contract = self.contract
        call = f"{self.name}({', '.join(contract.argument_names)})"
        outputs = f"loss, {contract.gradient_name}"
        expected = self.reference_outputs
        if got is not None and kind in ("mismatch", "non-finite"):
            expected = {name: self.expected[name] for name in got}
        lines = [f"{contract.checker}: {call if about_input else self.name} {headline}.", ""]
        for detail in details:
            lines += textwrap.wrap(detail, _WIDTH, initial_indent="    ", subsequent_indent="    ")
            lines += [] if detail else [""]
        if not about_input:
            message = "\n".join(lines).rstrip() + "\n"
            return CheckFailedError(message, kind=kind, quantity=quantity, inputs={})
        lines += ["", "The smallest failing input found:", ""]
        lines += ["    import numpy as np", *assignment_block(self.pristine)]
        lines += [f"    {outputs} = {call}", ""]
        lines += [f"Expected, from {contract.reference_description}:"]
        lines += assignment_block(_displayed(expected))
        if got is not None:
            lines += [got_heading or f"Got, from {self.name}:", *assignment_block(_displayed(got))]
        return CheckFailedError(
            "\n".join(lines).rstrip() + "\n",
            kind=kind,
            quantity=quantity,
            inputs=copy.deepcopy(self.pristine),
        )


def _where_not_finite(quantity: str, value: np.ndarray, finite: np.ndarray) -> str:
    if value.ndim == 0:
        return f"{quantity} is {literal(value[()])}"
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    return (
        f"{int(np.sum(~finite))} of {value.size} entries are NaN or inf; the first, "
        f"{literal(value[first])}, at {quantity}[{', '.join(map(str, first))}]"
    )


def _displayed(values: dict[str, Any]) -> dict[str, Any]:
    """Scalars as plain numbers (``loss = 0.5``); arrays as array literals."""
    return {
        name: value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value
        for name, value in values.items()
    }


def _settings(max_examples: int, seed: int | None) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=seed is None,  # deterministic by default; a seed picks another sequence
        database=None,  # write nothing into the directory being graded
        deadline=None,  # never fail a candidate for being slow
        print_blob=False,
        report_multiple_bugs=False,  # one error: the smallest failing input
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),  # they concern the kit's strategies, not fn
    )


def run_check(
    contract: Contract, fn: Callable[..., Any] | Candidate, *, max_examples: int, seed: int | None
) -> CheckReport:
    """Run the check; return the report, or raise the smallest failure's error."""
    __tracebackhide__ = True  # pytest shows the grader's line and the message, not ours
    candidate = fn if isinstance(fn, Candidate) else Candidate(fn)
    if not callable(candidate.function):
        raise TypeError(
            f"{contract.checker}: fn must be a callable or a target 'path/to/file.py:function', "
            f"got {value_summary(candidate.function)}"
        )
    compared = _compared(contract, candidate.quantities)
    with _Interrupts() as interrupts, _pinned_numerics():
        try:
            return _search(
                contract,
                candidate.function,
                interrupts,
                compared,
                max_examples=max_examples,
                seed=seed,
            )
        except _StopSearch as stop:
            raise stop.failure from None


def _search(
    contract: Contract,
    fn: Callable[..., Any],
    interrupts: _Interrupts,
    compared: tuple[str, ...],
    *,
    max_examples: int,
    seed: int | None,
) -> CheckReport:
    """The Hypothesis search, the replay of its failure and the last shrinking pass."""
    __tracebackhide__ = True
    started = passed = 0

    def check_one_example(problem: Any) -> None:
        nonlocal started, passed
        started += 1
        _Example(contract, fn, problem._asdict(), interrupts, compared).check()
        passed += 1

    probes = [probe for probe in contract.probes if contract.admissible(probe._asdict())]
    drawn = max(max_examples - len(probes), 1)  # the probes count towards max_examples
    test = _settings(drawn, seed)(given(contract.problems)(check_one_example))
    for probe in reversed(probes):  # hypothesis tries the outermost @example first
        test = hypothesis.example(probe)(test)
    if seed is not None:
        test = hypothesis.seed(seed)(test)

    def replay(inputs: dict[str, Any]) -> CheckFailedError | None:
        try:
            _Example(contract, fn, copy.deepcopy(inputs), interrupts, compared).check()
        except CheckFailedError as error:
            return error
        return None

    def fails(inputs: dict[str, Any]) -> CheckFailedError | None:
        return replay(inputs) if contract.admissible(inputs) else None

    def not_deterministic(failure: CheckFailedError) -> CheckFailedError:
        return CheckFailedError(
            f"{contract.checker}: {_name(fn)} is not deterministic: it failed on an input and "
            "then passed on the same input. (Does it keep state between calls, or draw random "
            "numbers?) The first failure was:\n\n" + str(failure),
            kind=failure.kind,
            quantity=failure.quantity,
            inputs=failure.inputs,
        )

    try:
        test()
    except CheckFailedError as error:
        # Hypothesis replays a drawn failure (raising Flaky if it passes), but not a
        # failure on a probe: replay it here.
        if replay(error.inputs) is None:
            raise not_deterministic(error) from None
        smallest = shrink_further(error, fails, contract.dimensions)
        raise CheckFailedError(
            str(smallest), kind=smallest.kind, quantity=smallest.quantity, inputs=smallest.inputs
        ) from None
    except Flaky as error:
        failures = [e for e in getattr(error, "exceptions", ()) if isinstance(e, CheckFailedError)]
        if not failures:
            raise
        raise not_deterministic(failures[0]) from None
    if passed != started:  # an input left unjudged: something swallowed its failure
        raise CheckFailedError(
            f"{contract.checker}: {_name(fn)} was called on {started} inputs but only {passed} "
            "were compared to the end: something the candidate did stopped the check on the "
            "others without a failure being reported. The check cannot pass.\n",
            kind="incomplete",
            quantity=None,
            inputs={},
        )
    return CheckReport(
        checker=contract.checker,
        candidate=_name(fn),
        reference=contract.reference_description,
        examples_passed=passed,
        quantities=compared,
    )


Checker = TypeVar("Checker", bound=Callable[..., CheckReport])


def _names(quantities: Sequence[str] | None, checker: str) -> tuple[str, ...] | None:
    if quantities is None:
        return None
    if isinstance(quantities, str) or not all(isinstance(name, str) for name in quantities):
        raise TypeError(
            f"{checker}: quantities must be a list of names such as ['loss', 'dW'], "
            f"got {quantities!r}"
        )
    if not quantities:
        raise ValueError(f"{checker}: quantities must name at least one quantity, got none")
    return tuple(quantities)


def accepts_targets(checker: Checker) -> Checker:
    """Let a checker take a target ``"path/to/file.py:function"`` in place of a function.

    The one way every checker runs a submission in isolation: a target becomes a proxy
    callable (:class:`flatprop.grading._runner.IsolatedFunction`) that calls the function
    in a worker process, limited by ``timeout`` (seconds per call, default 10) and
    ``memory`` (MiB, default 2048); the checker runs the proxy like any candidate, and
    the worker is stopped when it returns or raises. It also takes ``quantities``, the
    outputs to compare (for partial credit), and hands both to the checker as a
    :class:`Candidate`.
    """

    @functools.wraps(checker)
    def checked(
        fn: Any,
        *args: Any,
        quantities: Sequence[str] | None = None,
        timeout: float | None = None,
        memory: int | None = None,
        **kwargs: Any,
    ) -> CheckReport:
        __tracebackhide__ = True
        names = _names(quantities, checker.__name__)
        if not isinstance(fn, str):
            if timeout is not None or memory is not None:
                raise TypeError(
                    f"{checker.__name__}: timeout and memory limit a target "
                    "'path/to/file.py:function', which runs in a worker process; a function "
                    "object runs in this process"
                )
            return checker(Candidate(fn, names), *args, **kwargs)
        # The one place where testing reaches into grading (whose runner sits below it).
        from flatprop.grading._runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT, IsolatedFunction

        try:
            isolated = IsolatedFunction(
                fn,
                timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
                memory=DEFAULT_MEMORY if memory is None else memory,
            )
        except (TypeError, ValueError) as error:
            raise type(error)(f"{checker.__name__}: {error}") from None
        with isolated:
            return checker(Candidate(isolated, names), *args, **kwargs)

    parameters = list(inspect.signature(checker).parameters.values())
    limits = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
        for name, annotation in (
            ("quantities", "Sequence[str] | None"),
            ("timeout", "float | None"),
            ("memory", "int | None"),
        )
    ]
    variadic = [p for p in parameters if p.kind is inspect.Parameter.VAR_KEYWORD]
    named = [p for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]
    checked.__signature__ = inspect.signature(checker).replace(  # type: ignore[attr-defined]
        parameters=[*named, *limits, *variadic]
    )
    return checked  # type: ignore[return-value]
