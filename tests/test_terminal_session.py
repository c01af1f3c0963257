"""TerminalSession against a tiny websockets server on 127.0.0.1 (port 0): frames, output, close, refusals."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import termios
from contextlib import asynccontextmanager

import httpx
import pytest
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from nezha_tui.api.client import Credentials, NezhaClient
from nezha_tui.api.errors import TerminalRefused
from nezha_tui.api.models import TerminalTicket
from nezha_tui.api.terminal import MAX_INPUT_CHUNK, TerminalSession, input_frame, resize_frame
from nezha_tui.shell_bridge import EndKind, bridge

SESSION = "6f1c1e0a-3b1f-4b7e-9d55-0d5f1a2b3c4d"
TICKET = TerminalTicket(SESSION, 7, "web-01")
PAT = "nzp_exec_token_123"


class FakeTerminal:
    """The Dashboard's side of one terminal WebSocket, scripted by the test."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.headers: list[Headers] = []
        self.received: list[bytes | str] = []
        self.got = asyncio.Event()
        self.to_send: asyncio.Queue = asyncio.Queue()  # bytes to send, or None: drop the connection
        self.closed_by_client = asyncio.Event()
        self.refuse: Response | None = None

    def process_request(self, connection, request):
        self.paths.append(request.path)
        self.headers.append(request.headers)
        return self.refuse

    async def handler(self, ws) -> None:
        async def reader() -> None:
            try:
                async for msg in ws:
                    self.received.append(msg)
                    self.got.set()
            finally:
                self.closed_by_client.set()

        task = asyncio.ensure_future(reader())
        try:
            while True:
                getter = asyncio.ensure_future(self.to_send.get())
                await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():  # the client closed: this connection is over
                    getter.cancel()
                    return
                item = getter.result()
                if item is None:  # the Dashboard drops the connection without a close frame
                    ws.transport.abort()
                    return
                await ws.send(item)
        finally:
            task.cancel()

    async def wait_for(self, n: int) -> list:
        while len(self.received) < n:
            self.got.clear()
            await asyncio.wait_for(self.got.wait(), 5)
        return self.received


def refusal(status: int, body: bytes, ctype: str = "application/json") -> Response:
    return Response(status, "X", Headers([("Content-Type", ctype), ("Content-Length", str(len(body)))]), body)


@asynccontextmanager
async def running(fake: FakeTerminal, creds: Credentials = Credentials(token=PAT), transport=None):
    async with serve(fake.handler, "127.0.0.1", 0, process_request=fake.process_request) as server:
        port = server.sockets[0].getsockname()[1]
        async with NezhaClient(f"http://127.0.0.1:{port}", creds, transport=transport) as client:
            yield client


async def collect(session: TerminalSession) -> list[bytes]:
    return [chunk async for chunk in session.output()]


def test_frames_are_exactly_as_the_dashboard_reads_them():
    assert input_frame(b"ls\r") == b"\x00ls\r"
    assert resize_frame(80, 24) == b'\x01{"Cols":80,"Rows":24}'


async def test_attach_sends_the_token_and_frames_pass_both_ways():
    fake = FakeTerminal()
    async with running(fake) as client:
        session = await TerminalSession.attach(client, TICKET)
        assert fake.paths == [f"/api/v1/ws/terminal/{SESSION}"]
        assert fake.headers[0]["Authorization"] == f"Bearer {PAT}"
        assert "Origin" not in fake.headers[0] and "X-CSRF-Token" not in fake.headers[0]

        await session.resize(120, 40)
        await session.send_input(b"hostname\r")
        await session.send_input(bytes(range(256)))
        got = await fake.wait_for(3)
        assert got == [b'\x01{"Cols":120,"Rows":40}', b"\x00hostname\r", b"\x00" + bytes(range(256))]
        assert all(isinstance(m, bytes) for m in got)  # binary frames

        out = bytes(range(256)) + b"\x1b[31mred\x1b[0m\r\n"
        await fake.to_send.put(out)
        await fake.to_send.put(b"root@web-01:~# ")
        stream = session.output()
        assert await anext(stream) == out
        assert await anext(stream) == b"root@web-01:~# "

        await session.close()
        assert [chunk async for chunk in stream] == []  # ends quietly after close()
        await asyncio.wait_for(fake.closed_by_client.wait(), 5)
        await session.close()  # idempotent
        assert session.bytes_in == len(out) + 15 and session.bytes_out == 9 + 256


async def test_big_input_goes_in_chunks_the_dashboard_accepts():
    fake = FakeTerminal()
    async with running(fake) as client:
        session = await TerminalSession.attach(client, TICKET)
        paste = bytes(i % 251 for i in range(100_000))
        await session.send_input(paste)
        frames = await fake.wait_for(4)
        assert all(f[:1] == b"\x00" and len(f) <= MAX_INPUT_CHUNK + 1 for f in frames)
        assert b"".join(f[1:] for f in frames) == paste
        await session.close()


async def test_jwt_session_sends_the_csrf_pair_on_the_websocket():
    def rest(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/login"
        return httpx.Response(200, json={"success": True, "data": {"token": "jwt-1", "expire": "2099-01-01T00:00:00Z"}},
                              headers={"set-cookie": "nz-csrf=n.sig; Path=/; SameSite=Strict"})

    fake = FakeTerminal()
    async with running(fake, Credentials(username="admin", password="pw"), httpx.MockTransport(rest)) as client:
        await client.login()
        session = await TerminalSession.attach(client, TICKET)
        h = fake.headers[0]
        assert h["Authorization"] == "Bearer jwt-1"
        assert h["X-CSRF-Token"] == "n.sig" and h["Cookie"] == "nz-csrf=n.sig"
        await session.close()


async def test_the_dashboard_ending_the_session_ends_the_output():
    fake = FakeTerminal()
    async with running(fake) as client:
        session = await TerminalSession.attach(client, TICKET)
        await fake.to_send.put(b"logout\r\n")
        await fake.to_send.put(None)
        assert await asyncio.wait_for(collect(session), 5) == [b"logout\r\n"]
        await session.close()


async def test_ended_before_any_output_is_an_attach_timeout():
    fake = FakeTerminal()
    async with running(fake) as client:
        session = await TerminalSession.attach(client, TICKET)
        await fake.to_send.put(None)  # the agent never came: StartStream timed out after 10 s
        with pytest.raises(TerminalRefused) as ei:
            await asyncio.wait_for(collect(session), 5)
        assert ei.value.kind == "attach_timeout"
        await session.close()


@pytest.mark.parametrize("status, body, ctype, kind", [
    (200, b'{"error":"stream not found"}', "application/json", "attach_timeout"),
    (200, b'{"error":"permission denied"}', "application/json", "permission"),
    (200, b'{"error":"ApiErrorUnauthorized"}', "application/json", "guest"),
    (403, b'{"error":"ApiErrorForbidden: api token lacks scope nezha:server:exec"}', "application/json", "scope"),
    (404, b'{"error":"404 Not Found"}', "application/json", "unsupported"),
    (200, b"<!DOCTYPE html><html><title>Nezha</title></html>", "text/html", "unsupported"),
])
async def test_handshake_refusals(status, body, ctype, kind):
    fake = FakeTerminal()
    fake.refuse = refusal(status, body, ctype)
    async with running(fake) as client:
        with pytest.raises(TerminalRefused) as ei:
            await TerminalSession.attach(client, TICKET)
    assert ei.value.kind == kind
    assert PAT not in ei.value.message


async def test_no_handshake_in_time_is_an_attach_timeout():
    accepted = asyncio.Event()

    async def silent(reader, writer) -> None:  # accepts, reads, never answers
        accepted.set()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with NezhaClient(f"http://127.0.0.1:{port}", Credentials(token=PAT)) as client:
            with pytest.raises(TerminalRefused) as ei:
                await TerminalSession.attach(client, TICKET, timeout=0.3)
        assert ei.value.kind == "attach_timeout" and "0.3 s" in ei.value.message
        assert accepted.is_set()
    finally:
        server.close()
        await server.wait_closed()


async def test_the_bridge_over_a_real_websocket():
    """pty -> bridge -> TerminalSession -> WebSocket -> a tiny echoing "shell" -> back to the pty."""
    frames: list[bytes] = []
    got = asyncio.Event()

    async def shell(ws) -> None:
        line = b""
        await ws.send(b"root@web-01:~# ")
        async for msg in ws:
            frames.append(msg)
            got.set()
            if msg[:1] != b"\x00":
                continue
            for byte in msg[1:]:
                ch = bytes([byte])
                await ws.send(b"\r\n" if ch == b"\r" else ch)  # echo, as a remote pty would
                if ch == b"\r":
                    if line == b"exit":
                        await ws.send(b"logout\r\n")
                        ws.transport.abort()  # the Dashboard drops the socket: no close frame
                        return
                    line = b""
                else:
                    line += ch

    master, slave = pty.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        before = termios.tcgetattr(slave)
        async with serve(shell, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with NezhaClient(f"http://127.0.0.1:{port}", Credentials(token=PAT)) as client:
                session = await TerminalSession.attach(client, TICKET)
                task = asyncio.ensure_future(bridge(session, slave, slave))
                while not frames:
                    got.clear()
                    await asyncio.wait_for(got.wait(), 5)
                assert frames[0] == b'\x01{"Cols":100,"Rows":30}'
                os.write(master, b"exit\r")
                end = await asyncio.wait_for(task, 5)
                await session.close()
        assert end.kind is EndKind.REMOTE_CLOSED
        assert b"".join(f[1:] for f in frames[1:]) == b"exit\r"
        os.set_blocking(master, False)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            shown += chunk
        assert shown == b"root@web-01:~# exit\r\nlogout\r\n"
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)
