"""`flatprop grade` end to end: a class of sixteen submissions (tests/grading_class) graded
with --jobs 2 into the gradebook and Gradescope results written by hand in
tests/grading_class/expected; then the command's usage errors and exit statuses."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from grading_cases import SVM, no_process_left_behind, write  # noqa: F401 - autouse fixture
from helpers import run_python, with_this_path

CLASS = Path(__file__).resolve().parent / "grading_class"
EXPECTED = json.loads((CLASS / "expected" / "results.json").read_text(encoding="utf-8"))
SUBMISSIONS = sorted(name for name in EXPECTED if name != "about")


def flatprop(*arguments, cwd=None):
    """Run the command in a fresh interpreter; the CompletedProcess."""
    return run_python(
        "-m", "flatprop", *map(str, arguments), cwd=cwd, env=with_this_path(), timeout=600
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once: (the command's result, its output folder)."""
    out = tmp_path_factory.mktemp("graded") / "out"
    folders = [CLASS / "submissions" / name for name in SUBMISSIONS]
    done = flatprop("grade", CLASS / "assignment.toml", *folders, "--out", out, "--jobs", 2)
    return done, out


def test_the_class_is_graded_with_exit_status_0_whatever_the_grades(graded):
    done, _ = graded
    assert done.returncode == 0, done.stderr


def test_the_gradebook_is_the_one_written_by_hand(graded):
    _, out = graded
    expected = (CLASS / "expected" / "gradebook.csv").read_text(encoding="utf-8")
    assert (out / "gradebook.csv").read_text(encoding="utf-8") == expected


@pytest.mark.parametrize("submission", SUBMISSIONS)
def test_each_results_json_says_what_was_written_by_hand(graded, submission):
    _, out = graded
    results = json.loads((out / submission / "results.json").read_text(encoding="utf-8"))
    assert_results(results, EXPECTED[submission])


def assert_results(results, expected):
    assert results["score"] == expected["score"]
    assert results["score"] == sum(test["score"] for test in results["tests"])
    assert len(results["tests"]) == len(expected["tests"])
    for test, (name, score, max_score, status, phrase) in zip(
        results["tests"], expected["tests"], strict=True
    ):
        assert (test["name"], test["score"], test["max_score"], test["status"]) == (
            name,
            score,
            max_score,
            status,
        )
        assert phrase in " ".join(test["output"].split()), (name, test["output"])


def test_a_failure_shown_to_the_student_has_its_smallest_input(graded):
    _, out = graded
    output = json.loads((out / "cy" / "results.json").read_text(encoding="utf-8"))["tests"][1]
    assert "The smallest failing input found:" in output["output"]
    assert "loss, dW = svm_loss_vectorized(W, X, y, reg)" in output["output"]


def test_progress_is_one_line_per_submission_on_stderr(graded):
    done, _ = graded
    lines = re.findall(r"^\[ ?(\d+)/16\] (\w+) +(\d+)/25 ", done.stderr, flags=re.MULTILINE)
    assert sorted(int(number) for number, _, _ in lines) == list(range(1, 17))
    scores = {name: int(score) for _, name, score in lines}
    assert scores == {name: EXPECTED[name]["score"] for name in SUBMISSIONS}
    assert done.stderr.startswith("Grading 16 submissions against")
    assert done.stdout == ""


def test_results_json_for_gradescope_writes_one_submissions_file(tmp_path):
    path = tmp_path / "results" / "results.json"
    done = flatprop(
        "grade", CLASS / "assignment.toml", CLASS / "submissions" / "lee", "--results-json", path
    )
    assert done.returncode == 0, done.stderr
    assert_results(json.loads(path.read_text(encoding="utf-8")), EXPECTED["lee"])


@pytest.mark.parametrize(
    ("arguments", "phrase"),
    [
        (["{assignment}", "{missing}", "--out", "{out}"], "no submission folder"),
        (["{nowhere}.toml", "{ana}", "--out", "{out}"], "cannot read the assignment file"),
        (["{bad}", "{ana}", "--out", "{out}"], "checker must be one of"),
        (["{assignment}", "{ana}"], "say where to write"),
        (
            ["{assignment}", "{ana}", "{ben}", "--results-json", "{out}/r.json"],
            "one SUBMISSION_DIR",
        ),
        (["{assignment}", "{ana}", "--out", "{out}", "--jobs", "0"], "--jobs must be at least 1"),
        (["{assignment}", "{ana}", "{twin}", "--out", "{out}"], "have the same name 'ana'"),
    ],
)
def test_the_graders_own_errors_exit_with_status_2_and_say_what_is_wrong(
    arguments, phrase, tmp_path
):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (CLASS / "assignment.toml").read_text().replace("check_loss_layer", "check_softmax")
    )
    twin = tmp_path / "other" / "ana"
    write(twin, "linear_svm.py", SVM)
    places = {
        "assignment": CLASS / "assignment.toml",
        "missing": tmp_path / "nobody",
        "nowhere": tmp_path / "nowhere",
        "bad": bad,
        "out": tmp_path / "out",
        "ana": CLASS / "submissions" / "ana",
        "ben": CLASS / "submissions" / "ben",
        "twin": twin,
    }
    done = flatprop("grade", *(argument.format(**places) for argument in arguments))
    assert done.returncode == 2, done.stderr
    assert phrase in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "gradebook.csv").exists()


def test_grade_says_what_to_install_without_hypothesis(tmp_path):
    script = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "from flatprop.cli import main\n"
        f"sys.exit(main(['grade', {str(CLASS / 'assignment.toml')!r}, 'x', '--out', 'y']))\n"
    )
    done = run_python("-c", script, env=with_this_path())
    assert done.returncode == 2
    assert 'pip install "flatprop[grade]"' in done.stderr


def test_grade_has_help():
    done = flatprop("grade", "--help")
    assert done.returncode == 0
    for option in ("--out OUT_DIR", "--jobs N", "--dask ADDRESS", "--results-json PATH"):
        assert option in done.stdout


@pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason='the dask extra is not installed: pip install "flatprop[dask]"',
)
def test_dask_spreads_the_grading_over_a_cluster(tmp_path):
    from distributed import LocalCluster

    names = ["ana", "cy", "fay", "oli"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        done = flatprop(
            "grade",
            CLASS / "assignment.toml",
            *(CLASS / "submissions" / name for name in names),
            "--out",
            tmp_path,
            "--dask",
            cluster.scheduler_address,
        )
    assert done.returncode == 0, done.stderr
    assert "on the Dask cluster at tcp://" in done.stderr
    rows = (tmp_path / "gradebook.csv").read_text().splitlines()
    expected = (CLASS / "expected" / "gradebook.csv").read_text().splitlines()
    assert rows == [expected[0], *(row for row in expected if row.split(",")[0] in names)]
