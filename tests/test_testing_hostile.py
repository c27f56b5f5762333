"""The in-process kit against candidates that fight it: whatever a candidate raises or
returns, the check ends in a failure of that candidate, never a pass, a skip or an exit;
the caller's NumPy and warning settings cannot fail correct code; failures pickle."""

import concurrent.futures
import functools
import multiprocessing
import os
import pickle
import signal
import unittest
import warnings

import hypothesis
import numpy as np
import pytest

from flatprop import losses, naive
from flatprop.nets import TwoLayerNet
from flatprop.testing import (
    CheckFailedError,
    CheckReport,
    _engine,
    check_loss_layer,
    check_two_layer_loss,
)

FEW_EXAMPLES = 20
WAIT = 120  # seconds: a hung pool fails the test instead of hanging it


def outcome(call):
    """What a call raised (any BaseException, so that a skip or an exit cannot pass
    unnoticed), or what it returned."""
    try:
        return call()
    except BaseException as error:  # any: the point of these tests
        return error


def svm_layer(scores, y):
    loss, grads = losses.multiclass_svm(scores, y)
    return loss, grads["scores"]


def softmax_two_layer(params, X, y, reg, *, relu=True):
    net = TwoLayerNet(1, 1, 1, head="softmax")
    net.params = dict(params)
    if relu:
        return net.loss(X, y, reg=reg)
    # The net without its ReLU: the pre-activations feed the second layer.
    W1, b1, W2, b2 = (params[name] for name in ("W1", "b1", "W2", "b2"))
    scores = (X @ W1 + b1) @ W2 + b2
    loss, grads = losses.softmax_cross_entropy(scores, y)
    dscores = grads["scores"]
    dhidden = dscores @ W2.T
    return loss + reg * (np.sum(W1 * W1) + np.sum(W2 * W2)), {
        "W1": X.T @ dhidden + 2 * reg * W1,
        "b1": dhidden.sum(axis=0),
        "W2": (X @ W1 + b1).T @ dscores + 2 * reg * W2,
        "b2": dscores.sum(axis=0),
    }


class RejectsWhenRead:
    """A loss that tells Hypothesis to drop the input as soon as the kit reads it."""

    def __init__(self, value):
        self.value = value

    def __array__(self, dtype=None, copy=None):
        hypothesis.reject()


def zero_svm_that_hides_its_failures(scores, y):
    """Loss 0, gradient 0: right only where every margin is met; elsewhere the loss
    asks Hypothesis to drop the input when it is converted."""
    right, _ = losses.multiclass_svm(scores, y)
    if right == 0:
        return 0.0, np.zeros_like(scores)
    return RejectsWhenRead(0.0), np.zeros_like(scores)


def two_layer_without_relu_that_hides_its_failures(params, X, y, reg):
    loss, grads = softmax_two_layer(params, X, y, reg, relu=False)
    right_loss, right_grads = softmax_two_layer(params, X, y, reg)
    right = np.isclose(loss, right_loss) and all(
        np.allclose(grads[name], right_grads[name]) for name in grads
    )
    return (loss if right else RejectsWhenRead(loss)), grads


@pytest.mark.parametrize(
    ("checker", "candidate", "reference"),
    [
        (check_loss_layer, zero_svm_that_hides_its_failures, "multiclass_svm"),
        (check_two_layer_loss, two_layer_without_relu_that_hides_its_failures, "softmax"),
    ],
)
def test_a_return_value_that_rejects_the_input_when_read_fails_the_check(
    checker, candidate, reference
):
    error = outcome(lambda: checker(candidate, reference, max_examples=FEW_EXAMPLES))
    assert isinstance(error, CheckFailedError), error
    assert error.kind == "exception"
    assert "raised UnsatisfiedAssumption" in str(error)


def raising(exception_factory):
    def candidate(scores, y):
        raise exception_factory()

    return candidate


def pytest_outcome(function):
    def raise_it():
        function("the candidate's call")

    return raise_it


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: SystemExit(0), "SystemExit"),
        (lambda: KeyboardInterrupt(), "KeyboardInterrupt"),
        (lambda: GeneratorExit(), "GeneratorExit"),
        (lambda: hypothesis.errors.UnsatisfiedAssumption(), "UnsatisfiedAssumption"),
        (lambda: unittest.SkipTest("no"), "SkipTest"),
        (lambda: StopIteration(), "StopIteration"),
        (lambda: MemoryError(), "MemoryError"),
    ],
)
def test_any_exception_from_the_candidate_is_its_failure(make, name):
    error = outcome(lambda: check_loss_layer(raising(make), "svm", max_examples=FEW_EXAMPLES))
    assert isinstance(error, CheckFailedError), error
    assert (error.kind, error.quantity) == ("exception", None)
    assert f"raised {name}" in str(error)


@pytest.mark.parametrize(
    ("outcome_function", "name"),
    [
        (pytest.skip, "Skipped"),
        (pytest.xfail, "XFailed"),
        (pytest.fail, "Failed"),
        (pytest.exit, "Exit"),
    ],
)
def test_pytest_outcomes_raised_by_the_candidate_are_its_failure(outcome_function, name):
    def candidate(scores, y):
        outcome_function("the candidate's call")

    error = outcome(lambda: check_loss_layer(candidate, "svm", max_examples=FEW_EXAMPLES))
    assert isinstance(error, CheckFailedError), error
    assert f"raised {name}: the candidate's call" in str(error)


def test_hypothesis_assume_and_reject_in_the_candidate_are_its_failure():
    def assumes(scores, y):
        hypothesis.assume(len(y) < 2)
        return svm_layer(scores, y)

    error = outcome(lambda: check_loss_layer(assumes, "svm", max_examples=FEW_EXAMPLES))
    assert isinstance(error, CheckFailedError), error
    assert "raised UnsatisfiedAssumption" in str(error)
    assert len(error.inputs["y"]) == 2  # shrunk to the smallest input it rejected


class Hostile:
    """An object whose every method raises what it is given."""

    def __init__(self, make):
        self.make = make

    def __array__(self, dtype=None, copy=None):
        raise self.make()

    def __repr__(self):
        raise self.make()

    def __len__(self):
        raise self.make()

    def __iter__(self):
        raise self.make()


class HostileGrads(dict):
    def __getitem__(self, key):
        raise SystemExit(3)


@pytest.mark.parametrize(
    "returned",
    [
        lambda loss, dscores: (Hostile(SystemExit), dscores),
        lambda loss, dscores: (loss, Hostile(KeyboardInterrupt)),
        lambda loss, dscores: Hostile(GeneratorExit),
        lambda loss, dscores: (Hostile(lambda: pytest.skip.Exception("skip")), dscores),
    ],
)
def test_what_a_return_value_raises_when_read_is_the_candidates_failure(returned):
    def candidate(scores, y):
        return returned(*svm_layer(scores, y))

    error = outcome(lambda: check_loss_layer(candidate, "svm", max_examples=FEW_EXAMPLES))
    assert isinstance(error, CheckFailedError), error
    assert error.kind == "exception"


def test_a_grads_dict_that_exits_when_read_is_the_candidates_failure():
    def candidate(params, X, y, reg):
        loss, grads = softmax_two_layer(params, X, y, reg)
        return loss, HostileGrads(grads)

    error = outcome(lambda: check_two_layer_loss(candidate, "softmax", max_examples=FEW_EXAMPLES))
    assert isinstance(error, CheckFailedError), error
    assert "raised SystemExit: 3" in str(error)


class Replacement:
    def __repr__(self):
        return "Replacement()"


@pytest.mark.parametrize(
    ("replacement", "kind", "phrase"),
    [
        (Replacement, "mutation", "params['W1'] was replaced by a Replacement: Replacement()"),
        (lambda: Hostile(SystemExit), "exception", "raised SystemExit"),  # its repr exits
    ],
)
def test_a_dict_entry_replaced_by_an_object_is_a_failure(replacement, kind, phrase):
    def replaces_w1(params, X, y, reg):
        result = softmax_two_layer(params, X, y, reg)
        params["W1"] = replacement()
        return result

    error = outcome(lambda: check_two_layer_loss(replaces_w1, "softmax", max_examples=FEW_EXAMPLES))
    assert isinstance(error, CheckFailedError), error
    assert error.kind == kind
    assert phrase in " ".join(str(error).split())


def test_a_real_interrupt_still_stops_the_check():
    def interrupted(scores, y):
        os.kill(os.getpid(), signal.SIGINT)
        return svm_layer(scores, y)

    handler = signal.getsignal(signal.SIGINT)
    error = outcome(lambda: check_loss_layer(interrupted, "svm", max_examples=FEW_EXAMPLES))
    assert type(error) is KeyboardInterrupt
    assert signal.getsignal(signal.SIGINT) is handler  # put back


def test_a_check_fails_if_an_input_goes_unjudged(monkeypatch):
    """The count of compared inputs is a safety net of its own: here the kit's own
    check is replaced by one that drops every other input without a failure."""
    original = _engine._Example.check
    calls = []

    def drops_every_other_input(self):
        calls.append(1)
        if len(calls) % 2 == 0:
            hypothesis.reject()
        original(self)

    monkeypatch.setattr(_engine._Example, "check", drops_every_other_input)
    error = outcome(lambda: check_loss_layer(svm_layer, "svm", max_examples=FEW_EXAMPLES))
    assert isinstance(error, CheckFailedError), error
    assert error.kind == "incomplete"
    assert "only" in str(error)


# NumPy's error state and the warning filters


CORRECT = [
    (check_loss_layer, svm_layer, "multiclass_svm"),
    (check_two_layer_loss, softmax_two_layer, "softmax"),
]


@pytest.mark.parametrize(("checker", "candidate", "reference"), CORRECT)
def test_numpy_raising_on_every_error_does_not_fail_correct_code(checker, candidate, reference):
    before = np.geterr()
    with np.errstate(all="raise"):
        report = checker(candidate, reference)
        assert set(np.geterr().values()) == {"raise"}  # the caller's state, kept
    assert report.examples_passed == 100
    assert np.geterr() == before


@pytest.mark.parametrize(("checker", "candidate", "reference"), CORRECT)
def test_a_candidate_that_sets_numpy_to_raise_does_not_fail_the_kit(checker, candidate, reference):
    def sets_raise(*arguments):
        np.seterr(all="raise")
        warnings.simplefilter("error")
        with np.errstate(all="ignore"):
            return candidate(*arguments)

    before = np.geterr()
    assert checker(sets_raise, reference).examples_passed == 100
    assert np.geterr() == before


def test_warnings_as_errors_in_the_caller_do_not_fail_correct_code():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_two_layer_loss(softmax_two_layer, "softmax").examples_passed == 100


# Pickling: graders run checks in other processes


def failing_check():
    """A check that fails: naive's SVM returns a dict of gradients, not an array."""
    return functools.partial(
        check_loss_layer, naive.multiclass_svm, "multiclass_svm", max_examples=5
    )


def test_check_failed_error_and_check_report_survive_pickling():
    error = outcome(failing_check())
    assert isinstance(error, CheckFailedError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is CheckFailedError
    assert (str(copy), copy.kind, copy.quantity) == (str(error), error.kind, error.quantity)
    assert copy.inputs.keys() == error.inputs.keys()
    np.testing.assert_array_equal(copy.inputs["scores"], error.inputs["scores"])
    report = CheckReport("check_loss_layer", "f", "flatprop.losses.l2()", 7, ("loss", "dpred"))
    assert pickle.loads(pickle.dumps(report)) == report


def test_a_failure_comes_back_from_a_multiprocessing_pool():
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pending = pool.apply_async(failing_check())
        error = outcome(lambda: pending.get(timeout=WAIT))
    assert isinstance(error, CheckFailedError), error
    assert error.kind == "return"


def test_failures_come_back_from_a_process_pool_executor_without_breaking_it():
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        futures = [pool.submit(failing_check()) for _ in range(2)]
        futures.append(pool.submit(pickle.loads, pickle.dumps("still working")))
        _, pending = concurrent.futures.wait(futures, timeout=WAIT)
        assert not pending
    errors = [future.exception() for future in futures[:2]]
    assert all(isinstance(error, CheckFailedError) for error in errors), errors
    assert futures[2].result() == "still working"
