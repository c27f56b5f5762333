"""The layout of ../shared/ARCHITECTURE.md: the core stands alone, below everything else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import flatprop
from helpers import hide, run_python

PACKAGE = Path(flatprop.__file__).parent
CORE = ("losses", "layers", "nets", "naive", "gradcheck", "datasets", "graph")
ABOVE_THE_CORE = ("flatprop.demo", "flatprop.testing", "flatprop.grading", "flatprop.cli")
# The optional extras: imported, if at all, inside the functions that need them.
OPTIONAL_PACKAGES = ("hypothesis", "matplotlib", "torch", "graphviz", "tqdm", "IPython")


def _core_files() -> list[Path]:
    files = []
    for name in CORE:
        package = PACKAGE / name
        files += sorted(package.rglob("*.py")) if package.is_dir() else [PACKAGE / f"{name}.py"]
    return files


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


@pytest.mark.parametrize("path", _core_files(), ids=lambda path: path.name)
def test_no_core_module_imports_from_above_the_core(path: Path) -> None:
    above = {
        module
        for module in _imported_modules(path)
        if module.startswith(ABOVE_THE_CORE) or module.split(".")[0] == "hypothesis"
    }
    assert not above, f"{path.relative_to(PACKAGE)} imports {sorted(above)}"


def test_importing_the_core_loads_nothing_above_it_and_nothing_but_numpy() -> None:
    check = (
        "import sys\n"
        f"import {', '.join(f'flatprop.{name}' for name in CORE)}\n"
        "loaded = [name for name in sys.modules if name.startswith("
        f"{ABOVE_THE_CORE!r}) or name.split('.')[0] in {OPTIONAL_PACKAGES!r}]\n"
        "assert not loaded, loaded\n"
    )
    done = run_python("-c", check)
    assert done.returncode == 0, done.stderr


def test_the_core_imports_without_hypothesis_and_testing_says_what_to_install() -> None:
    check = (
        f"{hide('hypothesis')}\n"
        f"import flatprop, {', '.join(f'flatprop.{name}' for name in CORE)}\n"
        "try:\n    import flatprop.testing\n"
        "except ImportError as error:\n    print(error)\n"
    )
    done = run_python("-c", check)
    assert done.returncode == 0, done.stderr
    assert "flatprop.testing needs Hypothesis" in done.stdout
    assert 'pip install "flatprop[test]"' in done.stdout


def test_the_demo_modules_live_in_flatprop_demo_and_nowhere_above_the_core() -> None:
    top_level = {path.stem for path in PACKAGE.glob("*.py")}
    assert top_level == {
        "__init__",
        "__main__",
        "_docstrings",
        "_display",
        "_model",
        "_progress",
        "_validation",
        "cli",
        "datasets",
        "gradcheck",
        "graph",
        "layers",
        "naive",
        "nets",
    }
