"""The benchmark script runs end to end (``--quick``) and reports every case.

A smoke test only: it checks the report's shape, never a time or a ratio.
"""

import json

import pytest

from flatprop.losses import LOSSES
from helpers import ROOT, run_python

BENCHMARK = ROOT / "benchmarks" / "run.py"
QUICK_SIZES = ("256 x 10", "2048 x 10")
DTYPES = ("float64", "float32")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Run ``benchmarks/run.py --quick`` once, in a fresh interpreter."""
    if not BENCHMARK.exists():
        pytest.skip("benchmarks/run.py is not part of this installation")
    directory = tmp_path_factory.mktemp("benchmark")
    markdown, report = directory / "results.md", directory / "results.json"
    completed = run_python(
        str(BENCHMARK), "--quick", "--markdown", str(markdown), "--json", str(report), timeout=300
    )
    return {
        "returncode": completed.returncode,
        "stdout": completed.stdout,
        "stderr": completed.stderr,
        "markdown": markdown.read_text() if markdown.exists() else "",
        "json": json.loads(report.read_text()) if report.exists() else [],
    }


def test_quick_benchmark_exits_cleanly(quick_run: dict[str, object]) -> None:
    assert quick_run["returncode"] == 0, quick_run["stderr"]


def test_quick_benchmark_prints_a_row_for_every_loss_size_and_dtype(
    quick_run: dict[str, object],
) -> None:
    stdout = str(quick_run["stdout"])
    missing = [
        (name, size, dtype)
        for name in LOSSES
        for size in QUICK_SIZES
        for dtype in DTYPES
        if f"| {name} | {size} | {dtype} |" not in stdout
    ]
    assert missing == []


def test_quick_benchmark_times_the_two_layer_net_in_both_dtypes(
    quick_run: dict[str, object],
) -> None:
    pytest.importorskip("flatprop.nets")
    stdout = str(quick_run["stdout"])
    rows = [line for line in stdout.splitlines() if line.startswith("| TwoLayerNet.loss |")]
    assert [row.split(" | ")[2] for row in rows] == list(DTYPES)


def test_quick_benchmark_states_machine_threads_versions_and_targets(
    quick_run: dict[str, object],
) -> None:
    stdout = str(quick_run["stdout"])
    for heading in ("- machine:", "- thread settings:", "- versions:", "Targets:"):
        assert heading in stdout


def test_quick_benchmark_writes_the_same_table_as_markdown_and_json(
    quick_run: dict[str, object],
) -> None:
    assert str(quick_run["markdown"]).strip() == str(quick_run["stdout"]).strip()
    (result,) = quick_run["json"]  # type: ignore[misc]
    cases = {(row["case"], row["size"], row["dtype"]) for row in result["rows"]}
    assert {(name, size, dtype) for name in LOSSES for size in QUICK_SIZES for dtype in DTYPES} <= (
        cases
    )


def test_quick_benchmark_compares_with_pytorch_when_it_is_installed(
    quick_run: dict[str, object],
) -> None:
    pytest.importorskip("torch")
    (result,) = quick_run["json"]  # type: ignore[misc]
    assert all(row["torch"] is not None for row in result["rows"])
