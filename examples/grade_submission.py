"""Grade the sample submission in student_submission.py with flatprop.testing.

Each function is checked against flatprop's reference for its contract; the script
prints the one-line report of each function that passes and the full report of each
that fails: what went wrong, the known mistake that reproduces its outputs (when one
does), the smallest failing input, expected and got. A table of the diagnoses ends it:
the submission plants one mistake per entry of flatprop's catalogue.

    python examples/grade_submission.py
    python examples/grade_submission.py --only svm_loss_naive_at_the_kink
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import student_submission as submission  # beside this script

from flatprop.cli import run_command
from flatprop.testing import (
    CheckFailedError,
    check_layer_pair,
    check_linear_loss,
    check_loss_layer,
    check_two_layer_loss,
)

# name of the function -> (checker, its reference: a loss, head or layer, the assignment's
# conventions)
GRADING: dict[str, tuple[Any, str, dict[str, Any]]] = {
    "softmax_loss_global_max": (check_loss_layer, "softmax_cross_entropy", {}),
    "softmax_loss_sign_error": (check_loss_layer, "softmax_cross_entropy", {}),
    "softmax_loss_in_place": (check_loss_layer, "softmax_cross_entropy", {}),
    "svm_loss_labels_ignored": (check_loss_layer, "multiclass_svm", {}),
    "softmax_loss_no_shift": (check_loss_layer, "softmax_cross_entropy", {}),
    "softmax_loss_probs_gradient": (check_loss_layer, "softmax_cross_entropy", {}),
    "softmax_loss_smoothed_over_others": (
        check_loss_layer,
        "softmax_cross_entropy",
        {"label_smoothing": 0.1},
    ),
    "svm_loss_mean_of_margins": (check_loss_layer, "multiclass_svm", {}),
    "svm_loss_worst_class": (check_loss_layer, "multiclass_svm", {}),
    "squared_hinge_loss_without_its_2": (check_loss_layer, "squared_hinge", {}),
    "svm_loss_vectorized": (check_linear_loss, "multiclass_svm", {}),
    "svm_loss_naive_all_classes": (check_linear_loss, "multiclass_svm", {}),
    "svm_loss_naive_at_the_kink": (check_linear_loss, "multiclass_svm", {}),
    "svm_loss_vectorized_no_mean": (check_linear_loss, "multiclass_svm", {}),
    "softmax_loss_vectorized_reg_gradient": (check_linear_loss, "softmax_cross_entropy", {}),
    "softmax_loss_vectorized_gradient_summed": (check_linear_loss, "softmax_cross_entropy", {}),
    "svm_loss_vectorized_half_reg": (check_linear_loss, "multiclass_svm", {}),
    "svm_loss_vectorized_no_reg": (check_linear_loss, "multiclass_svm", {}),
    "two_layer_loss_pre_relu": (check_two_layer_loss, "softmax", {"reg_scale": 0.5}),
    "two_layer_loss_bias_regularized": (check_two_layer_loss, "softmax", {"reg_scale": 0.5}),
    "two_layer_loss_full_reg": (check_two_layer_loss, "softmax", {"reg_scale": 0.5}),
    "affine_backward_flat_dx": (check_layer_pair, "affine", {}),
    "relu_backward_mask_from_dout": (check_layer_pair, "relu", {}),
}
# The forward pass each backward pass of a layer pair is checked with.
FORWARD = {
    "affine_backward_flat_dx": "affine_forward",
    "relu_backward_mask_from_dout": "relu_forward",
}


def grade(name: str, *, max_examples: int, seed: int | None) -> str | None:
    """Check one function of the submission, print its report; return its diagnosis.

    Returns "passed" for a function that passes.
    """
    checker, reference, conventions = GRADING[name]
    function = getattr(submission, name)
    candidates = [getattr(submission, FORWARD[name]), function] if name in FORWARD else [function]
    try:
        report = checker(
            *candidates, reference, max_examples=max_examples, seed=seed, **conventions
        )
    except CheckFailedError as failure:
        print(f"FAIL {name}\n\n{failure}")
        return failure.diagnosis
    print(f"PASS {report}\n")
    return "passed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-examples", type=int, default=100, help="inputs drawn per function (default 100)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="draw another (still deterministic) sequence"
    )
    parser.add_argument(
        "--only", choices=sorted(GRADING), metavar="NAME", help="grade this function only"
    )
    args = parser.parse_args(argv)
    names = [args.only] if args.only else list(GRADING)
    verdicts = {name: grade(name, max_examples=args.max_examples, seed=args.seed) for name in names}
    print("The diagnoses:")
    width = max(map(len, names))
    for name, verdict in verdicts.items():
        print(f"  {name:{width}}  {verdict or '(no known mistake)'}")
    passed = sum(verdict == "passed" for verdict in verdicts.values())
    print(f"{passed} of {len(names)} functions passed.")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))  # quiet when piped into head
