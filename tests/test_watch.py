"""``Watcher`` (the core of ``nezha-tui watch``) with a scripted stream: lines, JSON, exit codes."""

from __future__ import annotations

import asyncio
import io
import json

from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.alerts.pipeline import AlertPipeline
from nezha_tui.api.stream import StreamState, StreamStatus
from tests.ui_fakes import T0, fleet


class OfflineDetector:
    """Names the servers that went offline (the real detector is tested on its own)."""

    dashboard = "demo"

    def on_frame(self, change, store):
        return [Event(ts_ms=store.now_ms, kind=EventKind.OFFLINE, severity=Severity.CRITICAL,
                      message=f"s{sid} is offline", dashboard="demo", server_id=sid, server_name=f"s{sid}")
                for sid in sorted(change.went_offline)]

    def on_services(self, overview, now_ms):
        return []

    def on_stream(self, state, message, now_ms):
        return []

    def active(self):
        return {}


class ScriptedStream:
    """Plays frames then a final status; ``run`` returns when done (or stopped)."""

    def __init__(self, script, client, *, on_frame, on_status):
        self.script, self.on_frame, self.on_status = script, on_frame, on_status
        self.stopped = asyncio.Event()
        self.done = False
        """The whole script played."""

    async def run(self):
        for item in self.script:
            if self.stopped.is_set():
                return
            if isinstance(item, StreamStatus):
                self.on_status(item)
                if item.state is StreamState.AUTH_FAILED:
                    self.done = True
                    return
            else:
                self.on_frame(item, None)
            await asyncio.sleep(0)
        self.done = True
        await self.stopped.wait()

    def stop(self):
        self.stopped.set()


class Client:
    closed = False

    async def services(self):
        raise RuntimeError("not here")

    async def server_groups(self):
        return []

    async def aclose(self):
        self.closed = True


def _watch(script, *, json_lines=False, stop_after=None):
    out, err = io.StringIO(), io.StringIO()
    from nezha_tui.watch import Watcher

    client = Client()
    watcher = Watcher(client, AlertPipeline(OfflineDetector()), json_lines=json_lines, out=out, err=err,
                      stream_factory=lambda c, **kw: ScriptedStream(script, c, **kw), services_interval=3600)

    async def main():
        task = asyncio.ensure_future(watcher.run(install_signals=False))
        if stop_after is not None:
            while out.getvalue().count("\n") < stop_after and not task.done():
                await asyncio.sleep(0)
            watcher.stop()
        return await task

    code = asyncio.run(main())
    assert client.closed
    return code, out.getvalue(), err.getvalue()


def test_one_line_per_event_and_exit_0_when_stopped():
    script = [StreamStatus(StreamState.LIVE), fleet(3), fleet(3, now=T0 + 60, offline=[2])]
    code, out, err = _watch(script, stop_after=1)
    assert code == 0 and err == ""
    assert out.splitlines() == ["2026-11-18T11:07:40Z critical offline       [demo] s2 is offline"]


def test_json_lines_are_one_object_each():
    script = [fleet(3), fleet(3, now=T0 + 60, offline=[1, 3])]
    code, out, _ = _watch(script, json_lines=True, stop_after=2)
    objs = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(o["kind"], o["server_id"], o["dashboard"]) for o in objs] == [("offline", 1, "demo"),
                                                                          ("offline", 3, "demo")]
    assert objs[0]["time"] == "2026-11-18T11:07:40Z" and objs[0]["severity"] == "critical"


def test_refused_credentials_exit_1_with_one_line():
    script = [StreamStatus(StreamState.AUTH_FAILED, message="wrong username or password")]
    code, out, err = _watch(script)
    assert code == 1 and out == ""
    assert err == "nezha-tui watch: the Dashboard refused the credentials: wrong username or password\n"


def test_a_closed_stdout_stops_quietly():
    class Closed(io.StringIO):
        def write(self, s):
            raise BrokenPipeError

    from nezha_tui.watch import Watcher

    script = [fleet(2), fleet(2, now=T0 + 60, offline=[1])]
    watcher = Watcher(Client(), AlertPipeline(OfflineDetector()), out=Closed(), err=io.StringIO(),
                      stream_factory=lambda c, **kw: ScriptedStream(script, c, **kw), services_interval=3600)
    assert asyncio.run(watcher.run(install_signals=False)) == 0


def _watch_several(scripts, *, out=None, json_lines=False):
    """``run_watch`` over scripted Dashboards (``scripts``: name -> script), the real pipelines."""
    from nezha_tui.alerts.rules import AlertConfig
    from nezha_tui.fleets import DashboardTarget
    from nezha_tui.watch import run_watch

    out = out if out is not None else io.StringIO()
    err = io.StringIO()
    clients = {name: Client() for name in scripts}
    by_client = {id(clients[name]): script for name, script in scripts.items()}
    targets = [DashboardTarget(name, clients[name], online_window=30.0) for name in scripts]

    streams = []

    def factory(client, **kw):
        streams.append(ScriptedStream(by_client[id(client)], client, **kw))
        return streams[-1]

    async def main():
        stop = asyncio.Event()
        task = asyncio.ensure_future(run_watch(targets, AlertConfig(), json_lines=json_lines, install_signals=False,
                                               keep_log=False, out=out, err=err, stop=stop,
                                               stream_factory=factory, services_interval=3600))
        while not task.done() and not (len(streams) == len(scripts) and all(s.done for s in streams)):
            await asyncio.sleep(0)
        stop.set()
        return await task

    code = asyncio.run(main())
    assert all(c.closed for c in clients.values())
    return code, out.getvalue(), err.getvalue()


def test_several_each_line_names_its_dashboard_and_a_refused_one_is_one_line():
    refused = StreamStatus(StreamState.AUTH_FAILED, message="wrong username or password")
    code, out, err = _watch_several({
        "home": [fleet(2), fleet(2, now=T0 + 60, offline=[1])],
        "work": [refused],
        "lab": [fleet(3), fleet(3, now=T0 + 60, offline=[1, 2])],
    })
    assert code == 0
    assert err == "nezha-tui watch: work: the Dashboard refused the credentials: wrong username or password\n"
    assert sorted(line[line.index("["):] for line in out.splitlines()) == [
        "[home] 2 servers: 2 online",
        "[home] srv-001 is offline (last seen 2m 00s ago)",
        "[lab] 3 servers: 3 online",
        "[lab] srv-001 is offline (last seen 2m 00s ago)",
        "[lab] srv-002 is offline (last seen 2m 00s ago)",
    ]


def test_several_all_refused_exit_1():
    refused = StreamStatus(StreamState.AUTH_FAILED, message="no")
    code, out, err = _watch_several({"home": [refused], "work": [refused]})
    assert code == 1 and out == ""
    assert err.splitlines() == ["nezha-tui watch: home: the Dashboard refused the credentials: no",
                                "nezha-tui watch: work: the Dashboard refused the credentials: no"]


def test_several_a_closed_stdout_stops_them_all():
    class Closed(io.StringIO):
        def write(self, s):
            raise BrokenPipeError

    code, _, err = _watch_several({"home": [fleet(2)], "work": [fleet(2)]}, out=Closed())
    assert code == 0 and err == ""
