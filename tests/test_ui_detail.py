"""Server detail screen: facts, live panel, metric history, monitors, every message case."""

from __future__ import annotations

import asyncio
import json
import math
import re
from contextlib import asynccontextmanager
from typing import Any

import pytest

from textual.widgets import DataTable, OptionList, Static, TabbedContent

from nezha_tui.api import errors as e
from nezha_tui.api import models as m
from nezha_tui.ui.drilldown import GUEST_MESSAGE, NO_TSDB_MESSAGE, TOO_OLD_MESSAGE
from nezha_tui.ui.screens.server_detail import (
    METRIC_VIEWS, VIEWS_BY_KEY, ServerDetailScreen, estimate_loss, metric_series, note_text,
)
from nezha_tui.ui.widgets.plot import Plot
from tests import ui_fakes as uf
from tests.test_ui_services import T0, Host, settle

MEM_TOTAL = 8 << 30
NOTE = json.dumps({
    "billingDataMod": {"startDate": "2026-01-01T00:00:00Z", "endDate": "2026-12-01T00:00:00Z",
                       "autoRenewal": "1", "cycle": "Month", "amount": "5EUR"},
    "planDataMod": {"bandwidth": "1Gbps", "trafficVol": "1TB", "IPv4": "1", "IPv6": "0",
                    "networkRoute": "CN2 GIA", "extra": "NVMe,ddos"},
})


def metric_answer(sid: int, metric: str, period: str) -> m.MetricSeries:
    n, step = (2880, 30) if period == "1d" else (336, 1800)
    base = T0 - n * step
    scale = (MEM_TOTAL / 100) if metric in ("memory", "swap") else 1.0
    values = [(30 + 20 * math.sin(i / 97)) * scale for i in range(n)]
    values[n // 3] = 97.5 * scale  # a spike
    if metric == "swap":
        values = [v / 8 for v in values]
    return m.MetricSeries(server_id=sid, metric=metric,
                          data_points=[m.MetricPoint(ts=(base + i * step) * 1000, value=v) for i, v in enumerate(values)])


def services_answer(sid: int, period: str) -> list[m.ServerServiceSeries]:
    base = (T0 - 86400) * 1000
    ts_gap = [base + i * 30_000 for i in range(2880) if not 1000 <= i < 1100]
    ts_full = [base + i * 30_000 for i in range(2880)]
    return [
        m.ServerServiceSeries(monitor_id=1, server_id=sid, monitor_name="api", created_at=ts_gap,
                              avg_delay=[20.0 + i % 5 for i in range(len(ts_gap))]),
        m.ServerServiceSeries(monitor_id=2, server_id=sid, monitor_name="db", display_index=5,
                              created_at=ts_full, avg_delay=[40.0] * 2879 + [310.0]),
    ]


def make_app(client: Any = None, **screen_kw: Any) -> Host:
    client = client or uf.FakeClient(server_metrics=metric_answer, server_services=services_answer)
    app = Host(client, lambda: ServerDetailScreen(1, **screen_kw))
    for step in range(30):
        now = T0 - 60 + 2 * step
        app.store.apply(uf.frame([
            uf.server_json(1, "tokyo-1", now=now, cpu=10.0 + step, temps=[45, 51.5], gpu=[12.0],
                           public_note=NOTE),
            uf.server_json(2, "paris-2", now=now, public_note="plain <b>[bold]text[/bold]</b>"),
        ], now=now))
    return app


def detail(app: Host) -> ServerDetailScreen:
    assert isinstance(app.screen, ServerDetailScreen)
    return app.screen


@asynccontextmanager
async def detail_screen(app: Host | None = None, size: tuple[int, int] = (120, 40)):
    """``app`` (``make_app()`` when not given) running at ``size`` and settled on the detail screen.

    Yields ``(app, pilot, screen)``; the app is shut down when the block ends, also on a failure.
    """
    app = app or make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        yield app, pilot, detail(app)


async def press(pilot: Any, app: Host, *keys: str) -> None:
    """Presses ``keys`` and waits until the screen's fetches have been answered and shown."""
    await pilot.press(*keys)
    await settle(pilot, app)


# --------------------------------------------------------------------------- pure parts


def test_estimate_loss_from_gaps() -> None:
    ts = [i * 30_000 for i in range(100) if i not in (10, 11, 50)]
    loss, missing, present = estimate_loss(ts)
    assert (missing, present) == (3, 97) and loss == 3.0
    assert estimate_loss([1, 2]) == (None, 0, 2)
    assert estimate_loss([5, 5, 5])[0] is None
    assert estimate_loss(list(range(0, 300, 30)))[0] == 0.0


def test_views_cover_all_17_metrics() -> None:
    covered = {metric for v in METRIC_VIEWS for metric in v.metrics}
    assert covered == set(m.METRICS)
    assert VIEWS_BY_KEY["memory+swap"].metrics == ("memory", "swap")
    assert VIEWS_BY_KEY["net_speed"].metrics == ("net_in_speed", "net_out_speed")
    assert VIEWS_BY_KEY["conns"].metrics == ("tcp_conn", "udp_conn")


def test_metric_series_percent_of_host_totals_and_bytes_fallback() -> None:
    host = m.Host(mem_total=MEM_TOTAL)
    res = metric_answer(1, "memory", "1d")
    series, fmt, stats = metric_series(VIEWS_BY_KEY["memory"], [res], host)
    assert fmt.kind == "percent" and max(series[0].ys) == 97.5
    assert series[0].legend_extra == "of 8.0 GiB"
    assert "max 97.5% (7.8 GiB)" in stats[0].text
    series, fmt, _ = metric_series(VIEWS_BY_KEY["memory"], [res], m.Host())  # total unknown
    assert fmt.kind == "bytes" and max(series[0].ys) == 97.5 * MEM_TOTAL / 100


def test_note_text_expiry_of_renewing_and_fixed_plans() -> None:
    from datetime import date

    from nezha_tui.api.public_note import parse_public_note

    def text(billing: dict) -> str:
        note = parse_public_note(json.dumps({"billingDataMod": billing}), date(2026, 11, 26))
        out = note_text(note, "", {})
        assert out is not None
        return out.plain

    rolled = text({"endDate": "2026-03-01T00:00:00Z", "autoRenewal": "1", "cycle": "Year", "amount": "49.99USD"})
    assert "renews 2027-03-01 (95 days)" in rolled and "2026-03-01 (" not in rolled
    assert "automatic (note: 2026-03-01)" in rolled
    fixed = text({"endDate": "2026-12-01T00:00:00Z", "autoRenewal": "0", "cycle": "Month"})
    assert "2026-12-01 (5 days left)" in fixed and "no auto-renewal" in fixed
    gone = text({"endDate": "2026-11-20T00:00:00Z", "autoRenewal": "0", "cycle": "Month"})
    assert "2026-11-20 (expired 6 days ago)" in gone
    unknown = text({"endDate": "2026-03-01T00:00:00Z", "autoRenewal": "1", "cycle": "sometimes"})
    assert "2026-03-01 (expired" in unknown and "automatic (cycle unknown)" in unknown
    assert "never expires" in text({"endDate": "0000-00-00T00:00:00Z", "autoRenewal": "1", "cycle": "Year"})


def test_note_and_card_show_billing_and_plan_codes_in_words() -> None:
    from datetime import date

    from nezha_tui.api.public_note import parse_public_note
    from nezha_tui.ui.widgets.fleet_cards import billing_text

    note = parse_public_note(json.dumps({
        "billingDataMod": {"endDate": "2026-12-01T00:00:00Z", "autoRenewal": "0", "cycle": "季", "amount": "12USD"},
        "planDataMod": {"trafficVol": "2TB", "trafficType": "2", "IPv4": "1"},
    }), date(2026, 11, 26))
    out = note_text(note, "", {})
    assert out is not None
    lines = out.plain.split("\n")
    assert "Traffic   2TB (in + out)" in lines and "(2)" not in out.plain
    assert "Price     12USD/quarter" in lines
    assert billing_text(note).startswith("12USD/quarter · ")  # the card says the same
    narrow = note_text(note, "", {}, width=18)
    assert narrow is not None and "Traffic   2TB" in narrow.plain.split("\n")  # the volume stays whole


def test_note_text_raw_is_plain_text() -> None:
    t = note_text(None, "plain <b>[bold]text[/bold]</b>", {})
    assert t is not None and "[bold]text[/bold]" in t.plain
    assert note_text(None, "   ", {}) is None


# --------------------------------------------------------------------------- overview


async def test_overview_facts_note_live_and_realtime_plot() -> None:
    async with detail_screen(size=(130, 44)) as (app, pilot, screen):
        facts = str(screen.query_one("#facts", Static).render())
        for part in ("tokyo-1", "DE", "● online", "last seen", "debian 12", "AMD EPYC 7B13", "x86_64 · kvm",
                     "8.0 GiB", "100.0 GiB", "2.0 GiB", "(up 3d 1h)", "1.12.0"):
            assert part in facts, part
        note = str(screen.query_one("#note", Static).render())
        assert "renews 2026-12-01 (13 days)" in note and "5EUR/month" in note and "automatic" in note
        assert "1Gbps" in note and "IPv4 ✓" in note and "IPv6 ✗" in note and "NVMe" in note
        live = str(screen.query_one("#live", Static).render())
        for part in ("39.0%", "4.0 GiB / 8.0 GiB", "coretemp_0  45.0°C", "coretemp_1  51.5°C", "12.0%",
                     "TCP 12", "UDP 3", "140", "0.50  0.50  0.50"):
            assert part in live, part
        rt = screen.query_one("#rt-pct", Plot)
        assert rt.last is not None and max(b.hi for b in rt.last.buckets[0]) == 39.0
        assert "tokyo-1 › detail" in str(screen.query_one("#crumbs", Static).render())
        assert app.client.count("server_metrics") == 0  # history is fetched only when shown

        # a new frame updates the live panel through the fleet_changed signal
        change = app.store.apply(uf.frame([uf.server_json(1, "tokyo-1", now=T0 + 2, cpu=77.0)], now=T0 + 2))
        app.fleet_changed.publish(change)
        await pilot.pause()
        assert "77.0%" in str(screen.query_one("#live", Static).render())
        assert rt.last is not None and max(b.hi for b in rt.last.buckets[0]) == 77.0

        # the server vanishes from the stream
        change = app.store.apply(uf.frame([uf.server_json(2, "paris-2", now=T0 + 4)], now=T0 + 4))
        assert 1 in change.removed
        app.fleet_changed.publish(change)
        await pilot.pause()
        assert screen.gone
        assert "gone from the Dashboard" in str(screen.query_one("#crumbs", Static).render())

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ServerDetailScreen)


async def test_raw_note_shown_as_text() -> None:
    client = uf.FakeClient(server_metrics=metric_answer, server_services=services_answer)
    app = Host(client, lambda: ServerDetailScreen(2))
    app.store.apply(uf.frame([uf.server_json(2, "paris-2", public_note="plain [b]x[/b]")]))
    async with detail_screen(app) as (app, pilot, screen):
        assert "plain [b]x[/b]" in str(screen.query_one("#note", Static).render())


async def test_unknown_server_says_so() -> None:
    client = uf.FakeClient(server_metrics=metric_answer)
    app = Host(client, lambda: ServerDetailScreen(99))
    app.store.apply(uf.frame([uf.server_json(2, "paris-2")]))
    async with detail_screen(app) as (app, pilot, screen):
        assert "gone" in str(screen.query_one("#facts", Static).render())


# --------------------------------------------------------------------------- metric history


async def test_history_metric_choice_periods_and_cache() -> None:
    async with detail_screen(size=(130, 44)) as (app, pilot, screen):
        await press(pilot, app, "h")
        assert screen.query_one("#tabs", TabbedContent).active == "history"
        assert app.client.calls[-1] == ("server_metrics", (1, "cpu", "1d"))
        plot = screen.query_one("#metric-plot", Plot)
        assert plot.message is None and plot.last is not None
        assert max(b.hi for b in plot.last.buckets[0]) == 97.5  # plotted max == series max
        assert plot.last.columns < 2880
        assert "max 97.5%" in screen.history.stats[0].text

        # several metrics at once where units agree: memory + swap as percent of the host totals
        screen.history.select_metric("memory+swap")
        await settle(pilot, app)
        assert ("server_metrics", (1, "memory", "1d")) in app.client.calls
        assert ("server_metrics", (1, "swap", "1d")) in app.client.calls
        assert [s.label for s in plot.series] == ["memory", "swap"]
        assert max(b.hi for b in plot.last.buckets[0]) == 97.5
        assert abs(max(b.hi for b in plot.last.buckets[1]) - 97.5 * 4 / 8) < 1e-9  # swap total is 2 GiB
        assert "of 8.0 GiB" in plot.last.text.plain

        # arrow keys in the list choose the next view
        options = screen.query_one("#metrics", OptionList)
        assert options.has_focus
        await press(pilot, app, "down")
        assert screen.history.view_key == "disk" and ("server_metrics", (1, "disk", "1d")) in app.client.calls

        await press(pilot, app, "7")
        assert ("server_metrics", (1, "disk", "7d")) in app.client.calls
        assert "[7d]" in str(screen.query_one("#history-bar", Static).render())
        calls = app.client.count("server_metrics")
        await press(pilot, app, "1")
        assert app.client.count("server_metrics") == calls  # back to 1d: from the cache
        assert plot.message is None
        await press(pilot, app, "r")
        assert app.client.count("server_metrics") == calls + 1


async def test_history_tsdb_off() -> None:
    # TSDB off: the Dashboard answers every metric with no points; one request confirms it
    # (a pre-v2.0 Dashboard also reads as "off" but answers 404), later views skip the request
    app = make_app(uf.FakeClient(server_metrics=m.MetricSeries(server_id=1, data_points=[]),
                                 server_services=services_answer))
    app.setting = m.Setting(tsdb_enabled=False)
    async with detail_screen(app) as (app, pilot, screen):
        await press(pilot, app, "h")
        assert screen.query_one("#metric-plot", Plot).message == NO_TSDB_MESSAGE
        assert app.client.count("server_metrics") == 1
        screen.history.select_metric("load")
        await settle(pilot, app)
        assert screen.query_one("#metric-plot", Plot).message == NO_TSDB_MESSAGE
        assert app.client.count("server_metrics") == 1
        # service monitors still come from the SQL database
        await press(pilot, app, "m")
        assert screen.query_one("#monitor-plot", Plot).message is None


async def test_history_empty_when_setting_unknown() -> None:
    client = uf.FakeClient(server_metrics=m.MetricSeries(), server_services=[])
    app = make_app(client)
    app.setting = None
    async with detail_screen(app) as (app, pilot, screen):
        await press(pilot, app, "h")
        assert "TSDB off?" in (screen.query_one("#metric-plot", Plot).message or "")


async def test_history_error_messages() -> None:
    async with detail_screen() as (app, pilot, screen):
        plot = screen.query_one("#metric-plot", Plot)
        app.client.errors["server_metrics"] = e.GuestPeriodDenied()
        await press(pilot, app, "7")  # from the overview: jumps to the history tab
        assert screen.query_one("#tabs", TabbedContent).active == "history"
        assert plot.message == GUEST_MESSAGE
        app.client.errors["server_metrics"] = e.DashboardTooOld()
        await press(pilot, app, "r")
        assert plot.message == TOO_OLD_MESSAGE
        app.client.errors["server_metrics"] = e.NotFound("server not found")
        await press(pilot, app, "r")
        assert plot.message is not None and "gone" in plot.message
        app.client.errors["server_metrics"] = e.NetworkError("timed out after 10 s")
        await press(pilot, app, "r")
        assert plot.message == "timed out after 10 s"
        del app.client.errors["server_metrics"]
        await press(pilot, app, "r")
        assert plot.message is None


class SlowMetrics(uf.FakeClient):
    def __init__(self) -> None:
        super().__init__(server_services=services_answer)
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def server_metrics(self, server_id: int, metric: str, period: str = "1d") -> m.MetricSeries:
        self.calls.append(("server_metrics", (server_id, metric, period)))
        if metric == "cpu":
            self.started.set()
            await self.release.wait()
        return metric_answer(server_id, metric, period)


async def test_history_fetch_the_user_left_is_not_shown() -> None:
    client = SlowMetrics()
    async with detail_screen(make_app(client)) as (app, pilot, screen):
        await pilot.press("h")
        await client.started.wait()
        plot = screen.query_one("#metric-plot", Plot)
        assert plot.loading
        screen.history.select_metric("disk")
        await pilot.pause()
        client.release.set()
        await settle(pilot, app)
        assert screen.history.view_key == "disk" and [s.label for s in plot.series] == ["disk"]
        assert not plot.loading


# --------------------------------------------------------------------------- monitors


async def test_monitors_lines_and_loss_estimate() -> None:
    async with detail_screen(size=(130, 44)) as (app, pilot, screen):
        await press(pilot, app, "m")
        plot = screen.query_one("#monitor-plot", Plot)
        assert [s.label for s in plot.series] == ["db", "api"]  # display_index first
        assert max(b.hi for b in plot.last.buckets[0]) == 310.0
        table = screen.query_one("#monitor-table", DataTable)
        api = [str(c) for c in table.get_row("1")]
        assert api[0] == "api" and "100 of 2880 points missing" in api[3] and api[3].startswith("≈ 3.5%")
        assert "Loss (estimated from gaps)" in str(table.columns[table.ordered_columns[3].key].label)
        app.client.errors["server_services"] = e.GuestPeriodDenied()
        await press(pilot, app, "3")
        assert plot.message == GUEST_MESSAGE and table.row_count == 0
        del app.client.errors["server_services"]
        app.client.answers["server_services"] = []
        await press(pilot, app, "1")
        assert plot.message is None  # 1d came back from the cache
        await press(pilot, app, "r")
        assert plot.message == "no service monitors cover this server"


# --------------------------------------------------------------------------- the real app against the demo Dashboard


async def wait_until(pilot: Any, cond: Any, what: str, tries: int = 300) -> None:
    """Wait for the app to reach a state that depends on network I/O with the local demo."""
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def demo_setup(guest: bool = False, **options: Any) -> tuple[Any, Any]:
    from nezha_tui.api.client import Credentials, NezhaClient
    from nezha_tui.demo.server import DemoOptions, DemoServer

    demo = DemoServer(DemoOptions(servers=6, frame_interval=0.5, **options))
    return demo, (lambda: NezhaClient(demo.url, Credentials() if guest else
                                      Credentials(username=demo.username, password=demo.password), timeout=5))


@asynccontextmanager
async def demo_app(size: tuple[int, int], guest: bool = False, **options: Any):
    """The real app against a started demo Dashboard, once the fleet and the settings have arrived.

    Yields ``(app, pilot, client)``; the app, the client and the demo are shut down afterwards, also on a failure.
    """
    from nezha_tui.ui.app import NezhaApp

    demo, make_client = demo_setup(guest=guest, **options)
    await demo.start()
    client = make_client()
    try:
        app = NezhaApp(client, start_timers=False)
        async with app.run_test(size=size) as pilot:
            await wait_until(pilot, lambda: len(app.store.servers) > 0 and app.setting is not None, "the fleet")
            yield app, pilot, client
    finally:
        await client.aclose()
        await demo.stop()


async def test_demo_detail_history_and_back() -> None:
    from nezha_tui.ui.drilldown import history_cache

    async with demo_app((130, 44)) as (app, pilot, client):
        sid = next(s for s in app.store.order if app.store.is_online(s))
        base = app.screen
        app.action_open_server(sid)
        await pilot.pause()
        screen = detail(app)
        assert app.store.get(sid).name in str(screen.query_one("#facts", Static).render())
        await pilot.press("h")
        plot = screen.query_one("#metric-plot", Plot)
        await wait_until(pilot, lambda: plot.last is not None and not plot.loading, "the cpu history")
        series = history_cache(app).get(("metrics", client.base_url, sid, "cpu", "1d"))
        assert series is not None and len(series.data_points) > 100
        assert max(b.hi for b in plot.last.buckets[0]) == max(p.value for p in series.data_points)
        await pilot.press("7")
        await wait_until(pilot, lambda: history_cache(app).get(("metrics", client.base_url, sid, "cpu", "7d"))
                         is not None and not plot.loading, "7d")
        assert plot.message is None
        await pilot.press("m")
        mplot = screen.query_one("#monitor-plot", Plot)
        await wait_until(pilot, lambda: not mplot.loading and (screen.monitors.loader.shown is not None
                                                               or screen.monitors.message is not None), "monitors")
        assert screen.monitors.rows or screen.monitors.message == "no service monitors cover this server"
        if screen.monitors.rows:
            assert mplot.message is None and mplot.series
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is base


async def test_demo_guest_and_tsdb_off_messages() -> None:
    async with demo_app((120, 40), guest=True, tsdb=False) as (app, pilot, client):
        sid = app.store.order[0]
        app.action_open_server(sid)
        await pilot.pause()
        screen = detail(app)
        await pilot.press("h")
        plot = screen.query_one("#metric-plot", Plot)
        await wait_until(pilot, lambda: plot.message == NO_TSDB_MESSAGE, "the TSDB message")
        await pilot.press("m", "7")
        mplot = screen.query_one("#monitor-plot", Plot)
        await wait_until(pilot, lambda: mplot.message == GUEST_MESSAGE, "the guest message")


async def test_demo_legacy_dashboard_too_old_messages() -> None:
    """A Dashboard before v2.0 (demo ``legacy``): no tsdb_enabled in /setting, the history routes
    answer the 404 fallback; detail history, monitors and the service history say "too old"."""
    from nezha_tui.ui.screens.service_history import ServiceHistoryScreen

    async with demo_app((120, 40), legacy=True) as (app, pilot, client):
        assert app.setting.tsdb_enabled is False and app.setting.version == "v1.14.14"
        app.action_open_server(app.store.order[0])
        await pilot.pause()
        screen = detail(app)
        await pilot.press("h")
        plot = screen.query_one("#metric-plot", Plot)
        await wait_until(pilot, lambda: plot.message == TOO_OLD_MESSAGE, "the too-old message")
        await pilot.press("m")
        mplot = screen.query_one("#monitor-plot", Plot)
        await wait_until(pilot, lambda: mplot.message == TOO_OLD_MESSAGE, "the monitors message")
        await pilot.press("escape")
        await pilot.pause()
        app.action_open_services()
        await pilot.pause()
        table = app.screen.query_one("#services", DataTable)
        await wait_until(pilot, lambda: table.row_count > 1, "the services (they exist before v2.0)")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ServiceHistoryScreen), "the service history")
        hplot = app.screen.query_one("#latency", Plot)
        await wait_until(pilot, lambda: hplot.message == TOO_OLD_MESSAGE, "the service history message")
        assert "[1d]" in str(app.screen.query_one("#period-bar", Static).render())


def test_hang_indents_wrapped_values_under_the_value_column() -> None:
    from rich.text import Text

    from nezha_tui.ui.screens.server_detail import hang

    t = Text("CPU       AMD Ryzen 9 7950X3D 16-Core Processor 32 Physical Core\nArch      amd64")
    t.stylize("bold", 10, 13)
    out = hang(t, 30)
    lines = out.plain.split("\n")
    assert lines[0] == "CPU       AMD Ryzen 9 7950X3D"
    assert all(line.startswith(" " * 10) and len(line) <= 30 for line in lines[1:-1])
    assert lines[-1] == "Arch      amd64"
    assert "".join(line[10:] for line in lines[:-1]).replace(" ", "") == "AMDRyzen97950X3D16-CoreProcessor32PhysicalCore"
    assert any(span.style == "bold" for span in out.spans)  # styles survive the wrap
    assert hang(t, None) is t and hang(t, 12) is t


_LABELS = ("Name", "Status", "Platform", "CPU", "Arch", "Memory", "Disk", "Swap", "Boot", "Agent", "GPU",
           "Expires", "Price", "Renewal", "Since", "Bandwidth", "Traffic", "IP", "Route", "Tags", "Speed",
           "Transfer", "Load", "Conns", "Processes", "Temps", "Live")
_PROSE = ("Name", "Platform", "CPU", "GPU", "Route", "Tags")  # names of things: they may wrap when there are rows to spare


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (200, 60)])
async def test_overview_keeps_every_value_on_one_line(size: tuple[int, int]) -> None:
    """No number parted from its unit ("9.8 GiB / / 15.7 GiB", "(up 116d / 18h)"), the realtime
    plots keep 6 rows of data (10 with the legend and the axes), at every size."""
    app = make_app()
    cpu = "AMD Ryzen 9 7950X3D 16-Core Processor 32 Physical Core"
    for step in range(2):
        now = T0 + 2 * step
        doc = uf.server_json(1, "tokyo-1", now=now, cpu=30.0, temps=[45, 51.5, 60, 38], gpu=[12.0],
                             public_note=NOTE, uptime=86400 * 116 + 18 * 3600)
        doc["host"]["cpu"] = [cpu]
        doc["host"]["mem_total"] = int(15.7 * (1 << 30))
        doc["state"]["mem_used"] = int(9.8 * (1 << 30))
        app.store.apply(uf.frame([doc], now=now))
    short = size[1] < 40
    async with detail_screen(app, size=size) as (app, pilot, screen):
        await pilot.pause()
        for wid in ("#facts", "#live", "#note"):
            widget = screen.query_one(wid, Static)
            label = ""
            for line in str(widget.render()).split("\n"):
                assert len(line) <= widget.size.width, (size, wid, line)
                head = line[:10].strip()
                if head:
                    assert head in _LABELS, (size, wid, line)
                    label = head
                elif label in ("Temps",):
                    assert "°C" in line, (size, wid, line)  # one row per sensor, whole
                elif label in ("CPU", "GPU") and line.strip().endswith(("%", "Core")):
                    pass  # one row per model, or the end of a wrapped name
                else:
                    assert not short and label in _PROSE, (size, wid, line)  # a wrapped name, never a value
        text = "\n".join(screen_lines(app))
        assert "9.8 GiB / 15.7 GiB" in text or "9.8/15.7 GiB" in text, text
        assert "(up 116d 18h)" in text or "up 116d 18h" in text
        assert not re.search(r"GiB /\s*$|^\s*/ |\(up [^)]*$", text, re.M), text
        assert "51.5°C" in text or "60.0°C" in text
        for plot_id in ("#rt-pct", "#rt-net"):
            assert screen.query_one(plot_id, Plot).size.height >= 10, (size, plot_id)
        if size == (200, 60):
            facts = str(screen.query_one("#facts", Static).render())
            assert cpu in " ".join(facts.split())  # wide: the whole model (wrapped under the value when it must)


def screen_lines(app: Host) -> list[str]:
    update = app.screen._compositor.render_update(full=True)
    return ["".join(seg.text for strip in line for seg in strip if not seg.control) for line in update.strips]


def test_rows_take_the_first_variant_that_fits_and_cut_the_last() -> None:
    from rich.text import Text

    from nezha_tui.ui.screens.detail.rows import Rows, used_of

    assert used_of(int(9.8 * (1 << 30)), int(15.7 * (1 << 30))) == "9.8 GiB / 15.7 GiB"
    assert used_of(int(9.8 * (1 << 30)), int(15.7 * (1 << 30)), short=True) == "9.8/15.7 GiB"
    assert used_of(900 << 20, 2 << 30, short=True) == "900.0 MiB/2.0 GiB"
    rows = Rows({}, width=24)
    rows.add("Boot", "2026-08-08 01:41 (up 116d 18h)", "2026-08-08 (up 116d)", "up 116d")
    rows.add("CPU", "AMD Ryzen 9 7950X3D 16-Core")
    rows.add("Note", Text("one two three four five six"), wrap=True)
    rows.add_aligned([("A", ["a" * 20, "a" * 8]), ("B", ["b" * 10, "b" * 9])])
    lines = rows.text().plain.split("\n")
    assert lines[0] == "Boot      2026-08-08 (up 116d)"[:24] or lines[0] == "Boot      up 116d"
    assert lines[1] == "CPU       AMD Ryzen 9 7…" and len(lines[1]) == 24
    assert lines[2].startswith("Note      one two") and lines[3].startswith(" " * 10)
    assert lines[-2:] == ["A         aaaaaaaa", "B         bbbbbbbbb"]  # the same variant for both
    assert Rows({}).room is None


async def test_failed_history_retries_by_itself_with_backoff() -> None:
    """A proxy failing now and then: the plot does not stay failed until ``r``."""
    async with detail_screen() as (app, pilot, screen):
        loader = screen.history.loader
        scheduled: list[tuple[float, Any]] = []
        loader.schedule = lambda delay, callback: scheduled.append((delay, callback))  # fired by hand below

        async def fire() -> float:
            assert len(scheduled) == 1  # one retry at a time
            delay, callback = scheduled.pop()
            callback()
            await settle(pilot, app)
            return delay

        plot = screen.query_one("#metric-plot", Plot)
        failing = {"left": 10**6}
        answer = app.client.answers["server_metrics"]

        def flaky(*args):
            if failing["left"]:
                failing["left"] -= 1
                raise e.ProxyError(502, "Bad Gateway")
            return answer(*args)

        app.client.answers["server_metrics"] = flaky
        await press(pilot, app, "h")
        assert plot.message is not None and "502" in plot.message
        delays = [await fire() for _ in range(3)]  # it keeps trying, more slowly each time
        assert delays == [2.0, 4.0, 8.0] and loader.failures == 4 and "502" in (plot.message or "")
        failing["left"] = 0  # the proxy passes again
        assert await fire() == 16.0
        assert plot.message is None and loader.failures == 0 and scheduled == []


async def test_history_that_cannot_pass_is_not_retried() -> None:
    async with detail_screen() as (app, pilot, screen):
        scheduled: list[float] = []
        screen.history.loader.schedule = lambda delay, callback: scheduled.append(delay)
        app.client.errors["server_metrics"] = e.GuestPeriodDenied()
        await press(pilot, app, "7")
        assert screen.query_one("#metric-plot", Plot).message == GUEST_MESSAGE and scheduled == []


async def test_monitors_with_a_duplicate_id_keep_the_first_and_do_not_crash() -> None:
    """Two series with one monitor id (a Dashboard fault) used to raise DuplicateKey in the
    table, and the loader's worker then ended the app; the later duplicate is dropped."""
    def answer(sid: int, period: str) -> list[m.ServerServiceSeries]:
        first = services_answer(sid, period)
        again = m.ServerServiceSeries(monitor_id=1, server_id=sid, monitor_name="api-again",
                                      created_at=first[0].created_at, avg_delay=first[0].avg_delay)
        return [*first, again]

    app = make_app(uf.FakeClient(server_metrics=metric_answer, server_services=answer))
    async with detail_screen(app, size=(130, 44)) as (app, pilot, screen):
        await press(pilot, app, "m")
        assert app.is_running
        table = screen.query_one("#monitor-table", DataTable)
        assert table.row_count == 2 and str(table.get_row("1")[0]) == "api"
        assert [s.label for s in screen.query_one("#monitor-plot", Plot).series] == ["db", "api"]
