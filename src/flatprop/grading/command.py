"""``flatprop grade``: grade a folder of submissions into a gradebook and Gradescope results.

``flatprop grade ASSIGNMENT.toml SUBMISSION_DIR... --out OUT_DIR [--jobs N | --dask
ADDRESS] [--results-json PATH]``. Progress goes to stderr, one line per submission.
The exit status is 0 when grading ran, whatever the grades; 2 for the grader's usage
errors (a bad assignment file, a missing folder); 1 if the grader itself failed on a
submission (a bug to report), after everything else was written.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flatprop.grading.assignment import load_assignment
from flatprop.grading.batch import SubmissionResult, default_jobs, grade_submissions
from flatprop.grading.output import write_gradebook, write_results_json

__all__ = ["run"]

DASK_HINT = 'pip install "flatprop[dask]"'


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
    assignment = load_assignment(assignment_path)
    width = max(len(Path(folder).name) for folder in submissions)
    count = len(submissions)

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
        client = _dask_client(dask)
        try:
            results = grade_submissions(
                assignment, submissions, executor=client.get_executor(), progress=progress
            )
        finally:
            client.close()
    else:
        results = grade_submissions(assignment, submissions, jobs=jobs, progress=progress)
    written = []
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        written.append(write_gradebook(folder / "gradebook.csv", assignment, results))
        for result in results:
            write_results_json(folder / result.submission / "results.json", result)
        written.append(folder / "<submission>" / "results.json")
    if results_json is not None:
        written.append(write_results_json(results_json, results[0]))
    mean = sum(result.score for result in results) / len(results)
    print(
        f"Mean {mean:.4g} of {_points(assignment.points)} points. Wrote "
        + ", ".join(str(path) for path in written),
        file=sys.stderr,
    )
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


def _dask_client(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(f"--dask needs Dask's distributed scheduler: {DASK_HINT}") from None
    try:
        return Client(address, timeout="30s")
    except OSError as error:
        raise ValueError(f"cannot reach the Dask scheduler at {address}: {error}") from None
