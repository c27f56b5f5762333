"""The project's own files agree: the version is written once, and the changelog has it."""

import re
import sys
from pathlib import Path

import flatprop

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest needs tomli before Python 3.11, so it is there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_build_reads_the_version_from_the_package_and_pyproject_does_not_repeat_it() -> None:
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "src/flatprop/__init__.py"


def test_the_changelog_has_a_section_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert flatprop.__version__ in headings
    assert headings[0] == flatprop.__version__  # newest first
