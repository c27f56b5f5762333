"""Blocks of rows, and the threads that share them.

A loss treats each row of its (N, C) input alone: every stage of row i depends on row
i only. So a large input is cut into blocks of rows, each small enough (about 128k
entries, 1 MB in float64) to stay in the CPU's cache through all the stages of the
forward and the backward pass: a block is read from memory once and its gradient
written once, instead of one round trip to memory per stage.

When flatprop may use several threads, the blocks are shared among them: NumPy releases
the GIL inside its loops, so the threads compute at the same time. Each thread, the
caller's included, takes the next block that no thread has taken until none is left:
a thread that the machine runs slowly (a busy core) holds the call up by one block at
most. The pool's threads never spin: an idle one waits on a queue; they work with the
caller's NumPy error settings (``np.errstate``). Each block is
computed the same way whatever the number of threads, so the results do not depend on
it, bit for bit.

The number of threads (:func:`num_threads`) is

- ``FLATPROP_NUM_THREADS``, if it is set (``1`` turns the threads off);
- else the smallest limit set for NumPy's BLAS by ``OMP_NUM_THREADS``,
  ``OPENBLAS_NUM_THREADS`` or ``MKL_NUM_THREADS`` (``1`` is one thread, as with
  ``benchmarks/run.py --threads 1``), or else the number of CPUs this process may run
  on (``os.sched_getaffinity``); in either case no more than the CPUs that the load
  average says are idle, counting this process's own: a thread that has to wait for a
  busy core holds the GIL when it is descheduled, and would stall the caller.

An input of fewer than :data:`THREADED_ENTRIES` entries runs on the caller's thread
alone: there the hand-off to a pool costs more than it saves.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from flatprop._validation import all_finite, require_finite

__all__ = ["BLOCK_ENTRIES", "THREADED_ENTRIES", "for_each_block", "num_threads", "row_blocks"]

Result = TypeVar("Result")

BLOCK_ENTRIES = 1 << 17
"""Entries per block of rows: 1 MB of float64, which stays in a core's L2 cache. Smaller
blocks cost more calls of NumPy and more hand-offs of the GIL between threads (each
hand-off takes tens of microseconds): measured on 2 cores, blocks of 32k entries gained
nothing from a second thread, blocks of 128k entries 1.0 to 1.5 times (least in float32,
whose passes are bound by the memory bandwidth the two cores share)."""

THREADED_ENTRIES = 2 * BLOCK_ENTRIES
"""Inputs of at least this many entries (two blocks) may be shared among threads."""

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def num_threads() -> int:
    """The number of threads a loss may use on a large input (see the module's notes)."""
    own = os.environ.get("FLATPROP_NUM_THREADS")
    if own is not None:
        return _positive_int(own, "FLATPROP_NUM_THREADS")
    limits = [
        _positive_int(value, name)
        for name in _THREAD_VARIABLES
        if (value := os.environ.get(name)) is not None and value.strip()
    ]
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    cpus = len(usable) if usable is not None else os.cpu_count() or 1
    threads = min([*limits, cpus])
    if threads > 1 and hasattr(os, "getloadavg"):
        # The 1-minute load counts this process (about 1) among the runnable tasks.
        idle = cpus - os.getloadavg()[0] + 1
        threads = max(1, min(threads, round(idle)))
    return threads


def _positive_int(value: str, name: str) -> int:
    try:
        number = int(value.strip().split(",")[0])  # OMP_NUM_THREADS may list levels: "4,2"
    except ValueError:
        raise ValueError(f"{name} must be a positive integer, got {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return number


def row_blocks(num_rows: int, num_columns: int) -> list[slice]:
    """Consecutive slices of rows covering ``range(num_rows)``.

    Each holds about :data:`BLOCK_ENTRIES` entries (at least one row).
    """
    rows = max(1, BLOCK_ENTRIES // max(1, num_columns))
    return [slice(start, min(start + rows, num_rows)) for start in range(0, num_rows, rows)]


def for_each_block(
    work: Callable[[slice], Result],
    num_rows: int,
    num_columns: int,
    *,
    finite: Sequence[tuple[np.ndarray, str]] = (),
) -> list[Result]:
    """``[work(block) for block in row_blocks(num_rows, num_columns)]``, on threads if worth it.

    ``work`` must only write rows of its own block. The results come in block order.
    Each ``(array, name)`` of ``finite`` is checked for NaN and +-inf block by block,
    just before ``work`` reads the block (so that the check reads it from memory, and
    ``work`` from the cache); one that is not finite raises the ``ValueError`` of
    :func:`flatprop._validation.require_finite`, and nothing is returned.
    """
    if finite:
        work = _checking(work, finite)
    if num_rows * num_columns <= BLOCK_ENTRIES:
        return [work(slice(0, num_rows))]  # one block: no list of blocks to make
    blocks = row_blocks(num_rows, num_columns)
    threads = 1
    if len(blocks) > 1 and num_rows * num_columns >= THREADED_ENTRIES:
        threads = min(num_threads(), len(blocks))
    if threads == 1:
        return [work(block) for block in blocks]
    return _shared(work, blocks, threads)


def _checking(
    work: Callable[[slice], Result], finite: Sequence[tuple[np.ndarray, str]]
) -> Callable[[slice], Result]:
    """``work``, after checking that the block of each array of ``finite`` is finite."""

    def checked_work(block: slice) -> Result:
        for array, name in finite:
            if not all_finite(array[block]):
                require_finite(array, name)  # raises, with the index in the whole array
        return work(block)

    return checked_work


def _shared(work: Callable[[slice], Result], blocks: Sequence[slice], threads: int) -> list[Result]:
    """Run ``work`` on every block, ``threads`` threads taking the next block in turn."""
    results: list[Result | None] = [None] * len(blocks)
    taken = itertools.count()  # next() on it is atomic: no block is taken twice

    def take_blocks() -> None:
        while len(blocks) > (index := next(taken)):
            results[index] = work(blocks[index])

    def help_take_blocks(settings: Any) -> None:  # np.geterr()'s dict
        with np.errstate(**settings):  # the caller's NumPy error settings
            take_blocks()

    settings = np.geterr()
    helpers = [_pool(threads - 1).submit(help_take_blocks, settings) for _ in range(threads - 1)]
    take_blocks()
    for helper in helpers:
        helper.result()  # waits for the block it holds, and raises its error if any
    return results  # type: ignore[return-value]  # every block has run


_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0


def _pool(size: int) -> ThreadPoolExecutor:
    """A pool of at least ``size`` threads, made on first use and kept."""
    global _POOL, _POOL_SIZE
    if _POOL is None or size > _POOL_SIZE:
        if _POOL is not None:
            _POOL.shutdown(wait=False)
        _POOL = ThreadPoolExecutor(max_workers=size, thread_name_prefix="flatprop")
        _POOL_SIZE = size
    return _POOL


def _forget_pool() -> None:
    """In a forked child the pool's threads are gone: make a new pool when needed."""
    global _POOL, _POOL_SIZE
    _POOL, _POOL_SIZE = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
