"""Grading submissions: partial credit by output, the same grades in this process, in a
pool of jobs, with any Executor and on a Dask cluster; a submission that kills the process
grading it costs only its own check."""

from __future__ import annotations

import concurrent.futures
import importlib.util
import multiprocessing

import pytest

from flatprop.grading import (
    Check,
    command,
    grade_check,
    grade_submission,
    grade_submissions,
    read_assignment,
)
from flatprop.grading.batch import CheckResult, SubmissionResult, TestResult
from grading_cases import (  # noqa: F401 - no_process_left_behind: an autouse fixture
    SVM,
    SVM_NO_MEAN,
    SVM_REG_GRADIENT,
    TWO_LAYER,
    no_process_left_behind,
    with_function,
    write,
)

FEW = 20  # examples per check

SVM_CHECK = f"""
[[checks]]
name = "svm"
target = "linear_svm.py:svm_loss"
checker = "check_linear_loss"
reference = "multiclass_svm"
points = {{ loss = 2, dW = 8 }}
options = {{ max_examples = {FEW} }}
"""
NET_CHECK = f"""
[[checks]]
name = "net"
target = "two_layer.py:two_layer_loss"
checker = "check_two_layer_loss"
reference = "softmax"
points = {{ loss = 1, W1 = 1, b1 = 1, W2 = 1, b2 = 1 }}
options = {{ max_examples = {FEW} }}
"""
# The loss without its regularization term; dW right.
SVM_NO_REG_IN_LOSS = SVM.replace(" + reg * np.sum(W * W)", "")


def scores(result):
    """{test name: score} of a submission's result."""
    return {test.name: test.score for check in result.checks for test in check.tests}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (SVM, {"svm: loss": 2, "svm: dW": 8}),
        (SVM_REG_GRADIENT, {"svm: loss": 2, "svm: dW": 0}),  # a wrong gradient, a right loss
        (SVM_NO_REG_IN_LOSS, {"svm: loss": 0, "svm: dW": 8}),  # a wrong loss, a right gradient
        (SVM_NO_MEAN, {"svm: loss": 0, "svm: dW": 0}),
        (with_function(SVM, "raise ValueError('no')"), {"svm: loss": 0, "svm: dW": 0}),
    ],
)
def test_each_part_of_a_checks_points_is_earned_by_its_own_outputs(source, expected, tmp_path):
    write(tmp_path / "student", "linear_svm.py", source)
    result = grade_submission(read_assignment(SVM_CHECK), tmp_path / "student")
    assert scores(result) == expected
    assert result.score == sum(expected.values())
    [check] = result.checks
    assert [test.status for test in check.tests] == [
        "passed" if expected[name] else "failed" for name in ("svm: loss", "svm: dW")
    ]


def test_a_wrong_entry_of_grads_costs_only_its_own_points(tmp_path):
    source = TWO_LAYER.replace('"b2": dscores.sum(axis=0)', '"b2": 2 * dscores.sum(axis=0)')
    write(tmp_path / "student", "two_layer.py", source)
    result = grade_submission(read_assignment(NET_CHECK), tmp_path / "student")
    assert scores(result) == {
        "net: loss": 1,
        "net: W1": 1,
        "net: b1": 1,
        "net: W2": 1,
        "net: b2": 0,
    }
    b2 = result.checks[0].tests[-1]
    assert "returned a wrong grads['b2']" in b2.output


def test_grads_keyed_wrong_cost_every_gradient_but_not_the_loss(tmp_path):
    source = TWO_LAYER.replace('"b1": dz1.sum(axis=0),', "")
    write(tmp_path / "student", "two_layer.py", source)
    result = grade_submission(read_assignment(NET_CHECK), tmp_path / "student")
    assert scores(result) == {
        "net: loss": 1,
        "net: W1": 0,
        "net: b1": 0,
        "net: W2": 0,
        "net: b2": 0,
    }


PAIR_CHECK = f"""
[[checks]]
name = "affine"
target = ["layers.py:affine_forward", "layers.py:affine_backward"]
checker = "check_layer_pair"
reference = "affine"
points = {{ out = 1, dx = 2, dw = 1, db = 1 }}
options = {{ max_examples = {FEW} }}
"""
AFFINE = """
import numpy as np

def affine_forward(x, w, b):
    return x.reshape(len(x), -1) @ w + b, (x, w)

def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    return dx, x.reshape(len(x), -1).T @ dout, dout.sum(axis=0)
"""


@pytest.mark.parametrize(
    ("source", "expected", "diagnosis"),
    [
        (AFFINE, {"affine: out": 1, "affine: dx": 2, "affine: dw": 1, "affine: db": 1}, None),
        (  # dx left (N, D): a wrong shape of dx costs dx's points only
            AFFINE.replace(".reshape(x.shape)", ""),
            {"affine: out": 1, "affine: dx": 0, "affine: dw": 1, "affine: db": 1},
            "dx_not_reshaped",
        ),
        (  # a write into dout is the whole pair's failure
            AFFINE.replace("    x, w = cache\n", "    x, w = cache\n    dout *= 1.5\n"),
            {"affine: out": 0, "affine: dx": 0, "affine: dw": 0, "affine: db": 0},
            "writes_input",
        ),
    ],
)
def test_a_layer_pair_is_graded_by_its_outputs_with_the_diagnosis_in_its_report(
    source, expected, diagnosis, tmp_path
):
    write(tmp_path / "student", "layers.py", source)
    result = grade_submission(read_assignment(PAIR_CHECK), tmp_path / "student")
    assert scores(result) == expected
    failed = [test for check in result.checks for test in check.tests if test.score == 0]
    assert all(f"This matches a known mistake, {diagnosis}:" in test.output for test in failed)


def test_outputs_not_given_points_are_not_graded(tmp_path):
    assignment = read_assignment(SVM_CHECK.replace("{ loss = 2, dW = 8 }", "{ loss = 3 }"))
    write(tmp_path / "student", "linear_svm.py", SVM_REG_GRADIENT)
    assert grade_submission(assignment, tmp_path / "student").score == 3


def test_a_check_of_a_file_the_submission_lacks_earns_0_and_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    result = grade_check(read_assignment(SVM_CHECK).checks[0], tmp_path / "empty")
    assert result.score == 0
    assert all(
        test.output == "The submission has no file linear_svm.py: svm cannot be graded."
        for test in result.tests
    )


@pytest.fixture
def a_class(tmp_path):
    """Four submissions and what each earns of SVM_CHECK (10) + NET_CHECK (5)."""
    sources = {
        "ana": (SVM, TWO_LAYER, 15),
        "ben": (SVM_NO_MEAN, TWO_LAYER, 5),
        "cy": (SVM_REG_GRADIENT, "import os\nos._exit(0)\n", 2),
        "dee": (with_function(SVM, "while True:\n    pass"), TWO_LAYER, 5),
    }
    folders = []
    for name, (svm, net, _) in sources.items():
        write(tmp_path / name, "linear_svm.py", svm)
        write(tmp_path / name, "two_layer.py", net)
        folders.append(tmp_path / name)
    assignment = read_assignment("timeout = 1.5\n" + SVM_CHECK + NET_CHECK)
    return assignment, folders, {name: total for name, (_, _, total) in sources.items()}


def totals(results):
    return {result.submission: result.score for result in results}


def test_submissions_are_graded_in_order_with_progress(a_class):
    assignment, folders, expected = a_class
    seen = []
    results = grade_submissions(
        assignment, folders, progress=lambda result, done, total: seen.append((done, total))
    )
    assert [result.submission for result in results] == ["ana", "ben", "cy", "dee"]
    assert totals(results) == expected
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize(
    "make_executor",
    [
        lambda: concurrent.futures.ThreadPoolExecutor(2),
        lambda: concurrent.futures.ProcessPoolExecutor(
            2, mp_context=multiprocessing.get_context("spawn")
        ),
    ],
    ids=["threads", "processes"],
)
def test_any_executor_gives_the_same_grades(a_class, make_executor):
    assignment, folders, expected = a_class
    with make_executor() as executor:
        results = grade_submissions(assignment, folders, executor=executor)
    assert totals(results) == expected


def test_a_check_that_kills_its_grading_process_costs_only_itself(a_class, tmp_path):
    assignment, folders, expected = a_class
    killer = tmp_path / "eve"
    write(killer, "linear_svm.py", SVM)
    write(
        killer,
        "two_layer.py",
        TWO_LAYER.replace(
            "    W1, b1",
            "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n    W1, b1",
        ),
    )
    results = grade_submissions(assignment, [*folders, killer], jobs=2)
    assert totals(results) == {**expected, "eve": 10}  # the SVM's points; none for the net
    net = results[-1].checks[1]
    assert all("was killed while it ran, twice" in test.output for test in net.tests)
    assert results[-1].grader_error is None  # the submission's doing, not the grader's


def test_what_a_submission_starts_before_killing_its_grading_process_is_killed_too(tmp_path):
    """Its worker dies with the killed process; what the worker started, in the worker's
    session and with its environment, is killed by the batch grader (the fixture checks
    that no process of this run is left)."""
    write(
        tmp_path / "trent",
        "linear_svm.py",
        """
        import os, signal, subprocess

        def svm_loss(W, X, y, reg):
            subprocess.Popen(["sleep", "302"])
            os.kill(os.getppid(), signal.SIGKILL)
        """,
    )
    [result] = grade_submissions(read_assignment(SVM_CHECK), [tmp_path / "trent"], jobs=1)
    assert (result.score, result.max_score) == (0, 10)
    assert all("was killed while it ran, twice" in test.output for test in result.checks[0].tests)


@pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason='the dask extra is not installed: pip install "flatprop[dask]"',
)
def test_a_dask_cluster_gives_the_same_grades(a_class):
    from distributed import Client, LocalCluster

    assignment, folders, expected = a_class
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
    ):
        results = grade_submissions(assignment, folders, executor=client.get_executor())
    assert totals(results) == expected


def test_a_failure_of_the_grader_itself_is_set_apart_from_the_submissions(tmp_path):
    write(tmp_path / "ana", "linear_svm.py", SVM)
    broken = Check("broken", "linear_svm.py:svm_loss", "check_nothing", "svm", 1.0)
    good = read_assignment(SVM_CHECK).checks[0]
    assignment = read_assignment(SVM_CHECK)
    assignment = type(assignment)((good, broken))
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        [result] = grade_submissions(assignment, [tmp_path / "ana"], executor=executor)
    assert result.score == 10
    assert result.checks[1].score == 0
    assert "check_nothing" in result.grader_error
    assert "this is not the submission's doing" in result.checks[1].tests[0].output


def test_the_command_exits_with_1_when_the_grader_failed_on_a_submission(
    monkeypatch, tmp_path, capsys
):
    write(tmp_path / "ana", "linear_svm.py", SVM)
    (tmp_path / "hw.toml").write_text(SVM_CHECK)
    test = TestResult("svm", 0.0, 10.0, "The grader failed")
    failed = SubmissionResult("ana", (CheckResult("svm", (test,), grader_error="a bug"),))
    monkeypatch.setattr(command, "grade_submissions", lambda *args, **kwargs: [failed])
    status = command.run(str(tmp_path / "hw.toml"), [str(tmp_path / "ana")], out=str(tmp_path))
    assert status == 1
    assert "the grader itself failed on ana" in capsys.readouterr().err
    assert (tmp_path / "gradebook.csv").read_text() == "submission,svm,total\nana,0,0\n"


@pytest.mark.parametrize(
    ("arguments", "phrase"),
    [
        ({"folders": ["{tmp}/nobody"]}, "no submission folder"),
        ({"folders": ["{tmp}/a/ana", "{tmp}/b/ana"]}, "the same name 'ana'"),
        ({"jobs": 0}, "jobs must be an int >= 1"),
        ({"jobs": 2, "executor": "pool"}, "give jobs or executor, not both"),
    ],
)
def test_bad_arguments_are_clear_errors(arguments, phrase, tmp_path):
    for folder in ("a/ana", "b/ana"):
        (tmp_path / folder).mkdir(parents=True)
    folders = [f.format(tmp=tmp_path) for f in arguments.pop("folders", ["{tmp}/a/ana"])]
    if arguments.get("executor") == "pool":
        arguments["executor"] = concurrent.futures.ThreadPoolExecutor(1)
    with pytest.raises(ValueError, match=phrase):
        grade_submissions(read_assignment(SVM_CHECK), folders, **arguments)
