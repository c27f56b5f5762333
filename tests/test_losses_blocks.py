"""Large inputs: blocks of rows, the threads that share them, and the fast path.

A loss cuts an input of more than one block (flatprop.losses._blocks.BLOCK_ENTRIES
entries) into blocks of rows and may share them among threads; a small default call
takes a fast path. Neither may change a result: the expected values here are the same
loss computed on small pieces (each row's loss and gradient depend on that row alone),
and the same call on one thread.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop.losses import LOSSES, LossSpec
from flatprop.losses._blocks import BLOCK_ENTRIES, THREADED_ENTRIES, num_threads, row_blocks
from helpers import EPS, REORDERED_RTOL, ROUNDINGS_ALLOWED, assert_close

SPECS = list(LOSSES.values())

# Shapes of several blocks and of more than THREADED_ENTRIES entries: narrow and wide rows.
LARGE_SHAPES = [(30001, 10), (300, 1000)]


def each_loss(test: Any) -> Any:
    return pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])(test)


def large_call(spec: LossSpec, shape: tuple[int, int]) -> tuple[Any, ...]:
    """Seeded inputs of ``shape`` (scores or predictions, and labels or targets)."""
    rng = np.random.default_rng(231)
    x = rng.normal(scale=3.0, size=shape)
    second = rng.integers(0, shape[1], shape[0]) if spec.classification else rng.normal(size=shape)
    return x, second


def test_the_large_shapes_cover_several_blocks_and_the_threaded_size() -> None:
    for rows, columns in LARGE_SHAPES:
        assert len(row_blocks(rows, columns)) > 2
        assert rows * columns >= THREADED_ENTRIES


@each_loss
@pytest.mark.parametrize("shape", LARGE_SHAPES, ids=lambda shape: "x".join(map(str, shape)))
@pytest.mark.parametrize("options", [{}, {"weighted": True}], ids=["default", "weighted"])
def test_a_large_call_gives_each_row_what_a_call_on_that_row_alone_gives(
    spec: LossSpec, shape: tuple[int, int], options: dict[str, Any]
) -> None:
    x, second = large_call(spec, shape)
    extra: dict[str, Any] = {}
    if options:
        extra["sample_weight"] = np.random.default_rng(5).uniform(0.0, 2.0, shape[0])
    per_example, grads = spec.function(x, second, reduction="none", **extra)
    mean, mean_grads = spec.function(x, second, **extra)
    rows = np.random.default_rng(7).choice(shape[0], size=20, replace=False)
    key = spec.input_name
    for i in rows:
        piece: dict[str, Any] = {key: x[i : i + 1]}
        if "sample_weight" in extra:
            piece["sample_weight"] = extra["sample_weight"][i : i + 1]
        alone, alone_grads = spec.function(
            piece.pop(key), second[i : i + 1], reduction="none", **piece
        )
        assert_close(per_example[i], alone[0], rtol=REORDERED_RTOL, what=f"loss of row {i}")
        assert_close(grads[key][i], alone_grads[key][0], rtol=REORDERED_RTOL, what=f"row {i}")
    total = extra.get("sample_weight", np.ones(shape[0])).sum()
    assert_close(mean, per_example.sum() / total, rtol=REORDERED_RTOL, what="mean")
    assert_close(mean_grads[key], grads[key] / total, rtol=REORDERED_RTOL, what="mean's gradient")


@each_loss
@pytest.mark.parametrize("shape", LARGE_SHAPES, ids=lambda shape: "x".join(map(str, shape)))
def test_the_number_of_threads_changes_no_bit_of_the_result(
    spec: LossSpec, shape: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    x, second = large_call(spec, shape)
    results = []
    for threads in ("1", "3"):
        monkeypatch.setenv("FLATPROP_NUM_THREADS", threads)
        loss, grads = spec.function(x, second)
        staged_loss, cache = spec.forward(x, second, reduction="none")
        staged_grads = spec.backward(cache, np.full(shape[0], 0.5))
        results.append((loss, grads[spec.input_name], staged_loss, staged_grads[spec.input_name]))
    for one, several in zip(*results, strict=True):
        np.testing.assert_array_equal(one, several)


@each_loss
def test_a_large_staged_pass_agrees_with_the_one_shot_call(spec: LossSpec) -> None:
    x, second = large_call(spec, LARGE_SHAPES[0])
    loss, grads = spec.function(x, second, reduction="sum")
    staged_loss, cache = spec.forward(x, second, reduction="sum")
    staged_grads = spec.backward(cache)
    assert_close(staged_loss, loss, rtol=ROUNDINGS_ALLOWED * EPS)
    key = spec.input_name
    assert_close(staged_grads[key], grads[key], rtol=ROUNDINGS_ALLOWED * EPS)


@each_loss
@pytest.mark.parametrize("where", ["first block", "last block"])
def test_a_nan_in_any_block_of_a_large_input_is_found_with_its_index(
    spec: LossSpec, where: str
) -> None:
    x, second = large_call(spec, LARGE_SHAPES[0])
    row = 3 if where == "first block" else x.shape[0] - 2
    x[row, 4] = np.nan
    with pytest.raises(ValueError, match=rf"{spec.input_name} must be finite.*index \({row}, 4\)"):
        spec.function(x, second)
    with pytest.raises(ValueError, match=rf"{spec.input_name} must be finite.*index \({row}, 4\)"):
        spec.forward(x, second, sample_weight=np.ones(x.shape[0]))


def test_an_overflowing_example_of_weight_zero_in_a_large_threaded_call_warns_of_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pytest turns warnings into errors: the pool's threads keep the caller's settings
    monkeypatch.setenv("FLATPROP_NUM_THREADS", "2")
    x, y = large_call(LOSSES["multiclass_svm"], LARGE_SHAPES[0])
    x[-1] = [1e308, -1e308] * 5
    weights = np.ones(x.shape[0])
    weights[-1] = 0.0
    loss, grads = LOSSES["multiclass_svm"].function(x, y, sample_weight=weights)
    expected, expected_grads = LOSSES["multiclass_svm"].function(x[:-1], y[:-1])
    assert_close(loss, expected, rtol=REORDERED_RTOL)
    assert_close(grads["scores"][:-1], expected_grads["scores"], rtol=REORDERED_RTOL)
    np.testing.assert_array_equal(grads["scores"][-1], 0.0)


@each_loss
@given(data=st.data())
def test_the_fast_path_of_the_default_call_is_the_general_path(
    spec: LossSpec, data: st.DataObject
) -> None:
    # The default call of a small input takes the fast path; the same call with
    # sample weights of 1 (the same loss) takes the general one.
    rows = data.draw(st.integers(1, 40), label="rows")
    columns = data.draw(st.integers(1, 12), label="columns")
    values = st.floats(-1e6, 1e6, allow_subnormal=False)
    x = np.array(data.draw(st.lists(values, min_size=rows * columns, max_size=rows * columns)))
    x = x.reshape(rows, columns)
    if spec.classification:
        second = np.array(
            data.draw(st.lists(st.integers(0, columns - 1), min_size=rows, max_size=rows))
        )
    else:
        second = data.draw(st.none() | st.just(x[::-1].copy()), label="target")
    loss, grads = spec.function(x, second)
    general_loss, general_grads = spec.function(x, second, sample_weight=np.ones(rows))
    key = spec.input_name
    assert_close(loss, general_loss, rtol=ROUNDINGS_ALLOWED * EPS, what="loss")
    assert_close(grads[key], general_grads[key], rtol=ROUNDINGS_ALLOWED * EPS, what=f"d{key}")


@pytest.fixture
def four_cpus_and_no_thread_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine of 4 usable CPUs, and no thread variable set."""
    for name in ("FLATPROP_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)


@pytest.mark.usefixtures("four_cpus_and_no_thread_variables")
def test_the_thread_count_follows_flatprop_then_the_blas_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 1.0, 1.0))  # just this process
    assert num_threads() == 4
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "2,1")  # nested levels: the first counts
    assert num_threads() == 2
    monkeypatch.setenv("FLATPROP_NUM_THREADS", "5")
    assert num_threads() == 5
    monkeypatch.setenv("FLATPROP_NUM_THREADS", "0")
    with pytest.raises(
        ValueError, match="FLATPROP_NUM_THREADS must be a positive integer, got '0'"
    ):
        num_threads()


def _large_loss_in_a_child() -> float:
    x, y = large_call(LOSSES["softmax_cross_entropy"], LARGE_SHAPES[0])
    return float(LOSSES["softmax_cross_entropy"].function(x, y)[0])


@pytest.mark.skipif(sys.platform != "linux", reason="fork is the start method on Linux")
def test_a_forked_child_makes_its_own_pool_of_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLATPROP_NUM_THREADS", "2")
    expected = _large_loss_in_a_child()  # the parent's pool now exists
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_large_loss_in_a_child) == expected


def test_a_block_holds_about_block_entries() -> None:
    blocks = row_blocks(100_000, 10)
    assert all(block.stop - block.start == BLOCK_ENTRIES // 10 for block in blocks[:-1])
    assert blocks[-1].stop == 100_000
    assert row_blocks(3, BLOCK_ENTRIES * 2) == [slice(0, 1), slice(1, 2), slice(2, 3)]


@pytest.mark.usefixtures("four_cpus_and_no_thread_variables")
def test_threads_are_limited_to_the_cores_the_load_average_says_are_idle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for load, expected in ((1.0, 4), (0.2, 4), (2.6, 2), (3.9, 1), (12.0, 1)):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert num_threads() == expected, load
    monkeypatch.setenv("FLATPROP_NUM_THREADS", "3")  # asked for: as many as that
    assert num_threads() == 3
