"""BLAS threads in training: one for small steps, unless the user set a thread count
(flatprop._threads; issue 10, the demo under load)."""

from __future__ import annotations

import numpy as np
import pytest

from flatprop import _threads
from flatprop.nets import LinearClassifier
from helpers import hide, run_python


def blas_threads() -> list[int]:
    """The thread count of each BLAS library loaded (the test is skipped without
    threadpoolctl, which an environment of flatprop's tests may lack)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pools = threadpoolctl.threadpool_info()
    return [pool["num_threads"] for pool in pools if pool["user_api"] == "blas"]


@pytest.fixture
def no_user_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _threads.USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_user_setting")
def test_small_products_run_on_one_blas_thread_and_the_count_is_restored() -> None:
    before = blas_threads()
    with _threads.blas_threads_for(_threads.SMALL_PRODUCT - 1):
        assert set(blas_threads()) <= {1}
    assert blas_threads() == before


@pytest.mark.usefixtures("no_user_setting")
def test_large_products_keep_the_blas_threads() -> None:
    before = blas_threads()
    with _threads.blas_threads_for(_threads.SMALL_PRODUCT):
        assert blas_threads() == before


def test_a_thread_count_set_by_the_user_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    before = blas_threads()
    with _threads.blas_threads_for(1):
        assert blas_threads() == before


class _Recording(LinearClassifier):
    """A linear classifier that records the BLAS threads while its loss runs."""

    seen: list[list[int]]

    def loss(self, X, y=None, *, reg=0.0):  # type: ignore[no-untyped-def]
        self.seen.append(blas_threads())
        return super().loss(X, y, reg=reg)


@pytest.mark.usefixtures("no_user_setting")
def test_train_takes_its_steps_on_one_blas_thread() -> None:
    model = _Recording(4, 3, seed=0)
    model.seen = []
    X = np.random.default_rng(0).standard_normal((50, 4))
    model.train(X, np.arange(50) % 3, num_iters=3, batch_size=10, seed=0)
    assert len(model.seen) == 3
    assert all(set(threads) <= {1} for threads in model.seen)


def test_training_works_without_threadpoolctl() -> None:
    code = (
        hide("threadpoolctl")
        + "import numpy as np\n"
        + "from flatprop.nets import LinearClassifier\n"
        + "X = np.random.default_rng(0).standard_normal((50, 4))\n"
        + "history = LinearClassifier(4, 3, seed=0).train(X, np.arange(50) % 3, num_iters=5)\n"
        + "print(len(history['loss_history']))\n"
    )
    done = run_python("-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
