"""FleetStream against a tiny local websockets server (127.0.0.1, port 0)."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import aclosing, asynccontextmanager
from functools import partial
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from nezha_tui.api.client import Credentials, NezhaClient
from nezha_tui.api.errors import BadCredentials, WafBlocked
from nezha_tui.store import FleetStore
from nezha_tui.api.errors import NOT_A_DASHBOARD
from nezha_tui.api.stream import LOGIN_REQUIRED, FleetStream, StreamState, StreamStatus

FIX = Path(__file__).parent / "fixtures"
FIRST = (FIX / "frame_first.json").read_text()
LATER = (FIX / "frame_later.json").read_text()


class Recorder:
    """Fake clock + sleep + the callbacks; wakes waiters when something happens."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []
        self.frames: list = []
        self.statuses: list[StreamStatus] = []
        self.changed = asyncio.Event()
        self.on_sleep = None  # optional async hook(n_sleeps)

    def clock(self) -> float:
        return self.t

    async def sleep(self, d: float) -> None:
        self.sleeps.append(d)
        self.t += d
        if self.on_sleep is not None:
            await self.on_sleep(len(self.sleeps))
        await asyncio.sleep(0)
        self.changed.set()

    def on_frame(self, frame, report) -> None:
        self.frames.append((frame, report))
        self.changed.set()

    def on_status(self, status: StreamStatus) -> None:
        self.statuses.append(status)
        self.changed.set()

    def states(self) -> list[StreamState]:
        return [s.state for s in self.statuses]

    async def until(self, pred, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not pred():
                self.changed.clear()
                await self.changed.wait()


class TrackingConnect:
    """Wraps websockets' connect: checks that at most one socket is ever open."""

    def __init__(self) -> None:
        self.opened: list = []
        self.kwargs: list[dict] = []

    async def __call__(self, uri, **kw):
        self.kwargs.append(kw)
        ws = await ws_connect(uri, **kw)
        assert all(old.transport.is_closing() for old in self.opened), "two sockets open at once"
        self.opened.append(ws)
        return ws


class Dash:
    """A scripted stream endpoint: ``behaviours[i]`` serves connection i."""

    def __init__(self, *behaviours, process_request=None, ssl=None) -> None:
        self.behaviours = list(behaviours)
        self.process_request = process_request
        self.ssl = ssl
        self.count = 0
        self.headers: list[Headers] = []
        self.server = None
        self.port = 0

    async def handler(self, ws) -> None:
        i = self.count
        self.count += 1
        self.headers.append(ws.request.headers)
        beh = self.behaviours[min(i, len(self.behaviours) - 1)]
        await beh(ws)

    async def start(self, port: int = 0) -> None:
        self.server = await serve(self.handler, "127.0.0.1", port, process_request=self.process_request,
                                  ssl=self.ssl, ping_interval=None)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Closes the port and every connection; a no-op when not (or no longer) serving."""
        server, self.server = self.server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl else 'http'}://127.0.0.1:{self.port}"


def send_then_hold(*docs):
    async def beh(ws):
        for d in docs:
            await ws.send(d)
        await ws.wait_closed()
    return beh


def send_then_drop(doc):
    async def beh(ws):
        await ws.send(doc)
        await asyncio.sleep(0.01)
        ws.transport.abort()  # no close frame, like a proxy cutting the TCP connection
    return beh


def make_stream(client, rec: Recorder, **kw) -> FleetStream:
    kw.setdefault("interval", 2.0)
    return FleetStream(client, on_frame=rec.on_frame, on_status=rec.on_status, clock=rec.clock,
                       sleep=rec.sleep, rng=lambda: 0.5, **kw)


async def finish(stream: FleetStream, task: asyncio.Task) -> None:
    stream.stop()
    async with asyncio.timeout(3):
        await task
    assert stream.status.state in (StreamState.STOPPED, StreamState.AUTH_FAILED)


async def run_to_end(stream: FleetStream) -> None:
    """Runs the stream until it returns on its own (no retry after AUTH_FAILED)."""
    async with asyncio.timeout(5):
        await stream.run()


@asynccontextmanager
async def running(stream: FleetStream):
    """``stream.run()`` as a task for the block; ``finish`` (stop + checks) at the end of it.

    When the block fails, the stream is still stopped and its task ended, then the failure propagates.
    """
    task = asyncio.create_task(stream.run())
    try:
        yield task
    except BaseException:
        stream.stop()
        task.cancel()
        await asyncio.wait([task], timeout=3)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the block's failure is the one to report
        raise
    await finish(stream, task)


@asynccontextmanager
async def serving(*behaviours, **kw):
    """A started ``Dash``, always stopped afterwards."""
    dash = Dash(*behaviours, **kw)
    await dash.start()
    try:
        yield dash
    finally:
        await dash.stop()


@asynccontextmanager
async def running_stream(*behaviours, process_request=None, credentials=Credentials(), make_client=None,
                         rec=None, start=True, **stream_kw):
    """Dash serving ``behaviours`` + client + ``make_stream`` stream (+ its run task unless ``start=False``).

    Yields ``(dash, client, stream, rec)``; stops the stream, closes the client and stops the Dash
    afterwards, also when the block fails.
    """
    async with serving(*behaviours, process_request=process_request) as dash:
        client = NezhaClient(dash.url, credentials) if make_client is None else make_client(dash.url)
        async with aclosing(client):
            rec = Recorder() if rec is None else rec
            stream = make_stream(client, rec, **stream_kw)
            if not start:
                yield dash, client, stream, rec
                return
            async with running(stream):
                yield dash, client, stream, rec


# --------------------------------------------------------------------------- frames, notes


async def test_live_frames_and_public_notes():
    async with running_stream(send_then_hold(FIRST, LATER)) as (dash, client, stream, rec):
        await rec.until(lambda: len(rec.frames) == 2)
        first, later = rec.frames[0][0], rec.frames[1][0]
        assert first.servers[0].public_note.startswith('{"billingDataMod"')
        first_notes = {s.id: s.public_note for s in first.servers}
        assert first_notes[1] == "" and first_notes[7] == ""  # absent in the first frame = empty note
        notes = {s.id: s.public_note for s in later.servers}
        assert notes[3] is None and notes[1] is None  # not sent again: the consumer keeps what it saw
        assert notes[9] == ""  # a later frame's own note passes as sent
        store = FleetStore()
        store.apply(first)
        store.apply(later)
        assert store.public_note(3).startswith('{"billingDataMod"') and store.public_note(1) == ""
        assert rec.states()[:2] == [StreamState.CONNECTING, StreamState.LIVE]
        live = rec.statuses[1]
        assert live.attempt == 0 and live.last_frame_at == rec.t and live.next_retry_at is None
        assert dash.headers[0].get("Authorization") is None  # guest
    assert rec.states()[-1] is StreamState.STOPPED


async def test_on_frame_exception_does_not_kill_the_stream():
    rec = Recorder()
    calls = []

    def bad_on_frame(frame, report):
        calls.append(frame)
        rec.changed.set()
        raise RuntimeError("consumer bug")

    async with serving(send_then_hold(FIRST, LATER)) as dash, aclosing(NezhaClient(dash.url)) as client:
        stream = FleetStream(client, on_frame=bad_on_frame, on_status=rec.on_status, sleep=rec.sleep)
        async with running(stream):
            await rec.until(lambda: len(calls) == 2)
            assert stream.connections == 1


async def test_malformed_frames_are_reported_not_delivered():
    async with running_stream(send_then_hold("garbage{", "[1,2]", FIRST)) as (dash, client, stream, rec):
        await rec.until(lambda: len(rec.frames) == 1)
        msgs = [s.message for s in rec.statuses]
        assert any(m.startswith("malformed frame ignored: stream frame is not JSON") for m in msgs)
        assert any("not a JSON object" in m for m in msgs)
        assert stream.connections == 1 and rec.sleeps == []  # the connection was kept
        assert rec.frames[0][0].servers[0].id == 3


async def test_frame_with_bad_fields_is_delivered_with_report():
    bad = json.dumps({"now": 1, "servers": [{"id": 1, "state": {"cpu": "x"}}, {"name": "no id"}]})
    async with running_stream(send_then_hold(bad)) as (dash, client, stream, rec):
        await rec.until(lambda: len(rec.frames) == 1)
        frame, report = rec.frames[0]
        assert [s.id for s in frame.servers] == [1] and report.bad_fields == 1 and report.dropped_servers == 1
        assert "repaired 1 field(s), dropped 1 server(s)" in stream.status.message


# --------------------------------------------------------------------------- losing the connection


async def test_drop_without_close_frame_reconnects_with_backoff():
    second_note = FIRST.replace("not json: renew at the shop", "renewed")
    tracker = TrackingConnect()
    async with running_stream(send_then_drop(FIRST), send_then_hold(second_note, LATER),
                              connect=tracker) as (dash, client, stream, rec):
        await rec.until(lambda: len(rec.frames) == 3)
        assert rec.sleeps == [1.0]
        states = rec.states()
        i = states.index(StreamState.STALE)
        assert states[i - 1:i + 4] == [StreamState.LIVE, StreamState.STALE, StreamState.RECONNECTING,
                                       StreamState.CONNECTING, StreamState.LIVE]
        stale, waiting, connecting = rec.statuses[i], rec.statuses[i + 1], rec.statuses[i + 2]
        assert "connection lost" in stale.message and stale.last_frame_at is not None
        assert waiting.next_retry_at == pytest.approx(stale.last_frame_at + 1.0)
        # attempt = connection attempts since the last good frame
        assert waiting.message == "connection lost; retrying in 1 s" and waiting.attempt == 0
        assert connecting.message == "reconnecting (attempt 1)" and connecting.attempt == 1
        # the notes came back from the new connection's first frame
        assert rec.frames[1][0].servers[3].public_note == "renewed"
        store = FleetStore()
        for frame, _ in rec.frames:
            store.apply(frame)
        assert store.public_note(8) == "renewed"  # and a store following the frames has it
        assert stream.connections == 2 and len(tracker.opened) == 2
        # the options that matter for the Dashboard
        kw = tracker.kwargs[0]
        assert kw["ping_interval"] is None and kw["max_size"] >= 8 * 1024 * 1024
        assert "ssl" not in kw and kw["additional_headers"] == {}


async def test_stall_goes_stale_and_reconnects():
    # stall: one frame, then silence (no frames, socket open)
    tracker = TrackingConnect()
    async with running_stream(send_then_hold(FIRST), send_then_hold(FIRST), interval=0.05,
                              connect=tracker) as (dash, client, stream, rec):
        await rec.until(lambda: len(rec.frames) == 2)
        stale = [s for s in rec.statuses if s.state is StreamState.STALE]
        assert stale and stale[0].message == "no data for 0.15 s; reconnecting"
        assert rec.sleeps == [1.0] and dash.count == 2
        assert tracker.opened[0].transport.is_closing()


async def test_server_restart_on_the_same_port():
    restarted = Dash(send_then_hold(LATER))
    try:
        async with running_stream(send_then_hold(FIRST)) as (dash, client, stream, rec):
            port = dash.port

            async def hook(n):
                if n == 2:  # the Dashboard comes back while we wait for the 3rd attempt
                    await restarted.start(port)

            rec.on_sleep = hook
            await rec.until(lambda: len(rec.frames) == 1)
            await dash.stop()  # closes the connection (code 1001) and the port
            await rec.until(lambda: len(rec.frames) == 2)
            assert rec.sleeps == [1.0, 2.0]
            refused = [s for s in rec.statuses if s.state is StreamState.RECONNECTING][1]
            assert refused.message.startswith(f"connection refused by 127.0.0.1:{port}")
            closed = [s for s in rec.statuses if s.state is StreamState.STALE][0]
            assert "code 1001" in closed.message
    finally:
        await restarted.stop()


# --------------------------------------------------------------------------- handshake answers


def http_answer(status: int, body: bytes, ctype: str):
    def process_request(connection, request):
        headers = Headers([("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return Response(status, "X", headers, body)
    return process_request


async def test_force_auth_http_200_json_is_auth_failed():
    answer = http_answer(200, b'{"error":"ApiErrorUnauthorized"}', "application/json; charset=utf-8")
    async with running_stream(send_then_hold(FIRST), process_request=answer,
                              start=False) as (dash, client, stream, rec):
        await run_to_end(stream)  # returns on its own: no retry after AUTH_FAILED
        assert stream.status.state is StreamState.AUTH_FAILED
        # a guest gave no credentials: nothing was refused, a login is required
        assert stream.status.message == LOGIN_REQUIRED
        assert rec.sleeps == [] and rec.frames == []


async def test_401_json_is_auth_failed():
    body = b'{"error":"ApiErrorUnauthorized: invalid api token"}'
    async with running_stream(send_then_hold(FIRST), process_request=http_answer(401, body, "application/json"),
                              credentials=Credentials(token="nzp_bad"), start=False) as (dash, client, stream, rec):
        await run_to_end(stream)
        assert stream.status.state is StreamState.AUTH_FAILED and "invalid api token" in stream.status.message
        assert dash.headers == []  # never upgraded


async def test_waf_html_403_retries_at_the_cap():
    page = (FIX / "waf_blocked.html").read_bytes()
    async with running_stream(send_then_hold(FIRST), process_request=http_answer(
            403, page, "text/html; charset=utf-8")) as (dash, client, stream, rec):
        await rec.until(lambda: len(rec.sleeps) == 2)
        assert rec.sleeps == [30.0, 30.0]
        waiting = [s for s in rec.statuses if s.state is StreamState.RECONNECTING][0]
        assert waiting.message.startswith("blocked by the Dashboard's firewall: you were blocked by nezha WAF")


async def test_5xx_html_retries_with_backoff():
    page = (FIX / "nginx_502.html").read_bytes()
    async with running_stream(send_then_hold(FIRST), process_request=http_answer(
            502, page, "text/html")) as (dash, client, stream, rec):
        await rec.until(lambda: len(rec.sleeps) == 3)
        assert rec.sleeps == [1.0, 2.0, 4.0]
        assert rec.statuses[-1].message.startswith("proxy error 502 Bad Gateway")


# --------------------------------------------------------------------------- auth before (re)connect


class FakeClient:
    """Stands in for NezhaClient: counts ensure_auth, hands out a new JWT each time."""

    def __init__(self, url: str, mode: str = "password", fail: Exception | None = None) -> None:
        self.ws_url = url.replace("http://", "ws://") + "/api/v1/ws/server"
        self.host, self.port = "127.0.0.1", int(url.rsplit(":", 1)[1])
        self.credentials = Credentials("admin", "pw") if mode == "password" else Credentials()
        self.fail = fail
        self.ensured = 0
        self.invalidated = 0

    async def ensure_auth(self) -> None:
        self.ensured += 1
        if self.fail is not None:
            raise self.fail

    def stream_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer jwt-{self.ensured}"}

    def invalidate_jwt(self) -> None:
        self.invalidated += 1

    async def aclose(self) -> None:
        pass


async def test_ensure_auth_before_each_connect_uses_renewed_token():
    async with running_stream(send_then_drop(FIRST), send_then_hold(FIRST),
                              make_client=FakeClient) as (dash, client, stream, rec):
        await rec.until(lambda: len(rec.frames) == 2)
        assert client.ensured == 2
        assert [h["Authorization"] for h in dash.headers] == ["Bearer jwt-1", "Bearer jwt-2"]


async def test_bad_credentials_in_ensure_auth_stop_retrying():
    rec = Recorder()
    client = FakeClient("http://127.0.0.1:9", fail=BadCredentials())
    stream = make_stream(client, rec)
    await run_to_end(stream)
    assert stream.status.state is StreamState.AUTH_FAILED
    assert stream.status.message == "login failed: wrong user name or password"
    assert rec.sleeps == [] and stream.connections == 0


async def test_waf_in_ensure_auth_waits_the_cap():
    rec = Recorder()
    client = FakeClient("http://127.0.0.1:9", fail=WafBlocked("you were blocked by nezha WAF"))
    stream = make_stream(client, rec)
    async with running(stream):
        await rec.until(lambda: len(rec.sleeps) == 1)
        assert rec.sleeps == [30.0] and stream.connections == 0


async def test_password_mode_200_logs_in_again_once_then_auth_failed():
    answer = http_answer(200, b'{"error":"ApiErrorUnauthorized"}', "application/json")
    async with running_stream(send_then_hold(FIRST), process_request=answer, start=False,
                              make_client=partial(FakeClient, mode="password")) as (dash, client, stream, rec):
        await run_to_end(stream)
        assert client.invalidated == 1 and client.ensured == 2
        assert rec.sleeps == [1.0]
        assert stream.status.state is StreamState.AUTH_FAILED


# --------------------------------------------------------------------------- backoff, stop


class Refused:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, uri, **kw):
        self.calls += 1
        raise ConnectionRefusedError(111, "Connect call failed")


async def test_backoff_sequence_attempts_and_retry_times():
    rec = Recorder()
    refused = Refused()
    client = FakeClient("http://127.0.0.1:9", mode="guest")
    stream = make_stream(client, rec, connect=refused)
    async with running(stream):
        await rec.until(lambda: len(rec.sleeps) == 8)
    assert rec.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    waiting = [s for s in rec.statuses if s.state is StreamState.RECONNECTING]
    assert [s.attempt for s in waiting[:8]] == [1, 2, 3, 4, 5, 6, 7, 8]
    t = 1000.0
    for s, d in zip(waiting, rec.sleeps):
        assert s.next_retry_at == pytest.approx(t + d)
        t += d
    assert waiting[0].message == "connection refused by 127.0.0.1:9; retrying in 1 s"
    assert StreamState.STALE not in rec.states()  # never had data
    assert refused.calls >= 8


@pytest.mark.parametrize("r, want", [
    (0.0, [0.75, 1.5, 3.0, 6.0, 12.0, 22.5, 22.5]),
    (0.999999, [1.25, 2.5, 5.0, 10.0, 20.0, 30.0, 30.0]),
])
def test_backoff_jitter_bounds(r, want):
    stream = FleetStream(FakeClient("http://127.0.0.1:9"), on_frame=print, on_status=print, rng=lambda: r)
    got = [stream.backoff_delay(n) for n in range(1, 8)]
    assert got == pytest.approx(want, rel=1e-5)


async def test_stop_during_a_real_backoff_sleep_is_prompt():
    statuses = []
    client = FakeClient("http://127.0.0.1:9", mode="guest")
    stream = FleetStream(client, on_frame=print, on_status=statuses.append, connect=Refused())
    task = asyncio.create_task(stream.run())
    while not any(s.state is StreamState.RECONNECTING for s in statuses):
        await asyncio.sleep(0.005)
    start = time.monotonic()
    stream.stop()
    async with asyncio.timeout(2):
        await task
    assert time.monotonic() - start < 0.5
    assert statuses[-1].state is StreamState.STOPPED


async def test_stop_while_connected_closes_the_socket():
    rec = Recorder()
    tracker = TrackingConnect()
    async with serving(send_then_hold(FIRST)) as dash, aclosing(NezhaClient(dash.url)) as client:
        stream = make_stream(client, rec, connect=tracker)
        async with running(stream):
            await rec.until(lambda: len(rec.frames) == 1)
        # stopped, with the Dashboard still up: the stream closed the socket itself
        assert tracker.opened[0].transport.is_closing()
        assert rec.sleeps == []


async def test_unexpected_connect_error_is_retried_not_fatal():
    class Weird:
        calls = 0

        async def __call__(self, uri, **kw):
            Weird.calls += 1
            raise RuntimeError("exotic library failure")

    rec = Recorder()
    stream = make_stream(FakeClient("http://127.0.0.1:9", mode="guest"), rec, connect=Weird())
    async with running(stream):
        await rec.until(lambda: len(rec.sleeps) == 2)
        assert rec.statuses[-1].state in (StreamState.RECONNECTING, StreamState.CONNECTING)
        assert any("unexpected error: exotic library failure" in s.message for s in rec.statuses)


async def test_html_200_instead_of_upgrade_is_a_wrong_url_not_an_auth_failure():
    page = b"<!DOCTYPE html><html><head><title>Nezha</title></head><body>SPA</body></html>"
    async with running_stream(send_then_hold(FIRST), process_request=http_answer(
            200, page, "text/html")) as (dash, client, stream, rec):
        await rec.until(lambda: len(rec.sleeps) == 1)
        assert rec.sleeps == [30.0]
        assert rec.statuses[-1].message.startswith(NOT_A_DASHBOARD)
        assert StreamState.AUTH_FAILED not in rec.states()


async def test_on_receive_comes_before_decoding_and_a_failing_one_is_survived():
    rec = Recorder()
    seen: list[int] = []  # frames delivered when the bytes of the next one arrived

    def on_receive():
        seen.append(len(rec.frames))
        if len(seen) == 1:
            raise RuntimeError("consumer bug")

    async with running_stream(send_then_hold(FIRST, "{broken", LATER), rec=rec, on_receive=on_receive) as (
            dash, client, stream, rec):
        await rec.until(lambda: len(rec.frames) == 2)
        assert seen == [0, 1, 1]  # each frame's bytes before it; the malformed one's bytes, no frame


async def test_malformed_first_frame_keeps_cached_notes():
    async with running_stream(send_then_drop(FIRST), send_then_hold("{broken", LATER)) as (dash, client, stream, rec):
        await rec.until(lambda: len(rec.frames) == 2)
        notes = {s.id: s.public_note for s in rec.frames[1][0].servers}
        assert notes[8] is None and notes[1] is None  # the non-first LATER frame blanks nothing
        assert notes[9] == ""
        assert {s.id: s.public_note for s in rec.frames[0][0].servers}[1] == ""  # first frame: filled


async def test_wss_self_signed_needs_insecure(self_signed):
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*self_signed)

    async with serving(send_then_hold(FIRST), ssl=ctx) as dash:
        async with aclosing(NezhaClient(dash.url)) as strict:
            assert strict.ws_url.startswith("wss://")
            rec = Recorder()
            async with running(make_stream(strict, rec)):
                await rec.until(lambda: len(rec.sleeps) == 1)
                assert "TLS certificate verification failed" in rec.statuses[-1].message

        async with aclosing(NezhaClient(dash.url, verify=False)) as insecure:
            rec = Recorder()
            async with running(make_stream(insecure, rec)):
                await rec.until(lambda: len(rec.frames) == 1)
