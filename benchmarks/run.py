"""Time flatprop's loss layers against PyTorch, the loop references and the exp+copy floor.

Every case is a forward *and* backward pass with the gradient materialised, at the
default reduction ("mean"), on seeded random data. For each case the table gives the
median time of repeated runs of:

- flatprop's one-shot function (``multiclass_svm(scores, y)``, ...);
- PyTorch CPU autograd computing the same loss and gradient (checked to agree before
  timing): ``multi_margin_loss`` (p=1, p=2) scaled by C for the hinges, ``cross_entropy``,
  ``mse_loss`` scaled by K for L2, and ``nn.Sequential(Linear, ReLU, Linear)`` with
  ``cross_entropy`` for ``TwoLayerNet.loss``; skipped with a note when torch is absent;
- the loop references of ``flatprop.naive`` (small sizes only);
- the floor: one ``np.exp`` over an array of the scores' size plus one copy of it,
  into preallocated arrays (``np.exp(scores, out=a)``, ``np.copyto(b, a)``): the
  arithmetic and memory traffic any loss pays, without the allocations, whose page
  faults make ``np.exp(scores).copy()`` take anything from 0.8 to 3.8 ms at
  (100000, 10) float64 on the same machine, depending on the allocator's state;

and the peak extra memory of one flatprop call (tracemalloc, the returned gradient
included) relative to the bytes of the scores. Ratios are flatprop / baseline: below 1
means flatprop is faster.

Thread counts are the same for both sides: ``--threads 1`` (the default) sets
FLATPROP_NUM_THREADS, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and
VECLIB_MAXIMUM_THREADS to 1 before NumPy is imported and calls
``torch.set_num_threads(1)``; ``--threads default`` leaves the libraries at their
machine defaults: PyTorch's threads, and flatprop's, which share the blocks of rows of a
large input among the machine's cores (see ``flatprop.losses._blocks``).
``--threads 1,default`` measures each setting in a fresh process and reports both.

The targets (issue 10): every loss at most 0.8 times PyTorch's time for N >= 256 and
1.0 times for N = 64, ``TwoLayerNet.loss`` at most 0.8 times, and a peak extra memory
of at most 3 times the scores' bytes; (issue 6) the softmax cross-entropy at (100000,
10) float64 at most 4 times the floor.

Examples
--------
    python benchmarks/run.py                      # the full run (several minutes)
    python benchmarks/run.py --quick              # a smoke run (seconds)
    python benchmarks/run.py --threads 1,default --markdown benchmarks/results.md
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
THREAD_VARIABLES = (
    "FLATPROP_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)

LOSS_SIZES = (
    (64, 10),
    (64, 100),
    (64, 1000),
    (256, 10),
    (256, 100),
    (256, 1000),
    (1000, 10),
    (1000, 100),
    (1000, 1000),
    (4096, 10),
    (100000, 10),
)
NET_SIZES = ((200, 3072, 100, 10), (10000, 64, 100, 10))  # N, D, H, C
QUICK_LOSS_SIZES = ((256, 10), (2048, 10))
QUICK_NET_SIZES = ((64, 128, 32, 10),)
NET_REG = 1e-3
LOOP_MAX_ELEMENTS = 10_000  # the loop references take 5-30 us per entry (exact fractions)

# The targets of issue 10 (ratios measured in the same run), and issue 6's floor.
TARGET_VS_TORCH = 0.8  # every loss, N >= 256
TARGET_SMALL_VS_TORCH = 1.0  # every loss, N < 256 (N = 64 in the grid)
SMALL_BATCH = 256  # below this many rows, TARGET_SMALL_VS_TORCH applies
TARGET_VS_FLOOR = 4.0  # softmax cross-entropy at (100000, 10), float64
TARGET_PEAK_MEMORY = 3.0
TARGET_NET_VS_TORCH = 0.8


@dataclass(frozen=True)
class TorchBaseline:
    """PyTorch's counterpart of one of flatprop's losses.

    ``function`` of ``torch.nn.functional`` with ``options`` computes the same loss,
    divided by the scores' number of columns (C, or K for L2) when
    ``divided_by_columns``: ``multi_margin_loss`` averages over the classes where the
    hinges sum, and ``mse_loss``'s mean over the entries where L2's is over examples.
    """

    function: str
    options: dict[str, Any] = field(default_factory=dict)
    divided_by_columns: bool = False


# One for each loss of flatprop.losses.LOSSES (tests/test_registry.py checks the keys).
TORCH_BASELINES = {
    "softmax_cross_entropy": TorchBaseline("cross_entropy"),
    "multiclass_svm": TorchBaseline("multi_margin_loss", {"p": 1}, divided_by_columns=True),
    "squared_hinge": TorchBaseline("multi_margin_loss", {"p": 2}, divided_by_columns=True),
    "l2": TorchBaseline("mse_loss", divided_by_columns=True),
}


@dataclass
class Row:
    """One line of the table: a case and what was measured for it."""

    case: str
    size: str
    dtype: str
    flatprop: float  # median seconds per call
    torch: float | None = None
    loops: float | None = None
    floor: float | None = None
    peak_memory: float | None = None  # peak extra bytes / bytes of the scores
    samples: dict[str, list[float]] = field(default_factory=dict)

    def ratio(self, baseline: str) -> float | None:
        value = getattr(self, baseline)
        return None if value is None else self.flatprop / value


# --------------------------------------------------------------------------- timing


def time_interleaved(
    functions: dict[str, Callable[[], object]], *, repeats: int, min_time: float
) -> dict[str, list[float]]:
    """Seconds per call of each function: ``repeats`` samples, taken round-robin.

    Each function first runs once (warm-up) and is calibrated so that one sample
    (a loop of calls) lasts at least ``min_time``. Taking the samples of all the
    functions in turn, rather than one function after the other, spreads the
    machine's slow moments over all of them.
    """
    loops = {}
    for name, function in functions.items():
        function()
        number, elapsed = 1, 0.0
        while True:
            elapsed = _run_loop(function, number)
            if elapsed >= min_time:
                break
            number *= 2 if elapsed == 0 else max(2, min(10, int(1.5 * min_time / elapsed)))
        loops[name] = number
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            samples[name].append(_run_loop(function, loops[name]) / loops[name])
    return samples


def _run_loop(function: Callable[[], object], number: int) -> float:
    enabled = gc.isenabled()
    gc.disable()  # as timeit does: a collection would land on whichever call is running
    try:
        start = time.perf_counter()
        for _ in range(number):
            function()
        return time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()


def peak_extra_memory(function: Callable[[], object]) -> int:
    """Peak bytes allocated (NumPy reports its arrays to tracemalloc) during one call."""
    function()  # warm-up: first-call imports and caches are not the function's memory
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = function()
        peak = tracemalloc.get_traced_memory()[1] - before
        del result
    finally:
        tracemalloc.stop()
    return peak


# --------------------------------------------------------------------------- cases


def loss_case(
    name: str,
    num_examples: int,
    num_classes: int,
    dtype: Any,
    *,
    torch: Any,
    options: argparse.Namespace,
) -> Row:
    import numpy as np

    from flatprop.losses import LOSSES

    spec = LOSSES[name]
    rng = np.random.default_rng(options.seed)
    scores = rng.standard_normal((num_examples, num_classes)).astype(dtype)
    if spec.target == "values":
        second = rng.standard_normal((num_examples, num_classes)).astype(dtype)
    else:
        second = rng.integers(0, num_classes, num_examples)
    first_buffer, second_buffer = np.empty_like(scores), np.empty_like(scores)
    flatprop_function = spec.function
    functions: dict[str, Callable[[], object]] = {
        "flatprop": lambda: flatprop_function(scores, second),
        "floor": lambda: np.copyto(second_buffer, np.exp(scores, out=first_buffer)),
    }
    if torch is not None:
        torch_function = torch_loss(spec, scores, second, torch)
        check_agreement(name, flatprop_function(scores, second), torch_function(), dtype)
        functions["torch"] = torch_function
    if scores.size <= options.loop_max_elements:
        loop_function = spec.naive
        functions["loops"] = lambda: loop_function(scores, second)

    samples = time_interleaved(functions, repeats=options.repeats, min_time=options.min_time)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    return Row(
        case=name,
        size=f"{num_examples} x {num_classes}",
        dtype=np.dtype(dtype).name,
        flatprop=medians["flatprop"],
        torch=medians.get("torch"),
        loops=medians.get("loops"),
        floor=medians["floor"],
        peak_memory=peak_extra_memory(functions["flatprop"]) / scores.nbytes,
        samples=samples,
    )


def torch_loss(spec: Any, scores: Any, second: Any, torch: Any) -> Callable[[], object]:
    """PyTorch's forward and backward of the same loss, returning (loss, gradient).

    Where PyTorch's loss is flatprop's divided by the number of columns (see
    :class:`TorchBaseline`), the backward pass starts from that factor as the upstream
    gradient, which scales the gradient to flatprop's without adding an operation to the
    graph.
    """
    baseline = TORCH_BASELINES[spec.name]
    function = getattr(torch.nn.functional, baseline.function)
    inputs = torch.from_numpy(scores).requires_grad_()
    other = torch.from_numpy(second)
    factor = float(scores.shape[1]) if baseline.divided_by_columns else 1.0
    dloss = torch.tensor(factor, dtype=inputs.dtype)

    def run() -> tuple[Any, dict[str, Any]]:
        inputs.grad = None  # a fresh gradient each call, as flatprop returns
        loss = function(inputs, other, **baseline.options)
        loss.backward(dloss)
        return loss.detach() * dloss, {spec.input_name: inputs.grad}

    return run


def check_agreement(name: str, ours: Any, theirs: Any, dtype: Any) -> None:
    """Refuse to time two functions that do not compute the same loss and gradient."""
    import numpy as np

    tolerance = 1e-4 if np.dtype(dtype) == np.float32 else 1e-9
    our_loss, our_grads = ours
    their_loss, their_grads = theirs
    pairs = [("loss", our_loss, their_loss)]
    pairs += [(key, our_grads[key], their_grads[key]) for key in their_grads]
    for label, a, b in pairs:
        b = b.detach().numpy() if hasattr(b, "detach") else b
        if not np.allclose(a, b, rtol=tolerance, atol=tolerance * np.max(np.abs(b))):
            raise AssertionError(f"{name}: flatprop and PyTorch disagree on {label}")


def net_case(
    sizes: tuple[int, int, int, int],
    dtype: Any,
    *,
    nets: Any,
    torch: Any,
    options: argparse.Namespace,
) -> Row:
    import numpy as np

    num_examples, input_size, hidden_size, num_classes = sizes
    rng = np.random.default_rng(options.seed)
    X = rng.standard_normal((num_examples, input_size)).astype(dtype)
    y = rng.integers(0, num_classes, num_examples)
    net = nets.TwoLayerNet(input_size, hidden_size, num_classes, std=0.1, seed=options.seed)
    net.params = {key: value.astype(dtype) for key, value in net.params.items()}

    functions: dict[str, Callable[[], object]] = {
        "flatprop": lambda: net.loss(X, y, reg=NET_REG),
    }
    if torch is not None:
        torch_function = torch_net(net.params, X, y, torch)
        check_agreement("TwoLayerNet.loss", net.loss(X, y, reg=NET_REG), torch_function(), dtype)
        functions["torch"] = torch_function
    samples = time_interleaved(functions, repeats=options.repeats, min_time=options.min_time)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    return Row(
        case="TwoLayerNet.loss",
        size=f"N={num_examples} D={input_size} H={hidden_size} C={num_classes}",
        dtype=np.dtype(dtype).name,
        flatprop=medians["flatprop"],
        torch=medians.get("torch"),
        samples=samples,
    )


def torch_net(params: dict[str, Any], X: Any, y: Any, torch: Any) -> Callable[[], object]:
    """The same net as an ``nn.Sequential``; returns (loss, grads keyed like params)."""
    model = torch.nn.Sequential(
        torch.nn.Linear(*params["W1"].shape),
        torch.nn.ReLU(),
        torch.nn.Linear(*params["W2"].shape),
    ).to(torch.from_numpy(params["W1"]).dtype)
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(params["W1"].T))  # nn.Linear stores W^T
        model[0].bias.copy_(torch.from_numpy(params["b1"]))
        model[2].weight.copy_(torch.from_numpy(params["W2"].T))
        model[2].bias.copy_(torch.from_numpy(params["b2"]))
    inputs = torch.from_numpy(X)
    labels = torch.from_numpy(y)

    def run() -> tuple[Any, dict[str, Any]]:
        model.zero_grad(set_to_none=True)
        data_loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        reg_loss = NET_REG * (model[0].weight.square().sum() + model[2].weight.square().sum())
        loss = data_loss + reg_loss
        loss.backward()
        grads = {
            "W1": model[0].weight.grad.T,
            "b1": model[0].bias.grad,
            "W2": model[2].weight.grad.T,
            "b2": model[2].bias.grad,
        }
        return loss.detach(), grads

    return run


# --------------------------------------------------------------------------- report


def machine_info(threads: str, torch: Any, load_average: Any) -> dict[str, Any]:
    import numpy as np

    import flatprop

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas_name = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # the layout of show_config differs between NumPy versions
        blas_name = "unknown"
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": load_average,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_name,
        "torch": None if torch is None else torch.__version__,
        "flatprop": f"{flatprop.__version__} ({commit or 'no git'})",
        "threads": threads,
        "thread_environment": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        "torch_threads": None if torch is None else torch.get_num_threads(),
        "flatprop_threads": flatprop_threads(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def flatprop_threads() -> int | None:
    """The threads flatprop's losses share a large input among (None in older checkouts)."""
    try:
        blocks = importlib.import_module("flatprop.losses._blocks")
    except ImportError:
        return None
    threads: int = blocks.num_threads()
    return threads


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def format_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}"


COLUMNS = (
    "case",
    "N x C",
    "dtype",
    "flatprop",
    "PyTorch",
    "/ PyTorch",
    "floor",
    "/ floor",
    "loops",
    "/ loops",
    "peak mem / scores",
)


def table_lines(rows: list[Row]) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = (
            row.case,
            row.size,
            row.dtype,
            format_time(row.flatprop),
            format_time(row.torch),
            format_ratio(row.ratio("torch")),
            format_time(row.floor),
            format_ratio(row.ratio("floor")),
            format_time(row.loops),
            format_ratio(row.ratio("loops")),
            "-" if row.peak_memory is None else f"{row.peak_memory:.2f}",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def target_lines(rows: list[Row]) -> list[str]:
    """Each target of the issue, met or not, with the worst ratio and every case above."""

    def verdict(label: str, values: list[tuple[float | None, str]], limit: float) -> str:
        measured = [(value, where) for value, where in values if value is not None]
        if not measured:
            return f"- {label} <= {limit}: not measured"
        worst, where = max(measured)
        above = [f"{where} {value:.2f}" for value, where in measured if value > limit]
        if not above:
            return f"- {label} <= {limit}: **met** (worst {worst:.2f}, {where})"
        return (
            f"- {label} <= {limit}: **NOT met** in {len(above)} of {len(measured)} cases: "
            + "; ".join(above)
        )

    def where(row: Row) -> str:
        return f"{row.case} {row.size} {row.dtype}"

    net_rows = [row for row in rows if row.case == "TwoLayerNet.loss"]
    loss_rows = [row for row in rows if row not in net_rows]
    small_rows = [row for row in loss_rows if int(row.size.split(" x ")[0]) < SMALL_BATCH]
    large_rows = [row for row in loss_rows if row not in small_rows]
    floor_rows = [
        row
        for row in loss_rows
        if row.case == "softmax_cross_entropy" and row.size == "100000 x 10"
        if row.dtype == "float64"
    ]
    return [
        verdict(
            f"every loss / PyTorch, N >= {SMALL_BATCH}",
            [(row.ratio("torch"), where(row)) for row in large_rows],
            TARGET_VS_TORCH,
        ),
        verdict(
            f"every loss / PyTorch, N < {SMALL_BATCH}",
            [(row.ratio("torch"), where(row)) for row in small_rows],
            TARGET_SMALL_VS_TORCH,
        ),
        verdict(
            "softmax cross-entropy (100000 x 10, float64) / floor",
            [(row.ratio("floor"), where(row)) for row in floor_rows],
            TARGET_VS_FLOOR,
        ),
        verdict(
            "peak extra memory of any loss / scores' bytes",
            [(row.peak_memory, where(row)) for row in loss_rows],
            TARGET_PEAK_MEMORY,
        ),
        verdict(
            "TwoLayerNet.loss / PyTorch",
            [(row.ratio("torch"), where(row)) for row in net_rows],
            TARGET_NET_VS_TORCH,
        ),
    ]


def markdown(results: list[dict[str, Any]], command: str) -> str:
    out = ["# flatprop benchmarks", "", f"Command: `{command}`", ""]
    for result in results:
        info = result["machine"]
        rows = [Row(**row) for row in result["rows"]]
        out += [
            f"## Threads: {info['threads']}",
            "",
            f"- machine: {info['cpu']}, {info['logical_cpus']} logical CPUs "
            f"({info['usable_cpus']} usable), {info['platform']}",
            f"- thread settings: {thread_description(info)}",
            f"- versions: Python {info['python']}, NumPy {info['numpy']} ({info['blas']}), "
            f"PyTorch {info['torch'] or 'not installed (its columns are empty)'}, "
            f"flatprop {info['flatprop']}",
            f"- {result['repeats']} samples per median, each >= {result['min_time'] * 1e3:g} ms; "
            f"load average at start {format_load(info['load_average'])}; finished {info['date']}",
            "",
            *table_lines(rows),
            "",
            "Times are medians per call of forward + backward with the gradient materialised "
            '(reduction "mean"). Ratios are flatprop / baseline (below 1: flatprop is faster). '
            "floor = one `np.exp` over the scores' shape plus one copy, into preallocated "
            "arrays (no allocation). peak mem = peak extra "
            "bytes of one flatprop call (tracemalloc, returned gradient included) / bytes of "
            "the scores.",
            "",
            *[f"Note: {note}" for note in result["notes"]],
            *([""] if result["notes"] else []),
            "Targets:",
            "",
            *target_lines(rows),
            "",
        ]
    return "\n".join(out)


def thread_description(info: dict[str, Any]) -> str:
    environment = ", ".join(
        f"{name}={value}" for name, value in info["thread_environment"].items() if value
    )
    return (
        f"{environment or 'no thread variables set'}; "
        f"torch.get_num_threads() = {info['torch_threads']}; "
        f"flatprop's threads for large inputs: {info.get('flatprop_threads')}"
    )


def format_load(load: Any) -> str:
    return "-" if not load else " ".join(f"{value:.2f}" for value in load)


# --------------------------------------------------------------------------- main


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        help="loss sizes as NxC, comma-separated (default: N = 64, 256, 1000 with C = 10, "
        "100, 1000, and 4096x10, 100000x10)",
    )
    parser.add_argument(
        "--net-sizes",
        help="TwoLayerNet sizes as NxDxHxC, comma-separated (default: 200x3072x100x10,"
        "10000x64x100x10); 'none' skips the net",
    )
    parser.add_argument(
        "--dtypes", default="float64,float32", help="comma-separated (default: float64,float32)"
    )
    parser.add_argument(
        "--losses",
        help="comma-separated names of losses of flatprop.losses.LOSSES (default: all of "
        "them), or 'none'",
    )
    parser.add_argument("--repeats", type=int, default=7, help="samples per median (default 7)")
    parser.add_argument(
        "--min-time", type=float, default=0.05, help="seconds per sample, at least (default 0.05)"
    )
    parser.add_argument(
        "--threads",
        default="1",
        help="thread count for NumPy's BLAS and PyTorch, same for both: a number or 'default' "
        "(the machine's); a comma-separated list runs each in a fresh process (default 1)",
    )
    parser.add_argument(
        "--loop-max-elements",
        type=int,
        default=LOOP_MAX_ELEMENTS,
        help=f"time the loop references only up to this many scores (default {LOOP_MAX_ELEMENTS})",
    )
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random data (default 0)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run in seconds: sizes 256x10,2048x10 and a small net, 3 samples of 2 ms, "
        "loop references at 256x10 only",
    )
    parser.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown")
    parser.add_argument("--json", metavar="FILE", help="also write every sample as JSON")
    options = parser.parse_args(argv)
    if options.quick:
        options.sizes = options.sizes or ",".join(f"{n}x{c}" for n, c in QUICK_LOSS_SIZES)
        options.net_sizes = options.net_sizes or ",".join(
            "x".join(map(str, sizes)) for sizes in QUICK_NET_SIZES
        )
        options.repeats = 3
        options.min_time = 0.002
        options.loop_max_elements = min(options.loop_max_elements, 2560)
    options.sizes = parse_sizes(options.sizes, LOSS_SIZES, 2, "--sizes")
    options.net_sizes = parse_sizes(options.net_sizes, NET_SIZES, 4, "--net-sizes")
    options.dtypes = options.dtypes.split(",")
    if options.losses is not None:
        options.losses = [] if options.losses == "none" else options.losses.split(",")
    options.threads = options.threads.split(",")
    for threads in options.threads:
        if threads != "default" and not threads.isdigit():
            parser.error(f"--threads: expected a number or 'default', got {threads!r}")
    return options


def parse_sizes(
    text: str | None, default: tuple[tuple[int, ...], ...], length: int, flag: str
) -> list[tuple[int, ...]]:
    if text is None:
        return list(default)
    if text == "none":
        return []
    sizes = [tuple(int(part) for part in item.split("x")) for item in text.split(",")]
    if any(len(size) != length for size in sizes):
        raise SystemExit(f"{flag}: expected {length} numbers joined by 'x', got {text!r}")
    return sizes


def limit_threads(threads: str) -> None:
    """Set the thread variables to ``threads`` (unless "default"), before NumPy is imported."""
    if threads == "default":
        return
    if "numpy" in sys.modules:
        raise RuntimeError("set the thread count before NumPy is imported")
    for name in THREAD_VARIABLES:
        os.environ[name] = threads


def loss_names(chosen: list[str] | None) -> list[str]:
    """The losses to time: those of ``--losses``, checked against flatprop's registry."""
    sys.path.insert(0, str(REPO / "src"))  # benchmark this checkout's flatprop
    registry = importlib.import_module("flatprop.losses").LOSSES
    if chosen is None:
        return list(registry)
    unknown = sorted(set(chosen) - set(registry))
    if unknown:
        raise SystemExit(f"--losses: unknown {unknown}, expected some of {tuple(registry)}")
    return chosen


def measure(options: argparse.Namespace, threads: str) -> dict[str, Any]:
    """Run every case in this process (its thread count set by :func:`limit_threads`)."""
    load_average = os.getloadavg() if hasattr(os, "getloadavg") else None
    notes = []
    torch: Any = None
    if not options.no_torch:
        try:
            torch = importlib.import_module("torch")
        except ImportError:
            notes.append("PyTorch is not installed: its columns are empty (pip install torch).")
    else:
        notes.append("PyTorch skipped (--no-torch).")
    if torch is not None and threads != "default":
        torch.set_num_threads(int(threads))
    nets: Any = None
    try:
        nets = importlib.import_module("flatprop.nets")
    except ImportError:
        if options.net_sizes:
            notes.append("flatprop.nets is not available in this checkout: no TwoLayerNet rows.")

    import numpy as np

    rows = []
    for dtype in options.dtypes:
        for num_examples, num_classes in options.sizes:
            for name in options.losses:
                row = loss_case(
                    name, num_examples, num_classes, np.dtype(dtype), torch=torch, options=options
                )
                print_progress(row)
                rows.append(row)
        if nets is not None:
            for sizes in options.net_sizes:
                row = net_case(sizes, np.dtype(dtype), nets=nets, torch=torch, options=options)
                print_progress(row)
                rows.append(row)
    return {
        "machine": machine_info(threads, torch, load_average),
        "repeats": options.repeats,
        "min_time": options.min_time,
        "notes": notes,
        "rows": [asdict(row) for row in rows],
    }


def print_progress(row: Row) -> None:
    print(
        f"  {row.case:22s} {row.size:28s} {row.dtype:8s} {format_time(row.flatprop):>10s}"
        f"  / PyTorch {format_ratio(row.ratio('torch')):>5s}"
        f"  / floor {format_ratio(row.ratio('floor')):>5s}",
        file=sys.stderr,
        flush=True,
    )


def measure_in_subprocess(argv: list[str], threads: str) -> dict[str, Any]:
    """Run this script for one thread setting in a fresh interpreter and read its JSON."""
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "result.json"
        command = [sys.executable, __file__, *strip_options(argv), "--threads", threads]
        subprocess.run([*command, "--json", str(output)], check=True, stdout=subprocess.DEVNULL)
        result: dict[str, Any] = json.loads(output.read_text())[0]
        return result


def strip_options(argv: list[str]) -> list[str]:
    """``argv`` without --threads, --markdown and --json (and their values)."""
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
            continue
        name = argument.split("=", 1)[0]
        if name in ("--threads", "--markdown", "--json"):
            skip = "=" not in argument
            continue
        kept.append(argument)
    return kept


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    options = parse_arguments(argv)
    if len(options.threads) == 1:
        limit_threads(options.threads[0])
    options.losses = loss_names(options.losses)
    if len(options.threads) == 1:
        results = [measure(options, options.threads[0])]
    else:
        results = [measure_in_subprocess(argv, threads) for threads in options.threads]
    command = " ".join(["python benchmarks/run.py", *argv])
    report = markdown(results, command)
    print(report)
    if options.markdown:
        Path(options.markdown).write_text(report)
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
