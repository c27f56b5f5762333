"""Grade submissions: each check of the assignment on each submission's folder.

Every check runs its submission's function in a worker process of its own (a target,
see :mod:`flatprop.grading`); the grader keeps the reference, the comparison and the
points. :func:`grade_submissions` grades many submissions, in this process, in a pool
of processes of its own (``jobs=``), or with any :class:`concurrent.futures.Executor`
(a Dask cluster's among them).
"""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flatprop import __version__
from flatprop.grading._runner import kill_run, run_marked
from flatprop.grading.assignment import Assignment, Check
from flatprop.testing import CheckFailedError, CheckReport
from flatprop.testing._engine import covers

__all__ = [
    "CheckResult",
    "SubmissionResult",
    "TestResult",
    "default_jobs",
    "grade_check",
    "grade_submission",
    "grade_submissions",
    "submission_folders",
]

# Failures that concern one output: the other outputs of a check with partial credit
# are graded on.
_FAILURES_OF_ONE_OUTPUT = ("mismatch", "non-finite", "return")
# One submission at a time in a process: the checks pin warning filters and NumPy's
# error state, which threads share (a Dask worker runs tasks in threads).
_ONE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class TestResult:
    """One line of a submission's results: a check, or one part of a check's points.

    Attributes
    ----------
    name : str
        The check's name, with the part's (``"svm: dW"``) for partial credit.
    score, max_score : float
    output : str
        What the student reads: the one-line report of a pass, or the failure's
        message with its smallest failing input.
    """

    __test__ = False  # not a pytest test class

    name: str
    score: float
    max_score: float
    output: str

    @property
    def status(self) -> str:
        """``"passed"`` or ``"failed"``, as Gradescope names them."""
        return "passed" if self.score >= self.max_score else "failed"


@dataclass(frozen=True)
class CheckResult:
    """What one check earned: its tests (one, or one per part of its points).

    ``grader_error`` is set when the grader itself failed on it (a bug, not the
    submission's doing); it then earned 0.
    """

    name: str
    tests: tuple[TestResult, ...]
    seconds: float = 0.0
    grader_error: str | None = None

    @property
    def score(self) -> float:
        """The points earned: the sum over the tests."""
        return math.fsum(test.score for test in self.tests)

    @property
    def max_score(self) -> float:
        """The points available: the sum over the tests."""
        return math.fsum(test.max_score for test in self.tests)


@dataclass(frozen=True)
class SubmissionResult:
    """What a submission earned, check by check.

    Attributes
    ----------
    submission : str
        Its id: the name of its folder.
    checks : tuple of CheckResult
        In the assignment's order.
    """

    submission: str
    checks: tuple[CheckResult, ...]

    @property
    def seconds(self) -> float:
        """How long grading it took (its checks' times, added)."""
        return math.fsum(check.seconds for check in self.checks)

    @property
    def grader_error(self) -> str | None:
        """The grader's own failure on one of its checks, if any (a bug to report)."""
        return next((check.grader_error for check in self.checks if check.grader_error), None)

    @property
    def score(self) -> float:
        """The points earned: the sum over the checks."""
        return math.fsum(check.score for check in self.checks)

    @property
    def max_score(self) -> float:
        """The points available: the sum over the checks."""
        return math.fsum(check.max_score for check in self.checks)

    def gradescope(self) -> dict[str, Any]:
        """The results in Gradescope's autograder format (``results.json``)."""
        return {
            "score": points(self.score),
            "execution_time": round(self.seconds),
            "output": (
                f"Graded by flatprop {__version__}: {points(self.score)} of "
                f"{points(self.max_score)} points."
            ),
            "tests": [
                {
                    "name": test.name,
                    "score": points(test.score),
                    "max_score": points(test.max_score),
                    "status": test.status,
                    "output": test.output,
                }
                for check in self.checks
                for test in check.tests
            ],
        }


def points(value: float) -> int | float:
    """Points as results.json and the gradebook write them: 10, not 10.0; 2.5."""
    return int(value) if float(value).is_integer() else float(value)


def grade_submission(
    assignment: Assignment, folder: str | Path, *, submission: str | None = None
) -> SubmissionResult:
    """Grade one submission: every check of the assignment on the files of its folder.

    Parameters
    ----------
    assignment : Assignment
        From :func:`flatprop.grading.load_assignment`.
    folder : str or Path
        The submission's folder; each check's target is relative to it.
    submission : str, optional
        Its id; by default, the folder's name.

    Returns
    -------
    SubmissionResult
        Whatever the submission does: its failures are its results, never an error.
    """
    folder = Path(folder)
    checks = tuple(grade_check(check, folder) for check in assignment.checks)
    return SubmissionResult(folder.name if submission is None else submission, checks)


def grade_check(check: Check, folder: str | Path, *, mark: str | None = None) -> CheckResult:
    """Grade one check of one submission (the unit of work of :func:`grade_submissions`).

    Parameters
    ----------
    check : Check
    folder : str or Path
        The submission's folder.
    mark : str, optional
        The mark of a grading run: every process started for this check (its worker,
        and what the submission starts) carries it in its environment, so that
        :func:`flatprop.grading._runner.kill_run` ends them all, even if the process
        that runs this is killed before it can.
    """
    folder = Path(folder)
    started = time.monotonic()
    with _ONE_AT_A_TIME, run_marked(mark):
        tests = _tests(check, folder)
    return CheckResult(check.name, tests, seconds=time.monotonic() - started)


def _tests(check: Check, folder: Path) -> tuple[TestResult, ...]:
    targets = [check.target] if isinstance(check.target, str) else list(check.target)
    for index, target in enumerate(targets):
        file, function = target.rsplit(":", 1)
        if not (folder / file).is_file():
            output = f"The submission has no file {file}: {check.name} cannot be graded."
            return _tests_of(check, {}, dict.fromkeys(check.parts or [check.name], output))
        targets[index] = f"{folder / file}:{function}"
    if check.parts is None:
        outcome = _run(check, targets, None)
        if isinstance(outcome, CheckReport):
            return _tests_of(check, {check.name: str(outcome)}, {})
        return _tests_of(check, {}, {check.name: str(outcome)})
    remaining = list(check.parts)
    failed: dict[str, str] = {}
    report = None
    while remaining:
        outcome = _run(check, targets, remaining)
        if isinstance(outcome, CheckReport):
            report = outcome
            break
        at_fault = []
        if outcome.kind in _FAILURES_OF_ONE_OUTPUT and outcome.quantity is not None:
            at_fault = [part for part in remaining if covers(part, outcome.quantity)]
        for part in at_fault or remaining:  # a failure of the whole function: every part
            failed[part] = str(outcome)
        remaining = [part for part in remaining if part not in failed]
    return _tests_of(check, dict.fromkeys(remaining, str(report)), failed)


def _run(
    check: Check, targets: list[str], parts: list[str] | None
) -> CheckReport | CheckFailedError:
    try:
        report: CheckReport = check.checker_function()(
            *targets,
            check.reference,
            timeout=check.timeout,
            memory=check.memory,
            **({"quantities": parts} if parts is not None else {}),
            **check.options,
        )
    except CheckFailedError as failure:
        return failure
    return report


def _tests_of(
    check: Check, passed: dict[str, str], failed: dict[str, str]
) -> tuple[TestResult, ...]:
    """The check's tests, in the order of its parts, from what passed and what failed."""
    if check.parts is None:
        output = passed.get(check.name, failed.get(check.name, ""))
        score = check.points if check.name in passed else 0.0
        return (TestResult(check.name, score, check.points, output),)
    return tuple(
        TestResult(
            f"{check.name}: {part}",
            points if part in passed else 0.0,
            points,
            passed[part] if part in passed else failed[part],
        )
        for part, points in check.parts.items()
    )


def _failed_check(check: Check, why: str, grader_error: str | None = None) -> CheckResult:
    """Zero, saying why."""
    tests = _tests_of(check, {}, dict.fromkeys(check.parts or [check.name], why))
    return CheckResult(check.name, tests, grader_error=grader_error)


def grade_submissions(
    assignment: Assignment,
    folders: Sequence[str | Path],
    *,
    jobs: int | None = None,
    executor: concurrent.futures.Executor | None = None,
    progress: Callable[[SubmissionResult, int, int], None] | None = None,
) -> list[SubmissionResult]:
    """Grade many submissions, one folder each, in parallel if asked.

    Each check of each submission is a task of its own: a submission's checks may run
    in parallel, and what one check does cannot cost the others their points.

    Parameters
    ----------
    assignment : Assignment
    folders : sequence of str or Path
        One folder per submission; its name is the submission's id (so the names
        must differ).
    jobs : int, optional
        Grade in a pool of this many processes of its own. A check whose submission
        kills the process grading it (a submission can signal its parent) is graded
        again alone, and if the process is killed again, earns 0 with a message that
        says so; the other checks and submissions are not affected. Every process
        started for the run carries its mark: those left when a grading process dies,
        and when the run ends, are killed (Linux).
    executor : concurrent.futures.Executor, optional
        Grade with this executor instead (a ``ProcessPoolExecutor``, a Dask client's
        ``get_executor()`` ...); it must be able to run :func:`grade_check`.
    progress : callable, optional
        ``progress(result, done, total)``, called as each submission is graded.

    Returns
    -------
    list of SubmissionResult
        In the order of ``folders``. A check on which the grader itself failed (a bug)
        has ``grader_error`` set, and so has its submission.

    Raises
    ------
    ValueError
        If a folder is missing or is a file, or two have the same name; if both
        ``jobs`` and ``executor`` are given, or ``jobs`` is not a positive int.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from flatprop.grading import read_assignment
    >>> assignment = read_assignment('''
    ... [[checks]]
    ... name = "svm"
    ... target = "linear_svm.py:svm_loss"
    ... checker = "check_linear_loss"
    ... reference = "multiclass_svm"
    ... points = { loss = 2, dW = 8 }
    ... options = { max_examples = 20 }
    ... ''')
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "ana"
    >>> folder.mkdir()
    >>> _ = (folder / "linear_svm.py").write_text('''
    ... import numpy as np
    ... def svm_loss(W, X, y, reg):  # the loss is right, dW lacks the 2 of 2 reg W
    ...     scores = X @ W
    ...     rows = np.arange(len(y))
    ...     margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    ...     margins[rows, y] = 0
    ...     dscores = (margins > 0).astype(float)
    ...     dscores[rows, y] = -dscores.sum(axis=1)
    ...     loss = margins.sum() / len(y) + reg * np.sum(W * W)
    ...     return loss, X.T @ dscores / len(y) + reg * W
    ... ''')
    >>> [result] = grade_submissions(assignment, [folder])
    >>> result.submission, result.score, [test.status for test in result.checks[0].tests]
    ('ana', 2.0, ['passed', 'failed'])
    """
    paths = submission_folders(folders)
    names = [path.name for path in paths]
    if jobs is not None and executor is not None:
        raise ValueError("give jobs or executor, not both")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    checks = assignment.checks
    tasks = [(i, j) for i in range(len(paths)) for j in range(len(checks))]
    graded: dict[tuple[int, int], CheckResult] = {}
    results: list[SubmissionResult | None] = [None] * len(paths)
    done = 0
    # Every process started for this run carries its mark: what the workers of a killed
    # grading process leave behind is killed by it, here.
    mark = secrets.token_hex(16)

    def finished(task: tuple[int, int], check_result: CheckResult) -> None:
        nonlocal done
        graded[task] = check_result
        i = task[0]
        if all((i, j) in graded for j in range(len(checks))):
            result = SubmissionResult(names[i], tuple(graded[i, j] for j in range(len(checks))))
            results[i] = result
            done += 1
            if progress is not None:
                progress(result, done, len(paths))

    try:
        if executor is None and jobs is None:
            for i, j in tasks:
                finished((i, j), grade_check(checks[j], paths[i], mark=mark))
        elif executor is not None:
            for task, result in _in_executor(executor, checks, paths, tasks, mark):
                finished(task, result or _failed_check(checks[task[1]], _KILLED, "a broken pool"))
        else:
            assert jobs is not None
            broken = []
            with _pool(min(jobs, len(tasks))) as pool:
                for task, result in _in_executor(pool, checks, paths, tasks, mark):
                    if result is None:
                        broken.append(task)
                    else:
                        finished(task, result)
            for task in broken:  # alone this time: a check that breaks its pool again is at fault
                kill_run(mark)  # what the killed processes' workers started
                with _pool(1) as pool:
                    [(_, result)] = list(_in_executor(pool, checks, paths, [task], mark))
                finished(task, result or _failed_check(checks[task[1]], _KILLED_TWICE))
    finally:
        kill_run(mark)
    return [result for result in results if result is not None]


_KILLED = (
    "The process grading this check was killed while it ran: a submission must not signal "
    "other processes. It earns no points."
)
_KILLED_EVERY_TIME = (
    "The process grading this check was killed while it ran, every time it was tried: a "
    "submission must not signal other processes. It earns no points."
)
_KILLED_TWICE = (
    "The process grading this check was killed while it ran, twice (the second time it ran "
    "alone): a submission must not signal other processes. It earns no points."
)


def submission_folders(folders: Sequence[str | Path]) -> list[Path]:
    """The submissions' folders, checked: each one a folder, their names all different.

    Raises
    ------
    ValueError
        If one is missing or is a file, or two have the same name (a submission's id).
    """
    paths = [Path(folder) for folder in folders]
    for path in paths:
        if path.is_file():
            raise ValueError(
                f"{path} is a file: a submission is a folder, the one that holds its files "
                f"(here {path.parent if path.parent != Path() else 'the current folder'})"
            )
        if not path.is_dir():
            raise ValueError(f"no submission folder {path}")
    names = [path.name for path in paths]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"two submission folders have the same name {duplicates[0]!r}: a submission's "
            "id is its folder's name"
        )
    return paths


def _in_executor(
    executor: concurrent.futures.Executor,
    checks: tuple[Check, ...],
    paths: list[Path],
    tasks: Sequence[tuple[int, int]],
    mark: str,
) -> Iterator[tuple[tuple[int, int], CheckResult | None]]:
    """(task, result) as each finishes: None for a check whose process pool broke."""
    futures = {
        executor.submit(grade_check, checks[j], paths[i], mark=mark): (i, j) for i, j in tasks
    }
    for future in concurrent.futures.as_completed(futures):
        task = futures[future]
        try:
            result: CheckResult | None = future.result()
        except BrokenProcessPool:
            result = None
        except Exception as error:
            if type(error).__name__ == "KilledWorker":  # Dask's: killed on every retry
                yield task, _failed_check(checks[task[1]], _KILLED_EVERY_TIME)
                continue
            # The grader's own failure: a bug, not the submission's.
            result = _failed_check(
                checks[task[1]],
                f"The grader failed on this check ({type(error).__name__}: {error}); this is "
                "not the submission's doing.",
                grader_error=f"{error!r}",
            )
        yield task, result


def _ignore_interrupts() -> None:
    """Ignore SIGINT in a grading process: Ctrl-C is for the parent, which stops the pool.

    So a submission cannot stop its grading process with SIGINT either.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool(jobs: int) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of fresh interpreters (spawned: nothing inherited from the caller's threads)."""
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_ignore_interrupts,
    )


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1
