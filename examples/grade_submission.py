"""Grade the sample submission in student_submission.py with flatprop.testing.

Each function is checked against flatprop's reference for its contract; the script
prints the one-line report of each function that passes and the full report
(smallest failing input, expected and got) of each that fails.

    python examples/grade_submission.py
    python examples/grade_submission.py --only svm_loss_naive_at_the_kink
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import student_submission as submission  # beside this script

from flatprop.testing import check_linear_loss, check_loss_layer, check_two_layer_loss

# name of the function -> (checker, reference or head, the assignment's conventions)
GRADING: dict[str, tuple[Any, str, dict[str, Any]]] = {
    "softmax_loss_global_max": (check_loss_layer, "softmax_cross_entropy", {}),
    "softmax_loss_sign_error": (check_loss_layer, "softmax_cross_entropy", {}),
    "softmax_loss_in_place": (check_loss_layer, "softmax_cross_entropy", {}),
    "svm_loss_labels_ignored": (check_loss_layer, "multiclass_svm", {}),
    "svm_loss_vectorized": (check_linear_loss, "multiclass_svm", {}),
    "svm_loss_naive_all_classes": (check_linear_loss, "multiclass_svm", {}),
    "svm_loss_naive_at_the_kink": (check_linear_loss, "multiclass_svm", {}),
    "svm_loss_vectorized_no_mean": (check_linear_loss, "multiclass_svm", {}),
    "softmax_loss_vectorized_reg_gradient": (check_linear_loss, "softmax_cross_entropy", {}),
    "two_layer_loss_pre_relu": (check_two_layer_loss, "softmax", {"reg_scale": 0.5}),
    "two_layer_loss_bias_regularized": (check_two_layer_loss, "softmax", {"reg_scale": 0.5}),
}


def grade(name: str, *, max_examples: int, seed: int | None) -> bool:
    """Check one function of the submission, print its report; True if it passed."""
    checker, reference, conventions = GRADING[name]
    function = getattr(submission, name)
    try:
        report = checker(function, reference, max_examples=max_examples, seed=seed, **conventions)
    except AssertionError as failure:
        print(f"FAIL {name}\n\n{failure}")
        return False
    print(f"PASS {report}\n")
    return True


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
    passed = sum(grade(name, max_examples=args.max_examples, seed=args.seed) for name in names)
    print(f"{passed} of {len(names)} functions passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
