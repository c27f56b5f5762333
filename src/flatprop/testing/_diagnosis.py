"""Diagnose a failed check: which known mistake reproduces the candidate's outputs.

After a check fails on its smallest input, the engine runs the candidate on a few more
inputs (the contract's ``diagnostic_inputs``: N > 1, ``reg > 0``, exact kinks, rows far
apart ...) and hands the observations here. A known mistake (a :class:`Variant` of
:mod:`flatprop.testing._variants`) is named when it reproduces every compared output
of the candidate on every input observed: within the check's tolerances, with NaN and
inf in the same places (for the numeric breakdowns, the global max and no max shift:
wrong in the same places). Exactly one mistake must match; with none (or several),
the report states a relation of the failing output to the reference's that holds on
every input observed, when one does.

Nothing here calls the candidate: the observations are plain arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from flatprop.testing._variants import Variant
from flatprop.testing.mistakes import MISTAKES

__all__ = ["Diagnosis", "Observation", "diagnose", "mutation_diagnosis", "shape_diagnosis"]

_ON_THE_FAILING_INPUT = "on the failing input"


@dataclass(frozen=True)
class Observation:
    """The candidate's compared outputs on one input, and the reference's."""

    inputs: dict[str, Any]
    got: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]


@dataclass(frozen=True)
class Diagnosis:
    """A known mistake's id (or None) and the lines the report says it in."""

    mistake: str | None
    lines: list[str]


def _inputs_tried(count: int) -> str:
    return "the 1 input tried" if count == 1 else f"all {count} inputs tried"


def _known(mistake: str, evidence: str, count: int) -> str:
    return (
        f"This matches a known mistake, {mistake}: {MISTAKES[mistake].summary}. On "
        f"{_inputs_tried(count)}, {evidence}."
    )


def mutation_diagnosis(quantity: str | None) -> Diagnosis:
    """A write into an input, ``dout`` or a cache: the mistake ``writes_input``."""
    what = f"here, into {quantity}" if quantity else "here"
    summary = MISTAKES["writes_input"].summary
    return Diagnosis(
        "writes_input", [f"This matches a known mistake, writes_input: {summary} ({what})."]
    )


def shape_diagnosis(
    quantity: str,
    observations: Sequence[tuple[np.ndarray | None, np.ndarray]],
    reshaped_mistake: str | None,
    rtol: float,
    atol: float,
) -> Diagnosis:
    """An output of the wrong shape: the right values reshaped, or transposed?

    ``observations`` pairs the candidate's array for ``quantity`` (None where its shape
    was right and its values matched) with the reference's, on each input tried.
    ``reshaped_mistake`` is the mistake to name when the values are right in another
    shape on every input (``dx_not_reshaped`` for an affine layer's dx).
    """
    count = len(observations)
    wrong = [(got, expected) for got, expected in observations if got is not None]
    if not wrong:
        return Diagnosis(None, [])
    if all(
        got.size == expected.size and _close(got.reshape(expected.shape), expected, rtol, atol)
        for got, expected in wrong
    ):
        flat = all(e.ndim > 2 and got.shape == (len(e), e.size // len(e)) for got, e in wrong)
        if flat:
            shape = "in the shape (N, D) wherever x has more than 2 axes"
        elif all(got.shape == (1, *e.shape) for got, e in wrong):
            shape = "with an extra axis of length 1 in front"
        elif all(got.shape == (*e.shape, 1) for got, e in wrong):
            shape = "with an extra axis of length 1 at the end"
        else:
            shape = "in the shape " + " or ".join(sorted({str(got.shape) for got, _ in wrong}))
        evidence = f"{quantity} has the reference's values, {shape}"
        if reshaped_mistake is not None:
            return Diagnosis(reshaped_mistake, [_known(reshaped_mistake, evidence, count)])
        return Diagnosis(None, [f"On {_inputs_tried(count)}, {evidence}."])
    if all(
        got.shape == expected.shape[::-1] and _close(got.T, expected, rtol, atol)
        for got, expected in wrong
    ):
        return Diagnosis(
            None, [f"On {_inputs_tried(count)}, {quantity} is the reference's transposed."]
        )
    return Diagnosis(None, [])


def diagnose(
    observations: Sequence[Observation],
    variants: Sequence[Variant],
    labelled: Callable[[Any], dict[str, np.ndarray]],
    quantity: str | None,
    *,
    rtol: float,
    atol: float,
    staged: bool = False,
    without_regularization: Callable[[dict[str, Any]], Any] | None = None,
) -> Diagnosis:
    """The known mistake that reproduces every observation, or the relations that hold.

    ``observations[0]`` is the failing input's. ``labelled(result)`` labels a variant's
    result like the candidate's outputs; ``quantity`` is the failing output.
    ``without_regularization(inputs)``, for a model, is its reference's result without
    the regularization, for the relation of a regularization part.
    """
    count = len(observations)
    matches: dict[str, str] = {}  # mistake -> the evidence of its first matching variant
    for variant in variants:
        if variant.mistake not in matches and _reproduces(
            variant, observations, labelled, rtol, atol
        ):
            matches[variant.mistake] = variant.evidence
    lines = []
    relation = None
    if quantity is not None:
        data_part = None
        if without_regularization is not None:
            data_part = _data_parts(quantity, observations, without_regularization, labelled)
        relation = _relation(quantity, observations, rtol, atol, data_part)
    where = f"on {_inputs_tried(count)}"
    if relation is not None and relation.startswith(_ON_THE_FAILING_INPUT):
        where, relation = _ON_THE_FAILING_INPUT, relation[len(_ON_THE_FAILING_INPUT) + 2 :]
    if staged and relation is not None:
        lines.append(f"{where[0].upper()}{where[1:]}, {relation}.")
    if len(matches) == 1:
        ((mistake, evidence),) = matches.items()
        return Diagnosis(mistake, [*lines, _known(mistake, evidence, count)])
    if matches:
        names = ", ".join(matches)
        return Diagnosis(
            None,
            [
                *lines,
                f"Several known mistakes reproduce its outputs on {_inputs_tried(count)}: {names}.",
            ],
        )
    if not staged and relation is not None:
        lines.append(f"No known mistake reproduces its outputs; {where}, {relation}.")
    else:
        lines.append(f"No known mistake reproduces its outputs on {_inputs_tried(count)}.")
    return Diagnosis(None, lines)


# Matching a variant


def _close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    """Within the check's tolerance, with NaN and inf (any of them) in the same places."""
    if got.shape != expected.shape:
        return False
    finite = np.isfinite(expected)
    if not np.array_equal(finite, np.isfinite(got)):
        return False
    if not finite.any():
        return True
    reference = expected[finite].astype(np.float64)
    gap = np.abs(got[finite].astype(np.float64) - reference)
    return bool(np.max(gap) <= atol + rtol * np.max(np.abs(reference)))


def _wrong_entries(value: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Where ``value`` is off the reference's by more than the tolerance (NaN and inf are)."""
    scale = np.max(np.abs(expected)) if expected.size else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        gap = np.abs(value.astype(np.float64) - expected.astype(np.float64))
    return ~(np.isfinite(gap) & (gap <= atol + rtol * scale))


def _reproduces(
    variant: Variant,
    observations: Sequence[Observation],
    labelled: Callable[[Any], dict[str, np.ndarray]],
    rtol: float,
    atol: float,
) -> bool:
    for observation in observations:
        outputs = _run(variant.run, observation.inputs, labelled)
        if outputs is None:
            return False
        others = [_run(run, observation.inputs, labelled) for run in variant.alternatives]
        for label, got in observation.got.items():
            value = outputs.get(label)
            if value is None or value.shape != got.shape:
                return False
            if not variant.numeric:
                if not _close(got, value, rtol, atol):
                    return False
                continue
            expected = observation.expected[label]
            wrongs = [_wrong_entries(value, expected, rtol, atol)]
            for other in others:
                if other is None or label not in other or other[label].shape != got.shape:
                    return False
                wrongs.append(_wrong_entries(other[label], expected, rtol, atol))
            surely_wrong = np.logical_and.reduce(wrongs)
            surely_right = ~np.logical_or.reduce(wrongs)
            wrong = _wrong_entries(got, expected, rtol, atol)
            if np.any(surely_wrong & ~wrong) or np.any(surely_right & wrong):
                return False
    return True


def _run(
    run: Callable[[dict[str, Any]], Any],
    inputs: dict[str, Any],
    labelled: Callable[[Any], dict[str, np.ndarray]],
) -> dict[str, np.ndarray] | None:
    """A variant's outputs on an input, labelled; None where it is not defined."""
    try:
        with np.errstate(all="ignore"):
            result = run(inputs)
            return None if result is None else labelled(result)
    except (ValueError, TypeError, IndexError, KeyError, FloatingPointError):
        return None


# Relations, when no known mistake matches


def _sizes(inputs: dict[str, Any]) -> dict[str, int]:
    """N and C of an input (C: the classes, or the outputs of a layer)."""
    first = next(iter(inputs.values()))
    if isinstance(first, dict):  # params
        return {"N": len(inputs["X"]), "C": first["W2"].shape[1]}
    if "W" in inputs:
        return {"N": len(inputs["X"]), "C": inputs["W"].shape[1]}
    if "w" in inputs:
        return {"N": len(inputs["x"]), "C": inputs["w"].shape[1]}
    return {"N": len(first), "C": first.shape[1] if first.ndim > 1 else 1}


def _number(value: float) -> str:
    fraction = Fraction(value).limit_denominator(12)
    if abs(float(fraction) - value) <= 1e-9 * max(1.0, abs(value)):
        return str(fraction)
    return f"{value:.6g}"


def _ratio(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> float | None:
    """K with got = k expected, if one fits within the tolerance; NaN if both are 0."""
    reference = expected.astype(np.float64).ravel()
    candidate = got.astype(np.float64).ravel()
    if not (np.all(np.isfinite(candidate)) and np.all(np.isfinite(reference))):
        return None
    norm = float(reference @ reference)
    if norm == 0:
        return np.nan if np.max(np.abs(candidate), initial=0) <= atol else None
    k = float(candidate @ reference) / norm
    if np.max(np.abs(candidate - k * reference)) <= atol + rtol * np.max(np.abs(candidate)):
        return k
    return None


def _data_parts(
    quantity: str,
    observations: Sequence[Observation],
    without_regularization: Callable[[dict[str, Any]], Any],
    labelled: Callable[[Any], dict[str, np.ndarray]],
) -> list[np.ndarray] | None:
    """The reference's ``quantity`` without its regularization, on each observation."""
    parts = []
    for observation in observations:
        if quantity not in observation.got:
            continue
        outputs = _run(without_regularization, observation.inputs, labelled)
        if outputs is None or quantity not in outputs:
            return None
        parts.append(outputs[quantity])
    return parts


def _regularization_relation(
    quantity: str,
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    data_parts: Sequence[np.ndarray],
    rtol: float,
    atol: float,
) -> str | None:
    """Whether the candidate's regularization part is k times the reference's, the rest right.

    The parts are what each output has beyond the reference's data part (its output
    without regularization); ``k`` must be the same on every input where the
    reference's part is not 0, and the candidate's part 0 where it is.
    """
    ratios = []
    for (got, expected), data in zip(pairs, data_parts, strict=True):
        if got.shape != expected.shape or data.shape != expected.shape:
            return None
        reference = expected.astype(np.float64) - data
        candidate = got.astype(np.float64) - data
        if not (np.all(np.isfinite(candidate)) and np.all(np.isfinite(reference))):
            return None
        tolerance = atol + rtol * max(np.max(np.abs(expected)), np.max(np.abs(got)))
        norm = float(np.sum(reference * reference))
        k = float(np.sum(candidate * reference)) / norm if norm else 0.0
        if np.max(np.abs(candidate - k * reference)) > tolerance:
            return None
        if np.max(np.abs(reference)) > tolerance:  # a part large enough to measure k by
            ratios.append(k)
    if not ratios or any(abs(k - ratios[0]) > 1e-6 * max(1.0, abs(ratios[0])) for k in ratios):
        return None
    k = ratios[0]
    if abs(k - 1) <= 1e-6:
        return None
    if abs(k) <= 1e-6:
        return f"{quantity} has no regularization part, and the rest of it is right"
    return (
        f"the regularization part of {quantity} is {_number(k)} times the reference's, and "
        "the rest of it is right"
    )


def _relation(
    quantity: str,
    observations: Sequence[Observation],
    rtol: float,
    atol: float,
    data_parts: Sequence[np.ndarray] | None = None,
) -> str | None:
    """A relation of ``quantity`` to the reference's that holds on every observation.

    ``data_parts``, for a model, are the reference's ``quantity`` without regularization
    on the observations that have it, for the relation of a regularization part.
    """
    pairs = [
        (observation, observation.got[quantity], observation.expected[quantity])
        for observation in observations
        if quantity in observation.got
    ]
    if not pairs:
        return None
    ratios = [_ratio(got, expected, rtol, atol) for _, got, expected in pairs]
    if all(k is not None for k in ratios):
        known = [k for k in ratios if k is not None and not np.isnan(k)]
        if known and all(abs(k - known[0]) <= 1e-6 * abs(known[0]) for k in known):
            k = known[0]
            if abs(k + 1) <= 1e-6:
                return f"{quantity} is -1 times the reference's: its sign is flipped"
            if k == 0:
                return f"{quantity} is 0" + ("" if pairs[0][1].ndim == 0 else " everywhere")
            return f"{quantity} is {_number(k)} times the reference's"
        for name, size in _SIZE_RATIOS.items():
            if all(
                k is None
                or np.isnan(k)
                or abs(k - size(_sizes(observation.inputs))) <= 1e-6 * abs(k)
                for k, (observation, _, _) in zip(ratios, pairs, strict=True)
            ):
                return f"{quantity} is {name} times the reference's"
    if data_parts is not None:
        relation = _regularization_relation(
            quantity, [(got, expected) for _, got, expected in pairs], data_parts, rtol, atol
        )
        if relation is not None:
            return relation
    offsets: list[float] = []
    for _, got, expected in pairs:
        difference = got.astype(np.float64) - expected.astype(np.float64)
        if not np.all(np.isfinite(difference)) or np.ptp(difference) > atol + rtol * np.max(
            np.abs(expected)
        ):
            offsets = []
            break
        offsets.append(float(np.mean(difference)))
    if offsets and all(abs(d - offsets[0]) <= atol + 1e-6 * abs(offsets[0]) for d in offsets):
        entries = "" if pairs[0][1].ndim == 0 else ", in every entry"
        return f"{quantity} is the reference's + {_number(offsets[0])}{entries}"
    if all(
        got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got.T, expected, rtol, atol)
        for _, got, expected in pairs
    ):
        return f"{quantity} is the reference's transposed"
    _, got, expected = pairs[0]
    if got.ndim == 2 and np.all(np.isfinite(got)):
        wrong = _wrong_entries(got, expected, rtol, atol)
        rows, columns = np.flatnonzero(wrong.any(axis=1)), np.flatnonzero(wrong.any(axis=0))
        if len(rows) == 1 and got.shape[0] > 1:
            return (
                f"{_ON_THE_FAILING_INPUT}, {quantity} differs from the reference's in row "
                f"{rows[0]} only"
            )
        if len(columns) == 1 and got.shape[1] > 1:
            return (
                f"{_ON_THE_FAILING_INPUT}, {quantity} differs from the reference's in column "
                f"{columns[0]} only"
            )
    return None


_SIZE_RATIOS: dict[str, Callable[[dict[str, int]], float]] = {
    "N": lambda s: s["N"],
    "C": lambda s: s["C"],
    "N·C": lambda s: s["N"] * s["C"],
    "1/N": lambda s: 1 / s["N"],
    "1/C": lambda s: 1 / s["C"],
    "1/(N·C)": lambda s: 1 / (s["N"] * s["C"]),
    "N/C": lambda s: s["N"] / s["C"],
    "C/N": lambda s: s["C"] / s["N"],
}
