"""nox sessions for flatprop: the tests at both ends of what it supports, lint, build.

From the repository's root, with the dev extra installed (``pip install -e ".[dev]"``)::

    nox --list                                # the sessions
    nox                                       # lint, both test sessions, build
    nox -s tests                              # both ends of the test matrix
    nox -s "tests(python='3.10', deps='floor')" -- -k softmax   # after --: pytest's options
    HYPOTHESIS_PROFILE=ci nox -s tests        # the profile passes through, as CI runs it

``tests`` runs the whole suite, with the ``plot`` extra, at the two ends of what
pyproject.toml claims:

- ``deps='floor'``: the oldest Python flatprop supports (3.10) with, installed exactly, the
  lower bound that pyproject.toml gives every run-time and tested dependency (NumPy,
  pytest, Hypothesis, matplotlib): a floor that no session installs is a guess;
- ``deps='latest'``: the newest Python this project is tested on (3.13) with the newest
  release of each.

Each session tests the package as installed from a wheel built from the tree, not the
source folder. A Python that is not installed is skipped with a message, unless nox runs
with ``--error-on-missing-interpreters`` (nox's default when ``CI`` is set; ``.ci/run``
passes it, so CI cannot go green on a matrix it skipped). nox never downloads an
interpreter: it looks for ``python3.10`` and ``python3.13`` on ``PATH``, where pyenv's
shims answer only for the versions pyenv has made active. With pyenv, make them active
besides your default::

    export PYENV_VERSION="$(pyenv version-name):$(pyenv latest 3.10):$(pyenv latest 3.13)"
"""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import nox
from packaging.requirements import Requirement

nox.needs_version = ">=2026.10.20"  # looks past an inactive pyenv shim to the next on PATH
nox.options.sessions = ["lint", "tests", "build"]
nox.options.download_python = "never"

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
TESTED_EXTRAS = ("test", "plot")  # test brings grade: flatprop[grade]
LINTED = ("src", "tests", "examples", "benchmarks", "scripts", "noxfile.py")

SHOW_VERSIONS = """\
import sys, flatprop, hypothesis, matplotlib, numpy, pytest
print("flatprop", flatprop.__version__, "from", flatprop.__path__[0])
print("Python", sys.version.split()[0], "| NumPy", numpy.__version__,
      "| pytest", pytest.__version__, "| Hypothesis", hypothesis.__version__,
      "| matplotlib", matplotlib.__version__)
"""


def requirements_of(extras: tuple[str, ...]) -> list[Requirement]:
    """The run-time requirements and those of ``extras``, an extra's ``flatprop[...]`` expanded."""
    optional = PYPROJECT["project"]["optional-dependencies"]
    texts = list(PYPROJECT["project"]["dependencies"])
    texts += [text for extra in extras for text in optional[extra]]
    requirements = []
    for requirement in map(Requirement, texts):
        if requirement.name == "flatprop":  # an extra that brings other extras
            requirements += requirements_of(tuple(sorted(requirement.extras)))
        else:
            requirements.append(requirement)
    return requirements


def floor_pins() -> list[str]:
    """``name==low`` for every run-time and tested extra's requirement, ``low`` its ``>=``."""
    pins = []
    for requirement in requirements_of(TESTED_EXTRAS):
        lows = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(lows) != 1:
            raise ValueError(f"pyproject.toml: {requirement} needs one lower bound (>=) to test")
        marker = f"; {requirement.marker}" if requirement.marker else ""
        pins.append(f"{requirement.name}=={lows[0]}{marker}")
    return sorted(set(pins))


def dev_requirement(name: str) -> str:
    """The dev extra's requirement on ``name``, so a session installs what a developer has."""
    for text in PYPROJECT["project"]["optional-dependencies"]["dev"]:
        if Requirement(text).name == name:
            return str(text)
    raise ValueError(f"pyproject.toml: the dev extra has no requirement on {name!r}")


@nox.session
@nox.parametrize(("python", "deps"), [("3.10", "floor"), ("3.13", "latest")])
def tests(session: nox.Session, deps: str) -> None:
    """The test suite on the oldest Python with the floors, or the newest with the latest."""
    extras = f".[{','.join(TESTED_EXTRAS)}]"
    if deps == "floor":
        session.install(extras, *floor_pins())
    else:
        session.install("--upgrade", extras)
    session.run("python", "-c", SHOW_VERSIONS)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy --strict, as configured in pyproject.toml."""
    session.install("-e", ".[dev,plot]")
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    session.run("mypy")


@nox.session
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel into dist/, check them with twine, list their files."""
    session.install(dev_requirement("build"), dev_requirement("twine"))
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist))
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        session.error(f"expected one sdist and one wheel in dist/, found {sorted(dist.iterdir())}")
    session.run("twine", "check", "--strict", str(sdists[0]), str(wheels[0]))
    problems = check_sdist(sdists[0]) + check_wheel(wheels[0])
    if problems:
        session.error("the distributions are not as they should be:\n  " + "\n  ".join(problems))
    session.log(f"{sdists[0].name} and {wheels[0].name} hold what they should, and no more")


# What a distribution must hold, and the path parts that mark something stray in one.
SDIST_REQUIRED = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "src/flatprop/__init__.py",
    "src/flatprop/py.typed",
    "src/flatprop/data/digits.npz",
    "tests/conftest.py",
)
WHEEL_REQUIRED = ("flatprop/__init__.py", "flatprop/py.typed", "flatprop/data/digits.npz")
STRAY_PARTS = frozenset(
    {
        ".git",
        ".hypothesis",
        ".nox",
        ".venv",
        "venv",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "build",
        "dist",
    }
)


def stray(names: list[str]) -> list[str]:
    """The archive members that belong in no distribution (caches, venvs, builds)."""
    return [
        f"stray file {name}"
        for name in names
        if STRAY_PARTS.intersection(PurePosixPath(name).parts) or name.endswith(".pyc")
    ]


def check_sdist(path: Path) -> list[str]:
    """What is missing from, or stray in, the source distribution at ``path``."""
    with tarfile.open(path) as archive:
        names = [member.name.split("/", 1)[1] for member in archive if member.isfile()]
    missing = [f"{path.name} lacks {name}" for name in SDIST_REQUIRED if name not in names]
    return missing + stray(names)


def check_wheel(path: Path) -> list[str]:
    """What is missing from, or stray in, the wheel at ``path`` (it holds the package alone)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    missing = [f"{path.name} lacks {name}" for name in WHEEL_REQUIRED if name not in names]
    if not any(name.endswith(".dist-info/licenses/LICENSE") for name in names):
        missing.append(f"{path.name} lacks the LICENSE in its .dist-info/licenses")
    outside = [
        f"{path.name} holds {name}, outside the package"
        for name in names
        if not name.startswith(("flatprop/", "flatprop-"))
    ]
    return missing + outside + stray(names)
