"""``flatprop grade``: grade a folder of submissions into a gradebook and Gradescope results.

``flatprop grade ASSIGNMENT.toml SUBMISSION_DIR... --out OUT_DIR [--jobs N | --dask
ADDRESS] [--results-json PATH]``. Progress goes to stderr, one line per submission.
The exit status is 0 when grading ran, whatever the grades; 2 for the grader's usage
errors (a bad assignment file, a missing folder, an ``OUT_DIR/gradebook.csv`` of other
checks), all found before anything is graded; 1 if the grader itself failed on a
submission (a bug to report), after everything else was written.

A gradebook already in ``OUT_DIR`` is updated, not replaced: the rows of the
submissions graded are replaced in their places (or added at the end), the others kept
as they were; stderr says so.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flatprop.grading.assignment import load_assignment
from flatprop.grading.batch import (
    SubmissionResult,
    default_jobs,
    grade_submissions,
    submission_folders,
)
from flatprop.grading.output import gradebook_rows, write_gradebook, write_results_json

__all__ = ["run"]

DASK_HINT = 'pip install "flatprop[dask]"  (from a clone of the repository: pip install ".[dask]")'


def run(
    assignment_path: str,
    submissions: Sequence[str],
    *,
    out: str | None = None,
    results_json: str | None = None,
    jobs: int | None = None,
    dask: str | None = None,
) -> int:
    """Grade, write the files, return the exit status (see the module's notes).

    Raises
    ------
    ValueError
        For a usage error: the caller prints it and exits with status 2.
    """
    if out is None and results_json is None:
        raise ValueError("say where to write: --out OUT_DIR, --results-json PATH, or both")
    if results_json is not None and len(submissions) != 1:
        raise ValueError(
            f"--results-json writes one submission's results: give one SUBMISSION_DIR, "
            f"not {len(submissions)}"
        )
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    if jobs is not None and dask is not None:
        raise ValueError("give --jobs or --dask, not both")
    # Everything that can be wrong is checked before anything is graded (or printed).
    folders = submission_folders(submissions)
    assignment = load_assignment(assignment_path)
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"--out {out} is a file: OUT_DIR is the folder to write into")
    gradebook = None if out is None else Path(out) / "gradebook.csv"
    kept = [] if gradebook is None else gradebook_rows(gradebook, assignment)
    client_class = None if dask is None else _dask_client_class()
    width = max(len(folder.name) for folder in folders)
    count = len(folders)

    def progress(result: SubmissionResult, done: int, total: int) -> None:
        note = "  (the grader failed on it: see its results)" if result.grader_error else ""
        print(
            f"[{done:>{len(str(total))}}/{total}] {result.submission:<{width}}  "
            f"{_points(result.score)}/{_points(result.max_score)}  "
            f"({result.seconds:.1f} s){note}",
            file=sys.stderr,
            flush=True,
        )

    checks = len(assignment.checks)
    if dask is not None:
        how = f"on the Dask cluster at {dask}"
    else:
        jobs = default_jobs() if jobs is None else jobs
        how = f"in {min(jobs, count)} process{'es' if min(jobs, count) > 1 else ''}"
    print(
        f"Grading {count} submission{'s' if count > 1 else ''} against {assignment.source} "
        f"({checks} check{'s' if checks > 1 else ''}, {_points(assignment.points)} points) "
        f"{how}",
        file=sys.stderr,
        flush=True,
    )
    if dask is not None:
        client = _dask_client(client_class, dask)
        try:
            results = grade_submissions(
                assignment, folders, executor=client.get_executor(), progress=progress
            )
        finally:
            client.close()
    else:
        results = grade_submissions(assignment, folders, jobs=jobs, progress=progress)
    written = []
    if gradebook is not None:
        gradebook.parent.mkdir(parents=True, exist_ok=True)
        written.append(write_gradebook(gradebook, assignment, results, update=True))
        for result in results:
            write_results_json(gradebook.parent / result.submission / "results.json", result)
        written.append(gradebook.parent / "<submission>" / "results.json")
    if results_json is not None:
        written.append(write_results_json(results_json, results[0]))
    mean = sum(result.score for result in results) / len(results)
    print(
        f"Mean {mean:.4g} of {_points(assignment.points)} points. Wrote "
        + ", ".join(str(path) for path in written),
        file=sys.stderr,
    )
    if kept:
        print(_gradebook_note(gradebook, kept, results), file=sys.stderr)
    failed = [result.submission for result in results if result.grader_error]
    if failed:
        print(
            f"flatprop grade: the grader itself failed on {', '.join(failed)} (a bug in "
            "flatprop, not the submissions' doing; their results say what happened)",
            file=sys.stderr,
        )
        return 1
    return 0


def _points(value: float) -> str:
    return f"{value:g}"


def _gradebook_note(
    gradebook: Path | None, kept: list[list[str]], results: list[SubmissionResult]
) -> str:
    """What re-grading into an existing gradebook did to its rows."""
    ids = {row[0] for row in kept}
    replaced = [result.submission for result in results if result.submission in ids]
    added = len(results) - len(replaced)
    others = len(ids) - len(replaced)
    rows = "the row" if len(replaced) == 1 else "the rows"
    parts = [f"{rows} of {_listed(replaced)} replaced"] if replaced else []
    parts += [f"{added} row{'s' if added != 1 else ''} added"] if added else []
    parts += [f"{others} other row{'s' if others != 1 else ''} kept as they were"]
    return f"Updated the existing gradebook {gradebook}: {'; '.join(parts)}."


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _dask_client_class() -> Any:
    """Dask's ``Client``; a usage error if the dask extra is not installed."""
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(
            f"--dask needs Dask's distributed scheduler, which is not installed: {DASK_HINT}"
        ) from None
    return Client


def _dask_client(client_class: Any, address: str) -> Any:
    try:
        return client_class(address, timeout="30s")
    except OSError as error:
        raise ValueError(f"cannot reach the Dask scheduler at {address}: {error}") from None
