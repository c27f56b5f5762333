"""What grading writes: the gradebook (CSV) and Gradescope's ``results.json``."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from flatprop.grading.assignment import Assignment
from flatprop.grading.batch import SubmissionResult, points

__all__ = ["gradebook_rows", "write_gradebook", "write_results_json"]


def write_gradebook(
    path: str | Path,
    assignment: Assignment,
    results: Sequence[SubmissionResult],
    *,
    update: bool = False,
) -> Path:
    """Write the gradebook: one row per submission, one column per check, and the total.

    The header is ``submission,<the checks' names, in the file's order>,total``; the
    points are numbers (``10``, ``2.5``), the rows in the order of ``results``.

    Parameters
    ----------
    path : str or Path
    assignment : Assignment
    results : sequence of SubmissionResult
    update : bool, default False
        Keep the rows of the gradebook already at ``path``, if any: a submission graded
        again has its row replaced, in its place; the other rows stay as they were; a
        new submission's row is added at the end. ``False`` writes ``results`` alone.

    Returns
    -------
    Path
        The file written (in one step: it is never seen half written).

    Raises
    ------
    ValueError
        With ``update``, if the gradebook at ``path`` is not one of this assignment's
        (its header names other checks, see :func:`gradebook_rows`).

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
    graded = {result.submission: result for result in results}
    kept = gradebook_rows(path, assignment) if update else []
    # The rows in their order: a kept row as it was, or a submission's new result.
    rows: list[list[str] | SubmissionResult] = [graded.pop(row[0], row) for row in kept]
    rows += graded.values()
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(_header(assignment))
        for result in rows:
            if isinstance(result, list):
                writer.writerow(result)
                continue
            scores = {check.name: check.score for check in result.checks}
            writer.writerow(
                [
                    result.submission,
                    *(points(scores[check.name]) for check in assignment.checks),
                    points(result.score),
                ]
            )
    partial.replace(path)
    return path


def _header(assignment: Assignment) -> list[str]:
    return ["submission", *(check.name for check in assignment.checks), "total"]


def gradebook_rows(path: str | Path, assignment: Assignment) -> list[list[str]]:
    r"""The rows of the gradebook at ``path`` (none if there is no file), as written.

    Raises
    ------
    ValueError
        If the file is not a gradebook of this assignment: its header is not
        ``submission,<this assignment's checks>,total`` (another assignment's, or checks
        renamed, added or removed since), or it cannot be read as one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from flatprop.grading import Assignment, Check
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "gradebook.csv"
    >>> _ = path.write_text("submission,svm,total\nana,2.5,2.5\nben,10,10\n")
    >>> check = Check("svm", "linear_svm.py:svm_loss", "check_linear_loss", "svm", 10.0)
    >>> gradebook_rows(path, Assignment((check,)))
    [['ana', '2.5', '2.5'], ['ben', '10', '10']]
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        with path.open(newline="", encoding="utf-8") as file:
            header, *rows = [row for row in csv.reader(file) if row] or [[]]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"cannot read the gradebook {path}: {error}") from None
    expected = _header(assignment)
    if header != expected:
        raise ValueError(
            f"{path} has the columns {','.join(header) or '(none)'}, not those of "
            f"{assignment.source} ({','.join(expected)}): it is the gradebook of another "
            "assignment, or of another version of it. Grade into another folder, or move "
            "that gradebook away to start a new one"
        )
    malformed = next((row for row in rows if len(row) != len(expected) or not row[0]), None)
    if malformed is not None:
        raise ValueError(
            f"{path} has a row that is not a submission's ({','.join(malformed)!r}): "
            f"each row has {len(expected)} cells, the first the submission's id"
        )
    return rows


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
