"""Run one function of a submitted file in a worker process, limited, as a proxy callable.

``IsolatedFunction("ana/linear_svm.py:svm_loss", timeout=10, memory=2048)`` is a
callable that a check calls like the function itself. On its first call it starts
the worker (:mod:`flatprop.grading._worker`): ``python -I -B -u``, in a new session,
in the submission's folder, with a small environment (one BLAS thread), its memory
and the size of every file it writes limited, its output going to a temporary file.
The worker imports the file; each call sends the arguments over a pipe and reads back
the result as plain data. Whatever goes wrong there comes back as a
:class:`~flatprop.testing._engine.CandidateError` that says what happened: an exception
(the check goes on, and shrinks the input), or the end of the worker: a timeout, a
crash, an exit, a flood of output, a thread left running, a failed import (the check
stops at once: that input is never run again). Closing the proxy kills the worker's
whole process group, and any process it started that left the group. Within
:func:`run_marked` every worker also carries the mark of a grading run, which
:func:`kill_run` kills by: the batch grader's way to end what the workers of a grading
process left when that process was killed before it could close them.

The checkers of :mod:`flatprop.testing` reach this module (lazily, the one place where
testing calls into grading) when they are given a target instead of a function.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from flatprop.grading import _worker
from flatprop.testing._engine import CandidateError
from flatprop.testing._report import Opaque

__all__ = [
    "DEFAULT_MEMORY",
    "DEFAULT_TIMEOUT",
    "MINIMUM_MEMORY",
    "OUTPUT_LIMIT",
    "IsolatedFunction",
    "kill_run",
    "parse_target",
    "run_marked",
]

DEFAULT_TIMEOUT = 10.0  # seconds per call, and for the import
DEFAULT_MEMORY = 2048  # MiB of address space per worker
MINIMUM_MEMORY = 256  # MiB: Python and NumPy alone take about 100
OUTPUT_LIMIT = 2**20  # bytes a worker may print (and the size of any file it writes)
TAIL_BYTES = 2_000  # of its output, shown when it dies
TAIL_LINES = 12
STOP_GRACE = 1.0  # seconds a worker has to exit when told to stop, before SIGKILL
TOKEN_VARIABLE = "FLATPROP_WORKER"  # marks every process a worker starts
RUN_VARIABLE = "FLATPROP_GRADING_RUN"  # marks every process of the workers of one run
# The mark of the grading run that workers started here belong to (see run_marked).
_RUN_MARK: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "flatprop_grading_run", default=None
)
_RELATIVE = (
    "A relative target is relative to the current working directory, {cwd}, as open() is, "
    "not to the file that names it: run from the folder it is relative to, or give a path "
    "from here (e.g. built from the test file's __file__)."
)
_TARGET = re.compile(r"^(?P<path>.+\.py):(?P<function>[A-Za-z_][A-Za-z0-9_]*(?:\.loss)?)$")
_SIGNAL_NOTES: dict[int, str] = {
    signal.SIGSEGV: "A segmentation fault: memory read or written where it must not be "
    "(by C code, or through ctypes).",
    signal.SIGBUS: "A bus error: memory read or written where it must not be.",
    signal.SIGABRT: "An abort, from a failed check in C code.",
    signal.SIGFPE: "An arithmetic error in C code.",
    signal.SIGKILL: "Killed from outside: often the system running out of memory.",
}
_THREADS = {  # one thread per worker: the memory limit and the machine's cores hold
    name: "1"
    for name in (
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "BLIS_NUM_THREADS",
    )
}


def parse_target(target: str) -> tuple[Path, str]:
    """The file and the function of a target ``"path/to/file.py:function"``.

    The function may be ``Class.loss``: a class-based two-layer net (see
    :func:`flatprop.testing.net_loss`).

    Raises
    ------
    TypeError
        If the target is not a string.
    ValueError
        If it is not a path to a ``.py`` file, a colon and a function's name.
    """
    if not isinstance(target, str):
        raise TypeError(f"a target must be a str 'path/to/file.py:function', got {target!r}")
    match = _TARGET.match(target)
    if match is None:
        raise ValueError(
            f"a target must be 'path/to/file.py:function' (a .py file, a colon and the name "
            f"of a function in it), got {target!r}"
        )
    return Path(match["path"]), match["function"]


def _as_positive(value: float, name: str, *, integer: bool = False) -> float:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not np.isfinite(value):
        wanted = "a whole number" if integer else "a number"
        raise TypeError(f"{name} must be {wanted} > 0, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


class _TimeoutError(Exception):
    """No answer in time."""


class _GoneError(Exception):
    """The worker closed its end of the pipe: its process ended, or is ending."""


class _GarbledError(Exception):
    """The worker sent something that is not a well-formed reply."""


class IsolatedFunction:
    """A function of a submitted file, called in a worker process of its own.

    Parameters
    ----------
    target : str
        ``"path/to/file.py:function"``; the path is relative to the current folder
        (or absolute).
    timeout : float > 0, default 10
        Seconds each call, and the import of the file, may take. After that the worker
        is killed and the call fails.
    memory : int > 0, default 2048
        MiB of address space of the worker (``RLIMIT_AS``).
    call : tuple of str, optional
        How the worker calls into the file (see :mod:`flatprop.testing._calls`):
        ``("function", name)``, the default; ``("net", class)``, for a target
        ``file.py:Class.loss``; ``("pair", forward, backward)``, a CS231n layer pair run
        as one call, forward then backward, so that its cache never leaves the worker.

    Notes
    -----
    Calls raise :class:`flatprop.testing._engine.CandidateError`; use it as a context
    manager (or call :meth:`close`) so that the worker is stopped.
    """

    def __init__(
        self,
        target: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory: int = DEFAULT_MEMORY,
        call: tuple[str, ...] | None = None,
    ):
        self.path, self.function = parse_target(target)
        if call is None:
            net = self.function.removesuffix(".loss")
            call = ("net", net) if net != self.function else ("function", self.function)
        self.call = call
        self.timeout = _as_positive(timeout, "timeout")
        self.memory = int(_as_positive(memory, "memory", integer=True))
        if self.memory < MINIMUM_MEMORY:
            raise ValueError(
                f"memory must be at least {MINIMUM_MEMORY} MiB (Python and NumPy alone take "
                f"about 100), got {memory!r}"
            )
        self.__name__ = self.__qualname__ = self.function
        self._process: subprocess.Popen[bytes] | None = None
        self._requests = self._replies = -1
        self._output: IO[bytes] | None = None
        self._token = ""

    def __repr__(self) -> str:
        return f"IsolatedFunction('{self.path}:{self.function}')"

    def __enter__(self) -> IsolatedFunction:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Calls

    def __call__(self, *arguments: Any) -> Any:
        if self._process is None:
            self._start()
        deadline = time.monotonic() + self.timeout
        try:
            self._write(_worker.encode(["call", list(arguments)]), deadline)
            reply = self._read(deadline)
        except _TimeoutError:
            self._kill()
            raise CandidateError(
                f"timed out on this input: no answer within {self.timeout:g} s",
                self._with_tail(
                    [
                        "The worker running it was killed; the input is not run again. An "
                        "endless loop, or a computation far slower than it needs to be?"
                    ]
                ),
                kind="timeout",
                final=True,
            ) from None
        except _GoneError:
            raise self._ended("on this input") from None
        except _GarbledError as garbled:
            self._kill()
            raise CandidateError(
                f"sent back something that is not plain data ({garbled})",
                ["Only numbers, numeric arrays and lists, tuples and dicts of them come back."],
                kind="protocol",
                final=True,
            ) from None
        if reply[0] == "raised":
            _, type_name, message, where, threads = _shaped(reply, str, str, list, list)
            self._no_threads(threads)
            details = [str(line) for line in where]
            if type_name == "MemoryError":
                details.append(f"Its memory is limited to {self.memory} MiB.")
            raise CandidateError(f"raised {type_name}: {message}", details)
        if reply[0] == "unsendable":
            raise CandidateError(
                f"returned something too large to send back ({_shaped(reply, str)[1]})",
                ["A loss and its gradient are small: what else is in what it returned?"],
                kind="return",
            )
        _, result, changed, threads = _shaped(reply, object, dict, list)
        self._no_threads(threads)
        for position, value in changed.items():
            if type(position) is not int or not 0 <= position < len(arguments):
                self._kill()
                raise CandidateError(
                    "sent back something that is not plain data (a change to no argument)",
                    kind="protocol",
                    final=True,
                )
            _write_back(arguments[position], value)
        return result

    def close(self) -> None:
        """Stop the worker: told to stop, then its process group killed; files closed."""
        if self._process is None:
            return
        try:
            self._write(_worker.encode(["stop"]), time.monotonic() + 0.1)
            self._process.wait(STOP_GRACE)
        except (_TimeoutError, _GoneError, subprocess.TimeoutExpired, OSError):
            pass
        self._kill()

    # The worker's life

    def _start(self) -> None:
        path = self.path.resolve()
        if not path.is_file():
            relative = [] if self.path.is_absolute() else [_RELATIVE.format(cwd=Path.cwd())]
            raise CandidateError(
                f"cannot be run: there is no file {path}",
                relative,
                kind="missing",
                final=True,
                about_input=False,
            )
        requests_read, requests_write = os.pipe()
        replies_read, replies_write = os.pipe()
        self._token = secrets.token_hex(16)
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _kill
        environment = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": os.environ.get("HOME", str(path.parent)),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "MPLBACKEND": "Agg",
            **_THREADS,
            TOKEN_VARIABLE: self._token,
        }
        run = _RUN_MARK.get()
        if run is not None:
            environment[RUN_VARIABLE] = run
        if "TMPDIR" in os.environ:
            environment["TMPDIR"] = os.environ["TMPDIR"]
        command = [sys.executable, "-I", "-B", "-u", _worker.__file__, str(os.getpid())]
        command += [str(requests_read), str(replies_write), str(self.memory), str(OUTPUT_LIMIT)]
        command += [str(path), *self.call]
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                pass_fds=(requests_read, replies_write),
                cwd=path.parent,
                env=environment,
                start_new_session=True,
            )
        finally:
            os.close(requests_read)
            os.close(replies_write)
        self._requests, self._replies = requests_write, replies_read
        os.set_blocking(self._requests, False)
        try:
            reply = self._read(time.monotonic() + self.timeout)
        except _GarbledError:
            reply = ["?"]
        except _TimeoutError:
            self._kill()
            raise CandidateError(
                f"could not be imported: {self.path.name} did not finish importing within "
                f"{self.timeout:g} s",
                self._with_tail(["Does it run something long (or loop forever) at the top level?"]),
                kind="timeout",
                final=True,
                about_input=False,
            ) from None
        except _GoneError:
            raise self._ended("while its file was imported", about_input=False) from None
        if reply[0] == "import-failed":
            _, type_name, message, where, _detail = _shaped(reply, str, str, list, str)
            self._kill()
            raise CandidateError(
                f"could not be imported: {self.path.name} raised {type_name}: {message}",
                self._with_tail([str(line) for line in where]),
                kind="import",
                final=True,
                about_input=False,
            )
        if reply[0] == "missing":
            self._kill()
            raise CandidateError(
                f"cannot be run: {_shaped(reply, str)[1]}",
                kind="missing",
                final=True,
                about_input=False,
            )
        if reply[0] != "ready":
            self._kill()
            raise CandidateError(
                "could not be imported: the worker sent back something that is not a reply",
                kind="protocol",
                final=True,
                about_input=False,
            )
        self._no_threads(_shaped(reply, list)[1], when="once its file was imported")

    def _no_threads(self, threads: list[str], when: str = "after the call") -> None:
        if threads:
            self._kill()
            raise CandidateError(
                f"left {'a thread' if len(threads) == 1 else 'threads'} running {when} "
                f"({', '.join(map(str, threads))})",
                [
                    "A thread that is not a daemon keeps a program alive after its work is "
                    "done: join it before returning, or do without it."
                ],
                kind="thread",
                final=True,
                about_input=when == "after the call",
            )

    def _ended(self, when: str, *, about_input: bool = True) -> CandidateError:
        """The failure of a worker that stopped answering: how its process ended."""
        assert self._process is not None
        try:
            status: int | None = self._process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:  # it closed its end of the pipe and went on
            status = None
        self._kill()
        if status is None:
            kind, what = "crash", f"stopped answering {when}"
            details = ["It closed the worker's connection to the grader."]
        elif status < 0 and -status == signal.SIGXFSZ:
            kind, what = "output", f"printed more than {OUTPUT_LIMIT // 2**20} MiB {when}"
            details = [
                f"What a submission prints (stdout and stderr together), and any file it "
                f"writes, is limited to {OUTPUT_LIMIT // 2**20} MiB; its process was stopped."
            ]
        elif status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = "an unknown signal"
            kind, what = "crash", f"crashed {when}: its process was killed by signal {-status}"
            what += f" ({name})"
            details = [_SIGNAL_NOTES[-status]] if -status in _SIGNAL_NOTES else []
        else:
            kind, what = "exit", f"ended its process {when}, with exit status {status}"
            details = [
                "os._exit() (or exit() in C code) ends the process at once: a function must "
                "return its result."
            ]
        return CandidateError(
            what, self._with_tail(details), kind=kind, final=True, about_input=about_input
        )

    def _kill(self) -> None:
        """Kill the worker's process group and whatever it started outside it; close files."""
        process, self._process = self._process, None
        for fd in (self._requests, self._replies):
            if fd >= 0:
                os.close(fd)
        self._requests = self._replies = -1
        if process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            _kill_marked(TOKEN_VARIABLE, self._token)
        self._tail_text = self._read_tail()
        if self._output is not None:
            self._output.close()
            self._output = None

    # Pipes

    def _write(self, message: bytes, deadline: float) -> None:
        view = memoryview(message)
        with selectors.DefaultSelector() as selector:
            selector.register(self._requests, selectors.EVENT_WRITE)
            while view:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _TimeoutError
                if not selector.select(remaining):
                    continue
                try:
                    written = os.write(self._requests, view)
                except BlockingIOError:
                    continue
                except (BrokenPipeError, OSError):
                    raise _GoneError from None
                view = view[written:]

    def _read(self, deadline: float) -> Any:
        header = self._read_exactly(_worker.FRAME.size, deadline)
        (length,) = _worker.FRAME.unpack(header)
        if length > _worker.MAX_MESSAGE_BYTES:
            raise _GarbledError(f"a reply of {length} bytes")
        body = self._read_exactly(length, deadline)
        try:
            reply = _worker.decode(body, Opaque)
        except _worker.WireError as error:
            raise _GarbledError(str(error)) from None
        if not isinstance(reply, list) or not reply or not isinstance(reply[0], str):
            raise _GarbledError("a reply of no known kind")
        return reply

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        needed = size
        with selectors.DefaultSelector() as selector:
            selector.register(self._replies, selectors.EVENT_READ)
            while needed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _TimeoutError
                if not selector.select(remaining):
                    continue
                chunk = os.read(self._replies, min(needed, 2**20))
                if not chunk:
                    raise _GoneError
                chunks.append(chunk)
                needed -= len(chunk)
        return b"".join(chunks)

    # What it printed

    _tail_text = ""

    def _read_tail(self) -> str:
        if self._output is None:
            return ""
        try:
            size = self._output.seek(0, os.SEEK_END)
            self._output.seek(max(0, size - TAIL_BYTES))
            return self._output.read().decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return ""

    def _with_tail(self, details: list[str]) -> list[str]:
        """The details of a worker's end, then the last lines it printed, if any."""
        text = self._tail_text if self._output is None else self._read_tail()
        lines = [line[:200] for line in text.splitlines()[-TAIL_LINES:]]
        if not lines:
            return details
        tail = ["The end of what it printed:", *(f"| {line}" for line in lines)]
        return [*details, "", *tail] if details else tail


def _shaped(reply: list[Any], *types: type) -> list[Any]:
    """A reply whose items after its kind are of these types; else the worker garbled it."""
    if len(reply) != len(types) + 1 or not all(
        isinstance(item, kind) for item, kind in zip(reply[1:], types, strict=True)
    ):
        raise CandidateError(
            f"sent back something that is not a well-formed {reply[0]!r} reply",
            kind="protocol",
            final=True,
        )
    return reply


def _write_back(argument: Any, value: Any) -> None:
    """Do in the grader what the call did to an argument in the worker."""
    if isinstance(argument, dict) and isinstance(value, dict):
        argument.clear()
        argument.update(value)
    elif (
        isinstance(argument, np.ndarray)
        and isinstance(value, np.ndarray)
        and value.shape == argument.shape
        and value.dtype == argument.dtype
    ):
        np.copyto(argument, value)
    else:
        raise CandidateError(
            "wrote into one of its inputs: it changed its type, shape or dtype",
            ["A loss function must not modify its arguments: compute into new arrays."],
            kind="mutation",
        )


@contextlib.contextmanager
def run_marked(mark: str | None) -> Iterator[None]:
    """Within it, every worker started in this thread carries ``mark`` (None: no mark).

    So does every process a worker starts (its environment is inherited): after the
    run, :func:`kill_run` ends them all, even those of a worker whose grading process
    was killed before it could stop the worker itself.
    """
    token = _RUN_MARK.set(mark)
    try:
        yield
    finally:
        _RUN_MARK.reset(token)


def kill_run(mark: str) -> None:
    """Kill every process that carries the mark of a grading run (see :func:`run_marked`).

    Linux only (``/proc``); elsewhere, nothing.
    """
    _kill_marked(RUN_VARIABLE, mark)


def _kill_marked(variable: str, value: str) -> None:
    """Kill the processes whose environment has ``variable=value``.

    A worker's children inherit its environment; one that started a new session
    escapes ``killpg`` but not this (unless it also cleared its environment: the
    threat model says so). Linux only (``/proc``); elsewhere, nothing.
    """
    mark = f"{variable}={value}".encode()
    for _ in range(5):  # a marked process may start another while this looks
        found = False
        try:
            entries = os.listdir("/proc")
        except OSError:
            return
        for entry in entries:
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as environ:
                    if mark not in environ.read().split(b"\0"):
                        continue
                os.kill(int(entry), signal.SIGKILL)
                found = True
            except (OSError, ValueError):
                continue
        if not found:
            return
