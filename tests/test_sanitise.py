"""Issue 9, part 1: one sanitiser for every string from a Dashboard or an agent."""

from __future__ import annotations

import json
import re
import unicodedata

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from nezha_tui.api import models as m
from nezha_tui.api.errors import ApiError, ProxyError, error_from_text, html_reason
from nezha_tui.api.public_note import parse_public_note
from nezha_tui.cli import main
from nezha_tui.api.sanitise import ESCAPE_STAND_IN, escape_json_controls, sanitise, sanitise_obj
from nezha_tui.demo.gojson import go_str
from nezha_tui.demo.hostile import HOSTILE_ERROR, HOSTILE_NAMES
from nezha_tui.format import cut_cells
from nezha_tui.store import FleetStore
from tests.ui_fakes import T0, frame, server_json

# characters that must never survive: controls, format (bidi, zero-width), separators, surrogates
_BANNED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_BANNED_EXTRA = {"\ufe0e", "\ufe0f", *map(chr, range(0x1F3FB, 0x1F400))}


def _inert(text: str) -> bool:
    return not any(unicodedata.category(ch) in _BANNED_CATEGORIES or ch in _BANNED_EXTRA for ch in text)


def _drawn_width(text: str) -> int:
    """Cells as a terminal without grapheme joining draws them: the sum of each character's width."""
    return sum(cell_len(ch) for ch in text)


MATRIX = [
    *HOSTILE_NAMES,
    "\x1b]52;c;aGVsbG8=\x1b\\tail", "\x1b[?1049h\x1b[31;1mred", "\x1bc reset", "\x1b(0 line drawing",
    "\u200f\u061c\u00admarks", "\U000e0041\U000e007f tags", "👍🏽 thumbs", "\ud800 lone", "a\u2028b\u2029c",
]


@pytest.mark.parametrize("raw", MATRIX)
def test_every_hostile_string_becomes_inert_single_line_text(raw):
    clean = sanitise(raw)
    assert _inert(clean), repr(clean)
    assert "\n" not in clean and "\r" not in clean and "\t" not in clean
    assert cell_len(clean) == _drawn_width(clean)  # what Rich measures is what the terminal draws
    assert sanitise(clean) == clean  # idempotent
    clean.encode("utf-8")  # no lone surrogate left to crash a write


def test_escape_sequences_go_whole_not_just_the_esc_byte():
    assert sanitise("a\x1b]52;c;aGVsbG8=\x07b") == f"a{ESCAPE_STAND_IN}b"  # OSC 52, BEL-terminated
    assert sanitise("a\x1b]0;title\x1b\\b") == f"a{ESCAPE_STAND_IN}b"  # OSC 0, ST-terminated
    assert sanitise("\x1b[2J\x1b[Hx") == f"{ESCAPE_STAND_IN}{ESCAPE_STAND_IN}x"  # CSI clear, home
    assert sanitise("x\x1b[6n") == f"x{ESCAPE_STAND_IN}"  # DSR
    assert sanitise("\x1bPq#0;2\x1b\\x") == f"{ESCAPE_STAND_IN}x"  # DCS
    assert sanitise("\x9b31mred\x9d0;t\x9c.") == f"{ESCAPE_STAND_IN}red{ESCAPE_STAND_IN}."  # 8-bit CSI, OSC
    assert sanitise("x\x1b]52;c;unterminated") == f"x{ESCAPE_STAND_IN}"  # a terminal would swallow the rest
    assert sanitise("\x1b") == ESCAPE_STAND_IN


def test_controls_become_pictures_and_whitespace_a_space():
    assert sanitise("bell\x07nul\x00bs\x08del\x7f") == "bell␇nul␀bs␈del␡"
    assert sanitise("tab\tnew\nline\rcr\x0bv\x0cf") == "tab new line cr v f"
    assert sanitise("c1\x85\x80x") == "c1 �x"


def test_bidi_zero_width_joiners_and_selectors_are_removed():
    assert sanitise("bidi-\u202egnp.exe\u202c-\u2066iso\u2069") == "bidi-gnp.exe-iso"
    assert sanitise("zero\u200bwidth\u200c\u2060\ufeffname") == "zerowidthname"
    # ZWJ emoji sequences: joined, Rich 15 measures 2 cells but tmux 3.3 draws 6: unjoined, all agree
    family = sanitise("👨\u200d👩\u200d👧")
    assert family == "👨👩👧" and cell_len(family) == 6
    assert sanitise("❤\ufe0f") == "❤" and cell_len(sanitise("❤\ufe0f")) == 1
    assert sanitise("👍🏽") == "👍"


@pytest.mark.parametrize("text", ["plain-web-01", "数据库服务器-上海-01", "🇭🇰 [HK] Hong Kong", "e\u0301 ñ",
                                  "[bold red]x[/]", "x [/b]", "", "é中😀"])
def test_clean_text_is_returned_as_is(text):
    assert sanitise(text) is text  # the fast path: no copy
    # markup-looking text is left as it is: widgets render it as text, never as markup


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, blacklist_categories=()), max_size=60))
def test_any_text_becomes_inert_and_measurable(text):
    clean = sanitise(text)
    assert _inert(clean)
    assert cell_len(clean) == _drawn_width(clean)
    assert sanitise(clean) == clean


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["\x1b", "[", "]", "P", "\\", "\x07", "\x9c", "\x9b", "\x9d", "0", ";", "m",
                                 "a", "中", "\u202e"]), max_size=30))
def test_escape_soup_never_leaves_an_escape(parts):
    clean = sanitise("".join(parts))
    assert "\x1b" not in clean and _inert(clean)


def test_cut_cells_ends_in_an_ellipsis_and_fits():
    assert cut_cells("short", 10) == "short"
    cut = cut_cells("数据库服务器-上海-01", 9)
    assert cut.endswith("…") and cell_len(cut) <= 9
    long = cut_cells("x" * 100_000, 40)  # linear, not one cell_len per character
    assert cell_len(long) == 40 and long.endswith("…")


def test_sanitise_obj_walks_decoded_answers():
    overview = msgspec.convert({
        "services": {"1": {"service_name": "DNS\x1b[2J[/b]"}},
        "cycle_transfer_stats": {"3": {"name": "quota\x07 [/]", "server_name": {"7": "web\x1b]0;t\x07"}}},
    }, m.ServiceOverview, strict=False)
    out = sanitise_obj(overview)
    assert out.services[1].service_name == f"DNS{ESCAPE_STAND_IN}[/b]"
    assert out.cycle_transfer_stats[3].name == "quota␇ [/]"
    assert out.cycle_transfer_stats[3].server_name[7] == f"web{ESCAPE_STAND_IN}"
    groups = sanitise_obj([m.ServerGroup(group=m.GroupInfo(id=1, name="g\u202e1"), servers=[1])])
    assert groups[0].group.name == "g1"
    host = sanitise_obj(m.Host(cpu=("EPYC\x1b[31m",), gpu=("RTX\x00",)))
    assert host.cpu == (f"EPYC{ESCAPE_STAND_IN}",) and host.gpu == ("RTX␀",)
    note = sanitise_obj(parse_public_note('{"planDataMod":{"bandwidth":"1G\\u001b[2J","extra":"a\\u0007"}}', None))
    assert note.plan.bandwidth == f"1G{ESCAPE_STAND_IN}" and note.plan.tags == ["a␇"]


def test_error_texts_are_sanitised_when_the_error_is_built():
    err = error_from_text(HOSTILE_ERROR)
    assert isinstance(err, ApiError)
    assert _inert(err.message) and "\x1b" not in err.message and "[/]" in err.message  # text, kept
    page = "<html><head><title>Bad \x1b]0;t\x07gateway\x07</title></head></html>"
    assert html_reason(page) == f"Bad {ESCAPE_STAND_IN}gateway␇"
    assert _inert(ProxyError(418, "teapot\x1b[2J").message)


# --------------------------------------------------------------------------- the store


def test_store_sanitises_names_host_facts_notes_and_sensors_once():
    store = FleetStore()
    raw = [server_json(1, "web\x1b]52;c;eA==\x07"), server_json(2, "clean")]
    raw[0]["host"]["platform"] = "debian\x1b[2J"
    raw[0]["host"]["cpu"] = ["EPYC\x07"]
    raw[0]["state"]["temperatures"] = [{"Name": "core\x1b[6n", "Temperature": 40}, {"Name": "ok", "Temperature": 1}]
    raw[0]["public_note"] = '{"planDataMod":{"bandwidth":"1G\\u001b]0;x\\u0007"}}'
    store.apply(frame(raw))
    s1 = store.get(1)
    assert s1.name == f"web{ESCAPE_STAND_IN}"
    assert s1.host.platform == f"debian{ESCAPE_STAND_IN}" and s1.host.cpu == ("EPYC␇",)
    assert [t.name for t in s1.state.temperatures] == [f"core{ESCAPE_STAND_IN}", "ok"]
    assert "\x1b" not in store.public_note(1)
    assert store.note(1).plan.bandwidth == f"1G{ESCAPE_STAND_IN}"
    assert store.get(2).name == "clean"

    # the next frame: same raw text, new values: not meta-changed (raw is compared with raw)
    raw2 = [server_json(1, "web\x1b]52;c;eA==\x07", now=T0 + 2), server_json(2, "clean", now=T0 + 2)]
    raw2[0]["host"] = dict(raw[0]["host"])
    raw2[0]["state"]["temperatures"] = [{"Name": "core\x1b[6n", "Temperature": 41}]
    change = store.apply(frame(raw2, now=T0 + 2))
    assert not change.meta_changed
    s1 = store.get(1)
    assert s1.name == f"web{ESCAPE_STAND_IN}" and s1.state.temperatures[0].name == f"core{ESCAPE_STAND_IN}"
    assert s1.state.temperatures[0].temperature == 41  # the live state is this frame's

    # renamed to something clean: the copy goes
    raw3 = [server_json(1, "web", now=T0 + 4), server_json(2, "clean", now=T0 + 4)]
    change = store.apply(frame(raw3, now=T0 + 4))
    assert change.meta_changed == {1} and store.get(1).name == "web"
    assert not store._text.meta


def test_a_clean_fleet_costs_no_copies():
    store = FleetStore()
    store.apply(frame([server_json(i, f"srv-{i}") for i in range(1, 50)]))
    store.apply(frame([server_json(i, f"srv-{i}", now=T0 + 2) for i in range(1, 50)], now=T0 + 2))
    assert store.servers is store._raw  # the frame's own dict: nothing copied, nothing sanitised per frame
    assert not store._text.meta and not store._text.notes and not store._text.sensors_bad


def test_store_sanitises_group_names():
    store = FleetStore()
    store.set_groups([m.ServerGroup(group=m.GroupInfo(id=1, name="Prod\x1b]0;x\x07[/]"), servers=[1])])
    assert store.groups[0].group.name == f"Prod{ESCAPE_STAND_IN}[/]"
    assert store.group_names[1] == [f"Prod{ESCAPE_STAND_IN}[/]"]


# --------------------------------------------------------------------------- JSON out


def test_json_keeps_data_exact_but_escapes_c1_bidi_and_zero_width():
    doc = {"name": "x\x9b31m\u202eevil\u200b\x7f\ud800 中文 \x1b[2J"}
    text = escape_json_controls(json.dumps(doc, ensure_ascii=False))
    assert "\\u009b" in text and "\\u202e" in text and "\\u200b" in text and "\\u007f" in text
    assert "\\u001b" in text and "中文" in text  # C0 escaped by json; CJK stays readable
    assert not any(0x80 <= ord(c) <= 0x9f or c in "\u202e\u200b\x7f" for c in text)
    assert json.loads(text) == doc


def test_demo_json_writer_escapes_as_go_does():
    assert go_str("a\x1b]52\x07") == '"a\\u001b]52\\u0007"'
    assert go_str("\b\f") == '"\\b\\f"'  # Go 1.22+
    assert go_str("\x7f\x9b\u202e") == '"\x7f\x9b\u202e"'  # Go leaves DEL, C1 and bidi raw
    assert go_str("\ud800x") == '"\\ufffdx"'  # a Go string cannot hold a lone surrogate
    assert go_str("<&>\u2028") == '"\\u003c\\u0026\\u003e\\u2028"'


# --------------------------------------------------------------------------- snapshot of a hostile Dashboard


_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # what `grep -P` looks for in the issue


def test_snapshot_table_of_a_hostile_dashboard_is_inert(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("NEZHA_TUI_CONFIG_DIR", str(tmp_path))
    assert main(["snapshot", "--demo", "--fault-hostile"]) == 0
    out = capsys.readouterr().out
    assert not _RAW_CONTROL.search(out) and _inert(out.replace("\n", ""))
    lines = out.splitlines()
    assert lines[0].startswith(f"Hostile {ESCAPE_STAND_IN}[bold]Demo[/] etis: 24 servers")
    assert f"clip-{ESCAPE_STAND_IN}web" in out and "x [/b]" in out and "tab new line cr" in out
    assert len(lines) == 2 + 24  # no name broke a row
    long = next(line for line in lines if "long-abc" in line)
    assert "…" in long and "-end" not in long  # cut, with an ellipsis
    # the columns line up as a terminal draws them (cell widths, not characters)
    # (the CPU column, right-aligned after the names: where its first value ends)
    cpu_end = [cell_len(line[: m.end()]) for line in lines[2:] if (m := re.search(r"\d+\.\d%", line))]
    assert len(cpu_end) >= 18 and len(set(cpu_end)) == 1


def test_snapshot_json_of_a_hostile_dashboard_is_exact_but_escaped(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("NEZHA_TUI_CONFIG_DIR", str(tmp_path))
    assert main(["snapshot", "--demo", "--fault-hostile", "--json"]) == 0
    out = capsys.readouterr().out
    assert not _RAW_CONTROL.search(out)
    assert not any(0x80 <= ord(c) <= 0x9f or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2069\u200b" for c in out)
    doc = json.loads(out)
    names = {s["id"]: s["name"] for s in doc["servers"]}
    assert [names[i + 1] for i in range(len(HOSTILE_NAMES))] == list(HOSTILE_NAMES)  # the stream's data, exact
    assert "\\u009b" in out and "\\u202e" in out


# --------------------------------------------------------------------------- REST answers


async def test_rest_answers_are_sanitised_once_after_decoding():
    from nezha_tui.api.client import Credentials, NezhaClient
    from nezha_tui.api.errors import NezhaError
    from nezha_tui.demo.server import DemoOptions, DemoServer

    demo = DemoServer(DemoOptions(seed=1, clock=lambda: T0, hostile=True))
    await demo.start()
    try:
        async with NezhaClient(demo.url, Credentials(username=demo.username, password=demo.password)) as client:
            texts: list[str] = []

            def collect(obj) -> None:
                if isinstance(obj, str):
                    texts.append(obj)
                elif isinstance(obj, msgspec.Struct):
                    for name in obj.__struct_fields__:
                        collect(getattr(obj, name))
                elif isinstance(obj, (list, tuple)):
                    for v in obj:
                        collect(v)
                elif isinstance(obj, dict):
                    for k, v in obj.items():
                        collect(k)
                        collect(v)

            setting = await client.setting()
            assert setting.config.site_name == f"Hostile {ESCAPE_STAND_IN}[bold]Demo[/] etis"
            collect(setting)
            groups = await client.server_groups()
            assert groups[0].group.name == f"Prod {ESCAPE_STAND_IN}[/]"
            collect(groups)
            overview = await client.services()
            collect(overview)
            assert any(s.service_name == "[@click=app.quit]Cloudflare[/]" for s in overview.services.values())
            collect(await client.service_history(2))
            collect(await client.server_services(3))
            full = await client.servers()
            assert full[0].name == f"clip-{ESCAPE_STAND_IN}web" and full[0].host.platform == f"debian{ESCAPE_STAND_IN}"
            collect(full)
            assert len(texts) > 100 and all(_inert(t) for t in texts)
            with pytest.raises(NezhaError) as err:
                await client.service_history(1)  # answers the hostile error text
            assert _inert(err.value.message) and "quota [/] exceeded" in err.value.message
            with pytest.raises(NezhaError) as err:
                await client.server_groups()  # the second request: the hostile error text
            assert _inert(err.value.message)
    finally:
        await demo.stop()


def test_fault_hostile_switch_is_on_both_command_lines_and_deterministic():
    from nezha_tui.demo.cli import build_parser
    from nezha_tui.demo.fleet import build_fleet
    from nezha_tui.demo.hostile import make_hostile

    assert build_parser().parse_args(["--fault-hostile"]).fault_hostile
    a, b = make_hostile(build_fleet(1, 30, T0)), make_hostile(build_fleet(1, 30, T0))
    assert a.servers == b.servers and a.groups == b.groups and a.monitors == b.monitors and a.rules == b.rules
    assert [s.name for s in a.servers[: len(HOSTILE_NAMES)]] == list(HOSTILE_NAMES)
    assert a.servers[len(HOSTILE_NAMES)].name == build_fleet(1, 30, T0).servers[len(HOSTILE_NAMES)].name
