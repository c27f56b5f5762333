"""Targets "file.py:function": the submission runs in a worker process, and whatever it
does there (exit, crash, hang, flood, threads, patches, lies) is its own failure, with a
message that says what happened, while the grader goes on grading the others rightly.

Every test grades a correct submission and a wrong one after the hostile one, in the
same process, and checks their verdicts too; no test leaves a process behind.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from flatprop.grading import IsolatedFunction
from flatprop.testing import CheckFailedError, check_linear_loss, check_two_layer_loss
from grading_cases import (
    SVM,
    SVM_NO_MEAN,
    TWO_LAYER,
    no_process_left_behind,  # noqa: F401 - an autouse fixture
    with_function,
    write,
)
from helpers import run_python, with_this_path

FEW_EXAMPLES = 20
HANG_TIMEOUT = 1.5  # seconds: for the submissions that never answer


def grade(path, function="svm_loss", **options):
    """The check's report, or its failure."""
    try:
        return check_linear_loss(f"{path}:{function}", "svm", max_examples=FEW_EXAMPLES, **options)
    except CheckFailedError as failure:
        return failure


def flat(error):
    return " ".join(str(error).split())


@pytest.fixture
def controls(tmp_path):
    """A correct and a wrong submission, graded after the hostile one, in the same process."""
    correct = write(tmp_path / "correct", "linear_svm.py", SVM)
    wrong = write(tmp_path / "wrong", "linear_svm.py", SVM_NO_MEAN)

    def check():
        passed = grade(correct)
        assert not isinstance(passed, CheckFailedError), passed
        assert passed.examples_passed == FEW_EXAMPLES
        failed = grade(wrong)
        assert isinstance(failed, CheckFailedError)
        assert (failed.kind, failed.quantity) == ("mismatch", "loss")

    return check


# What a submission does, and the verdict: (source, kind, a phrase of the message).
HOSTILE = {
    "os._exit in the function": (
        with_function(SVM, "import os\nos._exit(0)"),
        "exit",
        "ended its process on this input, with exit status 0",
    ),
    "os._exit(3) after printing": (
        with_function(SVM, "import os\nprint('leaving now')\nos._exit(3)"),
        "exit",
        r"exit status 3\. .* The end of what it printed: \| leaving now",
    ),
    "sys.exit in the function": (
        with_function(SVM, "import sys\nsys.exit(0)"),
        "exception",
        "raised SystemExit: 0",
    ),
    "KeyboardInterrupt raised": (
        with_function(SVM, "raise KeyboardInterrupt"),
        "exception",
        "raised KeyboardInterrupt",
    ),
    "GeneratorExit raised": (
        with_function(SVM, "raise GeneratorExit('now')"),
        "exception",
        "raised GeneratorExit: now",
    ),
    "pytest.skip in the function": (
        with_function(SVM, "import pytest\npytest.skip('not today')"),
        "exception",
        "raised Skipped: not today",
    ),
    "pytest.xfail in the function": (
        with_function(SVM, "import pytest\npytest.xfail('expected')"),
        "exception",
        "raised XFailed: expected",
    ),
    "pytest.exit in the function": (
        with_function(SVM, "import pytest\npytest.exit('bye', returncode=0)"),
        "exception",
        "raised Exit: bye",
    ),
    "hypothesis.reject in the function": (
        with_function(SVM, "import hypothesis\nhypothesis.reject()"),
        "exception",
        "raised UnsatisfiedAssumption",
    ),
    "a segfault by signal": (
        with_function(SVM, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"),
        "crash",
        r"crashed on this input: its process was killed by signal 11 \(SIGSEGV\)",
    ),
    "a null pointer read through ctypes": (
        with_function(SVM, "import ctypes\nctypes.string_at(0)"),
        "crash",
        r"killed by signal 11 \(SIGSEGV\)\. A segmentation fault",
    ),
    "os.abort": (
        with_function(SVM, "import os\nos.abort()"),
        "crash",
        r"killed by signal 6 \(SIGABRT\)",
    ),
    "memory beyond the limit": (
        with_function(SVM, "import numpy as np\nnp.ones(10**9)"),
        "exception",
        "raised MemoryError.* Its memory is limited to 512 MiB",
    ),
    "10 MB on stdout": (
        with_function(SVM, "print('x' * 10_000_000)"),
        "output",
        "printed more than 1 MiB on this input",
    ),
    "a flood of small lines": (
        with_function(SVM, "for i in range(200_000):\n    print('line', i)"),
        "output",
        "printed more than 1 MiB",
    ),
    "a thread left running": (
        with_function(
            SVM,
            "import threading, time\n"
            "threading.Thread(target=time.sleep, args=(60,), name='spinner').start()",
        ),
        "thread",
        r"left a thread running after the call \(spinner\)",
    ),
    "a thread started at import": (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), name='watcher').start()\n" + SVM,
        "thread",
        r"left a thread running once its file was imported \(watcher\)",
    ),
    "a syntax error": (
        SVM + "\ndef broken(:\n    pass\n",
        "import",
        "could not be imported: linear_svm.py raised SyntaxError",
    ),
    "an import of a missing module": (
        "import numpy_extensions_for_students\n" + SVM,
        "import",
        "raised ModuleNotFoundError: No module named 'numpy_extensions_for_students'",
    ),
    "an exception at import": (
        SVM + "\nraise RuntimeError('the autograder is not welcome here')\n",
        "import",
        "RuntimeError: the autograder is not welcome here\\. at line 13 of linear_svm.py",
    ),
    "os._exit at import": (
        "import os\nos._exit(0)\n" + SVM,
        "exit",
        "ended its process while its file was imported, with exit status 0",
    ),
    "a segfault at import": (
        "import ctypes\nctypes.string_at(0)\n" + SVM,
        "crash",
        "crashed while its file was imported",
    ),
    "no such function": (
        SVM.replace("def svm_loss", "def svm_loss_vectorized"),
        "missing",
        "linear_svm.py has no function svm_loss; it defines svm_loss_vectorized",
    ),
    "a return value that exits when read": (
        with_function(
            SVM,
            "loss, dW = _right(*arguments)\n"
            "class Exits:\n"
            "    def __array__(self, dtype=None, copy=None):\n"
            "        import os\n"
            "        os._exit(0)\n"
            "return Exits(), dW",
        ),
        "exit",
        "ended its process on this input",
    ),
    "a return value that rejects the input when read": (
        with_function(
            SVM,
            "loss, dW = _right(*arguments)\n"
            "class Rejects:\n"
            "    def __array__(self, dtype=None, copy=None):\n"
            "        import hypothesis\n"
            "        hypothesis.reject()\n"
            "return (loss if loss == 0 else Rejects()), dW",
        ),
        "exception",
        "raised UnsatisfiedAssumption",
    ),
    "an object returned": (
        with_function(SVM, "loss, dW = _right(*arguments)\nreturn object(), dW"),
        "return",
        "loss must be a number, got a object: <object object at",
    ),
    "a huge array returned": (
        with_function(SVM, "import numpy as np\nreturn 0.0, np.zeros(3 * 10**6)"),
        "return",
        "returned something too large to send back",
    ),
    "garbage written to the grader's pipe": (
        with_function(
            SVM,
            "import os\n"
            "for fd in map(int, os.listdir('/proc/self/fd')):\n"
            "    if fd > 2:\n"
            "        try:\n"
            "            os.write(fd, (2**62).to_bytes(8, 'little'))\n"
            "        except OSError:\n"
            "            pass",
        ),
        "protocol",
        "sent back something that is not plain data",
    ),
    "the grader's pipes closed": (
        with_function(SVM, "import os\nos.closerange(3, 1024)"),
        "exit",
        "ended its process on this input, with exit status 1",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_submission_fails_with_what_it_did_and_the_others_are_graded_rightly(
    case, tmp_path, controls
):
    source, kind, phrase = HOSTILE[case]
    path = write(tmp_path / "hostile", "linear_svm.py", source)
    failure = grade(path, timeout=HANG_TIMEOUT * 2, memory=512)
    assert isinstance(failure, CheckFailedError), failure
    assert failure.kind == kind, str(failure)
    assert re.search(phrase, flat(failure)), str(failure)
    controls()


@pytest.mark.parametrize(
    ("case", "source", "phrase"),
    [
        ("an endless loop", with_function(SVM, "while True:\n    pass"), "on this input"),
        (
            "an endless loop that ignores SIGTERM",
            with_function(
                SVM,
                "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: pass",
            ),
            "on this input",
        ),
        ("a sleep", with_function(SVM, "import time\ntime.sleep(3600)"), "on this input"),
        (
            "an endless loop at import",
            "while True:\n    pass\n" + SVM,
            "did not finish importing within 1.5 s",
        ),
    ],
)
def test_a_submission_that_never_answers_times_out_once_and_is_killed(
    case, source, phrase, tmp_path, controls
):
    path = write(tmp_path / "hangs", "linear_svm.py", source)
    started = time.monotonic()
    failure = grade(path, timeout=HANG_TIMEOUT)
    elapsed = time.monotonic() - started
    assert isinstance(failure, CheckFailedError), failure
    assert failure.kind == "timeout"
    assert phrase in flat(failure)
    assert "1.5 s" in flat(failure)
    # One timeout, not one per replay or shrinking step (the bound is loose: a loaded
    # machine is slow, but two timeouts would already take 3 s).
    assert elapsed < 2 * HANG_TIMEOUT + 1.0, elapsed
    controls()


def test_a_timed_out_input_is_shown_as_it_was_and_not_shrunk(tmp_path):
    source = with_function(SVM, "if len(arguments[2]) >= 3:\n    while True:\n        pass")
    path = write(tmp_path / "slow", "linear_svm.py", source)
    failure = grade(path, timeout=HANG_TIMEOUT)
    assert failure.kind == "timeout"
    assert len(failure.inputs["y"]) >= 3
    message = str(failure)
    assert "The input it timed out on (not shrunk: a timed-out input is not run again):" in (
        message
    )
    assert "smallest" not in message


def test_an_input_that_crashed_its_process_is_shown_as_it_was_and_not_shrunk(tmp_path):
    source = with_function(SVM, "if len(arguments[2]) >= 3:\n    import os\n    os.abort()")
    failure = grade(write(tmp_path / "aborts", "linear_svm.py", source))
    assert failure.kind == "crash"
    assert len(failure.inputs["y"]) >= 3
    assert (
        "The input it failed on (not shrunk: its process was ended on it, and it is not run "
        "again):" in str(failure)
    )


def test_atexit_handlers_of_a_submission_cannot_turn_its_failure_into_a_pass(tmp_path, controls):
    source = "import atexit, os\natexit.register(os._exit, 0)\n" + SVM_NO_MEAN
    failure = grade(write(tmp_path / "atexit", "linear_svm.py", source))
    assert isinstance(failure, CheckFailedError)
    assert (failure.kind, failure.quantity) == ("mismatch", "loss")
    right = "import atexit, os\natexit.register(os._exit, 0)\n" + SVM
    passing = grade(write(tmp_path / "atexit_ok", "linear_svm.py", right))
    assert not isinstance(passing, CheckFailedError), passing
    controls()


PATCHES = {
    "flatprop's loss": (
        "import flatprop.losses\nflatprop.losses.multiclass_svm = lambda *a, **k: (0.0, {})"
    ),
    "flatprop's models": (
        "import flatprop.nets\n"
        "flatprop.nets.LinearClassifier.loss = lambda self, X, y, reg=0.0: (0.0, {})"
    ),
    "numpy's abs and isfinite": (
        "import numpy\nnumpy.abs = lambda x, *a, **k: 0 * x\nnumpy.isfinite = lambda x: True"
    ),
    "the kit's own comparison": (
        "import flatprop.testing._report as r, flatprop.testing._engine as e\n"
        "r.Difference.exceeds = lambda self, rtol, atol: False\n"
        "e._Example.check = lambda self: None"
    ),
}


@pytest.mark.parametrize("patch", sorted(PATCHES))
def test_patches_made_by_a_submission_change_nothing_in_the_grader(patch, tmp_path, controls):
    zeros = (
        "\nimport numpy as _np\n\ndef svm_loss(W, X, y, reg):\n    return 0.0, _np.zeros_like(W)\n"
    )
    source = PATCHES[patch] + "\n" + zeros
    failure = grade(write(tmp_path / "patcher", "linear_svm.py", source))
    assert isinstance(failure, CheckFailedError), failure
    assert failure.kind in ("mismatch", "import")
    controls()  # correct code still passes: the patches stayed in their worker


def test_reading_the_expected_answer_off_the_callers_frame_finds_nothing(tmp_path, controls):
    source = with_function(SVM, "import sys\nreturn sys._getframe(1).f_locals['self'].expected")
    failure = grade(write(tmp_path / "frame", "linear_svm.py", source))
    assert isinstance(failure, CheckFailedError)
    assert failure.kind == "exception"
    # The frame holds no 'self': KeyError: 'self' (Python 3.13: "local variable 'self' is not
    # defined", from f_locals' new proxy).
    assert re.search(r"raised KeyError: .*'self'", flat(failure)), flat(failure)
    controls()


def test_a_process_a_submission_starts_in_a_new_session_is_killed_with_its_worker(tmp_path):
    source = with_function(
        SVM,
        "import subprocess\nsubprocess.Popen(['sleep', '600'], start_new_session=True)",
    )
    report = grade(write(tmp_path / "spawner", "linear_svm.py", source))
    assert not isinstance(report, CheckFailedError), report  # right answers; the fixture
    # checks that every sleep it started is gone


def test_an_exception_is_reported_with_its_line_in_the_submissions_file(tmp_path):
    source = with_function(SVM, "if len(arguments[2]) > 1:\n    raise ZeroDivisionError('mine')")
    failure = grade(write(tmp_path / "raises", "linear_svm.py", source))
    assert failure.kind == "exception"
    message = flat(failure)
    assert "raised ZeroDivisionError: mine" in message
    assert "of linear_svm.py, in svm_loss: raise ZeroDivisionError('mine')" in message
    assert len(failure.inputs["y"]) == 2  # shrunk across the process boundary


def test_writes_into_the_inputs_in_the_worker_are_reported_as_in_process(tmp_path):
    source = with_function(SVM, "arguments[1][0, 0] = 7.0", "svm_loss")
    failure = grade(write(tmp_path / "writes", "linear_svm.py", source))
    assert (failure.kind, failure.quantity) == ("mutation", "X")
    assert "X[0, 0] was 0.0 before the call and is 7.0 after it" in flat(failure)


def test_a_wrong_answer_reads_the_same_in_a_worker_as_in_process(tmp_path):
    path = write(tmp_path / "wrong", "linear_svm.py", SVM_NO_MEAN)
    namespace = {}
    exec(path.read_text(), namespace)
    in_process = None
    try:
        check_linear_loss(namespace["svm_loss"], "svm", max_examples=FEW_EXAMPLES)
    except CheckFailedError as failure:
        in_process = failure
    isolated = grade(path)
    assert str(isolated) == str(in_process)
    assert (isolated.kind, isolated.quantity) == (in_process.kind, in_process.quantity)


def test_a_state_kept_between_calls_is_reported_as_not_deterministic(tmp_path):
    source = SVM + (
        "\n_calls = []\n_right = svm_loss\n\ndef svm_loss(W, X, y, reg):\n"
        "    _calls.append(1)\n    loss, dW = _right(W, X, y, reg)\n"
        "    return loss + (len(_calls) == 1), dW\n"
    )
    failure = grade(write(tmp_path / "stateful", "linear_svm.py", source))
    assert "is not deterministic" in str(failure)


def test_two_layer_nets_are_graded_in_a_worker_too(tmp_path):
    path = write(tmp_path / "net", "two_layer.py", TWO_LAYER)
    report = check_two_layer_loss(f"{path}:two_layer_loss", "softmax", max_examples=FEW_EXAMPLES)
    assert report.examples_passed == FEW_EXAMPLES
    no_relu = TWO_LAYER.replace("np.maximum(z1, 0.0)", "z1").replace("* (z1 > 0)", "")
    path = write(tmp_path / "no_relu", "two_layer.py", no_relu)
    with pytest.raises(CheckFailedError) as caught:
        check_two_layer_loss(f"{path}:two_layer_loss", "softmax", max_examples=FEW_EXAMPLES)
    assert caught.value.kind == "mismatch"


def test_a_helper_module_beside_the_submission_can_be_imported(tmp_path):
    folder = tmp_path / "helpers"
    write(folder, "svm_helpers.py", SVM)
    path = write(folder, "linear_svm.py", "from svm_helpers import svm_loss\n")
    assert grade(path).examples_passed == FEW_EXAMPLES


def test_a_missing_file_fails_the_check_and_says_so(tmp_path):
    failure = grade(tmp_path / "nobody" / "linear_svm.py")
    assert failure.kind == "missing"
    assert "svm_loss cannot be run: there is no file" in flat(failure)
    assert failure.inputs == {}


@pytest.mark.parametrize(
    ("target", "error", "phrase"),
    [
        ("linear_svm.py", ValueError, "a target must be 'path/to/file.py:function'"),
        ("linear_svm.py:svm loss", ValueError, "a target must be"),
        ("linear_svm.txt:svm_loss", ValueError, "a target must be"),
    ],
)
def test_a_malformed_target_is_a_clear_error(target, error, phrase):
    with pytest.raises(error, match=re.escape(f"check_linear_loss: {phrase}")):
        check_linear_loss(target, "svm")


@pytest.mark.parametrize(
    ("options", "error", "phrase"),
    [
        ({"timeout": 0}, ValueError, "timeout must be > 0"),
        ({"timeout": "10"}, TypeError, "timeout must be a number"),
        ({"memory": 100}, ValueError, "memory must be at least 256 MiB"),
        ({"memory": 1.5}, TypeError, "memory must be a whole number"),
    ],
)
def test_bad_limits_are_clear_errors(options, error, phrase, tmp_path):
    path = write(tmp_path / "ok", "linear_svm.py", SVM)
    with pytest.raises(error, match=re.escape(phrase)):
        check_linear_loss(f"{path}:svm_loss", "svm", **options)


def test_an_isolated_function_can_be_called_directly_and_closed(tmp_path):
    path = write(tmp_path / "direct", "linear_svm.py", SVM)
    with IsolatedFunction(f"{path}:svm_loss") as svm_loss:
        W = np.array([[0.0, -1.0]])
        X = np.array([[1.0], [2.0]])
        loss, dW = svm_loss(W, X, np.array([0, 1]), 0.0)
    # The scores X W are [0, -1] and [0, -2]: example 0 (y=0) has the margin -1 - 0 + 1
    # = 0, not active; example 1 (y=1) has 0 - (-2) + 1 = 3. Loss = (0 + 3) / 2.
    assert loss == 1.5
    np.testing.assert_array_equal(dW, np.array([[1.0, -1.0]]))  # x_1 (e_0 - e_1) / 2


def test_a_pytest_file_over_a_class_reports_every_student_and_exits_honestly(tmp_path):
    """The README's layout with targets: one test per student and function. A syntax
    error, os._exit, pytest.skip, an endless loop or an atexit handler in one student's
    file fails that student's test only, and pytest's summary and status say so."""
    submissions = Path(__file__).resolve().parent / "grading_class" / "submissions"
    students = ["ana", "ben", "gus", "hal", "ivy", "lee", "max", "ned"]
    test_file = tmp_path / "test_class.py"
    test_file.write_text(
        "import pytest\n"
        "from flatprop.testing import check_linear_loss, check_loss_layer\n"
        f"SUBMISSIONS = {str(submissions)!r}\n"
        f"@pytest.mark.parametrize('student', {students!r})\n"
        "def test_svm(student):\n"
        "    check_linear_loss(f'{SUBMISSIONS}/{student}/linear_svm.py:svm_loss_vectorized',\n"
        "                      'multiclass_svm', max_examples=20, timeout=2)\n"
        f"@pytest.mark.parametrize('student', {students!r})\n"
        "def test_softmax(student):\n"
        "    check_loss_layer(f'{SUBMISSIONS}/{student}/softmax.py:softmax_loss',\n"
        "                     'softmax_cross_entropy', max_examples=20, timeout=2)\n",
        encoding="utf-8",
    )
    done = run_python(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(test_file),
        cwd=tmp_path,
        env=with_this_path(),
        timeout=600,
    )
    # By hand (tests/grading_class/README.md): the SVM is right for ana, hal and max;
    # the softmax is wrong for hal (endless loop) and max (pytest.skip) only.
    failed = {
        *(f"test_svm[{name}]" for name in ("ben", "gus", "ivy", "lee", "ned")),
        "test_softmax[hal]",
        "test_softmax[max]",
    }
    assert done.returncode == 1, done.stdout
    assert set(re.findall(r"FAILED \S+::(\S+)", done.stdout)) == failed
    assert re.search(r"^7 failed, 9 passed in ", done.stdout.splitlines()[-1]), done.stdout


def test_a_syntax_error_is_shown_in_the_students_file_with_its_line_and_a_caret(tmp_path):
    path = write(
        tmp_path / "colon",
        "linear_svm.py",
        "import numpy as np\ndef svm_loss(W, X, y, reg)\n    return 0.0, np.zeros_like(W)\n",
    )
    failure = grade(path)
    assert failure.kind == "import"
    # Python's own traceback says: File ".../linear_svm.py", line 2, the line, a caret
    # one past its end (where the ':' should be), "SyntaxError: expected ':'".
    assert str(failure) == (
        "check_linear_loss: svm_loss could not be imported: linear_svm.py raised "
        "SyntaxError: expected ':'.\n"
        "\n"
        "    at line 2 of linear_svm.py:\n"
        "        def svm_loss(W, X, y, reg)\n"
        "                                  ^\n"
    )


def test_a_syntax_error_in_a_file_the_submission_imports_shows_both_lines(tmp_path):
    write(tmp_path / "helper", "helpers.py", "def scale(x):\n    return [x, 2 x]\n")
    path = write(tmp_path / "helper", "linear_svm.py", "import helpers\n" + SVM)
    failure = grade(path)
    assert failure.kind == "import"
    message = str(failure)
    assert "raised SyntaxError: invalid syntax. Perhaps you forgot a comma?\n" in message
    assert (
        "    at line 1 of linear_svm.py, in <module>:\n"
        "        import helpers\n"
        "    at line 2 of helpers.py:\n"
        "        return [x, 2 x]\n"
        "                   ^^^\n"  # from the 2 to the x, as Python underlines it
    ) in message
    assert "importlib" not in message


def test_a_missing_relative_target_says_where_it_looked_and_relative_to_what(tmp_path, monkeypatch):
    write(tmp_path / "rt", "linear_svm.py", SVM)  # beside the test file, say; not in the cwd
    monkeypatch.chdir(tmp_path)
    failure = grade("linear_svm.py")
    assert failure.kind == "missing"
    assert flat(failure) == (
        f"check_linear_loss: svm_loss cannot be run: there is no file "
        f"{tmp_path.resolve() / 'linear_svm.py'}. A relative target is relative to the current "
        f"working directory, {tmp_path}, as open() is, not to the file that names it: run from "
        "the folder it is relative to, or give a path from here (e.g. built from the test "
        "file's __file__)."
    )
    monkeypatch.chdir(tmp_path / "rt")
    assert grade("linear_svm.py").examples_passed == FEW_EXAMPLES  # from its own folder
