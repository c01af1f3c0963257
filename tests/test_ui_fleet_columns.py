"""The fleet table's bars, network trend and column chooser (issue 10: a table that shows trends)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.geometry import Region

from nezha_tui.ui.screens.column_chooser import ColumnChooser, ColumnList
from nezha_tui.ui.widgets.fleet_table import (
    BAR, BARS, CHOOSABLE, COLUMNS, FleetTable, bar_text, layout_columns, spark_text,
)
from tests.test_ui_fleet import NARROW, WIDE, feed, fleet_screen, spy, table_lines
from tests.ui_fakes import T0, fleet, frame, server_json

BLOCKS = set("▏▎▍▌▋▊▉█")
SPARKS = set("▁▂▃▄▅▆▇█")


def servers(step: int = 0) -> list[dict[str, Any]]:
    """Calm, critical, offline and never-reported servers; the calm one's traffic rises each step."""
    now = T0 + 2 * step
    return [
        server_json(1, "calm", now=now, cpu=50.0, mem=0.25, disk=0.5, net_in=10_000 * step, net_out=0),
        server_json(2, "hot", now=now, cpu=95.0, mem=0.95, disk=0.95),
        server_json(3, "gone", now=now, age=600.0, cpu=40.0),
        server_json(4, "never", now=now, age=None, empty=True),
    ]


async def wide_table(pilot: Any, streams: Any, steps: int = 4) -> None:
    for step in range(steps):
        await feed(pilot, streams, frame(servers(step), now=T0 + 2 * step))


def row_of(app: Any, name: str) -> str:
    return next(line for line in table_lines(app) if f" {name} " in line)


def cell(line: str, header: str, title: str, width: int) -> str:
    """The ``width`` cells of ``line`` under the right-aligned column ``title`` of ``header``."""
    end = header.index(title) + len(title)
    return line[end - width:end]


# ----------------------------------------------------------------------------- layout


def test_bars_come_after_every_column_and_the_trend_after_the_bars():
    def keys(width: int, chosen: Any = None) -> dict[str, int]:
        return {col.key: w for col, w in layout_columns(width, chosen)}

    every = sum(c.width for c in COLUMNS if c.key != "net_trend") + len(COLUMNS) - 2  # gaps
    assert every == 142
    assert "net_trend" not in keys(156) and keys(156)["name"] == 20 + 8  # no room for the trend: the name grows
    assert keys(165)["cpu"] == 6 and keys(165)["net_trend"] == 8  # room for the trend (9), not the bars (18)
    assert keys(166)["cpu"] == keys(166)["mem"] == keys(166)["disk"] == 6 + BAR + 1
    assert "net_trend" not in keys(166) and keys(166)["name"] == 20
    assert keys(175)["net_trend"] == 8 and keys(200)["name"] == 32
    assert sum(keys(200).values()) + len(keys(200)) - 1 <= 200
    assert keys(80)["cpu"] == 6 and "net_trend" not in keys(80)  # narrow: no room for either
    # a chosen set has room sooner; without BARS it has none
    few = ("cpu", "mem", "net_trend", BARS)
    assert keys(55, few) == {"name": 20, "cpu": 12, "mem": 12, "net_trend": 8}
    assert keys(55, few[:-1])["cpu"] == 6


def test_chosen_columns_drop_least_important_first_never_squeezed():
    chosen = ("cpu", "mem", "disk", "swap", "gpu", "procs", "net_in")
    laid = layout_columns(50, chosen)
    assert [c.key for c, _ in laid] == ["name", "cpu", "mem", "disk", "net_in"]  # swap, gpu, procs dropped
    assert all(w == c.width for c, w in laid if c.key != "name")
    assert layout_columns(10, ())[0][0].key == "name"  # the name even when nothing else is chosen


def test_bar_and_spark_glyphs():
    assert bar_text(0.0, 5) == "     " and bar_text(100.0, 5) == "█████" and bar_text(50.0, 5) == "██▌  "
    assert bar_text(0.1, 5) == "▏    "  # above zero is never drawn as nothing
    assert bar_text(250.0, 5) == "█████" and bar_text(float("nan"), 5) == "     "
    assert bar_text(-3.0, 5) == "     "
    assert spark_text([0, 10_000, 20_000, 30_000], 8) == "    ▁▃▆█"
    assert spark_text([5e6, 5.01e6, 4.99e6], 3) == "▁▁▁"  # a busy link's wobble stays flat
    assert spark_text([100.0, 900.0], 2) == "▁▇"  # under 1 KiB/s of span: drawn over 1 KiB/s
    assert spark_text([float("nan"), 1.0, float("nan")], 3) == " ▁ " and spark_text([], 4) == "    "


# ----------------------------------------------------------------------------- bars and trend


async def test_a_wide_table_draws_bars_and_a_trend_a_narrow_one_none():
    async with fleet_screen(size=WIDE) as (app, pilot, streams, _):
        await wide_table(pilot, streams)
        lines = table_lines(app)
        head = lines[0]
        assert "NET" in head
        calm = row_of(app, "calm")
        assert cell(calm, head, "CPU", 12) == "██▌    50.0%"
        assert cell(calm, head, "MEM", 12) == "█▎     25.0%"
        assert cell(calm, head, "DISK", 12) == "██▌    50.0%"
        trend = calm[head.index("NET"):head.index("NET") + 8]
        assert trend == "    ▁▃▆█"  # 0, 10, 20, 30 kB/s: oldest left, this frame right
        hot = row_of(app, "hot")
        assert cell(hot, head, "CPU", 12) == "████▊  95.0%"
    async with fleet_screen(size=NARROW) as (app, pilot, streams, _):
        await wide_table(pilot, streams)
        lines = table_lines(app)
        assert "NET" not in lines[0]
        assert not BLOCKS & set("".join(lines[1:])) and not SPARKS & set("".join(lines[1:]))


async def test_offline_and_never_reported_rows_draw_no_bar_and_no_trend():
    async with fleet_screen(size=WIDE) as (app, pilot, streams, _):
        await wide_table(pilot, streams)
        head = table_lines(app)[0]
        net = head.index("NET")
        gone, never = row_of(app, "gone"), row_of(app, "never")
        assert cell(gone, head, "CPU", 12) == "       40.0%"  # the last known value, no bar
        assert gone[net:net + 8] == "-       "
        assert cell(never, head, "CPU", 12) == " " * 11 + "-"
        assert never[net:net + 8] == "-       "
        assert not (BLOCKS | SPARKS) & set(gone + never)


async def test_a_bar_takes_the_severity_colour_only_at_warn_or_critical():
    async with fleet_screen(size=WIDE) as (app, pilot, streams, _):
        await wide_table(pilot, streams)
        table = app.screen.query_one(FleetTable)
        strips = table.render_lines(Region(0, 0, table.size.width, 3))
        calm_bar = next(s.style for s in strips[1] if "██▌" in s.text)
        hot_bar = next(s.style for s in strips[2] if "████▊" in s.text)
        warn, crit = table._style("fleet-table--warn").color, table._style("fleet-table--crit").color
        assert calm_bar.color not in (warn, crit)
        assert hot_bar.color == crit


async def test_bars_and_trend_read_under_no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    async with fleet_screen(size=WIDE) as (app, pilot, streams, _):
        assert app.no_color
        await wide_table(pilot, streams)
        table = app.screen.query_one(FleetTable)
        table.show_cursor = False
        table.refresh()
        await pilot.pause()
        strips = table.render_lines(Region(0, 0, table.size.width, 3))  # through the monochrome filter
        assert "▁▃▆█" in strips[1].text and "████▊" in strips[2].text
        bars = [s.style for strip in strips[1:] for s in strip if BLOCKS & set(s.text) and s.style]
        plain = table.rich_style.color
        # the glyphs carry them: never reversed (a reversed bar reads backwards), as bright as the text
        assert bars and all(not st.reverse and st.color == plain for st in bars), bars
        crit = [s.style for s in strips[2] if "95.0%" in s.text]
        assert crit and all(st.reverse or st.underline for st in crit)  # the value still says critical


async def test_a_frame_reads_the_trend_only_of_the_visible_rows_that_changed():
    async with fleet_screen(fleet(200), size=WIDE) as (app, pilot, streams, _):
        await feed(pilot, streams, fleet(200, now=T0 + 2))
        table = app.screen.query_one(FleetTable)
        assert "NET" in table_lines(app)[0]
        read: list[int] = []
        spy(table.store, "recent_net_speeds", lambda sid, n: read.append(sid))
        f = fleet(200, now=T0 + 2)  # the same frame time, values as before but two servers
        f.servers[2].state.cpu = 42.5  # visible
        f.servers[150].state.cpu = 42.5  # below the screen
        await feed(pilot, streams, f)
        assert read == [3]


# ----------------------------------------------------------------------------- chosen columns


async def test_set_chosen_columns_hides_columns_and_they_stay_hidden_after_a_frame():
    async with fleet_screen(fleet(3), size=WIDE) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        assert table.chosen_columns is None
        table.set_chosen_columns(["mem", "bogus", "cpu"])
        assert table.chosen_columns == ("name", "cpu", "mem")  # display order, the name kept, unknown ids gone
        await pilot.pause()
        head = table_lines(app)[0]
        assert head.split() == ["NAME", "CPU", "MEM"]
        assert not BLOCKS & set(table_lines(app)[1])  # no bars unless chosen
        await feed(pilot, streams, fleet(3, now=T0 + 2, step=1))
        assert table_lines(app)[0].split() == ["NAME", "CPU", "MEM"]
        assert table_lines(app)[1].split()[0] == "srv-001"  # no status, no country
        table.set_chosen_columns(("cpu", BARS))
        await pilot.pause()
        assert BLOCKS & set(table_lines(app)[1])
        table.set_chosen_columns("cpu")  # one id, not its letters
        assert table.chosen_columns == ("name", "cpu")
        table.set_chosen_columns(None)
        await pilot.pause()
        assert "CC" in table_lines(app)[0] and "GPU" in table_lines(app)[0]


async def test_the_chooser_toggles_applies_and_posts_the_choice():
    async with fleet_screen(fleet(3), size=WIDE) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        posted: list[Any] = []
        spy(table, "post_message", lambda message: posted.append(message))
        await pilot.press("c")
        await pilot.pause()
        chooser = app.screen
        assert isinstance(chooser, ColumnChooser)
        prompts = [str(o.prompt) for o in chooser.query_one(ColumnList).options]
        assert len(prompts) == len(CHOOSABLE) and all(p.startswith("[x] ") for p in prompts)
        await pilot.press("j", "space")  # the second line: the country code
        assert str(chooser.query_one(ColumnList).get_option("country").prompt) == "[ ] Country code"
        await pilot.press("j", "space", "space", "space")  # skips the name (locked), toggles cpu three times
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ColumnChooser)
        expected = tuple(c for c in CHOOSABLE if c not in ("country", "cpu"))
        assert table.chosen_columns == expected
        chosen = [m for m in posted if isinstance(m, FleetTable.ColumnsChosen)]
        assert [m.ids for m in chosen] == [expected]
        head = table_lines(app)[0]
        assert "CC" not in head and "CPU" not in head and "MEM" in head
        await feed(pilot, streams, fleet(3, now=T0 + 2, step=1))
        assert "CC" not in table_lines(app)[0]
        # every column marked again: the automatic set
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("a", "enter")
        await pilot.pause()
        assert table.chosen_columns is None
        assert [m.ids for m in posted if isinstance(m, FleetTable.ColumnsChosen)] == [expected, None]


async def test_the_chooser_cancels_on_escape_and_never_hides_the_name():
    async with fleet_screen(fleet(3), size=NARROW) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        posted: list[Any] = []
        spy(table, "post_message", lambda message: posted.append(message))
        await pilot.press("c")
        await pilot.pause()
        column_list = app.screen.query_one(ColumnList)
        await pilot.press("j", "j")  # the keys skip the name (a disabled option)
        assert column_list.highlighted_option.id == "cpu"
        column_list.highlighted = column_list.get_option_index("name")  # even put on it, space does nothing
        await pilot.press("space")
        column_list.set_marked("name", False)
        assert "name" in column_list.marked and "name" in app.screen.marked
        assert str(column_list.get_option("name").prompt).startswith("[x] ")
        column_list.highlighted = column_list.get_option_index("cpu")
        await pilot.press("space")
        assert "cpu" not in app.screen.marked
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ColumnChooser)
        assert table.chosen_columns is None and not [m for m in posted if isinstance(m, FleetTable.ColumnsChosen)]
        assert "NAME" in table_lines(app)[0]


@pytest.mark.parametrize("reverse", [False, True])
async def test_a_sorted_narrow_column_keeps_its_title_and_its_arrow(reverse):
    """The arrow of a column too narrow for it goes in the gap before its title: "▲CC", not "C…"."""
    async with fleet_screen(fleet(3), size=NARROW) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        table.view.set_sort("country")
        table.view.reverse = reverse
        table.sync()
        await pilot.pause()
        head = table_lines(app)[0]
        assert head.startswith(" ▲CC " if not reverse else " ▼CC ") and "…" not in head
