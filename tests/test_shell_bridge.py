"""The raw tty bridge with a pseudo-terminal (pty.openpty) and a fake session.

The slave side is the "local terminal" (in_fd = out_fd = slave, as stdin/stdout of a real one);
the test types into and reads from the master side, as a terminal emulator would.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import signal
import struct
import termios
import threading
import time

import pytest

from nezha_tui.api.errors import TerminalRefused
from nezha_tui.shell_bridge import BridgeEnd, EndKind, bridge, terminal_size, write_all


class FakeSession:
    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.changed = asyncio.Event()
        self.out: asyncio.Queue = asyncio.Queue()  # bytes, None (end), or an exception to raise
        self.closed = False

    async def send_input(self, data: bytes) -> None:
        self.events.append(("input", bytes(data)))
        self.changed.set()

    async def resize(self, cols: int, rows: int) -> None:
        self.events.append(("resize", cols, rows))
        self.changed.set()

    async def output(self):
        while True:
            item = await self.out.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def close(self) -> None:
        self.closed = True

    async def until(self, pred) -> None:
        while not pred(self.events):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)

    def typed(self) -> bytes:
        return b"".join(e[1] for e in self.events if e[0] == "input")


def set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


@pytest.fixture
def pty_pair():
    master, slave = pty.openpty()
    set_size(slave, 80, 24)
    yield master, slave
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


async def read_exactly(fd: int, n: int) -> bytes:
    """Read n bytes from a (non-blocking) master fd via the loop."""
    loop = asyncio.get_running_loop()
    buf = bytearray()
    got = asyncio.Event()

    def on_readable() -> None:
        try:
            buf.extend(os.read(fd, 65536))
        except BlockingIOError:
            return
        if len(buf) >= n:
            got.set()

    os.set_blocking(fd, False)
    loop.add_reader(fd, on_readable)
    try:
        await asyncio.wait_for(got.wait(), 5)
    finally:
        loop.remove_reader(fd)
    return bytes(buf)


async def start(session: FakeSession, slave: int, **kw) -> asyncio.Task:
    task = asyncio.ensure_future(bridge(session, slave, slave, **kw))
    await session.until(lambda ev: ("resize", 80, 24) in ev)  # raw mode is on once the size went out
    return task


async def test_keys_output_resize_and_detach(pty_pair):
    master, slave = pty_pair
    before = termios.tcgetattr(slave)
    winch_before = signal.getsignal(signal.SIGWINCH)
    session = FakeSession()
    task = await start(session, slave)
    assert session.events[0] == ("resize", 80, 24)  # the size first, before any key
    during = termios.tcgetattr(slave)
    assert during != before and not during[3] & (termios.ICANON | termios.ECHO)  # raw

    os.write(master, b"hostname\r")
    await session.until(lambda ev: session.typed() == b"hostname\r")

    out = b"web-01\r\n\x1b[1mroot@web-01:~# \x1b[0m\n"  # a bare \n stays \n: raw output, no ONLCR
    await session.out.put(out)
    assert await read_exactly(master, len(out)) == out

    set_size(slave, 132, 43)
    for _ in range(3):  # a burst (a window being dragged): one frame with the latest size
        os.kill(os.getpid(), signal.SIGWINCH)
    await session.until(lambda ev: ("resize", 132, 43) in ev)
    os.write(master, b"x")
    await session.until(lambda ev: session.typed().endswith(b"x"))
    assert [e for e in session.events if e[0] == "resize"] == [("resize", 80, 24), ("resize", 132, 43)]

    os.write(master, b"ex\x1dit\r")  # ctrl+]: detach; neither it nor what follows is sent
    end = await asyncio.wait_for(task, 5)
    assert end == BridgeEnd(EndKind.DETACHED)
    assert session.typed() == b"hostname\rxex"
    assert termios.tcgetattr(slave) == before
    assert signal.getsignal(signal.SIGWINCH) == winch_before
    assert not session.closed  # the caller owns the session


async def test_remote_close_restores_the_terminal(pty_pair):
    master, slave = pty_pair
    before = termios.tcgetattr(slave)
    session = FakeSession()
    task = await start(session, slave)
    os.write(master, b"exit\r")
    await session.until(lambda ev: session.typed() == b"exit\r")
    await session.out.put(b"logout\r\n")
    await session.out.put(None)
    end = await asyncio.wait_for(task, 5)
    assert end.kind is EndKind.REMOTE_CLOSED
    assert await read_exactly(master, 8) == b"logout\r\n"
    assert termios.tcgetattr(slave) == before


async def test_session_error_ends_with_its_line(pty_pair):
    master, slave = pty_pair
    before = termios.tcgetattr(slave)
    session = FakeSession()
    task = await start(session, slave)
    await session.out.put(TerminalRefused("attach_timeout"))
    end = await asyncio.wait_for(task, 5)
    assert end == BridgeEnd(EndKind.ERROR, "the shell session could not be attached in time (10 s)")
    assert termios.tcgetattr(slave) == before


async def test_a_custom_size_source_and_no_detach_key(pty_pair):
    master, slave = pty_pair
    session = FakeSession()
    task = asyncio.ensure_future(bridge(session, slave, slave, detach=b"", get_size=lambda: (200, 50)))
    await session.until(lambda ev: ("resize", 200, 50) in ev)
    os.write(master, b"a\x1db")
    await session.until(lambda ev: session.typed() == b"a\x1db")
    await session.out.put(None)
    assert (await asyncio.wait_for(task, 5)).kind is EndKind.REMOTE_CLOSED


async def test_cancelled_bridge_restores_the_terminal(pty_pair):
    master, slave = pty_pair
    before = termios.tcgetattr(slave)
    session = FakeSession()
    task = await start(session, slave)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert termios.tcgetattr(slave) == before


def test_terminal_size_of_a_pty_and_of_a_pipe(pty_pair):
    _, slave = pty_pair
    r, w = os.pipe()
    try:
        assert terminal_size(r, slave) == (80, 24)
        assert terminal_size(r, w) is None
    finally:
        os.close(r)
        os.close(w)


async def test_write_all_handles_partial_writes_and_eagain():
    r, w = os.pipe()
    os.set_blocking(w, False)  # a pipe holds 64 KiB: 1 MiB needs many partial writes and EAGAIN waits
    data = os.urandom(1 << 20)
    received = bytearray()

    def drain() -> None:
        while len(received) < len(data):
            chunk = os.read(r, 1 << 16)
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        calls = await write_all(w, data)
    finally:
        reader.join(5)
        os.close(r)
        os.close(w)
    assert bytes(received) == data
    assert calls >= 2


@pytest.mark.parametrize("chunk", [16 * 1024, 1 << 20])
async def test_megabytes_of_output_in_linear_time(pty_pair, chunk):
    """1, 2 and 4 MB through the bridge into the pty; prints the times (no timing assert)."""
    master, slave = pty_pair
    os.set_blocking(slave, False)  # exercise EAGAIN + partial writes (a pty buffers a few KiB)
    results = []
    for mb in (1, 2, 4):
        total = mb << 20
        payload = bytes(i % 251 for i in range(chunk))
        session = FakeSession()
        task = await start(session, slave)
        received = [0]

        def drain(total=total, received=received) -> None:
            os.set_blocking(master, True)
            while received[0] < total:
                received[0] += len(os.read(master, 1 << 16))

        reader = threading.Thread(target=drain)
        reader.start()
        t0 = time.perf_counter()
        for _ in range(total // chunk):
            await session.out.put(payload)
        await session.out.put(None)
        end = await asyncio.wait_for(task, 30)
        await asyncio.get_running_loop().run_in_executor(None, reader.join, 30)
        elapsed = time.perf_counter() - t0
        assert end.kind is EndKind.REMOTE_CLOSED and received[0] == total
        results.append((mb, elapsed))
    line = ", ".join(f"{mb} MB {t * 1000:.0f} ms ({t / mb * 1000:.0f} ms/MB)" for mb, t in results)
    print(f"\nbridge output, {chunk // 1024} KiB frames: {line}")
