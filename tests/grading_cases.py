"""What the grading tests share: submissions as source text, and a guard that no test
leaves a process behind.

The submissions are written here from the math (CS231n's linear SVM and a two-layer
softmax net), not from flatprop's code; the hostile ones each do one thing a grader
must survive.
"""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

# A correct linear SVM loss, fn(W, X, y, reg) -> (loss, dW), with reg * sum(W**2).
SVM = """
import numpy as np

def svm_loss(W, X, y, reg):
    scores = X @ W
    rows = np.arange(len(y))
    margins = np.maximum(0.0, scores - scores[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() / len(y) + reg * np.sum(W * W)
    active = (margins > 0).astype(float)
    active[rows, y] = -active.sum(axis=1)
    return loss, X.T @ active / len(y) + 2 * reg * W
"""

# The classic bug: the data loss summed over the batch, not averaged.
SVM_NO_MEAN = """
import numpy as np

def svm_loss(W, X, y, reg):
    scores = X @ W
    rows = np.arange(len(y))
    margins = np.maximum(0.0, scores - scores[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() + reg * np.sum(W * W)
    active = (margins > 0).astype(float)
    active[rows, y] = -active.sum(axis=1)
    return loss, X.T @ active + 2 * reg * W
"""

# Right loss, wrong gradient: the regularization gradient without its 2.
SVM_REG_GRADIENT = SVM.replace("+ 2 * reg * W", "+ reg * W")

# A correct two-layer softmax net, fn(params, X, y, reg) -> (loss, grads).
TWO_LAYER = """
import numpy as np

def two_layer_loss(params, X, y, reg):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z1 = X @ W1 + b1
    h1 = np.maximum(z1, 0.0)
    scores = h1 @ W2 + b2
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(y)
    loss = -log_probs[np.arange(n), y].mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    dscores /= n
    dh1 = dscores @ W2.T
    dz1 = dh1 * (z1 > 0)
    return loss, {
        "W1": X.T @ dz1 + 2 * reg * W1,
        "b1": dz1.sum(axis=0),
        "W2": h1.T @ dscores + 2 * reg * W2,
        "b2": dscores.sum(axis=0),
    }
"""


def write(folder: Path, name: str, source: str) -> Path:
    """Write a submission's file (dedented); return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


def with_function(source: str, body: str, name: str = "svm_loss") -> str:
    """The correct source, with ``name`` replaced by a wrapper that runs ``body`` first.

    ``body`` is indented code; the wrapper then returns the correct result.
    """
    wrapper = f"\n_right = {name}\n\ndef {name}(*arguments):\n"
    wrapper += textwrap.indent(textwrap.dedent(body).strip(), "    ")
    wrapper += "\n    return _right(*arguments)\n"
    return textwrap.dedent(source) + wrapper


def _marked_processes() -> list[int]:
    """This run's processes that carry a worker's mark (its environment): workers and
    their children. Another test run's have another TMPDIR (tests/conftest.py)."""
    run = f"TMPDIR={os.environ['TMPDIR']}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                variables = environ.read().split(b"\0")
            if any(v.startswith(b"FLATPROP_WORKER=") for v in variables) and run in variables:
                found.append(int(entry))
        except OSError:
            continue
    return found


# Helpers that multiprocessing starts once per interpreter and that end with it.
_INTERPRETER_HELPERS = (b"multiprocessing.resource_tracker", b"multiprocessing.forkserver")


def _children() -> set[int]:
    """The live child processes of this one (zombies, already dead, are not counted, nor
    multiprocessing's own helpers)."""
    children = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, parent = fields[0], int(fields[1])
        if parent == os.getpid() and state != "Z" and not _is_helper(int(entry)):
            children.add(int(entry))
    return children


def _is_helper(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read()
    except OSError:
        return False
    return any(helper in command for helper in _INTERPRETER_HELPERS)


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """After the test: no worker (or anything a worker started) and no new child alive.

    Waits a little for processes on their way out, then fails the test.
    """
    before = _children()
    yield
    deadline = time.monotonic() + 3.0
    while True:
        left = sorted(set(_marked_processes()) | (_children() - before))
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"processes left behind: {[_describe(pid) for pid in left]}"


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return str(pid)
    return f"{pid}: {command}"
