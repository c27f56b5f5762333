"""The README's code runs, and its quick start is what CI runs."""

import re

import pytest

from helpers import EXAMPLES, ROOT, run_python, with_this_path

README = (ROOT / "README.md").read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def quickstart_command(name: str) -> str:
    match = re.search(rf"<!-- quickstart-{name} -->\n```sh\n(.*?)\n```", README, flags=re.DOTALL)
    assert match, f"README.md has no quick-start block for {name!r}"
    return match.group(1)


def test_readme_has_python_examples() -> None:
    assert PYTHON_BLOCKS


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_readme_python_example_runs(index: int) -> None:
    # in examples/: the grading example imports the sample submission
    result = run_python("-c", PYTHON_BLOCKS[index], cwd=EXAMPLES, timeout=300)
    assert result.returncode == 0, result.stderr


def test_what_a_student_sees_is_what_pytest_prints(tmp_path) -> None:
    """The README's pytest file, run as it says, prints its block (the first failure):
    the test's line, the report, the test's file and line; no frame of the kit."""
    before, after = README.split("What a student sees", 1)
    test_file = re.findall(r"```python\n(.*?)```", before, flags=re.DOTALL)[-1]
    shown = re.search(r"```\n(.*?)```", after, flags=re.DOTALL)
    assert shown, "no output block after 'What a student sees'"
    (tmp_path / "test_submission.py").write_text(test_file, encoding="utf-8")
    submission = (EXAMPLES / "student_submission.py").read_text(encoding="utf-8")
    (tmp_path / "student_submission.py").write_text(submission, encoding="utf-8")
    result = run_python(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_submission.py", "-k",
        "test_svm_loss_naive", cwd=tmp_path, env=with_this_path(), timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout
    printed = result.stdout.split("_ test_svm_loss_naive _")[1].split("\n=")[0]
    lines = [line.rstrip() for line in printed.strip("_\n").splitlines()]
    assert lines == shown.group(1).rstrip("\n").splitlines()


def test_quickstart_is_two_single_line_commands_for_demo_and_tests() -> None:
    demo, tests = quickstart_command("demo"), quickstart_command("tests")
    assert "\n" not in demo
    assert "\n" not in tests
    assert demo.endswith("flatprop demo")
    assert "pytest" in tests
    assert ".[test]" in tests


def test_ci_runs_the_readme_quickstart_blocks() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "quickstart-$1" in ci
    assert "for name in demo tests" in ci
    assert "HYPOTHESIS_PROFILE=ci" in ci


def test_the_readmes_staged_report_is_what_the_code_prints() -> None:
    # The README showed "relative error 3.4e-10" where users got 1.2e-10.
    from flatprop.demo.staged import staged_svm, table_svm_inputs

    match = re.search(r"prints the margins, then\n\n```\n(.*?)```", README, flags=re.DOTALL)
    assert match
    printed = [
        line.rstrip() for line in staged_svm(*table_svm_inputs(), reg=0.1).report().split("\n")
    ]
    shown = [line.rstrip() for line in match[1].splitlines() if line.strip() != "..."]
    missing = [line for line in shown if line not in printed]
    assert not missing
    assert any("relative error" in line for line in shown)


def test_the_readme_says_which_head_each_model_takes_by_default() -> None:
    from flatprop.demo import recipes
    from flatprop.nets import LinearClassifier, TwoLayerNet

    text = " ".join(README.split())
    assert LinearClassifier(2, 3).head == "svm"
    assert '`LinearClassifier(D, C)` is CS231n\'s linear SVM, `head="svm"`' in text
    assert TwoLayerNet(2, 4, 3).head == "softmax"
    assert '`TwoLayerNet(D, H, C)` uses `head="softmax"`' in text
    for model in recipes.MODEL_NAMES:
        assert recipes.default_settings("digits", model).head == "softmax"
    assert "`flatprop train` trains both models with the softmax head" in text
