"""The README's code runs, and its quick start is what CI runs."""

import re

import pytest

from helpers import EXAMPLES, ROOT, run_python

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
