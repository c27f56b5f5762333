"""BLAS threads during training: one for small products, unless the user chose.

NumPy's matrix products run in a BLAS library (OpenBLAS in NumPy's wheels) that starts
a thread per core. For the small products of a minibatch step the threads cost more
than they save, and when other processes keep the cores busy they spin waiting for
each other: ``flatprop demo`` took 16-95 s on a busy 2-core machine and 2.3 s idle (the
README's "Threads" gives the measurements). So :meth:`flatprop.nets.Model.train` runs its steps
with one BLAS thread when they are small, through threadpoolctl (the well-kept library
scikit-learn uses for the same purpose).

The user decides where they have: if ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS``, ``BLIS_NUM_THREADS`` or ``VECLIB_MAXIMUM_THREADS`` is set, flatprop
leaves the threads alone. Without threadpoolctl installed (it is a dependency of
flatprop, but the core runs on NumPy alone), nothing is limited.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

__all__ = ["SMALL_PRODUCT", "USER_SETTINGS", "blas_threads_for"]

SMALL_PRODUCT = 2**24
"""Multiply-adds of a step's products below which one BLAS thread is used (the digits net
at batch 200 does about 3e6; a CIFAR-10-sized net, 3072 -> 100, about 6e7)."""

USER_SETTINGS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
"""Environment variables by which a user sets the BLAS threads: flatprop then keeps out."""

_controller: Any = None


def _threadpool_controller() -> Any:
    """Threadpoolctl's controller (made once: it inspects the loaded libraries), or None."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        _controller = ThreadpoolController()
    return _controller


@contextlib.contextmanager
def blas_threads_for(multiply_adds: int) -> Iterator[None]:
    """Run the block with one BLAS thread if its products are small.

    That is, fewer than :data:`SMALL_PRODUCT` multiply-adds, and the user set no thread
    count.
    """
    controller = None
    if multiply_adds < SMALL_PRODUCT and not any(os.environ.get(name) for name in USER_SETTINGS):
        controller = _threadpool_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
