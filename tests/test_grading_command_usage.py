"""`flatprop grade` run again into the same OUT_DIR updates its gradebook; every usage
error is found before anything is graded or printed; what to install, said once, in a way
that works from a clone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import flatprop
from flatprop.grading import command
from grading_cases import (  # noqa: F401 - no_process_left_behind: an autouse fixture
    SVM,
    SVM_NO_MEAN,
    no_process_left_behind,
    write,
)
from helpers import run_python, with_this_path

ASSIGNMENT = """
[[checks]]
name = "svm"
target = "linear_svm.py:svm_loss"
checker = "check_linear_loss"
reference = "multiclass_svm"
points = { loss = 2, dW = 8 }
options = { max_examples = 20 }
"""
INSTALL_HINT = (
    'pip install "flatprop[{extra}]"  (from a clone of the repository: pip install ".[{extra}]")'
)


@pytest.fixture
def assignment(tmp_path):
    path = tmp_path / "assignment.toml"
    path.write_text(ASSIGNMENT, encoding="utf-8")
    return path


def test_grading_one_submission_again_replaces_its_row_and_keeps_the_others(
    tmp_path, assignment, capsys
):
    out = tmp_path / "results"
    out.mkdir()
    # Graded before: ana 10 of 10, ben a mark entered by hand, cy 2.
    (out / "gradebook.csv").write_text(
        "submission,svm,total\nana,10,10\nben,7.5,7.5\ncy,2,2\n", encoding="utf-8"
    )
    write(tmp_path / "ana", "linear_svm.py", SVM_NO_MEAN)  # resubmitted, now summed: 0
    write(tmp_path / "dee", "linear_svm.py", SVM)  # new: 10
    status = command.run(
        str(assignment), [str(tmp_path / "ana"), str(tmp_path / "dee")], out=str(out), jobs=1
    )
    assert status == 0
    assert (out / "gradebook.csv").read_text(encoding="utf-8") == (
        "submission,svm,total\nana,0,0\nben,7.5,7.5\ncy,2,2\ndee,10,10\n"
    )
    stderr = capsys.readouterr().err
    assert (
        f"Updated the existing gradebook {out / 'gradebook.csv'}: the row of ana replaced; "
        "1 row added; 2 other rows kept as they were." in stderr
    )


def test_a_gradebook_of_other_checks_is_refused_before_anything_is_graded(
    tmp_path, assignment, capsys
):
    out = tmp_path / "results"
    out.mkdir()
    other = "submission,svm_loss,softmax,total\nana,10,5,15\n"
    (out / "gradebook.csv").write_text(other, encoding="utf-8")
    write(tmp_path / "ana", "linear_svm.py", SVM)
    with pytest.raises(ValueError, match="has the columns submission,svm_loss,softmax,total"):
        command.run(str(assignment), [str(tmp_path / "ana")], out=str(out), jobs=1)
    assert (out / "gradebook.csv").read_text(encoding="utf-8") == other
    assert not (out / "ana").exists()
    assert capsys.readouterr().err == ""  # not even the "Grading ..." line


def test_the_grade_command_exits_2_on_a_gradebook_of_other_checks(tmp_path, assignment):
    out = tmp_path / "results"
    out.mkdir()
    (out / "gradebook.csv").write_text("submission,svm2,total\n", encoding="utf-8")
    write(tmp_path / "ana", "linear_svm.py", SVM)
    done = run_python(
        "-m",
        "flatprop",
        "grade",
        str(assignment),
        str(tmp_path / "ana"),
        "--out",
        str(out),
        env=with_this_path(),
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("flatprop grade: error: ")
    assert "not those of" in done.stderr


@pytest.mark.parametrize(
    ("submissions", "options", "phrase"),
    [
        (["ana/linear_svm.py"], {}, "ana/linear_svm.py is a file: a submission is a folder"),
        (["nobody"], {}, "no submission folder"),
        (["ana", "other/ana"], {}, "have the same name 'ana'"),
        (["ana"], {"dask": "tcp://127.0.0.1:1"}, "--dask needs Dask's distributed scheduler"),
        (["ana"], {"out": "ana/linear_svm.py"}, "is a file: OUT_DIR is the folder"),
    ],
    ids=["a file", "missing", "twins", "dask missing", "out a file"],
)
def test_every_usage_error_comes_before_anything_is_printed(
    tmp_path, assignment, monkeypatch, capsys, submissions, options, phrase
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "distributed", None)  # the dask extra, not installed
    write(tmp_path / "ana", "linear_svm.py", SVM)
    write(tmp_path / "other" / "ana", "linear_svm.py", SVM)
    with pytest.raises(ValueError, match=phrase) as error:
        command.run(str(assignment), submissions, **{"out": "results", **options})
    if "dask" in options:
        assert str(error.value).endswith(INSTALL_HINT.format(extra="dask"))
    assert capsys.readouterr().err == ""
    assert not (tmp_path / "results").exists()


def test_grade_without_hypothesis_says_once_what_to_install(tmp_path, assignment):
    script = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "from flatprop.cli import main\n"
        f"sys.exit(main(['grade', {str(assignment)!r}, 'x', '--out', 'y']))\n"
    )
    done = run_python("-c", script, env=with_this_path())
    assert done.returncode == 2
    assert done.stderr == (
        f"flatprop grade needs Hypothesis, which is not installed: "
        f"{INSTALL_HINT.format(extra='grade')}\n"
    )


def _install_hints(path: Path) -> list[str]:
    """The strings (docstrings included) of a module that tell what to pip install."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        " ".join(node.value.split())
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and 'pip install "flatprop[' in node.value
    ]


PACKAGE = Path(flatprop.__file__).parent
GRADING_AND_TESTING = sorted(
    [*PACKAGE.glob("grading/*.py"), *PACKAGE.glob("testing/*.py"), PACKAGE / "cli.py"]
)


@pytest.mark.parametrize("path", GRADING_AND_TESTING, ids=lambda path: path.name)
def test_every_install_hint_of_grading_and_testing_works_from_a_clone(path):
    for hint in _install_hints(path):
        extras = hint.split('pip install "flatprop[')[1:]
        for extra in (part.split("]")[0] for part in extras):
            assert f'pip install ".[{extra}]"' in hint, (path.name, hint)
