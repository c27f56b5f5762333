"""Diagnosis: a failed check names the known mistake that reproduces the candidate.

Hand-written buggy implementations (tests/diagnosis_cases.py, each written from a
mistake's description) are each diagnosed as that mistake; the catalogue's own variants,
run on drawn inputs, are each told apart from every other and from the reference; the
diagnosis travels with the error (pickled) and is the same for a target; without a
known mistake, the report states the relation that holds.
"""

import contextlib
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diagnosis_cases
import flatprop.testing as testing
from flatprop.losses import find_loss
from flatprop.nets import LinearClassifier, TwoLayerNet
from flatprop.testing import (
    CheckFailedError,
    _checkers,
    _layers,
    check_linear_loss,
    check_loss_layer,
)
from flatprop.testing._diagnosis import Observation, diagnose
from flatprop.testing._variants import linear_stages, reference_head, two_layer_stages
from flatprop.testing.mistakes import MISTAKES
from helpers import REORDERED_RTOL, assert_close

# The ids of the issue's table, and the one more of the layer pairs: the API.
CATALOGUE = {
    "no_mean",
    "gradient_not_averaged",
    "mean_over_classes",
    "target_in_hinge_sum",
    "kink_counted",
    "global_max",
    "no_max_shift",
    "target_not_subtracted",
    "gradient_sign",
    "reg_gradient_missing_2",
    "half_reg",
    "full_reg",
    "reg_missing",
    "bias_regularized",
    "pre_relu_forward",
    "relu_mask_wrong",
    "squared_hinge_gradient_missing_2",
    "crammer_singer",
    "smoothing_over_others",
    "writes_input",
    "dx_not_reshaped",
}


def test_the_catalogue_has_every_id_of_the_issue_and_no_other():
    assert set(MISTAKES) == CATALOGUE
    assert all(MISTAKES[name].id == name and MISTAKES[name].summary for name in MISTAKES)


def test_the_catalogue_table_in_the_module_docs_lists_every_id():
    assert all(f"* - ``{name}``" in testing.mistakes.__doc__ for name in CATALOGUE)


@pytest.mark.parametrize("name", sorted(diagnosis_cases.CASES))
def test_a_hand_written_mistake_is_diagnosed(name):
    checker, reference, options, mistake = diagnosis_cases.CASES[name]
    with pytest.raises(CheckFailedError) as caught:
        getattr(testing, checker)(getattr(diagnosis_cases, name), reference, **options)
    assert caught.value.diagnosis == mistake, str(caught.value)


def test_every_id_is_diagnosed_in_the_independent_class_or_the_hand_written_cases():
    from test_testing_diagnosis_class import MISTAKES as CLASS_MISTAKES

    covered = {case[-1] for case in diagnosis_cases.CASES.values()}
    covered |= {case[-1] for case in CLASS_MISTAKES.values()}
    assert covered == CATALOGUE


# The error carries its diagnosis, pickled too, and the report says it


def svm_summed(scores, y):
    loss, grads = find_loss("svm").function(scores, y, reduction="sum")
    return loss, grads["scores"]


def test_a_failure_names_its_mistake_and_survives_pickling():
    with pytest.raises(CheckFailedError) as caught:
        check_loss_layer(svm_summed, "svm", max_examples=20)
    error = caught.value
    assert (error.diagnosis, error.stage) == ("no_mean", None)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.diagnosis, copy.stage, copy.kind, copy.quantity) == (
        "no_mean",
        None,
        error.kind,
        error.quantity,
    )
    assert str(copy) == str(error)
    assert "This matches a known mistake, no_mean:" in str(error)
    # The diagnosis comes after the headline and before the failing input.
    text = str(error)
    assert text.index("known mistake") < text.index("The smallest failing input")


def test_a_targets_diagnosis_is_the_one_of_the_same_code_in_this_process(tmp_path):
    source = (
        "import numpy as np\n\n"
        "def softmax_loss(W, X, y, reg):\n"
        "    n = X.shape[0]\n"
        "    s = X @ W\n"
        "    s = s - s.max(axis=1, keepdims=True)\n"
        "    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)\n"
        "    loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)\n"
        "    p[np.arange(n), y] -= 1\n"
        "    return loss, X.T @ p / n + reg * W\n"
    )
    (tmp_path / "softmax.py").write_text(source)
    namespace = {}
    exec(source, namespace)
    errors = []
    for candidate in (namespace["softmax_loss"], f"{tmp_path / 'softmax.py'}:softmax_loss"):
        with pytest.raises(CheckFailedError) as caught:
            check_linear_loss(candidate, "softmax", max_examples=30)
        errors.append(caught.value)
    assert [error.diagnosis for error in errors] == ["reg_gradient_missing_2"] * 2
    assert str(errors[0]).split("The smallest")[0] == str(errors[1]).split("The smallest")[0]


# Relations, when no known mistake matches


def svm_doubled_gradient(scores, y):
    loss, grads = find_loss("svm").function(scores, y)
    return loss, 2 * grads["scores"]


def svm_loss_plus_three(scores, y):
    loss, grads = find_loss("svm").function(scores, y)
    return loss + 3, grads["scores"]


def svm_transposed_gradient(W, X, y, reg):
    model = LinearClassifier(*W.shape, head="svm", bias=False)
    model.params["W"] = W
    loss, grads = model.loss(X, y, reg=reg)
    return loss, grads["W"].T


def svm_triple_reg(W, X, y, reg):
    """3 reg sum(W**2) and 6 reg W: three times the regularization, in no catalogue."""
    model = LinearClassifier(*W.shape, head="svm", bias=False)
    model.params["W"] = W
    loss, grads = model.loss(X, y, reg=3 * reg)
    return loss, grads["W"]


@pytest.mark.parametrize(
    ("fn", "checker", "options", "relation"),
    [
        (svm_doubled_gradient, check_loss_layer, {}, "dscores is 2 times the reference's"),
        (
            svm_triple_reg,
            check_linear_loss,
            {},
            "the regularization part of loss is 3 times the reference's, and the rest of it "
            "is right",
        ),
        (svm_loss_plus_three, check_loss_layer, {}, "loss is the reference's + 3"),
        (
            svm_transposed_gradient,
            check_linear_loss,
            {"num_features": 3, "num_classes": 3},
            "dW is the reference's transposed",
        ),
    ],
)
def test_without_a_known_mistake_the_report_states_the_relation_that_holds(
    fn, checker, options, relation
):
    with pytest.raises(CheckFailedError) as caught:
        checker(fn, "svm", max_examples=30, **options)
    assert caught.value.diagnosis is None
    text = " ".join(str(caught.value).split())
    assert "No known mistake reproduces its outputs" in text
    assert relation in text


def test_without_its_catalogue_entry_full_reg_is_found_as_twice_the_regularization():
    """The relation the catalogue's full_reg stands for: reg·ΣW² against 0.5·reg·ΣW² is a
    regularization part twice the reference's, in the loss and in the gradient."""
    contract = contract_of(check_linear_loss, "svm", reg_scale=0.5)
    W = np.array([[1.0, -2.0], [0.5, 0.0]])
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 3.0]])
    inputs = [{"W": W, "X": X, "y": np.array([0, 1, 1]), "reg": reg} for reg in (0.0, 0.25, 1.5)]
    seen = observations(contract, inputs, lambda arguments: svm_full_reg(**arguments))
    for quantity in ("loss", "dW"):
        diagnosis = diagnose(
            seen,
            (),
            contract.returns.labelled,
            quantity,
            rtol=contract.rtol,
            atol=contract.atol,
            without_regularization=contract.without_regularization,
        )
        assert diagnosis.lines == [
            "No known mistake reproduces its outputs; on all 3 inputs tried, the "
            f"regularization part of {quantity} is 2 times the reference's, and the rest of it "
            "is right."
        ]


def svm_full_reg(W, X, y, reg):
    """The SVM of the problem set by its loops, with reg sum(W**2) and 2 reg W."""
    n, classes = len(y), W.shape[1]
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(n):
        scores = X[i] @ W
        for j in range(classes):
            margin = scores[j] - scores[y[i]] + 1
            if j != y[i] and margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return loss / n + reg * np.sum(W * W), dW / n + 2 * reg * W


def test_a_write_into_an_input_is_the_mistake_writes_input():
    def svm_in_place(scores, y):
        scores -= scores.max()
        return svm_summed(scores, y)[0] / len(y), find_loss("svm").function(scores, y)[1]["scores"]

    with pytest.raises(CheckFailedError) as caught:
        check_loss_layer(svm_in_place, "svm", max_examples=10)
    assert (caught.value.kind, caught.value.diagnosis) == ("mutation", "writes_input")


# The catalogue's variants, on drawn inputs: each told apart from all the others


@contextlib.contextmanager
def captured_contracts():
    """The contracts the checkers build, instead of running them."""
    contracts = []

    def capture(contract, fn, **options):
        contracts.append(contract)

    originals = _checkers.run_check, _layers.run_check
    _checkers.run_check = _layers.run_check = capture
    try:
        yield contracts
    finally:
        _checkers.run_check, _layers.run_check = originals


def contract_of(checker, *arguments, **options):
    with captured_contracts() as contracts:
        checker(lambda *inputs: None, *arguments, **options)
    return contracts[0]


# Each example runs every variant on about ten inputs, and diagnoses each: a fifth of the
# profile's examples (10 in dev, 30 in ci, 400 in thorough).
DIAGNOSIS_EXAMPLES = max(5, settings().max_examples // 5)

SETTINGS = {
    "loss layer, svm": (testing.check_loss_layer, ("svm",), {}),
    "loss layer, svm, sum": (testing.check_loss_layer, ("svm",), {"reduction": "sum"}),
    "loss layer, squared hinge": (testing.check_loss_layer, ("squared_hinge",), {}),
    "loss layer, softmax": (testing.check_loss_layer, ("softmax",), {}),
    "loss layer, smoothed softmax": (
        testing.check_loss_layer,
        ("softmax",),
        {"label_smoothing": 0.2},
    ),
    "loss layer, l2": (testing.check_loss_layer, ("l2",), {}),
    "linear, svm": (testing.check_linear_loss, ("svm",), {}),
    "linear, softmax, 0.5 reg": (testing.check_linear_loss, ("softmax",), {"reg_scale": 0.5}),
    "two-layer, softmax": (testing.check_two_layer_loss, ("softmax",), {}),
    "two-layer, svm": (testing.check_two_layer_loss, ("svm",), {}),
    "staged linear, svm": (testing.check_staged_linear_loss, ("svm",), {}),
    "staged two-layer, softmax": (testing.check_staged_two_layer_loss, ("softmax",), {}),
}


def observations(contract, inputs, run):
    """What ``run`` returns on each input, next to the reference's, as the engine sees it."""
    seen = []
    with np.errstate(all="ignore"):
        for arguments in inputs:
            got = contract.returns.labelled(run(arguments))
            expected = contract.returns.labelled(contract.reference(*arguments.values()))
            seen.append(Observation(arguments, got, expected))
    return seen


def differs(observation, rtol, atol):
    return any(
        not np.allclose(observation.got[label], value, rtol=rtol, atol=atol, equal_nan=False)
        for label, value in observation.expected.items()
    )


@pytest.mark.parametrize("setting", sorted(SETTINGS))
@settings(max_examples=DIAGNOSIS_EXAMPLES)
@given(data=st.data())
def test_each_variant_that_differs_on_a_drawn_input_is_diagnosed_as_itself(setting, data):
    checker, arguments, options = SETTINGS[setting]
    contract = contract_of(checker, *arguments, **options)
    drawn = data.draw(contract.problems)._asdict()
    inputs = [drawn, *contract.diagnostic_inputs(drawn)]
    for variant in contract.variants:
        seen = observations(contract, inputs, variant.run)
        if not differs(seen[0], contract.rtol, contract.atol):
            continue  # the mistake does not show on this input: no failure to diagnose
        quantity = next(  # the first output that fails, as the engine reports it
            label
            for label, value in seen[0].expected.items()
            if not np.allclose(seen[0].got[label], value, rtol=contract.rtol, atol=contract.atol)
        )
        diagnosis = diagnose(
            seen,
            contract.variants,
            contract.returns.labelled,
            quantity,
            rtol=contract.rtol,
            atol=contract.atol,
            staged=contract.staged,
            without_regularization=contract.without_regularization,
        )
        assert diagnosis.mistake == variant.mistake, (variant.evidence, diagnosis.lines)


@pytest.mark.parametrize("setting", sorted(SETTINGS))
@settings(max_examples=DIAGNOSIS_EXAMPLES)
@given(data=st.data())
def test_the_reference_itself_matches_no_known_mistake(setting, data):
    checker, arguments, options = SETTINGS[setting]
    contract = contract_of(checker, *arguments, **options)
    drawn = data.draw(contract.problems)._asdict()
    inputs = [drawn, *contract.diagnostic_inputs(drawn)]
    seen = observations(contract, inputs, lambda arguments: contract.reference(*arguments.values()))
    diagnosis = diagnose(
        seen,
        contract.variants,
        contract.returns.labelled,
        None,
        rtol=contract.rtol,
        atol=contract.atol,
    )
    assert diagnosis.mistake is None, diagnosis.lines


def test_the_diagnostic_inputs_are_ones_the_checker_could_have_drawn():
    for checker, arguments, options in SETTINGS.values():
        contract = contract_of(checker, *arguments, **options)
        extras = contract.diagnostic_inputs({})
        assert len(extras) >= 5
        assert all(contract.admissible(inputs) for inputs in extras)


@pytest.mark.parametrize("head", ["svm", "softmax", "squared_hinge", "l2"])
def test_the_variant_models_without_a_mistake_are_the_nets_stages(head):
    rng = np.random.default_rng(5)
    X, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    y = np.array([0, 2, 1, 2]) if head != "l2" else rng.standard_normal((4, 3))
    spec = find_loss(head)
    model = LinearClassifier(3, 3, head=head, bias=False)
    model.params["W"] = W
    expected = model.stages(X, y, reg=0.3)
    got = linear_stages(reference_head(spec, {}), {"W": W, "X": X, "y": y, "reg": 0.3}, 1.0)
    assert list(got) == [name for name in expected if name not in ("X", "W", "y")]
    for name, value in got.items():
        assert_close(value, expected[name], rtol=REORDERED_RTOL)
    net = TwoLayerNet(3, 2, 3, head=head, seed=1)
    net.params["b1"] = rng.standard_normal(2)
    expected = net.stages(X, y, reg=0.3)
    inputs = {"params": dict(net.params), "X": X, "y": y, "reg": 0.3}
    got = two_layer_stages(reference_head(spec, {}), inputs, 1.0)
    assert list(got) == [name for name in expected if name not in ("X", "y", *net.params)]
    for name, value in got.items():
        assert_close(value, expected[name], rtol=REORDERED_RTOL)
