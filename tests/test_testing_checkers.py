"""flatprop.testing's checkers: they pass correct code, catch each kind of fault, report
it on a small input that really fails, written as NumPy literals that read back to the
same arrays, are deterministic, and reject bad arguments."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flatprop import losses, naive
from flatprop.losses import LOSSES
from flatprop.nets import LinearClassifier, TwoLayerNet
from flatprop.testing import (
    CheckFailedError,
    CheckReport,
    check_linear_loss,
    check_loss_layer,
    check_two_layer_loss,
)
from flatprop.testing._report import literal
from helpers import failing_input

FEW_EXAMPLES = 25  # enough to catch a fault that shows on most inputs, and fast

# Candidates in the three contracts, built from flatprop itself (and its loops)


def loss_layer(reference, *, loops=False, **options):
    """``fn(scores, y) -> (loss, dscores)`` from flatprop.losses or flatprop.naive."""
    loss_function = getattr(naive if loops else losses, reference)

    def candidate(scores, y):
        loss, grads = loss_function(scores, y, **options)
        return loss, next(iter(grads.values()))

    return candidate


def linear_loss(head, *, reg_factor=1.0, **options):
    """``fn(W, X, y, reg) -> (loss, dW)``: a bias-free LinearClassifier with these W."""

    def candidate(W, X, y, reg):
        model = LinearClassifier(*W.shape, head=head, bias=False, dtype=W.dtype, **options)
        model.params = {"W": W}
        loss, grads = model.loss(X, y, reg=reg_factor * reg)
        return loss, grads["W"]

    return candidate


def two_layer_loss(head, *, reg_factor=1.0, **options):
    """``fn(params, X, y, reg) -> (loss, grads)``: a TwoLayerNet with these params."""

    def candidate(params, X, y, reg):
        (input_size, hidden_size), output_size = params["W1"].shape, len(params["b2"])
        net = TwoLayerNet(
            input_size, hidden_size, output_size, head=head, dtype=params["W1"].dtype, **options
        )
        net.params = dict(params)
        return net.loss(X, y, reg=reg_factor * reg)

    return candidate


def flat(error):
    """The message on one line: long lines are wrapped."""
    return " ".join(str(error).split())


def failure(checker, candidate, reference, **options):
    """The CheckFailedError that ``checker`` raises on ``candidate`` (none fails the test)."""
    with pytest.raises(CheckFailedError) as caught:
        checker(candidate, reference, **options)
    return caught.value


# The kit passes correct code


@pytest.mark.parametrize(
    ("reference", "options"),
    [
        ("multiclass_svm", {}),
        ("multiclass_svm", {"margin": 0.5, "reduction": "sum"}),
        ("squared_hinge", {"weight": [1.0, 0.5, 2.0]}),
        ("softmax_cross_entropy", {}),
        ("softmax_cross_entropy", {"label_smoothing": 0.1, "reduction": "none"}),
        ("l2", {}),
    ],
)
def test_flatprop_loops_pass_the_loss_layer_check(reference, options):
    report = check_loss_layer(
        loss_layer(reference, loops=True, **options),
        reference,
        max_examples=FEW_EXAMPLES,
        **options,
    )
    assert report.examples_passed == FEW_EXAMPLES


@pytest.mark.parametrize("head", [spec.head for spec in LOSSES.values()])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_flatprop_models_pass_the_linear_and_two_layer_checks(head, dtype):
    linear = check_linear_loss(linear_loss(head), head, dtype=dtype, max_examples=FEW_EXAMPLES)
    two_layer = check_two_layer_loss(
        two_layer_loss(head), head, dtype=dtype, max_examples=FEW_EXAMPLES
    )
    assert linear.examples_passed == two_layer.examples_passed == FEW_EXAMPLES


@pytest.mark.parametrize(
    ("head", "options"),
    [
        ("softmax", {"weight": [1.0, 0.0, 2.0], "label_smoothing": 0.2}),
        ("squared_hinge", {"weight": [1.0, 0.5], "margin": 0.5, "reduction": "sum"}),
    ],
)
def test_head_options_reach_the_models(head, options):
    check_linear_loss(linear_loss(head, **options), head, max_examples=FEW_EXAMPLES, **options)
    check_two_layer_loss(
        two_layer_loss(head, **options), head, max_examples=FEW_EXAMPLES, **options
    )


def test_half_reg_convention_passes_with_reg_scale_half_and_fails_without():
    half = linear_loss("softmax", reg_factor=0.5)
    check_linear_loss(half, "softmax_cross_entropy", reg_scale=0.5, max_examples=FEW_EXAMPLES)
    error = failure(check_linear_loss, half, "softmax_cross_entropy", max_examples=FEW_EXAMPLES)
    assert error.quantity in ("loss", "dW")
    assert failing_input(error)["reg"] > 0


def test_reference_options_reach_the_reference():
    plain_margin = loss_layer("multiclass_svm")
    with pytest.raises(CheckFailedError, match=re.escape("multiclass_svm(margin=0.5)")):
        check_loss_layer(plain_margin, "multiclass_svm", margin=0.5, max_examples=FEW_EXAMPLES)


def test_success_report_says_who_passed_what_on_how_many_examples():
    report = check_loss_layer(loss_layer("softmax_cross_entropy"), "softmax", max_examples=7)
    assert isinstance(report, CheckReport)
    assert report.quantities == ("loss", "dscores")
    assert str(report) == (
        "candidate passed check_loss_layer: loss and dscores matched "
        "flatprop.losses.softmax_cross_entropy() on 7 examples"
    )


# Each kind of fault, and what the message says about it


def test_a_wrong_value_is_reported_with_its_size_and_both_outputs():
    def doubled_gradient(scores, y):
        loss, grads = losses.multiclass_svm(scores, y)
        return loss, 2 * grads["scores"]

    error = failure(check_loss_layer, doubled_gradient, "multiclass_svm", max_examples=FEW_EXAMPLES)
    assert isinstance(error, AssertionError)
    assert (error.kind, error.quantity) == ("mismatch", "dscores")
    message = str(error)
    assert message.startswith(
        "check_loss_layer: doubled_gradient(scores, y) returned a wrong dscores."
    )
    assert "largest difference: 1, at dscores[0, " in message
    assert "relative error: 1 (over the largest |entry| of the reference, 1.0)" in message
    assert "Expected, from flatprop.losses.multiclass_svm():" in message
    assert "Got, from doubled_gradient:" in message


def test_an_exception_is_reported_with_its_type_message_and_line():
    def crashes_on_two_rows(scores, y):
        if len(y) > 1:
            raise ZeroDivisionError("the student's own message")
        loss, grads = losses.softmax_cross_entropy(scores, y)
        return loss, grads["scores"]

    error = failure(check_loss_layer, crashes_on_two_rows, "softmax", max_examples=FEW_EXAMPLES)
    message = flat(error)
    assert error.kind == "exception"
    assert "raised ZeroDivisionError: the student's own message" in message
    assert 'in crashes_on_two_rows: raise ZeroDivisionError("the student' in message
    assert "test_testing_checkers.py" in message
    assert len(failing_input(error)["y"]) == 2


@pytest.mark.parametrize(
    ("returned", "quantity", "phrase"),
    [
        (
            lambda loss, dscores: float(loss),
            None,
            "must return a pair (loss, dscores), got a float",
        ),
        (lambda loss, dscores: (loss, dscores, 0), None, "got a tuple"),
        (lambda loss, dscores: (np.atleast_1d(loss), dscores), "loss", "loss must be a number"),
        (lambda loss, dscores: (loss, dscores.T), "dscores", "must be an array of shape"),
        (lambda loss, dscores: (loss, None), "dscores", "got a NoneType: None"),
    ],
)
def test_a_wrong_return_type_or_shape_is_reported(returned, quantity, phrase):
    def candidate(scores, y):
        loss, grads = losses.multiclass_svm(scores, y)
        return returned(loss, grads["scores"])

    error = failure(
        check_loss_layer, candidate, "multiclass_svm", num_classes=3, max_examples=FEW_EXAMPLES
    )
    assert (error.kind, error.quantity) == ("return", quantity)
    assert phrase in str(error)


def test_grads_keyed_unlike_params_are_reported():
    def forgets_the_biases(params, X, y, reg):
        loss, grads = two_layer_loss("softmax")(params, X, y, reg)
        return loss, {"W1": grads["W1"], "W2": grads["W2"]}

    error = failure(check_two_layer_loss, forgets_the_biases, "softmax", max_examples=FEW_EXAMPLES)
    assert (error.kind, error.quantity) == ("return", "grads")
    assert "keyed like params, ['W1', 'b1', 'W2', 'b2'], got keys ['W1', 'W2']" in str(error)


def test_nan_and_inf_in_an_output_are_reported():
    def nan_gradient(W, X, y, reg):
        loss, dW = linear_loss("svm")(W, X, y, reg)
        return loss, dW / 0.0

    error = failure(check_linear_loss, nan_gradient, "multiclass_svm", max_examples=FEW_EXAMPLES)
    assert (error.kind, error.quantity) == ("non-finite", "dW")
    assert "NaN or inf" in str(error)


def test_writing_into_an_entry_of_params_is_reported_with_the_entry():
    def zeroes_the_bias(params, X, y, reg):
        result = two_layer_loss("svm")(params, X, y, reg)
        params["b2"][:] = 0
        return result

    error = failure(check_two_layer_loss, zeroes_the_bias, "svm", max_examples=FEW_EXAMPLES)
    assert (error.kind, error.quantity) == ("mutation", "params")
    assert re.search(r"params\['b2'\]\[\d\] was -?[\d.]+ before the call and is 0.0", str(error))
    assert np.any(error.inputs["params"]["b2"] != 0)  # the input before the call


def test_a_candidate_that_fails_only_once_is_reported_as_not_deterministic():
    calls = []

    def wrong_on_its_first_call(scores, y):
        calls.append(1)
        loss, grads = losses.multiclass_svm(scores, y)
        return loss + (len(calls) == 1), grads["scores"]

    with pytest.raises(CheckFailedError, match="is not deterministic"):
        check_loss_layer(wrong_on_its_first_call, "svm", max_examples=FEW_EXAMPLES)


# Kinks


def relu_passes_gradient_at_zero(params, X, y, reg):
    z1 = X @ params["W1"] + params["b1"]
    hidden = np.maximum(z1, 0)
    scores = hidden @ params["W2"] + params["b2"]
    loss, grads = losses.multiclass_svm(scores, y)
    dscores = grads["scores"]
    dz1 = (dscores @ params["W2"].T) * (z1 >= 0)  # should be z1 > 0
    reg_loss = reg * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    return loss + reg_loss, {
        "W1": X.T @ dz1 + 2 * reg * params["W1"],
        "b1": dz1.sum(axis=0),
        "W2": hidden.T @ dscores + 2 * reg * params["W2"],
        "b2": dscores.sum(axis=0),
    }


def test_the_subgradient_at_a_relu_kink_is_checked_unless_kinks_are_excluded():
    error = failure(check_two_layer_loss, relu_passes_gradient_at_zero, "svm")
    assert error.kind == "mismatch"
    assert error.quantity in ("grads['W1']", "grads['b1']")
    assert "ReLU pre-activation X W1 + b1 is exactly 0" in flat(error)
    check_two_layer_loss(relu_passes_gradient_at_zero, "svm", include_kinks=False)


def hinge_active_at_zero(scores, y):
    rows = np.arange(len(y))
    margins = scores - scores[rows, y][:, np.newaxis] + 1
    active = margins >= 0  # should be > 0
    active[rows, y] = False
    dscores = active / len(y)
    dscores[rows, y] = -active.sum(axis=1) / len(y)
    return np.sum(margins * active) / len(y), dscores


def linear_hinge_active_at_zero(W, X, y, reg):
    loss, dscores = hinge_active_at_zero(X @ W, y)
    return loss + reg * np.sum(W * W), X.T @ dscores + 2 * reg * W


@pytest.mark.parametrize(
    ("checker", "candidate", "reference"),
    [
        (check_loss_layer, hinge_active_at_zero, "multiclass_svm"),
        (check_linear_loss, linear_hinge_active_at_zero, "multiclass_svm"),
        (check_two_layer_loss, relu_passes_gradient_at_zero, "svm"),
    ],
)
def test_a_wrong_subgradient_at_a_kink_is_caught_even_with_a_budget_of_one_example(
    checker, candidate, reference
):
    with pytest.raises(CheckFailedError, match="is exactly 0"):
        checker(candidate, reference, max_examples=1)


def test_the_subgradient_at_a_hinge_kink_is_checked_unless_kinks_are_excluded():
    error = failure(check_loss_layer, hinge_active_at_zero, "multiclass_svm")
    assert (error.kind, error.quantity) == ("mismatch", "dscores")
    assert "hinge margin s_j - s_y + margin is exactly 0" in flat(error)
    check_loss_layer(hinge_active_at_zero, "multiclass_svm", include_kinks=False)


# Messages: reproducible, small, and the input in them really fails


def sum_instead_of_mean(W, X, y, reg):
    loss, dW = linear_loss("softmax")(W, X, y, reg)
    return loss * len(y), dW


def test_the_input_in_a_message_is_runnable_numpy_and_fails_the_same_way():
    error = failure(check_linear_loss, sum_instead_of_mean, "softmax", max_examples=FEW_EXAMPLES)
    inputs = failing_input(error)
    assert set(inputs) == {"np", "W", "X", "y", "reg"}
    got, _ = sum_instead_of_mean(inputs["W"], inputs["X"], inputs["y"], inputs["reg"])
    model = LinearClassifier(*inputs["W"].shape, head="softmax", bias=False)
    model.params = {"W": inputs["W"]}
    expected, _ = model.loss(inputs["X"], inputs["y"], reg=inputs["reg"])
    assert not np.isclose(got, expected)
    assert inputs["X"].shape == (2, 1)  # N = 2 is the smallest batch where it shows


def test_shrinking_keeps_the_sizes_that_the_grader_fixed():
    error = failure(
        check_linear_loss,
        sum_instead_of_mean,
        "softmax",
        num_examples=3,
        num_features=(2, 3),
        num_classes=4,
        max_examples=FEW_EXAMPLES,
    )
    inputs = failing_input(error)
    assert inputs["X"].shape == (3, 2)
    assert inputs["W"].shape == (2, 4)


def test_a_float32_input_is_written_with_its_dtype():
    error = failure(
        check_linear_loss,
        sum_instead_of_mean,
        "softmax",
        dtype=np.float32,
        max_examples=FEW_EXAMPLES,
    )
    assert "dtype=np.float32" in str(error)
    inputs = failing_input(error)
    assert inputs["W"].dtype == inputs["X"].dtype == np.float32
    np.testing.assert_array_equal(inputs["W"], error.inputs["W"])


def test_the_same_candidate_gets_the_same_message_every_time():
    def message(**seed):
        error = failure(
            check_linear_loss, sum_instead_of_mean, "softmax", max_examples=FEW_EXAMPLES, **seed
        )
        return str(error)

    assert message() == message()
    assert message(seed=2024) == message(seed=2024)


@pytest.mark.parametrize("max_examples", [1, 9])
def test_max_examples_is_how_many_inputs_a_passing_candidate_gets(max_examples):
    calls = []

    def counting(scores, y):
        calls.append(len(y))
        loss, grads = losses.softmax_cross_entropy(scores, y)
        return loss, grads["scores"]

    report = check_loss_layer(counting, "softmax", max_examples=max_examples)
    assert len(calls) == report.examples_passed == max_examples


def test_warnings_from_the_candidate_do_not_escape():
    def overflows(scores, y):  # no max subtracted: exp overflows on shifted rows
        probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        dscores = probs.copy()
        dscores[rows, y] -= 1
        return -np.log(probs[rows, y]).mean(), dscores / len(y)

    error = failure(check_loss_layer, overflows, "softmax")  # pytest turns warnings into errors
    assert error.kind == "non-finite"


# Bad arguments


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda fn: check_loss_layer(fn, "hinge"), ValueError, "reference must name one of"),
        (lambda fn: check_two_layer_loss(fn, "relu"), ValueError, "head must name one of"),
        (lambda fn: check_loss_layer(fn, "svm", margn=1), TypeError, "unknown option 'margn'"),
        (
            lambda fn: check_loss_layer(fn, "softmax", margin=1),
            TypeError,
            "'softmax_cross_entropy' reference takes label_smoothing, weight, reduction",
        ),
        (
            lambda fn: check_linear_loss(fn, "svm", reduction="none"),
            ValueError,
            "reduction must be one of 'mean', 'sum'",
        ),
        (lambda fn: check_loss_layer(fn, "svm", margin="1"), TypeError, "margin must be a real"),
        (lambda fn: check_loss_layer(fn, "svm", max_examples=0), ValueError, "max_examples"),
        (lambda fn: check_loss_layer(fn, "svm", seed=1.5), TypeError, "seed must be an int"),
        (
            lambda fn: check_loss_layer(fn, "svm", include_kinks="yes"),
            TypeError,
            "check_loss_layer: include_kinks must be True or False, got 'yes'",
        ),
        (lambda fn: check_loss_layer(fn, "svm", dtype=np.float16), TypeError, "float32 or"),
        (lambda fn: check_loss_layer(fn, "svm", min_value=1, max_value=1), ValueError, "< max"),
        (lambda fn: check_loss_layer(fn, "svm", num_examples=(3, 2)), ValueError, "num_examp"),
        (
            lambda fn: check_loss_layer(fn, "svm", weight=[1.0, 2.0], num_classes=3),
            ValueError,
            "num_classes must be the length of weight",
        ),
        (lambda fn: check_linear_loss(fn, "svm", reg_scale=0), ValueError, "reg_scale"),
        (lambda fn: check_linear_loss(fn, "svm", reg=-1.0), ValueError, "reg must be"),
        (lambda fn: check_loss_layer(42, "svm"), TypeError, "fn must be a callable or a target"),
        (lambda fn: check_loss_layer("fn", "svm"), ValueError, "must be 'path/to/file.py:function"),
        (lambda fn: check_loss_layer(fn, "svm", timeout=1), TypeError, "timeout and memory limit"),
    ],
)
def test_bad_arguments_to_a_checker_raise_a_clear_error(call, error, pattern):
    with pytest.raises(error, match=re.escape(pattern)):
        call(loss_layer("multiclass_svm"))


# Messages write their inputs as NumPy literals


FLOAT_ARRAYS = st.sampled_from([np.float64, np.float32]).flatmap(
    lambda dtype: hnp.arrays(
        dtype,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3),
        elements={"allow_subnormal": True},
    )
)


@given(FLOAT_ARRAYS)
def test_a_literal_reads_back_to_the_same_array(array):
    again = eval(literal(array), {"np": np})
    assert again.dtype == array.dtype
    assert again.shape == array.shape
    assert np.array_equal(again, array, equal_nan=True)
    numbers = ~np.isnan(array)
    assert np.array_equal(np.signbit(again[numbers]), np.signbit(array[numbers]))  # -0.0


def test_literals_of_a_dict_of_arrays_and_of_special_values():
    params = {"W": np.array([[-0.0, np.inf], [np.nan, 1e-300]]), "y": np.array([2, 0])}
    assert literal(params) == (
        "{\n"
        '    "W": np.array([\n'
        "        [-0.0, np.inf],\n"
        "        [np.nan, 1e-300],\n"
        "    ]),\n"
        '    "y": np.array([2, 0]),\n'
        "}"
    )
    assert literal(np.zeros((0, 3), dtype=np.float32)) == "np.zeros((0, 3), dtype=np.float32)"
