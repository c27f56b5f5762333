"""The assignment file: what to check in each submission, how, and for how many points.

A TOML file (read with :mod:`tomllib`, or ``tomli`` on Python 3.10)::

    timeout = 10        # seconds per call of a submitted function (optional)
    memory = 2048       # MiB per worker process (optional)

    [[checks]]
    name = "svm_loss_vectorized"
    target = "linear_svm.py:svm_loss_vectorized"   # relative to the submission folder
    checker = "check_linear_loss"                  # a flatprop.testing checker
    reference = "multiclass_svm"                   # the checker's second argument
    points = 10                                    # or { loss = 2, dW = 8 }: partial credit
    options = { max_examples = 50 }                # the checker's keyword options

    [[checks]]
    name = "affine_layer"
    target = ["layers.py:affine_forward", "layers.py:affine_backward"]
    checker = "check_layer_pair"                   # two targets: forward, backward
    reference = "affine"                           # its second argument: the layer
    points = { out = 1, dx = 2, dw = 1, db = 1 }

A check may also set its own ``timeout`` and ``memory``. With ``points`` a table, each
key names outputs the checker compares (``loss``, ``dW``, ``dscores``, ``grads``, or a
key of grads such as ``W1``), and earns its points when they are right on every input;
outputs not named are not graded. Everything is checked when the file is read, the
checker's options included (by a dry run of each check), so that a mistake in the file
is reported before any submission is graded.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from flatprop.grading._runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT, MINIMUM_MEMORY, parse_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - depends on the Python version
    import tomli as tomllib

__all__ = ["Assignment", "AssignmentError", "Check", "load_assignment", "read_assignment"]

_TOP_KEYS = ("timeout", "memory", "checks")
_CHECK_KEYS = ("name", "target", "checker", "reference", "points", "options", "timeout", "memory")
_SET_BY_THE_FILE = ("quantities", "timeout", "memory")  # not among a check's options
_RESERVED_NAMES = ("submission", "total")  # columns of the gradebook


class AssignmentError(ValueError):
    """An assignment file that cannot be used: its message names the file and the check."""


@dataclass(frozen=True)
class Check:
    """One check of every submission: a checker run on one function of it.

    Attributes
    ----------
    name : str
        The column of the gradebook, and the test's name in Gradescope's results.
    target : str or tuple of str
        ``"file.py:function"``, relative to the submission's folder; for
        ``check_layer_pair``, two: the forward and the backward function, of one file.
    checker : str
        The name of a checker of :mod:`flatprop.testing`, e.g. ``"check_linear_loss"``.
    reference : str
        The checker's second argument (a loss, or a net's head).
    points : float
        What the check is worth.
    parts : dict of str to float, or None
        Partial credit: points per named output (``{"loss": 2, "dW": 8}``); None when
        the check is all or nothing.
    options : dict
        The checker's keyword options (``max_examples``, ``reg_scale``, ...).
    timeout : float
        Seconds per call of the submitted function.
    memory : int
        MiB of memory of the worker process.
    """

    name: str
    target: str | tuple[str, ...]
    checker: str
    reference: str
    points: float
    parts: dict[str, float] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    memory: int = DEFAULT_MEMORY

    def checker_function(self) -> Callable[..., Any]:
        """The checker, from :mod:`flatprop.testing`."""
        import flatprop.testing

        function: Callable[..., Any] = getattr(flatprop.testing, self.checker)
        return function


@dataclass(frozen=True)
class Assignment:
    """The checks of an assignment, in the order of the file.

    Attributes
    ----------
    checks : tuple of Check
    source : str
        Where it was read from (a path, or ``"<string>"``), for messages.
    """

    checks: tuple[Check, ...]
    source: str = "<string>"

    @property
    def points(self) -> float:
        """The most a submission can earn."""
        return math.fsum(check.points for check in self.checks)


def load_assignment(path: str | Path) -> Assignment:
    """Read and check an assignment file.

    Parameters
    ----------
    path : str or Path
        A TOML file (see the module's notes).

    Returns
    -------
    Assignment

    Raises
    ------
    AssignmentError
        If the file is missing, is not TOML, or says something that cannot be graded;
        the message names the file, the check and the key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "assignment.toml").write_text('''
    ... [[checks]]
    ... name = "svm"
    ... target = "linear_svm.py:svm_loss"
    ... checker = "check_linear_loss"
    ... reference = "multiclass_svm"
    ... points = { loss = 2, dW = 8 }
    ... ''')
    >>> assignment = load_assignment(folder / "assignment.toml")
    >>> assignment.checks[0].parts, assignment.points
    ({'loss': 2.0, 'dW': 8.0}, 10.0)
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AssignmentError(f"cannot read the assignment file {path}: {error}") from None
    return read_assignment(text, source=str(path))


def read_assignment(text: str, *, source: str = "<string>") -> Assignment:
    """Read and check an assignment from TOML text; see :func:`load_assignment`."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AssignmentError(f"{source} is not valid TOML: {error}") from None
    _known_keys(document, _TOP_KEYS, source)
    timeout = _timeout(document.get("timeout", DEFAULT_TIMEOUT), f"{source}: timeout")
    memory = _memory(document.get("memory", DEFAULT_MEMORY), f"{source}: memory")
    tables = document.get("checks")
    if not isinstance(tables, list) or not tables:
        raise AssignmentError(f"{source} has no [[checks]]: an assignment needs at least one")
    checks: list[Check] = []
    for index, table in enumerate(tables, start=1):
        checks.append(_check(table, index, source, timeout, memory, {c.name for c in checks}))
    for check in checks:
        _dry_run(check, source)
    return Assignment(tuple(checks), source)


def _where(source: str, index: int, table: Mapping[str, Any]) -> str:
    name = table.get("name")
    return f"{source}, check {index}" + (f" ({name!r})" if isinstance(name, str) else "")


def _known_keys(table: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = [key for key in table if key not in known]
    if unknown:
        raise AssignmentError(
            f"{where}: unknown key {unknown[0]!r}; the keys are {', '.join(known)}"
        )


def _string(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AssignmentError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AssignmentError(f"{where} must be a number, got {value!r}")
    return float(value)


def _timeout(value: Any, where: str) -> float:
    seconds = _number(value, where)
    if seconds <= 0:
        raise AssignmentError(f"{where} must be > 0 seconds, got {value!r}")
    return seconds


def _memory(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < MINIMUM_MEMORY:
        raise AssignmentError(
            f"{where} must be a whole number of MiB, at least {MINIMUM_MEMORY}, got {value!r}"
        )
    return value


def _check(
    table: Any, index: int, source: str, timeout: float, memory: int, taken: set[str]
) -> Check:
    if not isinstance(table, dict):
        raise AssignmentError(f"{source}, check {index}: must be a table [[checks]]")
    where = _where(source, index, table)
    _known_keys(table, _CHECK_KEYS, where)
    for key in ("name", "target", "checker", "reference", "points"):
        if key not in table:
            raise AssignmentError(f"{where}: {key} is missing")
    name = _string(table, "name", where)
    if name in taken or name in _RESERVED_NAMES or name != name.strip() or "\n" in name:
        why = "taken by another check" if name in taken else "not a usable column name"
        raise AssignmentError(f"{where}: the name {name!r} is {why}")
    checker = _string(table, "checker", where)
    checkers = _checkers()
    if checker not in checkers:
        raise AssignmentError(
            f"{where}: checker must be one of {', '.join(checkers)}, got {checker!r}"
        )
    target = _target(table, checker, where)
    reference = _string(table, "reference", where)
    points, parts = _points(table["points"], where)
    options = table.get("options", {})
    if not isinstance(options, dict):
        raise AssignmentError(f"{where}: options must be a table, got {options!r}")
    for key in _SET_BY_THE_FILE:
        if key in options:
            raise AssignmentError(
                f"{where}: options cannot set {key!r}; "
                + ("points sets it" if key == "quantities" else "set it in the check itself")
            )
    return Check(
        name=name,
        target=target,
        checker=checker,
        reference=reference,
        points=points,
        parts=parts,
        options=dict(options),
        timeout=_timeout(table.get("timeout", timeout), f"{where}: timeout"),
        memory=_memory(table.get("memory", memory), f"{where}: memory"),
    )


def _target(table: Mapping[str, Any], checker: str, where: str) -> str | tuple[str, ...]:
    """The target, or for a layer pair the two targets (forward, backward), checked."""
    if checker == "check_layer_pair":
        value = table["target"]
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(item, str) and item.strip() for item in value)
        ):
            raise AssignmentError(
                f"{where}: the target of check_layer_pair must be two targets, "
                f'["file.py:layer_forward", "file.py:layer_backward"], got {value!r}'
            )
        targets: tuple[str, ...] = tuple(value)
    else:
        targets = (_string(table, "target", where),)
    files: set[Path] = set()
    for target in targets:
        try:
            path, _function = parse_target(target)
        except ValueError as error:
            raise AssignmentError(f"{where}: {error}") from None
        relative = PurePosixPath(path.as_posix())
        if relative.is_absolute() or ".." in relative.parts:
            raise AssignmentError(
                f"{where}: the target's file must be inside the submission's folder (a "
                f"relative path without '..'), got {target!r}"
            )
        files.add(path)
    if len(files) > 1:
        raise AssignmentError(f"{where}: the two targets of a layer pair must name one file")
    return targets if len(targets) > 1 else targets[0]


def _points(value: Any, where: str) -> tuple[float, dict[str, float] | None]:
    if isinstance(value, dict):
        if not value:
            raise AssignmentError(f"{where}: points must name at least one output")
        parts = {str(key): _number(item, f"{where}: points.{key}") for key, item in value.items()}
        if any(item < 0 for item in parts.values()) or not math.fsum(parts.values()) > 0:
            raise AssignmentError(f"{where}: points must be >= 0, and not all 0, got {value!r}")
        return math.fsum(parts.values()), parts
    points = _number(value, f"{where}: points")
    if points <= 0:
        raise AssignmentError(f"{where}: points must be > 0, got {value!r}")
    return points, None


def _checkers() -> list[str]:
    import flatprop.testing

    return [name for name in flatprop.testing.__all__ if name.startswith("check_")]


class _DryRunError(Exception):
    """Raised by the stand-in candidate of a dry run."""


def _stand_in(*arguments: Any) -> Any:
    raise _DryRunError


def _dry_run(check: Check, source: str) -> None:
    """Run the check once on a stand-in that raises: the checker checks its arguments."""
    from flatprop.testing import CheckFailedError
    from flatprop.testing._engine import UnknownQuantityError

    stand_ins = [_stand_in] * (1 if isinstance(check.target, str) else len(check.target))
    try:
        check.checker_function()(
            *stand_ins,
            check.reference,
            **{**check.options, "max_examples": 1},
            **({"quantities": list(check.parts)} if check.parts else {}),
        )
    except CheckFailedError:
        return  # the stand-in failed, as it must: the arguments are good
    except UnknownQuantityError as error:  # the keys of points are the quantities compared
        raise AssignmentError(
            f"{source}, check {check.name!r}: points has a key {error.name!r}, which is not "
            f"an output {check.checker} compares{error.suggestion}; the keys of points name "
            f"some of {', '.join(map(repr, error.valid))}"
        ) from None
    except (TypeError, ValueError) as error:
        raise AssignmentError(f"{source}, check {check.name!r}: {error}") from None
    raise AssertionError("a dry run passed with a stand-in that raises")  # pragma: no cover
