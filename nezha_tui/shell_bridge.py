"""The raw tty bridge: the local terminal <-> a remote shell session (no Textual here).

:func:`bridge` puts ``in_fd`` into raw mode (the settings saved with
``termios.tcgetattr`` are put back exactly in a ``finally``), reads keys with
``loop.add_reader`` and sends them as they come, writes the session's output to
``out_fd`` as is, sends the terminal size at the start and on every SIGWINCH,
and ends on the first of: the session ends (``remote_closed``), the detach key
(``ctrl+]`` by default; it is not sent, nor anything typed after it in the same
read: ``detached``), the local input ends (``detached``), or a failure
(``error``, with one line).

Output is written with ``os.write`` over a ``memoryview`` (a partial write moves
an offset; no bytes are copied again, so 1 MB costs the same per byte as 1 KB).
A blocking ``out_fd`` (a terminal normally is) simply blocks while the terminal
catches up, which is the terminal's own flow control; a non-blocking one is
waited on with ``loop.add_writer`` when it answers EAGAIN.  The bridge never
changes ``O_NONBLOCK`` (stdin and stdout of a terminal share that flag with the
shell that started us).

The SIGWINCH handler is the loop's (``add_signal_handler``) while the bridge
runs; afterwards the handler that was there before (Textual's, say) is put back
(asyncio alone would leave SIG_DFL).  Nothing typed or shown is logged.

``session`` is anything with ``async send_input(bytes)``, ``async resize(cols,
rows)``, ``output()`` (an async iterator of bytes) and ``async close()``:
:class:`~nezha_tui.api.terminal.TerminalSession`, or a fake in tests.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import logging
import os
import signal
import termios
import tty
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.exceptions import ConnectionClosed

from .api.errors import NezhaError

__all__ = ["BridgeEnd", "EndKind", "DETACH_KEY", "bridge", "terminal_size", "write_all"]

log = logging.getLogger(__name__)

DETACH_KEY = b"\x1d"  # ctrl+]
READ_CHUNK = 64 * 1024


class EndKind(enum.Enum):
    REMOTE_CLOSED = "remote_closed"
    DETACHED = "detached"
    ERROR = "error"


@dataclass(frozen=True)
class BridgeEnd:
    """How a bridge ended: ``kind``, and one line for a person (empty for a plain end)."""

    kind: EndKind
    message: str = ""


class Session(Protocol):
    async def send_input(self, data: bytes) -> None: ...
    async def resize(self, cols: int, rows: int) -> None: ...
    def output(self) -> Any: ...
    async def close(self) -> None: ...


def terminal_size(*fds: int) -> tuple[int, int] | None:
    """``(cols, rows)`` of the first of ``fds`` that is a terminal with a size, else None."""
    for fd in fds:
        try:
            size = os.get_terminal_size(fd)
        except OSError:
            continue
        if size.columns > 0 and size.lines > 0:
            return size.columns, size.lines
    return None


async def write_all(fd: int, data: bytes | bytearray | memoryview) -> int:
    """Write all of ``data`` to ``fd``; returns the number of ``os.write`` calls.

    Partial writes advance a memoryview (no copies); EAGAIN on a non-blocking fd waits
    until it is writable; EINTR is retried.
    """
    view = memoryview(data).cast("B")
    calls = 0
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            await _writable(fd)
            continue
        except InterruptedError:
            continue
        calls += 1
        view = view[n:]
    return calls


async def _writable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fd, on_ready)
    try:
        await ready
    finally:
        loop.remove_writer(fd)


_RESIZE = object()  # queue marker: send the current size


async def bridge(session: Session, in_fd: int, out_fd: int, *, detach: bytes = DETACH_KEY,
                 get_size: Callable[[], tuple[int, int] | None] | None = None) -> BridgeEnd:
    """Bridge the local terminal to ``session`` until it ends; see the module's docstring.

    ``detach``: one byte that ends the bridge (empty: none).  ``get_size``: returns
    ``(cols, rows)`` or None (default: the size of ``in_fd``, else ``out_fd``).  Never
    raises for the session's or the terminal's failures: they end it as ``error``.
    The session is not closed here (the caller owns it); the terminal settings are.
    """
    if len(detach) > 1:
        raise ValueError("the detach key is one byte")
    loop = asyncio.get_running_loop()
    size_of = get_size if get_size is not None else (lambda: terminal_size(in_fd, out_fd))
    saved = termios.tcgetattr(in_fd) if os.isatty(in_fd) else None
    queue: asyncio.Queue[Any] = asyncio.Queue()
    ended: asyncio.Future[BridgeEnd] = loop.create_future()
    reading = winch = False
    resize_queued = [False]  # a burst of SIGWINCH (a window dragged) sends one size, the latest
    previous_winch: Any = None
    tasks: list[asyncio.Task[Any]] = []

    def on_winch() -> None:
        if not resize_queued[0]:
            resize_queued[0] = True
            queue.put_nowait(_RESIZE)

    def finish(end: BridgeEnd) -> None:
        if not ended.done():
            ended.set_result(end)

    def on_readable() -> None:
        try:
            data = os.read(in_fd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno == errno.EIO:  # the terminal went away (a pty's other side closed)
                data = b""
            else:
                finish(BridgeEnd(EndKind.ERROR, f"cannot read the terminal: {exc.strerror or exc}"))
                return
        if not data:
            loop.remove_reader(in_fd)
            queue.put_nowait(BridgeEnd(EndKind.DETACHED, "the local input ended"))
            return
        cut = data.find(detach) if detach else -1
        if cut != -1:
            loop.remove_reader(in_fd)
            if cut:
                queue.put_nowait(data[:cut])
            queue.put_nowait(BridgeEnd(EndKind.DETACHED))
            return
        queue.put_nowait(data)

    async def pump_input() -> None:
        while True:
            item = await queue.get()
            if isinstance(item, BridgeEnd):
                finish(item)
                return
            if item is _RESIZE:
                resize_queued[0] = False
                size = size_of()
                if size is not None:
                    await session.resize(*size)
                continue
            await session.send_input(item)

    async def pump_output() -> None:
        async for chunk in session.output():
            await write_all(out_fd, chunk)
        finish(BridgeEnd(EndKind.REMOTE_CLOSED))

    def watch(task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if isinstance(exc, ConnectionClosed):
            finish(BridgeEnd(EndKind.REMOTE_CLOSED))
        elif isinstance(exc, NezhaError):
            finish(BridgeEnd(EndKind.ERROR, exc.message))
        elif isinstance(exc, OSError):
            finish(BridgeEnd(EndKind.ERROR, f"terminal error: {exc.strerror or exc}"))
        else:
            log.error("shell bridge failed: %s", type(exc).__name__)  # the type only: no data
            finish(BridgeEnd(EndKind.ERROR, f"unexpected error: {type(exc).__name__}"))

    try:
        if saved is not None:
            tty.setraw(in_fd, termios.TCSANOW)
        try:
            previous_winch = signal.getsignal(signal.SIGWINCH)
            loop.add_signal_handler(signal.SIGWINCH, on_winch)
            winch = True
        except (RuntimeError, ValueError, NotImplementedError):  # not the main thread: no resize events
            log.debug("no SIGWINCH handler for the shell bridge")
        on_winch()  # the size first, before any key
        loop.add_reader(in_fd, on_readable)
        reading = True
        for pump in (pump_input(), pump_output()):
            task = asyncio.ensure_future(pump)
            task.add_done_callback(watch)
            tasks.append(task)
        return await ended
    finally:
        for task in tasks:
            task.cancel()
        # their errors were reported by watch(); a cancellation of the bridge itself still propagates
        await asyncio.gather(*tasks, return_exceptions=True)
        if reading:
            loop.remove_reader(in_fd)
        if winch:
            loop.remove_signal_handler(signal.SIGWINCH)
            if previous_winch is not None:
                signal.signal(signal.SIGWINCH, previous_winch)
        if saved is not None:
            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
