"""``run_watch`` over several Dashboards, in-process against simulated Dashboards: each prints its events
(named), one refusing the credentials is one line and the others go on; exit 1 only when all refused."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nezha_tui.alerts.rules import AlertConfig
from nezha_tui.api.client import NezhaClient
from nezha_tui.api.credentials import Credentials
from nezha_tui.demo.server import DemoOptions
from nezha_tui.demo.thread import start_demo_in_thread
from nezha_tui.watch import run_watch

WAIT = 30.0
"""Seconds a step may take at most (the demo streams a frame every 0.2 s)."""


class Sink(io.StringIO):
    """An output that wakes the test on every write."""

    def __init__(self) -> None:
        super().__init__()
        self.wrote = asyncio.Event()

    def write(self, s: str) -> int:
        n = super().write(s)
        self.wrote.set()
        return n

    async def until(self, done: Callable[[str], bool]) -> None:
        while not done(self.getvalue()):
            self.wrote.clear()
            await asyncio.wait_for(self.wrote.wait(), WAIT)


@pytest.fixture
def demos():
    started = [start_demo_in_thread(DemoOptions(seed=3, frame_interval=0.2, site_name="Home")),
               start_demo_in_thread(DemoOptions(seed=4, servers=5, frame_interval=0.2, force_auth=True,
                                                site_name="Work"))]
    try:
        yield started
    finally:
        for demo in started:
            demo.stop()


def _client(demo, password: str | None = None) -> NezhaClient:
    return NezhaClient(demo.url, Credentials(demo.username, password or demo.password))


def test_one_refusing_the_password_is_one_line_and_the_other_goes_on(demos, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEZHA_TUI_STATE_DIR", str(tmp_path / "state"))
    home, work = demos
    out, err = Sink(), Sink()

    async def main() -> int:
        stop = asyncio.Event()
        targets = [("home", _client(home)), ("work", _client(work, "wrong password"))]
        task = asyncio.ensure_future(run_watch(targets, AlertConfig(), json_lines=True, install_signals=False,
                                               out=out, err=err, stop=stop))
        await err.until(lambda text: "refused" in text)
        await out.until(lambda text: '"summary"' in text)
        assert not task.done()  # home goes on
        stop.set()
        return await asyncio.wait_for(task, WAIT)

    code = asyncio.run(main())
    assert code == 0
    lines = err.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("nezha-tui watch: work: the Dashboard refused the credentials")
    assert "wrong password" not in err.getvalue()  # never the password
    objs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert objs[0]["kind"] == "summary" and objs[0]["dashboard"] == "home"
    assert objs[0]["message"].startswith("24 servers")
    assert {o["dashboard"] for o in objs} == {"home"}  # nothing of the refused one
    logged = [json.loads(line) for line in (tmp_path / "state" / "events.jsonl").read_text().splitlines()]
    assert ("home", "summary") in [(o["dashboard"], o["kind"]) for o in logged]
    watched = json.loads((tmp_path / "state" / "events.watch.json").read_text())["dashboards"]
    assert "home" in watched  # the shared log closed at the end: the last moment watched written


def test_both_print_their_events_each_named(demos, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEZHA_TUI_STATE_DIR", str(tmp_path / "state"))
    home, work = demos
    out, err = Sink(), Sink()

    async def main() -> int:
        stop = asyncio.Event()
        targets = [("home", _client(home)), ("work", _client(work))]
        task = asyncio.ensure_future(run_watch(targets, AlertConfig(), install_signals=False, out=out, err=err,
                                               stop=stop))
        await out.until(lambda text: "[home]" in text and "[work]" in text)
        stop.set()
        return await asyncio.wait_for(task, WAIT)

    assert asyncio.run(main()) == 0
    lines = out.getvalue().splitlines()
    home_lines = [line for line in lines if "[home]" in line]
    work_lines = [line for line in lines if "[work]" in line]
    assert len(home_lines) + len(work_lines) == len(lines)
    assert any("summary" in line and "24 servers" in line for line in home_lines)
    assert any("summary" in line and "5 servers" in line for line in work_lines)
    assert err.getvalue() == ""


def test_every_one_refusing_exits_1_with_one_line_each(demos, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEZHA_TUI_STATE_DIR", str(tmp_path / "state"))
    home, work = demos
    out, err = Sink(), Sink()
    targets = [("home", _client(home, "nope")), ("work", _client(work, "nope"))]
    code = asyncio.run(asyncio.wait_for(run_watch(targets, AlertConfig(), install_signals=False, out=out, err=err),
                                        WAIT))
    assert code == 1 and out.getvalue() == ""
    lines = sorted(err.getvalue().splitlines())
    assert len(lines) == 2
    for line, name in zip(lines, ("home", "work"), strict=True):
        assert line.startswith(f"nezha-tui watch: {name}: the Dashboard refused the credentials: "), line


def test_one_dashboard_keeps_todays_lines_and_exit_status(demos, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEZHA_TUI_STATE_DIR", str(tmp_path / "state"))
    _, work = demos
    out, err = Sink(), Sink()
    code = asyncio.run(asyncio.wait_for(run_watch([("work", _client(work, "nope"))], AlertConfig(),
                                                  install_signals=False, out=out, err=err), WAIT))
    assert code == 1 and out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nezha-tui watch: the Dashboard refused the credentials: ")
