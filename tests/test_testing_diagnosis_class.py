"""An independently written class (tests/diagnosis_class): each student's one classic
mistake is caught, through a target, with the diagnosis the class's own notes name; the
correct students pass every checker.

The expected ids come from the class's description of each student's mistake (its
README's table), matched by hand to the catalogue's words, not from running flatprop.
"""

import importlib.util
from pathlib import Path

import pytest

from flatprop.testing import (
    CheckFailedError,
    check_layer_pair,
    check_linear_loss,
    check_loss_layer,
    check_two_layer_loss,
)

CLASS = Path(__file__).parent / "diagnosis_class"
FEW_SECONDS = 10  # per call: the class's functions take milliseconds

# student -> (file: function, or the layer of a pair; the checker; its reference; the id)
MISTAKES = {
    "m01_no_div_by_n": ("linear_svm.py:svm_loss_vectorized", "linear", "svm", "no_mean"),
    "m02_grad_not_averaged": (
        "softmax.py:softmax_loss_vectorized",
        "linear",
        "softmax",
        "gradient_not_averaged",
    ),
    "m03_div_by_nc": ("layers.py:svm_loss", "loss_layer", "svm", "mean_over_classes"),
    "m04_hinge_includes_yi": (
        "linear_svm.py:svm_loss_vectorized",
        "linear",
        "svm",
        "target_in_hinge_sum",
    ),
    "m05_kink_ge": ("linear_svm.py:svm_loss_vectorized", "linear", "svm", "kink_counted"),
    "m06_global_max_shift": (
        "softmax.py:softmax_loss_vectorized",
        "linear",
        "softmax",
        "global_max",
    ),
    "m07_no_max_shift": ("layers.py:softmax_loss", "loss_layer", "softmax", "no_max_shift"),
    "m08_grad_p_not_p_minus_y": (
        "two_layer.py:two_layer_loss",
        "two_layer",
        "softmax",
        "target_not_subtracted",
    ),
    "m09_sign_flipped": (
        "softmax.py:softmax_loss_vectorized",
        "linear",
        "softmax",
        "gradient_sign",
    ),
    "m10_reg_grad_no_2": (
        "linear_svm.py:svm_loss_vectorized",
        "linear",
        "svm",
        "reg_gradient_missing_2",
    ),
    "m11_half_reg_convention": ("two_layer.py:two_layer_loss", "two_layer", "softmax", "half_reg"),
    "m12_no_regularization": (
        "linear_svm.py:svm_loss_vectorized",
        "linear",
        "svm",
        "reg_missing",
    ),
    "m13_bias_regularized": (
        "two_layer.py:two_layer_loss",
        "two_layer",
        "softmax",
        "bias_regularized",
    ),
    "m14_pre_relu_to_layer2": (
        "two_layer.py:two_layer_loss",
        "two_layer",
        "softmax",
        "pre_relu_forward",
    ),
    "m15_relu_mask_from_dout": ("layers.py", "pair", "relu", "relu_mask_wrong"),
    "m16_relu_mask_ge_zero": ("layers.py", "pair", "relu", "relu_mask_wrong"),
    "m17_crammer_singer": ("linear_svm.py:svm_loss_vectorized", "linear", "svm", "crammer_singer"),
    "m18_relu_backward_inplace": ("layers.py", "pair", "relu", "writes_input"),
    "m19_affine_dx_not_reshaped": ("layers.py", "pair", "affine", "dx_not_reshaped"),
    "m20_writes_into_W": (
        "softmax.py:softmax_loss_vectorized",
        "linear",
        "softmax",
        "writes_input",
    ),
}
CHECKERS = {
    "linear": check_linear_loss,
    "loss_layer": check_loss_layer,
    "two_layer": check_two_layer_loss,
}


def check(student, where, contract, reference):
    """Run the student's function (or pair) through targets: in a worker process."""
    folder = CLASS / student
    if contract == "pair":
        path = folder / where
        return check_layer_pair(
            f"{path}:{reference}_forward",
            f"{path}:{reference}_backward",
            reference,
            timeout=FEW_SECONDS,
        )
    return CHECKERS[contract](f"{folder / where}", reference, timeout=FEW_SECONDS)


@pytest.mark.parametrize("student", sorted(MISTAKES))
def test_each_students_mistake_is_caught_with_its_diagnosis(student):
    where, contract, reference, mistake = MISTAKES[student]
    with pytest.raises(CheckFailedError) as caught:
        check(student, where, contract, reference)
    assert caught.value.diagnosis == mistake, str(caught.value)
    assert f"This matches a known mistake, {mistake}:" in str(caught.value)


def test_every_classic_student_of_the_class_is_here_with_one_mistake():
    folders = sorted(path.name for path in CLASS.iterdir() if path.name.startswith("m"))
    assert folders == sorted(MISTAKES)
    assert all(len(list((CLASS / student).glob("*.py"))) == 1 for student in MISTAKES)


def load(path):
    spec = importlib.util.spec_from_file_location(f"class_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("student", ["s01_correct_textbook", "s03_correct_logsumexp"])
def test_the_correct_students_pass_every_checker(student):
    folder = CLASS / student
    linear_svm, softmax = load(folder / "linear_svm.py"), load(folder / "softmax.py")
    layers, two_layer = load(folder / "layers.py"), load(folder / "two_layer.py")
    check_linear_loss(linear_svm.svm_loss_vectorized, "svm")
    check_linear_loss(softmax.softmax_loss_vectorized, "softmax")
    check_loss_layer(layers.svm_loss, "svm")
    check_loss_layer(layers.softmax_loss, "softmax")
    check_layer_pair(layers.affine_forward, layers.affine_backward, "affine")
    check_layer_pair(layers.relu_forward, layers.relu_backward, "relu")
    check_two_layer_loss(two_layer.two_layer_loss, "softmax")


def test_a_correct_students_layer_pairs_pass_through_targets():
    path = CLASS / "s03_correct_logsumexp" / "layers.py"
    for layer in ("affine", "relu"):
        report = check_layer_pair(f"{path}:{layer}_forward", f"{path}:{layer}_backward", layer)
        assert report.candidate == f"{layer}_forward and {layer}_backward"
