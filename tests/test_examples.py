"""Every script in examples/ runs from the command line and prints numbers that are right.

The expected numbers come from the slide (2.9, 0, 12.9), from hand calculation (the
shifted losses, the squared hinge 2.9**2 and 6.3**2 + 6.6**2, the matrix example's
gradients) or from the math of each question (C - 1, the margin, 1/(C - 1)).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from helpers import (
    DIGITS_ACCURACY_FLOOR,
    EXAMPLES,
    PRINTED_ATOL,
    REL_ERROR_MATCH,
    ROOT,
    hide,
    numbers_after,
    relative_errors,
    run_python,
)

EXAMPLE_NAMES = sorted(path.stem for path in EXAMPLES.glob("*.py"))


def run_example(name: str, *args: str, block_matplotlib: bool = False) -> str:
    """Run examples/NAME.py in a fresh interpreter; return what it printed (exit 0 required)."""
    script = str(EXAMPLES / f"{name}.py")
    if block_matplotlib:
        runner = (
            f"{hide('matplotlib')}import runpy; sys.argv = {[script, *args]!r}; "
            f"runpy.run_path({script!r}, run_name='__main__')"
        )
        done = run_python("-c", runner, cwd=ROOT)
    else:
        done = run_python(script, *args, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_explains_itself_with_help(name: str) -> None:
    printed = run_example(name, "--help")
    assert printed.startswith("usage:")


def test_the_examples_are_the_ones_the_readme_walks_through() -> None:
    assert EXAMPLE_NAMES == [
        "flat_backprop_svm",
        "grade_submission",
        "loss_shapes",
        "matrix_example",
        "student_submission",
        "svm_questions",
        "train_digits",
        "two_layer_softmax",
    ]


@pytest.fixture(scope="module")
def svm_answers() -> str:
    return run_example("svm_questions", "--iters", "400")


def test_svm_questions_prints_the_slides_losses(svm_answers: str) -> None:
    assert numbers_after("SVM loss L_i   ", svm_answers) == pytest.approx([2.9, 0.0, 12.9])


def test_svm_questions_a_car_image_stays_at_zero_while_its_margin_holds(svm_answers: str) -> None:
    # By hand: a shift t moves every car score; the cat and frog images have an active
    # car margin (L = 2.9 + t, 12.9 + t); the car image's loss is
    # max(0, 1.3 - (4.9 + t) + 1) + max(0, 2.0 - (4.9 + t) + 1), zero while t >= -1.9.
    for shift in (-2.5, -1.5, -0.5, -0.1, 0.0, 0.1, 0.5):
        label = f"{shift:+.1f}"
        car = max(0.0, 1.3 - (4.9 + shift) + 1) + max(0.0, 2.0 - (4.9 + shift) + 1)
        expected = [2.9 + shift, car, 12.9 + shift]
        assert numbers_after(label, svm_answers) == pytest.approx(expected, abs=0.005)
    assert numbers_after("Slopes dL_i/d(shift) at 0, from the backward pass:", svm_answers) == [
        1,
        0,
        1,
    ]


def test_svm_questions_b_small_weights_give_c_minus_1(svm_answers: str) -> None:
    table_row = numbers_after("the table, all set to 0", svm_answers)
    digits_row = numbers_after("digits, W = 0.0001 N(0, 1)", svm_answers)
    assert table_row[:2] == [3, 2]
    assert table_row[-1] == pytest.approx(3 - 1)
    assert digits_row[-1] == pytest.approx(10 - 1, abs=0.01)


def test_svm_questions_c_the_j_equals_y_term_adds_exactly_the_margin(svm_answers: str) -> None:
    assert numbers_after("sum over all j", svm_answers) == pytest.approx([3.9, 1.0, 13.9])
    assert numbers_after("difference", svm_answers) == pytest.approx([1.0, 1.0, 1.0])
    gradient_line = svm_answers.split("Gradient of the all-classes loss")[1]
    assert relative_errors(gradient_line)[0] < REL_ERROR_MATCH


def test_svm_questions_d_the_mean_scales_by_one_over_c_minus_1(svm_answers: str) -> None:
    assert numbers_after("mean over j != y_i", svm_answers) == pytest.approx([1.45, 0.0, 6.45])
    assert numbers_after("mean / sum", svm_answers) == pytest.approx([1 / (3 - 1)] * 2)
    digits = numbers_after("The digits (C = 10):", svm_answers)
    assert digits[2] == pytest.approx(1 / (10 - 1), abs=5e-5)  # the printed ratio


def test_svm_questions_e_squared_hinge_ends_with_other_weights_and_decisions(
    svm_answers: str,
) -> None:
    assert numbers_after("squared hinge  ", svm_answers) == pytest.approx(
        [2.9**2, 0.0, 6.3**2 + 6.6**2]
    )
    hinge_objective = numbers_after("hinge objective", svm_answers)
    squared_objective = numbers_after("squared hinge objective", svm_answers)
    assert hinge_objective[0] < hinge_objective[1]  # hinge-trained W wins the hinge
    assert squared_objective[1] < squared_objective[0]  # and loses the squared hinge
    difference = numbers_after("||W_hinge - W_squared|| / ||W_hinge|| =", svm_answers)[0]
    assert difference > 0.1
    disagreements = re.search(r"they\s+classify (\d+) of the (\d+)", svm_answers)
    assert disagreements is not None
    assert int(disagreements[1]) > 0


def test_svm_questions_answers_only_the_questions_asked() -> None:
    printed = run_example("svm_questions", "--only", "b")
    assert "(b) At initialization" in printed
    assert "(a) What happens" not in printed
    assert "(e) What if" not in printed


def test_flat_backprop_svm_stages_the_table_and_matches_the_numerical_gradient() -> None:
    printed = run_example("flat_backprop_svm")
    stages = re.findall(r"^  (\w+) = ", printed, flags=re.MULTILINE)
    expected_stages = ["scores", "margins", "data_loss", "reg_loss", "loss"]
    assert stages == [*expected_stages, "dmargins", "dscores", "dW"]
    assert numbers_after("data_loss = sum(margins) / N =", printed)[0] == pytest.approx(
        (2.9 + 0 + 12.9) / 3, abs=1e-5
    )
    sum_of_squares = sum(v * v for v in (3.2, 5.1, -1.7, 1.3, 4.9, 2.0, 2.2, 2.5, -3.1))
    assert numbers_after("reg_loss = 0.01 * sum(W * W) =", printed)[0] == pytest.approx(
        0.01 * sum_of_squares, abs=1e-5
    )
    errors = relative_errors(printed)
    assert len(errors) == 1 + 4  # dW vs numerical; four comparisons with the library
    assert max(errors) < REL_ERROR_MATCH


def test_flat_backprop_svm_on_the_problem_sets_input_explains_the_tiny_gradient() -> None:
    printed = run_example("flat_backprop_svm", "--input", "problem-set")
    assert "cancel exactly" in printed
    assert numbers_after("data_loss = sum(margins) / N =", printed)[0] == pytest.approx(1.0)


def test_two_layer_softmax_checks_every_parameter_against_numerical_gradients() -> None:
    printed = run_example("two_layer_softmax", "--seed", "2", "--reg", "0.1")
    for name in ("dW1", "db1", "dW2", "db2"):
        assert f"{name}, numerical" in printed
    assert max(relative_errors(printed)) < REL_ERROR_MATCH
    assert "TwoLayerNet(head='softmax').loss" in printed


def test_matrix_example_gradients_are_the_ones_worked_by_hand() -> None:
    printed = run_example("matrix_example")
    # z1 = (0.22, -0.38), h1 = (0.22, 0), y_hat = 0.5 * 0.22 = 0.11, L = 0.0121,
    # dW2 = h1^T (2 y_hat) = (0.0484, 0), dW1 = X^T (0.22 * W2^T * [1, 0]) = (0.022, 0.044)^T.
    assert numbers_after("loss = ||y_hat||^2, the sum of its squared entries =", printed) == [
        pytest.approx(0.0121)
    ]
    dW1_block = printed.split("dW1, backward")[1].split("dW2, backward")[0]
    dW2_block = printed.split("dW2, backward")[1].split("The same computed")[0]
    dW1_analytic = [float(v) for v in re.findall(r"\[+\s*([-0-9.]+)\s+([-0-9.]+)\]", dW1_block)[0]]
    assert dW1_analytic == pytest.approx([0.022, 0.0], abs=PRINTED_ATOL)
    assert re.findall(r"[-0-9.]+", dW2_block.split("\n")[1])[:2] == ["0.0484", "0.0484"]
    assert max(relative_errors(printed)) < REL_ERROR_MATCH


def test_matrix_example_with_random_weights_still_matches_its_numerical_gradients() -> None:
    printed = run_example("matrix_example", "--seed", "1", "--hidden", "4")
    assert max(relative_errors(printed)) < REL_ERROR_MATCH


def test_train_digits_with_its_defaults_reaches_the_target_accuracy() -> None:
    printed = run_example("train_digits")
    assert numbers_after("held-out accuracy:", printed)[0] >= DIGITS_ACCURACY_FLOOR
    assert printed.count("iteration ") >= 5  # progress while it trains


def test_train_digits_without_matplotlib_still_trains_and_says_how_to_plot(
    tmp_path: Path,
) -> None:
    figure = tmp_path / "curves.png"
    printed = run_example(
        "train_digits", "--iters", "20", "--hidden", "10", "--plot", str(figure),
        block_matplotlib=True,
    )  # fmt: skip
    assert "held-out accuracy:" in printed
    assert 'pip install "flatprop[plot]"' in printed
    assert not figure.exists()


def test_loss_shapes_prints_the_four_losses_against_the_margin() -> None:
    printed = run_example("loss_shapes", "--no-plot")
    margins = (-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0)
    expected = {
        "multiclass SVM (hinge)": [max(0.0, 1 - m) for m in margins],
        "squared hinge": [max(0.0, 1 - m) ** 2 for m in margins],
        "softmax cross-entropy": [math.log1p(math.exp(-m)) for m in margins],
        "L2 to one-hot": [(m - 1) ** 2 for m in margins],
    }
    for name, values in expected.items():
        assert numbers_after(name, printed) == pytest.approx(values, abs=5e-5)


def test_loss_shapes_without_matplotlib_prints_the_table_and_how_to_get_the_figure(
    tmp_path: Path,
) -> None:
    figure = tmp_path / "shapes.png"
    printed = run_example("loss_shapes", "--output", str(figure), block_matplotlib=True)
    assert "squared hinge" in printed
    assert 'pip install "flatprop[plot]"' in printed
    assert not figure.exists()


def test_loss_shapes_draws_the_figure_when_matplotlib_is_there(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    figure = tmp_path / "shapes.png"
    printed = run_example("loss_shapes", "--output", str(figure))
    assert f"wrote {figure}" in printed
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
