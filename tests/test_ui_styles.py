"""Theme -> style (nezha_tui/ui/styles.py) over every registered theme, without rendering screens:
severity colours readable (WCAG contrast >= 4.5:1 on every background they are drawn on) and
distinct, never reused for selection or plot lines; NO_COLOR emphasis; load per core count."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from rich.style import Style
from textual.color import Color

from nezha_tui.format import LOAD_CRIT_PER_CORE, LOAD_WARN_PER_CORE, cpu_cores, load_level
from nezha_tui.ui import styles as S
from nezha_tui.ui.app import NezhaApp
from tests import ui_fakes as uf

THEMES = sorted(NezhaApp(uf.FakeClient(), stream_factory=uf.stream_factory(), start_timers=False).available_themes)
ANSI_THEMES = {"ansi-dark", "ansi-light"}
REALTIME_ROLES = ["primary", "warning", "success", "accent"]  # the detail's realtime plot asks for these


@cache
def variables(theme: str, monochrome: bool = False) -> dict[str, str]:
    """The CSS variables the app publishes for ``theme`` (what ``app.theme_variables`` holds)."""
    app = NezhaApp(uf.FakeClient(), stream_factory=uf.stream_factory(), start_timers=False)
    app.no_color = monochrome
    app.theme = theme
    return app.get_css_variables()


def color(v: dict[str, str], name: str) -> Color:
    c = Color.parse(v[name])
    return Color.parse(v["background"]) + c if c.a < 1 else c


def test_every_registered_theme_is_checked():
    assert len(THEMES) > 10 and ANSI_THEMES <= set(THEMES)


@pytest.mark.parametrize("theme", THEMES)
def test_severity_colours_are_readable_and_distinct(theme):
    v = variables(theme)
    warn, crit = Color.parse(v["nezha-warn"]), Color.parse(v["nezha-crit"])
    assert warn != crit
    if theme in ANSI_THEMES:  # the terminal's palette: named colours, bold
        assert warn.ansi is not None and crit.ansi is not None and warn.ansi != crit.ansi
        assert v["nezha-severity-style"] == "bold"
        assert v["nezha-warn"] != v["foreground"] and v["nezha-crit"] != v["foreground"]
        if theme == "ansi-light":
            assert v["nezha-warn"] != "ansi_yellow"  # unreadable on a light terminal
        return
    for surface in S.SURFACES:  # the screen; the cards' and the detail's panels
        bg = color(v, surface)
        assert S.contrast(warn, bg) >= S.MIN_CONTRAST, (theme, surface, v["nezha-warn"], bg.hex)
        assert S.contrast(crit, bg) >= S.MIN_CONTRAST, (theme, surface, v["nezha-crit"], bg.hex)
    fg = color(v, "foreground")
    assert S.color_distance(warn, crit) >= S.MIN_DISTANCE, theme
    assert S.color_distance(warn, fg) >= S.MIN_DISTANCE, theme
    assert S.color_distance(crit, fg) >= S.MIN_DISTANCE, theme
    # derived from the theme: the theme's own colour when it is readable already
    raw = Color.parse(v["warning"])
    if all(S.contrast(raw, color(v, s)) >= S.MIN_CONTRAST for s in S.SURFACES) \
            and S.color_distance(raw, crit) >= S.MIN_DISTANCE and S.color_distance(raw, fg) >= S.MIN_DISTANCE:
        assert warn == raw


def test_amber_on_textual_light_was_unreadable():
    v = variables("textual-light")
    assert S.contrast(Color.parse(v["warning"]), color(v, "background")) < 2  # ~1.3:1 as the theme has it
    assert S.contrast(Color.parse(v["nezha-warn"]), color(v, "background")) >= 4.5


def looks_like(a: Color, b: Color) -> bool:
    if a.ansi is not None or b.ansi is not None:
        return a.ansi is not None and b.ansi is not None and a.ansi % 8 == b.ansi % 8
    return S.color_distance(a, b) < S.MIN_DISTANCE


@pytest.mark.parametrize("theme", THEMES)
def test_selection_and_plot_lines_never_take_a_severity_colour(theme):
    v = variables(theme)
    severities = [Color.parse(v[k]) for k in ("warning", "error", "nezha-warn", "nezha-crit")]
    chosen = {
        "accent (cards cursor, sorted column)": Color.parse(v["nezha-accent"]),
        "table cursor": Color.parse(v["nezha-cursor-background"]),
    }
    lines = S.plot_colors(v, REALTIME_ROLES + [""] * 4)  # the realtime plot, then palette picks
    chosen.update({f"plot line {i}": c for i, c in enumerate(lines)})
    for what, c in chosen.items():
        assert not any(looks_like(c, s) for s in severities), (theme, what, c)
    assert len(set(lines[:4])) == 4, (theme, lines)  # the realtime plot's four lines are told apart
    # a legend drawn apart from its plot gets the same colours (a prefix gives a prefix)
    assert S.plot_colors(v, REALTIME_ROLES[:2]) == lines[:2]


def test_an_unchanged_selection_keeps_the_themes_cursor():
    v = variables("textual-dark")  # its block cursor (primary blue) is no severity colour
    assert v["nezha-cursor-background"] == v["block-cursor-background"]
    assert v["nezha-cursor-blurred-background"] == v["block-cursor-blurred-background"]
    assert v["accent"] == v["warning"] and v["nezha-accent"] != v["accent"]  # amber is taken by warn


def test_theme_style_blends_a_translucent_colour_over_the_background():
    """foreground-muted is "#E0E0E099" in textual-dark: taken without its alpha it was the full
    foreground, so an offline server's last-known values in the detail were not dimmed at all."""
    theme = {"foreground-muted": "#E0E0E099", "background": "#121212"}
    c = S.theme_style(theme, "foreground-muted").color.get_truecolor()
    assert (c.red, c.green, c.blue) == (141, 141, 141)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "solarized-light", "ansi-light"])
def test_no_color_warn_is_bold_critical_bold_underlined_never_dimmer(theme):
    v = variables(theme, monochrome=True)
    assert S.no_color(v)
    normal = S.theme_style(v, "")
    warn, crit = S.theme_style(v, "warning"), S.theme_style(v, "error")
    assert warn.bold and not warn.underline
    assert crit.bold and crit.underline
    # the colour is the normal text's: the monochrome filter makes it the same grey, not a dimmer one
    assert v["nezha-warn"] == v["nezha-crit"] == (Color.parse(v["foreground"]).hex
                                                  if theme not in ANSI_THEMES else v["foreground"])
    assert normal.color is None or warn.color == S.theme_style(v, "foreground").color


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark"])
def test_with_colours_severity_styles(theme):
    v = variables(theme)
    warn = S.theme_style(v, "warning")
    assert warn.color is not None and warn.color.name.lower() in (v["nezha-warn"].lower(), "color(3)")
    assert bool(warn.bold) == (theme in ANSI_THEMES) and not warn.underline
    assert S.severity_style(v, "crit") == S.theme_style(v, "error")
    assert S.severity_style(v, "ok") == Style()


# --------------------------------------------------------------------------- load per core


@pytest.mark.parametrize("models, cores", [
    (("AMD EPYC 7B13 8 Virtual Core",), 8),
    (("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz 4 Physical Core", "Neoverse-N1 2 Physical Core"), 6),
    (("AMD Ryzen 9 7950X3D 16-Core Processor 32 Physical Core",), 32),  # "16-Core" is the model's name
    ((), None),
    (("some CPU",), None),  # an old or foreign agent: unknown
    (("AMD EPYC [bold]64[/] Virtual Core",), None),  # hostile: no number before "Virtual Core"
    (("x 0 Virtual Core",), None),
    ("8 Virtual Core", None),  # not a list
    ([["8 Virtual Core"]], None),  # not strings
])
def test_cpu_cores(models, cores):
    assert cpu_cores(models) == cores


def test_load_levels_per_core():
    assert (LOAD_WARN_PER_CORE, LOAD_CRIT_PER_CORE) == (1.0, 2.0)
    assert [load_level(x, 4) for x in (0.0, 3.99, 4.0, 7.99, 8.0, 1e300)] == ["ok", "ok", "warn", "warn", "crit", "crit"]
    assert load_level(4.0, 64) == "ok"  # the same load is idle on a big host
    assert load_level(4.0, 1) == "crit"
    assert load_level(100.0, None) is None and load_level(1.0, 0) is None  # unknown: no colour
    assert load_level(float("nan"), 2) == "ok" and load_level("x", 2) == "ok"  # type: ignore[arg-type]


def server(load: float, cpu: tuple[str, ...] = ("AMD EPYC 7B13 8 Virtual Core",)) -> Any:
    doc = uf.server_json(1, "a", load=load)
    doc["host"]["cpu"] = list(cpu)
    return uf.frame([doc]).servers[0]


def test_the_tables_load_column_is_coloured_per_core():
    from nezha_tui.ui.widgets.fleet_table import _cell_load

    assert _cell_load(server(4.0), True) == ("4.00", "ok")  # 8 cores
    assert _cell_load(server(8.0), True) == ("8.00", "warn")
    assert _cell_load(server(16.0), True) == ("16.00", "crit")
    assert _cell_load(server(16.0, cpu=("mystery",)), True) == ("16.00", None)


def test_the_detail_colours_each_load_average():
    from nezha_tui.ui.screens.detail.live import load_text as _load_text

    v = variables("textual-dark")
    t = _load_text(1.0, 2.0, 4.0, 2, v)
    assert t.plain == "1.00  2.00  4.00"
    styles = {t.plain[span.start:span.end].strip(): span.style for span in t.spans}
    assert styles.get("1.00", Style()).color is None  # 0.5 per core
    assert styles["2.00"] == S.theme_style(v, "warning")  # 1 per core
    assert styles["4.00"] == S.theme_style(v, "error")  # 2 per core
    assert all(span.style.color is None for span in _load_text(9.0, 9.0, 9.0, None, v).spans)  # unknown cores
