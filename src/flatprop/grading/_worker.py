"""The worker: the process that imports one submitted file and calls one of its functions.

Or an adapter around its names (a class-based net, a layer pair: flatprop's
``testing/_calls.py``, loaded by its path, as this file needs nothing of flatprop).

The grader runs this file as a script, ``python -I -B -u _worker.py ...``, in a new
session (see :mod:`flatprop.grading._runner`); the submission's code runs only there.
The grader imports it as a module for the wire format alone, so it needs nothing but
the standard library and NumPy, and importing it does nothing.

The wire
--------
Two pipes of their own (never stdout, which the submission may print to): requests
from the grader, replies from the worker. A message is a frame: its length (8 bytes,
little-endian), then a JSON header (4 bytes of length, then UTF-8) and the raw bytes
of its arrays. The header holds a tree of plain data: JSON's null, booleans, numbers
(NaN and infinities included) and strings, and objects of one key for the rest:
``{"l": [...]}`` a list, ``{"t": [...]}`` a tuple, ``{"d": [[key, value], ...]}`` a dict,
``{"a": [dtype, shape]}`` the next array of the bytes, ``{"o": [type, repr]}`` an object
that is not plain data, as its description. Decoding checks every part (a dtype of a
fixed list of numeric ones, a shape that matches the bytes, sizes within bounds) and
never unpickles: what a submission sends back can only be data.

Requests: ``["call", [arguments...]]`` and ``["stop"]``. Replies: ``["ready", threads]``
once the file is imported; ``["import-failed", type, message, where, traceback]``;
``["missing", detail]`` when the file has no such function; then, per call,
``["returned", result, changed, threads]`` or ``["raised", type, message, where,
threads]``. ``changed`` maps the position of each argument the call wrote into to its
value after the call; ``threads`` names the non-daemon threads left running.
"""

from __future__ import annotations

import copy
import ctypes
import importlib.util
import json
import os
import resource
import signal
import struct
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

FRAME = struct.Struct("<Q")  # the length of a message
HEADER = struct.Struct("<I")  # the length of its JSON header
MAX_MESSAGE_BYTES = 64 * 2**20  # a reply larger than this is refused unread
MAX_ARRAY_BYTES = 16 * 2**20  # the arrays of one message, together
MAX_DEPTH = 8  # of nested lists, tuples and dicts
MAX_ITEMS = 10_000  # in one list, tuple or dict
MAX_TEXT = 2_000  # characters of a string or a description
DTYPES = frozenset(
    np.dtype(f"{order}{kind}{size}").str
    for order in "<>"
    for kind, sizes in (("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8)), ("f", (2, 4, 8)), ("c", (8, 16)))
    for size in sizes
) | {np.dtype(np.bool_).str}

__all__ = ["MAX_ARRAY_BYTES", "MAX_MESSAGE_BYTES", "WireError", "decode", "encode", "main"]


class WireError(ValueError):
    """A message that is not well-formed plain data, or too large to send."""


# Encoding: plain data to bytes


class _Encoder:
    def __init__(self) -> None:
        self.arrays: list[bytes] = []
        self.array_bytes = 0

    def node(self, value: Any, depth: int = 0) -> Any:
        """The JSON node of a value; anything but plain data becomes its description."""
        if value is None or isinstance(value, bool):
            return value
        if type(value) is int or type(value) is float:
            return value if type(value) is float or abs(value) < 2**63 else float(value)
        if type(value) is str:
            return value[:MAX_TEXT]
        if depth < MAX_DEPTH and isinstance(value, tuple | list) and len(value) <= MAX_ITEMS:
            tag = "t" if isinstance(value, tuple) else "l"
            return {tag: [self.node(item, depth + 1) for item in value]}
        if depth < MAX_DEPTH and isinstance(value, Mapping) and len(value) <= MAX_ITEMS:
            return {
                "d": [
                    [self.node(key, MAX_DEPTH), self.node(value[key], depth + 1)] for key in value
                ]
            }
        try:
            array = np.asarray(value)  # a submission's __array__ runs here, in the worker
        except (ValueError, TypeError):  # ragged sequences, odd objects: as in-process
            return {"o": list(describe(value))}
        if array.dtype.kind in "biufc":
            return self.array(array)
        return {"o": list(describe(value))}

    def array(self, array: np.ndarray) -> Any:
        """The node of a numeric array; its bytes, little-endian, go after the header."""
        dtype = array.dtype.newbyteorder("<") if array.dtype.kind != "b" else np.dtype("|b1")
        if dtype.str not in DTYPES:  # long double and its complex: the nearest sent dtype
            dtype = np.dtype("<f8" if array.dtype.kind == "f" else "<c16")
        self.array_bytes += array.size * dtype.itemsize
        if self.array_bytes > MAX_ARRAY_BYTES:
            raise WireError(f"more than {MAX_ARRAY_BYTES // 2**20} MiB of arrays")
        self.arrays.append(np.ascontiguousarray(array, dtype=dtype).tobytes())
        return {"a": [dtype.str, list(array.shape)]}


def describe(value: Any) -> tuple[str, str]:
    """A value's type name and repr, shortened: how something not plain is sent."""
    try:
        text = repr(value)
    except Exception:
        text = "(its repr failed)"
    if len(text) > 200:
        text = text[:197] + "..."
    return type(value).__name__, text


def encode(value: Any) -> bytes:
    """A message: the frame of a value (see the module's notes).

    Raises
    ------
    WireError
        If the arrays in it are larger than :data:`MAX_ARRAY_BYTES` together.
    """
    encoder = _Encoder()
    header = json.dumps(encoder.node(value), allow_nan=True, separators=(",", ":")).encode()
    body = HEADER.pack(len(header)) + header + b"".join(encoder.arrays)
    return FRAME.pack(len(body)) + body


# Decoding: bytes to plain data, checked


def decode(body: bytes, opaque: Callable[[str, str], Any] | None = None) -> Any:
    """The value of a message's body (without its length), checked part by part.

    Parameters
    ----------
    body : bytes
    opaque : callable, optional
        ``opaque(type_name, text)`` makes what stands for an object that was not plain
        data; without it, such an object is an error.

    Raises
    ------
    WireError
        For anything malformed: nothing in the message is trusted.
    """
    if len(body) < HEADER.size:
        raise WireError("a message shorter than its header")
    (length,) = HEADER.unpack_from(body)
    if HEADER.size + length > len(body):
        raise WireError("a header longer than its message")
    try:
        tree = json.loads(body[HEADER.size : HEADER.size + length].decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise WireError(f"a header that is not JSON: {error}") from None
    decoder = _Decoder(memoryview(body)[HEADER.size + length :], opaque)
    value = decoder.value(tree, 0)
    if decoder.offset != len(decoder.data):
        raise WireError("bytes left over after the arrays")
    return value


class _Decoder:
    def __init__(self, data: memoryview, opaque: Callable[[str, str], Any] | None):
        self.data = data
        self.offset = 0
        self.opaque = opaque

    def value(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH + 1:
            raise WireError("nested too deeply")
        if node is None or isinstance(node, bool | int | float):
            return node
        if isinstance(node, str):
            return node[:MAX_TEXT]
        if not isinstance(node, dict) or len(node) != 1:
            raise WireError(f"an unknown node {str(node)[:50]!r}")
        ((tag, content),) = node.items()
        if tag in ("l", "t") and isinstance(content, list) and len(content) <= MAX_ITEMS:
            items = [self.value(item, depth + 1) for item in content]
            return items if tag == "l" else tuple(items)
        if tag == "d" and isinstance(content, list) and len(content) <= MAX_ITEMS:
            pairs = [self._pair(pair, depth) for pair in content]
            return dict(pairs)
        if tag == "a":
            return self._array(content)
        if tag == "o" and self.opaque is not None and _strings(content, 2):
            return self.opaque(content[0][:MAX_TEXT], content[1][:MAX_TEXT])
        raise WireError(f"an unknown node {str(node)[:50]!r}")

    def _pair(self, pair: Any, depth: int) -> tuple[Any, Any]:
        if not isinstance(pair, list) or len(pair) != 2:
            raise WireError("a dict entry that is not a pair")
        key = self.value(pair[0], depth + 1)
        try:
            hash(key)
        except TypeError:
            raise WireError("a dict key that cannot be a key") from None
        return key, self.value(pair[1], depth + 1)

    def _array(self, content: Any) -> np.ndarray:
        if not (
            isinstance(content, list)
            and len(content) == 2
            and content[0] in DTYPES
            and isinstance(content[1], list)
            and len(content[1]) <= 32
            and all(type(n) is int and 0 <= n < 2**40 for n in content[1])
        ):
            raise WireError(f"an array that is not a numeric one: {str(content)[:80]}")
        dtype = np.dtype(content[0])
        shape = tuple(content[1])
        size = dtype.itemsize
        for length in shape:  # Python's integers: no overflow
            size *= length
        if size > MAX_ARRAY_BYTES or self.offset + size > len(self.data):
            raise WireError("an array larger than the bytes sent")
        data = self.data[self.offset : self.offset + size]
        self.offset += size
        return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _strings(content: Any, count: int) -> bool:
    return (
        isinstance(content, list)
        and len(content) == count
        and all(isinstance(item, str) for item in content)
    )


# The worker's side


def _limit(memory_mib: int, output_bytes: int) -> None:
    """Limits of the worker and of everything it starts: memory, files, no core dumps.

    Each as far as the system allows (macOS does not enforce ``RLIMIT_AS``).
    """
    memory = memory_mib * 2**20
    for limit, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, output_bytes),
    ):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # pragma: no cover - depends on the system
            continue
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it: past the limit, stop


def _die_with(grader: int) -> None:
    """Be killed when the grader's process ends, however it ends (Linux; elsewhere not).

    Without this a worker busy in an endless loop would outlive a grader killed by a
    signal. (The submission could undo it; the grader kills its process group anyway.)
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != grader:  # it ended before prctl took effect
        os._exit(0)


def _send(stream: Any, value: Any) -> None:
    try:
        message = encode(value)
    except WireError as error:  # what it returned is too large to send
        message = encode(["unsendable", str(error)])
    stream.write(message)


def _receive(stream: Any) -> Any:
    header = stream.read(FRAME.size)
    if len(header) < FRAME.size:
        os._exit(0)  # the grader is gone
    (length,) = FRAME.unpack(header)
    return decode(stream.read(length))


def _threads_left() -> list[str]:
    """The non-daemon threads still running besides this one: they would keep a process alive."""
    main = threading.main_thread()
    return [
        t.name for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()
    ]


def _where(error: BaseException, folder: str) -> list[str]:
    """Where the error was raised: the innermost line in the submission's folder, if any.

    Paths in it are relative to the folder (the student's own names for their files).
    A syntax error is shown where it is, as Python's traceback shows it: its file and
    line, the line, and a caret under the place (after the line that imported that file,
    if the submission's own code did).
    """
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)]
    frames = [frame for frame in frames if os.path.abspath(frame.filename) != __file__]
    own = [frame for frame in frames if _inside(frame.filename, folder)]
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return [*(_frame_lines(own[-1], folder) if own else []), *_syntax_lines(error, folder)]
    numpy_folder = os.path.dirname(np.__file__) + os.sep
    outside = [frame for frame in frames if not frame.filename.startswith(numpy_folder)]
    candidates = own or outside or frames
    return _frame_lines(candidates[-1], folder) if candidates else []


def _inside(path: str, folder: str) -> bool:
    """Whether a file is in the folder (not ``<frozen importlib._bootstrap>``, ``<string>``)."""
    return not path.startswith("<") and os.path.abspath(path).startswith(folder + os.sep)


def _shown_path(path: str, folder: str) -> str:
    """A file's path as the student knows it: relative to the submission's folder."""
    return os.path.relpath(os.path.abspath(path), folder) if _inside(path, folder) else path


def _frame_lines(frame: traceback.FrameSummary, folder: str) -> list[str]:
    where = f"at line {frame.lineno} of {_shown_path(frame.filename, folder)}, in {frame.name}:"
    return [where, f"    {frame.line.strip()}"] if frame.line else [where]


SOURCE_WIDTH = 80  # characters of a source line shown under a syntax error


def _syntax_lines(error: SyntaxError, folder: str) -> list[str]:
    """The file and line of a syntax error, the line, and carets under the place."""
    assert error.filename is not None
    lines = [f"at line {error.lineno} of {_shown_path(error.filename, folder)}:"]
    text = (error.text or "").rstrip()
    source = text.lstrip()
    if not source:
        return lines
    if not error.offset or error.offset < 1:
        return [*lines, f"    {source[:SOURCE_WIDTH]}"]
    start = min(max(error.offset - 1 - (len(text) - len(source)), 0), len(source))
    end = start + 1
    if error.end_offset and error.end_lineno in (None, error.lineno):
        end = max(end, start + error.end_offset - error.offset)
    end = min(end, max(len(source), start + 1))
    first = max(0, end - SOURCE_WIDTH + 3) if end > SOURCE_WIDTH else 0  # keep the caret
    shown = ("..." if first else "") + source[first : first + SOURCE_WIDTH - (3 if first else 0)]
    column = start - first + (3 if first else 0)
    return [*lines, f"    {shown}", "    " + " " * column + "^" * (end - start)]


def _message(error: BaseException) -> str:
    if isinstance(error, SyntaxError) and error.msg:  # its file and line are in _where
        return str(error.msg)[:MAX_TEXT]
    try:
        return str(error)[:MAX_TEXT]
    except Exception:
        return "(its message could not be made into text)"


def _changed(before: list[Any], after: list[Any]) -> dict[int, Any]:
    """The arguments the call wrote into (or, for a dict, changed), by position."""

    def same(old: Any, new: Any) -> bool:
        if isinstance(old, np.ndarray):
            return (
                type(new) is np.ndarray
                and new.shape == old.shape
                and new.dtype == old.dtype
                and bool(np.array_equal(new, old, equal_nan=True))
            )
        if isinstance(old, dict):
            return (
                type(new) is dict
                and list(new) == list(old)
                and all(same(old[key], new[key]) for key in old)
            )
        return True

    return {index: value for index, value in enumerate(after) if not same(before[index], value)}


def _import(path: str) -> Any:
    folder = os.path.dirname(path)
    sys.path.insert(0, folder)
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem.isidentifier() and stem not in sys.modules else "_submission"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{os.path.basename(path)} cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.argv = [path]
    spec.loader.exec_module(module)
    return module


def _load_calls() -> Any:
    """The adapters of flatprop (``testing/_calls.py``), loaded by their path, not imported."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(os.path.dirname(here), "testing", "_calls.py")
    spec = importlib.util.spec_from_file_location("_flatprop_calls", path)
    if spec is None or spec.loader is None:  # pragma: no cover - flatprop is installed whole
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _callee(module: Any, call: list[str], path: str) -> tuple[Callable[..., Any] | None, str]:
    """What each request calls: the function, or an adapter around the file's names.

    ``call`` is ``["function", name]``, ``["net", class]`` or ``["pair", forward,
    backward]``. Returns the callable, or None and what is missing.
    """
    kind, names = call[0], call[1:]
    found = [getattr(module, name, None) for name in names]
    for name, value in zip(names, found, strict=True):
        wanted = "class" if kind == "net" else "function"
        if not callable(value) or (kind == "net" and not isinstance(value, type)):
            defined = sorted(
                item
                for item, thing in vars(module).items()
                if callable(thing) and not item.startswith("_") and not isinstance(thing, type(sys))
            )
            what = (
                f"no {wanted}"
                if value is None
                else f"a {type(value).__name__}, not a {wanted}, called"
            )
            defines = f"; it defines {', '.join(defined[:20])}" if defined else ""
            return None, f"{os.path.basename(path)} has {what} {name}{defines}"
    if kind == "function":
        return found[0], ""
    calls = _load_calls()
    if kind == "net":
        return calls.net_loss(found[0]), ""
    return calls.layer_pair(*found), ""


def main(argv: list[str]) -> None:
    """``_worker.py GRADER_PID REQUEST_FD REPLY_FD MEMORY_MIB OUTPUT_BYTES FILE CALL...``.

    ``CALL...`` is ``function NAME``, ``net CLASS`` or ``pair FORWARD BACKWARD``.
    """
    grader, request_fd, reply_fd, memory_mib, output_bytes = (int(value) for value in argv[:5])
    path, call = os.path.abspath(argv[5]), argv[6:]
    folder = os.path.dirname(path)
    _die_with(grader)
    _limit(memory_mib, output_bytes)
    for fd in (request_fd, reply_fd):
        os.set_inheritable(fd, False)  # not to what the submission starts
    requests = os.fdopen(request_fd, "rb")
    replies = os.fdopen(reply_fd, "wb", buffering=0)
    try:
        module = _import(path)
    except BaseException as error:
        detail = "".join(traceback.format_exception_only(type(error), error))[-MAX_TEXT:]
        _send(
            replies,
            ["import-failed", type(error).__name__, _message(error), _where(error, folder), detail],
        )
        os._exit(0)
    fn, missing = _callee(module, call, path)
    if fn is None:
        _send(replies, ["missing", missing])
        os._exit(0)
    _send(replies, ["ready", _threads_left()])
    while True:
        request = _receive(requests)
        if request[0] != "call":
            os._exit(0)  # "stop": no atexit handlers, no waiting for threads
        arguments = list(request[1])
        before = copy.deepcopy(arguments)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                result = fn(*arguments)
                reply = ["returned", result, _changed(before, arguments), _threads_left()]
                message = encode(reply)  # reads what it returned: its code may run
        except WireError as error:
            message = encode(["unsendable", str(error)])
        except BaseException as error:
            message = encode(
                [
                    "raised",
                    type(error).__name__,
                    _message(error),
                    _where(error, folder),
                    _threads_left(),
                ]
            )
        replies.write(message)


if __name__ == "__main__":
    main(sys.argv[1:])
