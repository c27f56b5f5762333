"""What grading writes: the gradebook (CSV) and Gradescope's ``results.json``."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from flatprop.grading.assignment import Assignment
from flatprop.grading.batch import SubmissionResult, points

__all__ = ["write_gradebook", "write_results_json"]


def write_gradebook(
    path: str | Path, assignment: Assignment, results: Sequence[SubmissionResult]
) -> Path:
    """Write the gradebook: one row per submission, one column per check, and the total.

    The header is ``submission,<the checks' names, in the file's order>,total``; the
    points are numbers (``10``, ``2.5``), the rows in the order of ``results``.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from flatprop.grading import Assignment, Check, CheckResult, SubmissionResult, TestResult
    >>> check = Check("svm", "linear_svm.py:svm_loss", "check_linear_loss", "svm", 10.0)
    >>> tests = (TestResult("svm", 2.5, 10.0, "..."),)
    >>> result = SubmissionResult("ana", (CheckResult("svm", tests),))
    >>> path = write_gradebook(
    ...     pathlib.Path(tempfile.mkdtemp()) / "gradebook.csv", Assignment((check,)), [result]
    ... )
    >>> print(path.read_text(), end="")
    submission,svm,total
    ana,2.5,2.5
    """
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["submission", *(check.name for check in assignment.checks), "total"])
        for result in results:
            scores = {check.name: check.score for check in result.checks}
            writer.writerow(
                [
                    result.submission,
                    *(points(scores[check.name]) for check in assignment.checks),
                    points(result.score),
                ]
            )
    return path


def write_results_json(path: str | Path, result: SubmissionResult) -> Path:
    """Write one submission's results in Gradescope's autograder format.

    ``score`` (the total), ``execution_time``, ``output`` (one line), and ``tests``: per
    check (or per part of its points) ``name``, ``score``, ``max_score``, ``status``
    ("passed" or "failed") and ``output``, the report the student reads. See
    https://gradescope-autograders.readthedocs.io/en/latest/specs/.

    Returns
    -------
    Path
        The file written (its folder is made if needed).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.gradescope(), indent=2) + "\n", encoding="utf-8")
    return path
