"""The sample submission in examples/: the kit catches each planted bug, names what is
wrong, and shows a small input on which the function really is wrong."""

import functools
import importlib
import os
import re
import sys

import numpy as np
import pytest

from flatprop.losses import find_loss
from flatprop.nets import LinearClassifier, TwoLayerNet
from flatprop.testing import CheckFailedError
from flatprop.testing.mistakes import MISTAKES
from helpers import (
    CHECKER_ATOL,
    CHECKER_RTOL,
    EXAMPLES,
    failing_input,
    failing_input_code,
    run_python,
    with_this_path,
)


def import_from_examples(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


grading = import_from_examples("grade_submission")
submission = grading.submission

# The bug planted in each function, as the grader should report it: (kind, quantity, the
# diagnosis). One per known mistake of the catalogue, and svm_loss_labels_ignored, in none.
PLANTED = {
    # rows far apart: NaN (or, with rows 710 to 745 apart, subnormal and a little wrong)
    "softmax_loss_global_max": (("non-finite", "mismatch"), ("loss", "dscores"), "global_max"),
    "softmax_loss_sign_error": ("mismatch", "dscores", "gradient_sign"),
    "softmax_loss_in_place": ("mutation", "scores", "writes_input"),
    "svm_loss_labels_ignored": ("mismatch", "dscores", None),  # right loss when all margins are
    "softmax_loss_no_shift": ("non-finite", "loss", "no_max_shift"),  # exp overflows
    "softmax_loss_probs_gradient": ("mismatch", "dscores", "target_not_subtracted"),
    # uniform scores (the smallest) give log C whatever the targets: dscores shows it
    "softmax_loss_smoothed_over_others": ("mismatch", "dscores", "smoothing_over_others"),
    "svm_loss_mean_of_margins": ("mismatch", "loss", "mean_over_classes"),
    "svm_loss_worst_class": ("mismatch", "loss", "crammer_singer"),
    "squared_hinge_loss_without_its_2": (
        "mismatch",
        "dscores",
        "squared_hinge_gradient_missing_2",
    ),
    "svm_loss_naive_all_classes": ("mismatch", "loss", "target_in_hinge_sum"),
    "svm_loss_naive_at_the_kink": ("mismatch", "dW", "kink_counted"),
    "svm_loss_vectorized_no_mean": ("mismatch", "loss", "no_mean"),
    "softmax_loss_vectorized_reg_gradient": ("mismatch", "dW", "reg_gradient_missing_2"),
    "softmax_loss_vectorized_gradient_summed": ("mismatch", "dW", "gradient_not_averaged"),
    "svm_loss_vectorized_half_reg": ("mismatch", "loss", "half_reg"),
    "svm_loss_vectorized_no_reg": ("mismatch", "loss", "reg_missing"),
    "two_layer_loss_pre_relu": ("mismatch", "loss", "pre_relu_forward"),
    "two_layer_loss_bias_regularized": ("mismatch", "loss", "bias_regularized"),
    "two_layer_loss_full_reg": ("mismatch", "loss", "full_reg"),
    "affine_backward_flat_dx": ("return", "dx", "dx_not_reshaped"),  # x of 3 axes or more
    "relu_backward_mask_from_dout": ("mismatch", "dx", "relu_mask_wrong"),
}
PAIRS = set(grading.FORWARD)  # checked with their forward pass; tests/test_testing_layers.py


def grade(name):
    checker, reference, conventions = grading.GRADING[name]
    function = getattr(submission, name)
    candidates = (
        [getattr(submission, grading.FORWARD[name]), function] if name in PAIRS else [function]
    )
    return checker(*candidates, reference, **conventions)


@functools.cache
def failure(name):
    """The error of grading a function with a planted bug (graded once per session)."""
    with pytest.raises(CheckFailedError) as caught:
        grade(name)
    return caught.value


def runnable_failing_input(error, name):
    """The input of a failure message, after checking that its block runs as it is."""
    with np.errstate(all="ignore"):  # the global max's overflow
        exec(failing_input_code(error), {name: getattr(submission, name)})  # the call included
    return failing_input(error)  # afresh: the call may write into them


def outputs(name, inputs):
    """The function's outputs on the input, the reference's, and whether an input changed."""
    checker, reference, conventions = grading.GRADING[name]
    function = getattr(submission, name)
    if checker.__name__ == "check_loss_layer":
        scores, y = inputs["scores"], inputs["y"]
        before = scores.copy()
        loss, grads = find_loss(reference).function(scores, y, **conventions)
        got = function(scores, y)
        return got, (loss, grads["scores"]), not np.array_equal(scores, before)
    if checker.__name__ == "check_linear_loss":
        W, X, y, reg = inputs["W"], inputs["X"], inputs["y"], inputs["reg"]
        model = LinearClassifier(*W.shape, head=find_loss(reference).head, bias=False)
        model.params = {"W": W}
        loss, grads = model.loss(X, y, reg=reg)
        return function(W, X, y, reg), (loss, grads["W"]), False
    params, X, y, reg = inputs["params"], inputs["X"], inputs["y"], inputs["reg"]
    net = TwoLayerNet(1, 1, 1, head=reference)
    net.params = dict(params)
    expected = net.loss(X, y, reg=conventions.get("reg_scale", 1.0) * reg)
    return function(params, X, y, reg), expected, False


def sizes(inputs):
    """N, D, H and C of an input, those it has."""
    if "scores" in inputs:
        return dict(zip("NC", inputs["scores"].shape, strict=True))
    if "W" in inputs:
        return dict(zip("NDC", [*inputs["X"].shape, inputs["W"].shape[1]], strict=True))
    return dict(zip("NDHC", [*inputs["X"].shape, *inputs["params"]["W2"].shape], strict=True))


def test_every_function_of_the_sample_submission_is_graded():
    functions = {name for name in vars(submission) if not name.startswith("_")} - {"np"}
    assert set(grading.GRADING) | set(grading.FORWARD.values()) == functions
    assert set(PLANTED) == set(grading.GRADING) - {"svm_loss_vectorized"}


def test_the_sample_submission_plants_one_mistake_per_entry_of_the_catalogue():
    planted = [diagnosis for _, _, diagnosis in PLANTED.values() if diagnosis is not None]
    assert sorted(planted) == sorted(MISTAKES)


def test_the_correct_function_passes():
    assert grade("svm_loss_vectorized").examples_passed == 100


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_each_planted_bug_is_caught_named_and_diagnosed(name):
    error = failure(name)
    kinds, quantities, diagnosis = PLANTED[name]
    assert error.kind in kinds if isinstance(kinds, tuple) else error.kind == kinds
    if isinstance(quantities, tuple):
        assert error.quantity in quantities
    else:
        assert error.quantity == quantities
    assert error.diagnosis == diagnosis
    headline = str(error).splitlines()[0]
    called = grading.FORWARD.get(name, name)
    assert headline.startswith(f"{grading.GRADING[name][0].__name__}: {called}(")
    assert error.quantity in headline


@pytest.mark.parametrize("name", sorted(set(PLANTED) - PAIRS))
def test_each_reported_input_is_small_and_really_fails(name):
    inputs = runnable_failing_input(failure(name), name)
    # Only the Crammer-Singer hinge needs a third class: two wrong classes, one max.
    largest = {"C": 3} if name == "svm_loss_worst_class" else {}
    assert all(size <= largest.get(letter, 2) for letter, size in sizes(inputs).items())
    assert sizes(inputs).get("D", 1) == sizes(inputs).get("H", 1) == 1
    with np.errstate(all="ignore"):
        got, expected, written_into = outputs(name, inputs)
    kind, quantity = failure(name).kind, failure(name).quantity
    if kind == "mutation":
        assert written_into
        return
    got_loss, got_gradient = got
    expected_loss, expected_gradient = expected
    if quantity == "loss":
        assert not np.isclose(got_loss, expected_loss, rtol=CHECKER_RTOL, atol=CHECKER_ATOL)
    else:
        key = quantity[len("grads['") : -2] if quantity.startswith("grads") else None
        got_array = got_gradient[key] if key else got_gradient
        wanted = expected_gradient[key] if key else expected_gradient
        assert not np.allclose(got_array, wanted, rtol=CHECKER_RTOL, atol=CHECKER_ATOL)


def test_the_script_prints_a_report_per_function(tmp_path):
    result = run_python(str(EXAMPLES / "grade_submission.py"), "--max-examples", "30", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("FAIL ") == len(PLANTED)
    assert result.stdout.count("PASS ") == 1
    assert result.stdout.rstrip().endswith(f"1 of {len(PLANTED) + 1} functions passed.")
    table = result.stdout.split("The diagnoses:\n")[1].splitlines()[: len(PLANTED) + 1]
    diagnoses = dict(line.split() if "(" not in line else (line.split()[0], None) for line in table)
    assert diagnoses == {
        **{name: diagnosis for name, (_, _, diagnosis) in PLANTED.items()},
        "svm_loss_vectorized": "passed",
    }
    assert not (tmp_path / ".hypothesis" / "examples").exists()  # no example database


def test_the_script_grades_one_function_the_same_way_in_every_process():
    command = [str(EXAMPLES / "grade_submission.py"), "--only", "svm_loss_naive_at_the_kink"]
    runs = [
        run_python(*command, env={**os.environ, "PYTHONHASHSEED": str(seed)}) for seed in (1, 2)
    ]
    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr
    runs = [run.stdout for run in runs]
    assert runs[0] == runs[1]
    assert "svm_loss_naive_at_the_kink(W, X, y, reg) returned a wrong dW" in runs[0]


def test_the_script_has_help():
    result = run_python(str(EXAMPLES / "grade_submission.py"), "--help")
    assert result.returncode == 0, result.stderr
    assert "--max-examples" in result.stdout
    assert "--only NAME" in result.stdout


@pytest.mark.parametrize("candidate", ["function", "target"])
def test_pytest_shows_the_graders_line_and_the_report_and_no_frame_of_the_kit(tmp_path, candidate):
    """What the README shows a student: the failing line of the test file, then the report."""
    (tmp_path / "summed.py").write_text(
        "from flatprop.losses import multiclass_svm\n"
        "def svm_loss(scores, y):\n"
        "    loss, grads = multiclass_svm(scores, y, reduction='sum')\n"
        "    return loss, grads['scores']\n",
        encoding="utf-8",
    )
    fn = "svm_loss" if candidate == "function" else "'summed.py:svm_loss'"
    (tmp_path / "test_grader.py").write_text(
        "from flatprop.testing import check_loss_layer\n"
        "from summed import svm_loss\n"
        "def test_svm_loss():\n"
        f"    check_loss_layer({fn}, 'multiclass_svm', max_examples=10)\n",
        encoding="utf-8",
    )
    result = run_python(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path, env=with_this_path()
    )
    assert result.returncode == 1, result.stdout
    report = result.stdout.split("def test_svm_loss():")[1].split("short test summary")[0]
    assert report.lstrip().startswith(f">       check_loss_layer({fn}, 'multiclass_svm'")
    assert "flatprop/testing/" not in report, report  # the kit's own frames are hidden
    assert re.search(
        r"^E +flatprop.testing.CheckFailedError: check_loss_layer: svm_loss", report, re.M
    )
