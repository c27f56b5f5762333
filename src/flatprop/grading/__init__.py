"""Grading code that nobody vouches for: submissions run isolated, limited, in batches.

A submission is named, never imported by the grader: a target
``"path/to/file.py:function"``, which every checker of :mod:`flatprop.testing` takes in
place of a function (``check_linear_loss("ana/linear_svm.py:svm_loss", "svm",
timeout=5)``). The function runs in a worker process of its own, with a time limit
per call and a memory limit; only plain data (numbers, numeric arrays, lists, tuples
and dicts of them) comes back, and the reference, the comparison and the verdict stay
in the grader. It needs Hypothesis, like :mod:`flatprop.testing`:
``pip install "flatprop[grade]"`` (from a clone of the repository:
``pip install ".[grade]"``).

Modules and functions
---------------------
load_assignment, read_assignment, Assignment, Check, AssignmentError
    The assignment file (TOML): the checks, their targets, checkers and points.
grade_check, grade_submission, grade_submissions
    Grade one check of a submission's folder, all of them, or many submissions
    (``jobs=N`` processes, or any ``concurrent.futures.Executor``, e.g. a Dask
    cluster's).
SubmissionResult, CheckResult, TestResult
    What they return.
write_gradebook, write_results_json
    The gradebook (CSV) and Gradescope's ``results.json``.
IsolatedFunction
    The proxy callable of a target, for graders of your own.

The command ``flatprop grade ASSIGNMENT.toml SUBMISSION_DIR... --out OUT_DIR`` does it
all; see :mod:`flatprop.grading.command`, and docs/grading.md for the threat model:
what the isolation guarantees, and what it does not (it is not a sandbox).
"""

from flatprop.grading._runner import IsolatedFunction
from flatprop.grading.assignment import (
    Assignment,
    AssignmentError,
    Check,
    load_assignment,
    read_assignment,
)
from flatprop.grading.batch import (
    CheckResult,
    SubmissionResult,
    TestResult,
    grade_check,
    grade_submission,
    grade_submissions,
)
from flatprop.grading.output import write_gradebook, write_results_json

__all__ = [
    "Assignment",
    "AssignmentError",
    "Check",
    "CheckResult",
    "IsolatedFunction",
    "SubmissionResult",
    "TestResult",
    "grade_check",
    "grade_submission",
    "grade_submissions",
    "load_assignment",
    "read_assignment",
    "write_gradebook",
    "write_results_json",
]
