"""The flatprop command: demo, gradcheck and train, each run as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

from flatprop.demo import self_check
from flatprop.gradcheck import check_gradient
from helpers import (
    DIGITS_ACCURACY_FLOOR,
    EXAMPLES,
    HEAD_DEFAULTS_FLOOR,
    REL_ERROR_MATCH,
    SPIRAL_LINEAR_CEILING,
    SPIRAL_TWO_LAYER_FLOOR,
    hide,
    numbers_after,
    relative_errors,
    run_python,
)


def flatprop(*args: str, setup: str = "") -> subprocess.CompletedProcess[str]:
    """``python -m flatprop ARGS`` in a fresh interpreter, after running ``setup``."""
    return run_python(
        "-c", f"{setup}from flatprop.cli import main; raise SystemExit(main({list(args)!r}))"
    )


def test_the_console_script_runs_flatprop_cli_main() -> None:
    (script,) = [
        point for point in entry_points(group="console_scripts") if point.name == "flatprop"
    ]
    assert script.value == "flatprop.cli:main"


def test_python_dash_m_flatprop_shows_the_commands() -> None:
    done = run_python("-m", "flatprop", "--help")
    assert done.returncode == 0
    for command in ("demo", "gradcheck", "train"):
        assert command in done.stdout


@pytest.mark.parametrize("command", ["demo", "gradcheck", "train"])
def test_every_command_has_help(command: str) -> None:
    done = flatprop(command, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith(f"usage: flatprop {command}")


def test_no_command_prints_help_and_fails() -> None:
    done = flatprop()
    assert done.returncode == 2
    assert "flatprop demo" in done.stdout


@pytest.fixture(scope="module")
def demo() -> str:
    done = flatprop("demo")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_demo_shows_the_problem_sets_table_and_its_svm_losses(demo: str) -> None:
    assert numbers_after("SVM loss L_i   ", demo) == pytest.approx([2.9, 0.0, 12.9])


def test_demo_answers_each_question_with_its_numbers(demo: str) -> None:
    for question in "abcde":
        assert f"\n({question}) " in demo
    assert numbers_after("the table, all set to 0", demo)[-1] == pytest.approx(3 - 1)  # C - 1
    assert numbers_after("difference", demo) == pytest.approx([1.0] * 3)  # the margin
    assert numbers_after("mean / sum", demo) == pytest.approx([1 / (3 - 1)] * 2)  # 1/(C - 1)
    assert numbers_after("squared hinge  ", demo) == pytest.approx([8.41, 0.0, 83.25])
    assert "Each is the better of the two on its own objective" in demo


def test_demo_stages_the_svm_and_the_two_layer_net_forward_then_backward(demo: str) -> None:
    stages = re.findall(r"^  (\w+) = ", demo, flags=re.MULTILINE)
    svm = ["scores", "margins", "data_loss", "reg_loss", "loss", "dmargins", "dscores", "dW"]
    net = ["z1", "h1", "scores", "shifted", "log_probs", "data_loss", "reg_loss", "loss"]
    net_back = ["dscores", "dW2", "db2", "dh1", "dz1", "dW1", "db1"]
    matrix = ["z1", "h1", "y_hat", "loss", "dy_hat", "dW2", "dh1", "dz1", "dW1"]
    assert stages == svm + net + net_back + matrix


def test_demo_puts_the_matrix_examples_gradients_next_to_numerical_ones(demo: str) -> None:
    matrix_part = demo.split("4. The matrix example")[1]
    assert re.search(r"dW1, backward\s+dW1, numerical\s+relative error", matrix_part)
    assert re.search(r"dW2, backward\s+dW2, numerical\s+relative error", matrix_part)
    errors = relative_errors(demo)
    assert len(errors) >= 15
    assert max(errors) < REL_ERROR_MATCH


def test_demo_trains_on_the_digits_with_progress_and_a_held_out_accuracy(demo: str) -> None:
    training_part = demo.split("5. Training")[1]
    assert training_part.count("iteration ") >= 5
    assert numbers_after("held-out accuracy:", training_part)[0] >= DIGITS_ACCURACY_FLOOR


def test_gradcheck_passes_on_the_library() -> None:
    done = flatprop("gradcheck")
    assert done.returncode == 0, done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith(("loss ", "layer", "net"))]
    assert len(rows) == len(self_check.library_cases())
    assert all(line.endswith("ok") for line in rows)
    for name in ("multiclass_svm", "relu_forward/backward", "TwoLayerNet(head='l2')"):
        assert name in done.stdout


BROKEN_RELU = (
    "import flatprop.layers as layers\n"
    "def relu_backward_without_its_gate(dout, cache, **options):\n"
    "    return {'x': dout}\n"
    "layers.relu_backward = relu_backward_without_its_gate\n"
)


def test_gradcheck_fails_on_a_broken_layer() -> None:
    done = flatprop("gradcheck", setup=BROKEN_RELU)
    assert done.returncode == 1
    (relu_row,) = [line for line in done.stdout.splitlines() if "relu_forward/backward" in line]
    assert relu_row.endswith("FAIL")
    assert "gradients FAIL" in done.stdout


def test_run_checks_fails_a_wrong_gradient_and_a_crashing_one() -> None:
    x = np.array([1.0, 2.0])

    def check(analytic, tolerance):
        return check_gradient(lambda v: float(np.sum(v**2)), x, analytic, tolerance=tolerance)

    cases = [
        self_check.GradientCase("x", "right", "p", lambda: 2 * x, check),
        self_check.GradientCase("x", "wrong", "p", lambda: 4 * x, check),
        self_check.GradientCase("x", "wrong shape", "p", lambda: x[:1], check),
    ]
    results = self_check.run_checks(cases)
    assert [result.passed for result in results] == [True, False, False]
    assert results[2].relative_error == float("inf")
    assert "2 of 3 gradients FAIL" in self_check.report(results)


def test_train_on_the_spiral_a_two_layer_net_beats_a_linear_classifier() -> None:
    two_layer = flatprop("train", "--data", "spiral")
    linear = flatprop("train", "--data", "spiral", "--model", "linear")
    assert two_layer.returncode == 0, two_layer.stderr
    assert linear.returncode == 0, linear.stderr
    assert two_layer.stdout.count("iteration ") >= 5
    assert numbers_after("training accuracy:", two_layer.stdout)[0] >= SPIRAL_TWO_LAYER_FLOOR
    assert numbers_after("training accuracy:", linear.stdout)[0] <= SPIRAL_LINEAR_CEILING


def test_train_takes_every_setting_from_the_command_line() -> None:
    done = flatprop(
        "train", "--data", "digits", "--model", "two-layer", "--head", "svm", "--hidden", "16",
        "--iters", "30", "--lr", "0.05", "--lr-decay", "0.9", "--reg", "0.001",
        "--batch-size", "50", "--std", "0.01", "--seed", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "(64 -> 16 ReLU -> 10), svm head" in done.stdout
    assert "30 steps of 50 examples, learning rate 0.05 (x0.9 per epoch), reg 0.001" in done.stdout
    assert "iteration 30/30" in done.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--iters", "-3"], "--iters must be an integer >= 0, got -3"),
        (["--lr", "0"], "--lr must be > 0, got 0.0"),
        (["--lr", "nan"], "--lr must be finite"),
        (["--reg", "-1"], "--reg must be >= 0"),
        (["--batch-size", "0"], "--batch-size must be a positive integer"),
        (["--hidden", "0"], "--hidden must be a positive integer"),
        (["--label-smoothing", "2"], r"--label-smoothing must be in \[0, 1\]"),
        (["--std", "-0.1"], "--std must be >= 0"),
        (["--seed", "-2"], "--seed must be an integer >= 0, got -2"),
    ],
)
def test_train_refuses_a_bad_value_by_its_option_before_printing_anything(
    arguments: list[str], message: str
) -> None:
    done = flatprop("train", *arguments)
    assert done.returncode == 2
    assert re.search(message, done.stderr), done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--head", "svm", "--label-smoothing", "0.1"], "--label-smoothing does not apply to"),
        (["--head", "squared_hinge", "--label-smoothing", "0"], "does not apply to the 'squared"),
        (["--model", "linear", "--hidden", "10"], "--hidden does not apply to the linear model"),
    ],
)
def test_train_refuses_an_option_that_does_not_apply(arguments: list[str], message: str) -> None:
    done = flatprop("train", *arguments)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_a_diverging_train_ends_with_one_line_naming_the_option_to_change() -> None:
    done = flatprop("train", "--head", "squared_hinge", "--lr", "0.5")  # the old default
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("flatprop train: training diverged at iteration ")
    assert line.endswith("lower --lr (it is 0.5)")


@pytest.mark.parametrize("data", ["digits", "spiral"])
def test_train_squared_hinge_with_its_defaults_trains(data: str) -> None:
    # It crashed on the digits (a FloatingPointError traceback) and ended at chance
    # (0.333, a loss of 3e8) on the spiral.
    done = flatprop("train", "--data", data, "--head", "squared_hinge")
    assert done.returncode == 0, done.stderr
    floor = HEAD_DEFAULTS_FLOOR[data, "two-layer"]
    assert numbers_after("held-out accuracy:", done.stdout)[0] >= floor


def test_train_plot_in_a_format_matplotlib_cannot_write_is_refused_before_training(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    figure = tmp_path / "curves.xyz"
    done = flatprop("train", "--plot", str(figure))
    assert done.returncode == 2
    assert "matplotlib cannot write .xyz files; use one of" in done.stderr
    assert ".png" in done.stderr
    assert done.stdout == ""
    assert not figure.exists()


def test_train_plot_without_matplotlib_says_how_to_get_it_before_training(tmp_path: Path) -> None:
    figure = tmp_path / "curves.png"
    done = flatprop("train", "--plot", str(figure), setup=hide("matplotlib"))
    assert done.returncode == 2
    assert 'pip install "flatprop[plot]"' in done.stderr
    assert "iteration" not in done.stdout
    assert not figure.exists()


def test_train_plot_writes_the_curves(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    figure = tmp_path / "curves.png"
    done = flatprop("train", "--data", "spiral", "--iters", "50", "--plot", str(figure))
    assert done.returncode == 0, done.stderr
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_library_and_the_cli_never_import_matplotlib() -> None:
    check = (
        "import sys, flatprop, flatprop.cli, flatprop.demo.figures, flatprop.demo.recipes, "
        "flatprop.demo.questions, flatprop.demo.staged, flatprop.demo.self_check\n"
        "from flatprop.cli import main\n"
        "assert main(['gradcheck']) == 0\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    done = run_python("-c", check)
    assert done.returncode == 0, done.stderr


# The findings of a newcomer's first run (issue: fix-demo).


def gradcheck_rows(text: str) -> list[tuple[str, float, str]]:
    """Each row of gradcheck's table: (function and input, relative error, status)."""
    rows = []
    for line in text.splitlines():
        if line.startswith(("loss ", "layer ", "net ")):
            _, function, parameter, error, status = re.split(r"\s{2,}", line.strip(), maxsplit=4)
            rows.append((f"{function}, {parameter}", float(error), status))
    return rows


@pytest.mark.parametrize("tolerance", ["1e-12", "1e-300"])
def test_gradcheck_with_a_tolerance_below_the_rows_errors_fails_them_and_exits_1(
    tolerance: str,
) -> None:
    # Before: exit 0, every row "ok", and "largest relative error 2.7e-08 <= 1e-12".
    done = flatprop("gradcheck", "--tolerance", tolerance)
    assert done.returncode == 1, done.stdout
    rows = gradcheck_rows(done.stdout)
    assert len(rows) == len(self_check.library_cases())
    for what, error, status in rows:
        assert status.startswith("FAIL") == (error > float(tolerance)), (what, error, status)
    # Float64 central differences with h = 1e-5 cannot confirm 1e-12 on most rows: the
    # affine layer's w, a bilinear function, agrees to ~1e-10 at best.
    assert sum(status.startswith("FAIL") for _, _, status in rows) > len(rows) // 2
    verdict = done.stdout.rstrip().splitlines()
    assert re.search(
        rf"gradients FAIL: largest relative error \S+ > tolerance {tolerance}", verdict[-2]
    )
    assert "finer than float64 central differences can confirm" in verdict[-1]


@pytest.mark.parametrize("tolerance", ["0", "-1", "nan", "inf", "1e-6x"])
def test_gradcheck_refuses_a_tolerance_that_is_not_a_positive_number_before_printing(
    tolerance: str,
) -> None:
    done = flatprop("gradcheck", "--tolerance", tolerance)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "argument --tolerance: must be a" in done.stderr
    assert "Traceback" not in done.stderr


def test_gradcheck_seed_5_says_the_svm_bias_entry_is_within_rounding_not_a_kink() -> None:
    # Before: "LinearClassifier(head='svm') b 2.2e-03 ok" and "All 41 gradients match
    # ... (largest relative error 2.2e-03 <= 1e-06)". That entry of db is 0 and its
    # central difference one rounding of the loss over the step (2.2e-11): no kink.
    done = flatprop("gradcheck", "--seed", "5")
    assert done.returncode == 0, done.stdout
    rows = {what: (error, status) for what, error, status in gradcheck_rows(done.stdout)}
    error, status = rows["LinearClassifier(head='svm'), reg 0.1, b"]
    assert status == "ok (1 within rounding)"
    assert error <= self_check.TOLERANCE
    assert "LinearClassifier(head='svm'), reg 0.1, b: 1 entry, relative error up to 2.2e-03" in (
        done.stdout
    )
    last = done.stdout.rstrip().splitlines()[-1]
    assert last.startswith("All 41 gradients match their numerical gradients: largest")
    assert "(off the entries within rounding, listed above)" in last
    assert float(re.search(r"largest relative error (\S+) <=", last)[1]) == max(
        error for error, _ in rows.values()
    )


BROKEN_PIPE_COMMANDS = {
    "flatprop demo": ["-m", "flatprop", "demo"],
    "flatprop gradcheck": ["-m", "flatprop", "gradcheck"],
    "svm_questions.py --only c d": [str(EXAMPLES / "svm_questions.py"), "--only", "c", "d"],
}


@pytest.mark.parametrize("command", BROKEN_PIPE_COMMANDS)
def test_a_closed_stdout_ends_the_command_quietly(command: str) -> None:
    # `flatprop demo | head -3` printed a BrokenPipeError traceback. Here the reader is
    # gone before the first write (its end of the pipe closed): the same error, every time.
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, *BROKEN_PIPE_COMMANDS[command]],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=300,
        )
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 1  # the Python documentation's recipe (signal, SIGPIPE)


def test_demo_refuses_a_bad_iters_before_printing_anything() -> None:
    # Before: 273 lines of the demo, then the error.
    done = flatprop("demo", "--iters", "-5")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--iters must be an integer >= 0, got -5" in done.stderr


def test_train_refuses_std_0_for_the_two_layer_net_and_says_why() -> None:
    # Before: it trained to the end at chance accuracy (test_recipes shows why it must).
    done = flatprop("train", "--std", "0")
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "--std must be > 0 for the two-layer net, got 0" in line
    assert "it cannot learn" in line


def test_train_help_says_the_default_head_and_that_plot_makes_folders() -> None:
    text = " ".join(flatprop("train", "--help").stdout.split())
    assert "default: softmax, for both models" in text
    assert "missing folders of the path are created" in text
