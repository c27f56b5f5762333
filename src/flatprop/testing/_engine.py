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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

import hypothesis
import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from flatprop.testing._diagnosis import (
    Diagnosis,
    Observation,
    diagnose,
    mutation_diagnosis,
    shape_diagnosis,
)
from flatprop.testing._outputs import LossAndGradient, OutputError, Outputs
from flatprop.testing._report import (
    CheckFailedError,
    CheckReport,
    Difference,
    Opaque,
    assignment_block,
    listing,
    literal,
    value_summary,
)
from flatprop.testing._shrink import Dimension, shrink_further
from flatprop.testing._variants import Variant

__all__ = [
    "Candidate",
    "CandidateError",
    "Contract",
    "Target",
    "UnknownQuantityError",
    "accepts_targets",
    "covers",
    "run_candidate",
    "run_check",
]

_WIDTH = 92  # of the wrapped lines of a message
_NUMPY_DIRECTORY = os.path.dirname(np.__file__)
_TESTING_DIRECTORY = os.path.dirname(__file__)


@dataclass(frozen=True)
class Contract:
    """What a checker checks: the candidate's signature, its inputs and its reference.

    The candidate is called as ``fn(*arguments)``; ``outputs`` says what it must return
    (by default ``(loss, gradient)``, the gradient being with respect to the first
    argument: an array of its shape, or, when the first argument is a dict of arrays, a
    dict with the same keys and shapes). The reference returns the same.
    """

    checker: str  # "check_linear_loss"
    argument_names: tuple[str, ...]  # ("W", "X", "y", "reg")
    gradient_name: str  # "dW", or "grads" for a dict of gradients
    quantities: tuple[str, ...]  # what is compared, in order: ("loss", "dW")
    problems: st.SearchStrategy[Any]  # draws NamedTuples of the arguments
    reference: Callable[..., Any]
    reference_description: str
    kink_note: Callable[[dict[str, Any]], str | None]  # on a gradient mismatch
    rtol: float
    atol: float
    dimensions: tuple[Dimension, ...]  # N, D, H, C: for the last shrinking pass
    admissible: Callable[[dict[str, Any]], bool]  # could the checker have drawn this input?
    probes: tuple[Any, ...] = ()  # problems tried before the drawn ones (exact kinks)
    outputs: Outputs | None = None  # None: LossAndGradient(gradient_name, first argument)
    staged: bool = False  # the quantities are stages, compared in order (forward, backward)
    variants: tuple[Variant, ...] = ()  # the known mistakes, to diagnose a failure with
    # A model's reference without its regularization (in the candidate's format): what
    # the relation of a regularization part is measured against
    without_regularization: Callable[[dict[str, Any]], Any] | None = None
    # More inputs to run a failing candidate on, given its failing input (admissible ones)
    diagnostic_inputs: Callable[[dict[str, Any]], list[dict[str, Any]]] = lambda inputs: []

    @property
    def returns(self) -> Outputs:
        """What the candidate returns, and how it is read."""
        if self.outputs is not None:
            return self.outputs
        return LossAndGradient(self.gradient_name, self.argument_names[0])


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
class Target:
    """Names in a submitted file and how the worker calls them: a target of several names.

    ``text`` is a target ``"path/to/file.py:name"`` (the file, and the first name);
    ``call`` what the worker calls, e.g. ``("pair", "affine_forward", "affine_backward")``
    (see :class:`flatprop.grading._runner.IsolatedFunction`).
    """

    text: str
    call: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    """What a check runs: a function or the proxy of a target, and which outputs it compares.

    ``quantities`` None compares all of them.
    """

    function: Callable[..., Any]
    quantities: tuple[str, ...] | None = None


class UnknownQuantityError(ValueError):
    """A name in ``quantities=`` that is none of the outputs the checker compares.

    ``name`` is that name, ``valid`` the names it may be; the message lists them (and
    says which one differs from it only in case, if one does).
    """

    def __init__(self, checker: str, name: str, valid: tuple[str, ...]):
        self.checker, self.name, self.valid = checker, name, valid
        super().__init__(
            f"{checker}: quantities must name what it compares, some of "
            f"{', '.join(map(repr, valid))}; got {name!r}{self.suggestion}"
        )

    @property
    def suggestion(self) -> str:
        """`` (did you mean 'dW'?)`` for a name that differs only in case, else ``""``."""
        same = [item for item in self.valid if item.lower() == self.name.lower()]
        return f" (did you mean {same[0]!r}?)" if same else ""


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
            raise UnknownQuantityError(contract.checker, name, tuple(valid))
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
    plain = isinstance(name, str) and all(part.isidentifier() for part in name.split("."))
    return name if plain else "fn"


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


Got = dict[str, np.ndarray] | OutputError  # the candidate's outputs, or what is wrong


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
        self.returns = contract.returns
        self.fn = fn
        self.compared = compared
        self.name = _name(fn)
        self.arguments = arguments
        self.interrupts = interrupts
        self.pristine = copy.deepcopy(arguments)
        with _pinned_numerics():
            try:
                result = contract.reference(*copy.deepcopy(arguments).values())
                expected = self.returns.labelled(result)
                if not all(np.all(np.isfinite(value)) for value in expected.values()):
                    raise FloatingPointError("the reference's outputs are not all finite")
            except Exception as error:  # pragma: no cover - a bug in flatprop, not the candidate
                raise RuntimeError(
                    f"flatprop's reference {contract.reference_description} failed on an "
                    f"input that the checker drew: {error!r}. This is a bug in flatprop; please "
                    f"report it with this input: {self.pristine!r}"
                ) from error
        self.expected = expected
        self.reference_outputs = self.returns.shown(result)

    def check(self) -> tuple[str, ...]:
        """Raise this input's failure, if any; else return the labels compared."""
        got, after = self._call()
        with _pinned_numerics():
            self._judge(got, after)
        return () if isinstance(got, OutputError) else tuple(got)

    def observe(self) -> Got:
        """The candidate's outputs on this input, unjudged (for the diagnosis).

        Raises its :class:`CheckFailedError` if it raised (or :class:`_StopSearch`).
        """
        return self._call()[0]

    def _call(self) -> tuple[Got, dict[str, Any]]:
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
                    got: Got = self.returns.unpack(
                        result, self.pristine, self.expected, self.compared, self.name
                    )
                except OutputError as problem:
                    got = problem
        except CandidateError as error:  # from a proxy: its own account of what happened
            failure = self._failure(
                error.kind,
                error.quantity,
                error.headline,
                error.details,
                about_input=error.about_input,
                final=error.final,
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

    def _judge(self, got: Got, after: dict[str, Any]) -> None:
        """Raise the failure of the outputs, if any: plain data against the reference."""
        for name, before in self.pristine.items():
            if not _unchanged(before, after[name]):
                raise self._failure(
                    "mutation",
                    name,
                    f"wrote into its input {name}",
                    [
                        _first_change(name, before, after[name]),
                        "A function must not modify its arguments: compute into new arrays, "
                        "or work on a copy.",
                    ],
                    got={name: after[name]},
                    got_heading=f"After the call to {self.name}, {name} holds:",
                )
        if isinstance(got, OutputError):
            raise self._failure(got.kind, got.quantity, got.headline, [got.detail])
        # NaN or inf first (anywhere), then values; stages one by one, in their order
        for group in [[quantity] for quantity in got] if self.contract.staged else [list(got)]:
            self._judge_values({quantity: got[quantity] for quantity in group}, got)

    def _judge_values(self, values: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> None:
        for quantity, value in values.items():
            finite = np.isfinite(value)
            if not finite.all():
                raise self._failure(
                    "non-finite",
                    quantity,
                    f"returned a {quantity} that is not finite (NaN or inf)",
                    [*self._progress(got, quantity), _where_not_finite(quantity, value, finite)],
                    got=self._shown(got, quantity),
                )
        for quantity, value in values.items():
            difference = Difference.between(value, self.expected[quantity])
            if difference.exceeds(self.contract.rtol, self.contract.atol):
                details = difference.describe(quantity, self.contract.rtol, self.contract.atol)
                note = self.contract.kink_note(self.pristine) if quantity != "loss" else None
                raise self._failure(
                    "mismatch",
                    quantity,
                    f"returned a wrong {quantity}",
                    [*self._progress(got, quantity), *details, *(["", note] if note else [])],
                    got=self._shown(got, quantity),
                )

    def _progress(self, got: dict[str, np.ndarray], quantity: str) -> list[str]:
        """For stages: which matched before the wrong one, and which were not compared."""
        if not self.contract.staged:
            return []
        names = list(got)
        before, after = names[: names.index(quantity)], names[names.index(quantity) + 1 :]
        matched = (
            f"{listing(before)} {'match' if len(before) > 1 else 'matches'}; " if before else ""
        )
        later = f"; the later stages ({listing(after)}) were not compared" if after else ""
        return [f"{matched}{quantity} is the first wrong stage{later}.", ""]

    def _shown(self, got: dict[str, np.ndarray], quantity: str) -> dict[str, np.ndarray]:
        """The loss (if compared) and the failing quantity: what a mismatch message shows."""
        if self.contract.staged:
            return {quantity: got[quantity]}
        return {name: got[name] for name in dict.fromkeys(("loss", quantity)) if name in got}

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
        final: bool = False,
    ) -> CheckFailedError:
        """The error for this input: what went wrong, the input, expected and got.

        Its message is in two parts (kept on the error as ``_parts``), between which the
        diagnosis goes: the headline with its details, then the input and the outputs.
        A ``final`` failure's input is the one it happened on, never run again (so never
        shrunk): the message says so.
        """
        contract = self.contract
        call = self.returns.call_text(self.name, contract.argument_names)
        expected = self.reference_outputs
        if got is not None and kind in ("mismatch", "non-finite"):
            expected = {name: self.expected[name] for name in got}
        stop = "" if headline.endswith((".", "?", "!")) else "."  # "Perhaps ... a comma?"
        head = [f"{contract.checker}: {call if about_input else self.name} {headline}{stop}", ""]
        for detail in details:
            head += textwrap.wrap(
                detail,
                _WIDTH,
                initial_indent="    ",
                subsequent_indent="    ",
                break_on_hyphens=False,  # nor in a path, which a reader copies
                break_long_words=False,
            )
            head += [] if detail else [""]
        if not about_input:
            return _error(head, [], kind=kind, quantity=quantity, inputs={}, contract=contract)
        body = [_final_heading(kind) if final else "The smallest failing input found:", ""]
        body += ["    import numpy as np", *assignment_block(self.pristine)]
        body += [
            f"    {line}" for line in self.returns.call_lines(self.name, contract.argument_names)
        ]
        body += ["", f"Expected, from {contract.reference_description}:"]
        body += assignment_block(_displayed(expected))
        if got is not None:
            heading = got_heading or f"Got, from {self.returns.candidate(self.name)}:"
            body += [heading, *assignment_block(_displayed(got))]
        return _error(
            head,
            body,
            kind=kind,
            quantity=quantity,
            inputs=copy.deepcopy(self.pristine),
            contract=contract,
        )


def _final_heading(kind: str) -> str:
    """What the input of a final failure is (see :class:`CandidateError`)."""
    if kind == "timeout":
        return "The input it timed out on (not shrunk: a timed-out input is not run again):"
    return (
        "The input it failed on (not shrunk: its process was ended on it, and it is not run again):"
    )


def _error(
    head: list[str],
    body: list[str],
    *,
    kind: str,
    quantity: str | None,
    inputs: dict[str, Any],
    contract: Contract,
    diagnosis: Diagnosis | None = None,
) -> CheckFailedError:
    """A :class:`CheckFailedError` from the parts of its message (and a diagnosis)."""
    head = [line.rstrip() for line in head]
    while head and not head[-1]:
        head.pop()
    lines = list(head)
    if diagnosis is not None and diagnosis.lines:
        lines += [""] + [
            wrapped
            for line in diagnosis.lines
            for wrapped in textwrap.wrap(
                line, _WIDTH, initial_indent="    ", subsequent_indent="    "
            )
        ]
    if body:
        lines += ["", *body]
    stage = quantity if contract.staged and quantity in contract.quantities else None
    error = CheckFailedError(
        "\n".join(lines).rstrip() + "\n",
        kind=kind,
        quantity=quantity,
        inputs=inputs,
        diagnosis=None if diagnosis is None else diagnosis.mistake,
        stage=stage,
    )
    error._parts = (head, body)  # type: ignore[attr-defined]
    return error


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
    seen: set[str] = set()  # the outputs compared (a staged candidate's, those it returns)

    def check_one_example(problem: Any) -> None:
        nonlocal started, passed
        started += 1
        seen.update(_Example(contract, fn, problem._asdict(), interrupts, compared).check())
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
        diagnosis = _diagnosis(contract, fn, interrupts, compared, smallest)
        head, body = getattr(smallest, "_parts", ([str(smallest)], []))
        raise _error(
            head,
            body,
            kind=smallest.kind,
            quantity=smallest.quantity,
            inputs=smallest.inputs,
            contract=contract,
            diagnosis=diagnosis,
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
        candidate=contract.returns.candidate(_name(fn)),
        reference=contract.reference_description,
        examples_passed=passed,
        quantities=tuple(label for label in compared if label in seen) or compared,
    )


def _diagnosis(
    contract: Contract,
    fn: Callable[..., Any],
    interrupts: _Interrupts,
    compared: tuple[str, ...],
    failure: CheckFailedError,
) -> Diagnosis | None:
    """What known mistake the failure is, from the candidate's outputs on more inputs.

    Runs the candidate on the failing input again and on the contract's diagnostic
    inputs (its calls only; the comparison stays here), until one of them ends the
    candidate's process (a timeout, a crash): the inputs tried are those it answered.
    """
    if failure.kind == "mutation":
        return mutation_diagnosis(failure.quantity)
    if failure.kind not in ("mismatch", "non-finite", "return") or not failure.inputs:
        return None
    inputs = [failure.inputs, *contract.diagnostic_inputs(failure.inputs)]
    observed: list[tuple[_Example, Got]] = []
    for index, arguments in enumerate(inputs):
        example = _Example(contract, fn, copy.deepcopy(arguments), interrupts, compared)
        try:
            got = example.observe()
        except (CheckFailedError, _StopSearch) as error:
            if index == 0:  # it did not answer on the failing input this time
                return None
            if isinstance(error, _StopSearch):  # its process ended: no more inputs
                break
            continue  # it raised on this input: not one it answered
        observed.append((example, got))
    with _pinned_numerics():
        if failure.kind == "return":
            return _shape_diagnosis(contract, failure, observed)
        observations = [
            Observation(example.pristine, got, {label: example.expected[label] for label in got})
            for example, got in observed
            if not isinstance(got, OutputError)
        ]
        if not observations:
            return None
        return diagnose(
            observations,
            contract.variants,
            contract.returns.labelled,
            failure.quantity if failure.quantity in observations[0].got else None,
            rtol=contract.rtol,
            atol=contract.atol,
            staged=contract.staged,
            without_regularization=contract.without_regularization,
        )


def _shape_diagnosis(
    contract: Contract, failure: CheckFailedError, observed: list[tuple[_Example, Got]]
) -> Diagnosis | None:
    """For an output of the wrong shape: its values, next to the reference's."""
    quantity = failure.quantity
    if quantity is None:
        return None
    pairs: list[tuple[np.ndarray | None, np.ndarray]] = []
    for example, got in observed:
        expected = example.expected.get(quantity)
        if expected is None:
            return None
        if isinstance(got, OutputError):
            if got.quantity != quantity or got.value is None:
                return None
            pairs.append((got.value, expected))
        elif quantity in got:
            if Difference.between(got[quantity], expected).exceeds(contract.rtol, contract.atol):
                return None
            pairs.append((None, expected))
    reshaped = (
        "dx_not_reshaped" if contract.checker == "check_layer_pair" and quantity == "dx" else None
    )
    return shape_diagnosis(quantity, pairs, reshaped, contract.rtol, contract.atol)


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


def run_candidate(
    checker: str,
    fn: Any,
    check: Callable[[Candidate], CheckReport],
    *,
    quantities: Sequence[str] | None,
    timeout: float | None,
    memory: int | None,
) -> CheckReport:
    """Run ``check`` on ``fn`` as a :class:`Candidate`: in this process, or isolated.

    A target (a str, or a :class:`Target`) becomes a proxy callable
    (:class:`flatprop.grading._runner.IsolatedFunction`) that calls it in a worker
    process, limited by ``timeout`` and ``memory``, stopped when ``check`` returns or
    raises. What :func:`accepts_targets` does, for a checker that makes its candidate
    itself (:func:`flatprop.testing.check_layer_pair`, from two functions).
    """
    __tracebackhide__ = True
    names = _names(quantities, checker)
    if not isinstance(fn, str | Target):
        if timeout is not None or memory is not None:
            raise TypeError(
                f"{checker}: timeout and memory limit a target 'path/to/file.py:function', "
                "which runs in a worker process; a function object runs in this process"
            )
        return check(Candidate(fn, names))
    # The one place where testing reaches into grading (whose runner sits below it).
    from flatprop.grading._runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT, IsolatedFunction

    text, call = (fn, None) if isinstance(fn, str) else (fn.text, fn.call)
    try:
        isolated = IsolatedFunction(
            text,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            memory=DEFAULT_MEMORY if memory is None else memory,
            call=call,
        )
    except (TypeError, ValueError) as error:
        raise type(error)(f"{checker}: {error}") from None
    with isolated:
        return check(Candidate(isolated, names))


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

        def check(candidate: Candidate) -> CheckReport:
            __tracebackhide__ = True  # a lambda's frame would show in pytest's report
            return checker(candidate, *args, **kwargs)

        return run_candidate(
            checker.__name__, fn, check, quantities=quantities, timeout=timeout, memory=memory
        )

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
