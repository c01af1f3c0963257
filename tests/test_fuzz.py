"""A seeded mutation fuzzer: hostile and broken documents through the decoder and everything after it.

Seeds: the fixtures (tests/fixtures) and real frames and REST answers of the simulated
Dashboard (``nezha_tui.demo``, written as the Go server writes them).  Each input is a seed
mutated 1-4 times in its structure (a value replaced by one of the wrong kinds below, numbers
JSON allows but no float or int64 holds, deep nesting, ids repeated or non-ASCII, times beyond
year 9999, keys removed or added) and sometimes in its bytes (cut, bad UTF-8, stray brackets).

For every input:

* ``decode_frame`` raises nothing but ProtocolError (and never a DecoderFault, the decoder's
  safety net for what it did not foresee);
* what it accepted goes through ``FleetStore.apply`` / ``settle`` / ``recent`` /
  ``last_seen_age`` / ``totals_for``, ``FleetView`` (sort, filter, status, group), every cell
  function of the fleet table, and ``snapshot_table`` / ``snapshot_json``: 0 exceptions;
* ``decode_data`` on REST answers with their model types raises only NezhaError subclasses.

A few thousand inputs by default (~10 s).  More with ``NEZHA_FUZZ_FRAMES=100000`` (and
``NEZHA_FUZZ_SEED`` for another sequence); ``-s`` shows the figures.
"""

from __future__ import annotations

import copy
import json
import os
import random
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from nezha_tui.api.decode import DecodeReport, DecoderFault, decode_data, decode_frame
from nezha_tui.api.errors import NezhaError, ProtocolError
from nezha_tui.api.models import (
    FullServer, LoginResult, MetricSeries, Profile, ServerGroup, ServerServiceSeries, ServiceHistory,
    ServiceOverview, Setting, StreamFrame, to_builtins,
)
from nezha_tui.fleet_view import SORT_KEYS, FleetView, StatusFilter
from nezha_tui.snapshot import snapshot_json, snapshot_table
from nezha_tui.store import FleetStore
from nezha_tui.ui.widgets.fleet_table import COLUMNS, busiest_gpu, hottest, server_values

FIX = Path(__file__).parent / "fixtures"
FRAMES = int(os.environ.get("NEZHA_FUZZ_FRAMES", "2500"))
SEED = int(os.environ.get("NEZHA_FUZZ_SEED", "20261202"))
_LONG = pytest.mark.timeout(max(60, FRAMES // 100))  # ~2 ms an input: 100,000 take ~4 min
T0 = 1_795_669_320.0

# --------------------------------------------------------------------------- seeds


def _demo():
    from nezha_tui.demo import views
    from nezha_tui.demo.server import DemoOptions, DemoState, _ok

    st = DemoState(DemoOptions(servers=40, clock=lambda: T0))
    guest = views.visible_servers(st, views.GUEST)
    everyone = list(st.fleet.servers)
    frames = [
        st.encoder.frame(T0, 1, guest, with_note=True, full_host=lambda s: False),
        st.encoder.frame(T0 + 2, 2, guest, with_note=False, full_host=lambda s: False),
        st.encoder.frame(T0 + 4, 1, everyone, with_note=True, full_host=lambda s: True),
    ]
    rest = [
        (_ok(views.setting(st, views.GUEST)), Setting),
        (_ok(views.server_groups(st, views.GUEST)), list[ServerGroup]),
        (_ok(views.services_overview(st, views.GUEST, T0)), ServiceOverview),
    ]
    return [f.encode() for f in frames], [(body.encode(), typ) for body, typ in rest]


def _seeds():
    demo_frames, demo_rest = _demo()
    frames = [(FIX / n).read_bytes() for n in ("frame_first.json", "frame_later.json", "frame_nulls.json",
                                               "frame_bad_types.json", "frame_no_servers.json")]
    rest = [((FIX / n).read_bytes(), t) for n, t in (
        ("service_overview.json", ServiceOverview), ("servers_full.json", list[FullServer]),
        ("service_history.json", ServiceHistory), ("server_group.json", list[ServerGroup]),
        ("setting_admin.json", Setting), ("setting_guest.json", Setting), ("metrics_cpu.json", MetricSeries),
        ("server_service.json", list[ServerServiceSeries]), ("login.json", LoginResult),
        ("profile.json", Profile), ("service_server.json", list[int]),
        ("error_scope.json", ServiceOverview), ("error_unauthorized_success_false.json", Setting),
        ("success_no_data.json", list[ServerGroup]),
    )]
    return frames + demo_frames, rest + demo_rest


# --------------------------------------------------------------------------- mutations

WEIRD: list[Any] = [
    None, "", "x", "²", "١٢", "𝟙", " 7 ", "0x1f", "nan", "NaN", "inf", "-Infinity", "1e400", "24",
    -1, 0, 1, 1.5, -1.5, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30, 1e308, -1e308, 5e-324,
    True, False, [], {}, [None], [1, "a", None], {"a": 1}, {"id": 1}, {"Name": 5, "Temperature": "hot"},
    "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59Z",
    "9998-12-31T23:59:59+14:00", "2026-11-26T04:00:00Z", "1970-01-01T00:00:00Z", "1900-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "yesterday",
    253402300800000, -253402300800000, 1795665600000, 1795665600000 * 1000,
    "\x1b]52;c;aGk=\x07", "\x1b[2J", "[/]", "x [/b]", "\u202e", "\x00", "a" * 300, "é" * 50,
]
RAW: list[str] = [
    "1e400", "-1e400", "1E+309", "1" + "0" * 400, "-" + "9" * 400, "1" + "0" * 5000, "1" + "0" * 400 + ".5",
    "0.0000e99999", "-0", "1e-400", "18446744073709551616", "9223372036854775808",
]


def _deep(rng: random.Random) -> str:
    depth = rng.choice([10, 63, 64, 65, 200, 900, 990, 1000, 3000])
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


class Mutator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.raw: dict[str, str] = {}

    def value(self) -> Any:
        rng = self.rng
        r = rng.random()
        if r < 0.70:
            return copy.deepcopy(rng.choice(WEIRD))
        token = f"@@RAW{len(self.raw)}@@"
        self.raw[token] = _deep(rng) if r < 0.80 else rng.choice(RAW)
        return token

    def _walk(self, doc: Any) -> list[tuple[Any, Any]]:
        path = []
        node = doc
        while isinstance(node, (dict, list)) and node and self.rng.random() < 0.85:
            key = self.rng.choice(list(node)) if isinstance(node, dict) else self.rng.randrange(len(node))
            path.append((node, key))
            node = node[key]
        return path

    def mutate(self, doc: Any) -> Any:
        rng = self.rng
        op = rng.random()
        servers = doc.get("servers") if isinstance(doc, dict) else None
        if op < 0.55:  # replace a value somewhere
            path = self._walk(doc)
            if not path:
                return self.value()
            parent, key = path[-1]
            parent[key] = self.value()
        elif op < 0.65:  # add a key the models do not know, or one they do
            path = self._walk(doc)
            node = path[-1][0][path[-1][1]] if path else doc
            if isinstance(node, dict):
                node[rng.choice(["zz", "id", "state", "host", "cpu", "now", "Name", "last_active"])] = self.value()
        elif op < 0.72:  # remove a key
            path = self._walk(doc)
            if path and isinstance(path[-1][0], dict):
                del path[-1][0][path[-1][1]]
        elif op < 0.82 and isinstance(servers, list) and servers:  # repeated and odd ids
            i = rng.randrange(len(servers))
            if rng.random() < 0.5:
                servers.insert(rng.randrange(len(servers) + 1), copy.deepcopy(servers[i]))
            elif isinstance(servers[i], dict):
                other = servers[rng.randrange(len(servers))]
                servers[i]["id"] = other.get("id") if isinstance(other, dict) else self.value()
        elif op < 0.90 and isinstance(doc, dict):  # the frame's own fields
            doc[rng.choice(["now", "online", "servers"])] = self.value()
        else:  # a whole server's parts swapped
            if isinstance(servers, list) and servers and isinstance(servers[0], dict):
                s = rng.choice(servers)
                if isinstance(s, dict):
                    s["state"], s["host"] = s.get("host"), s.get("state")
        return doc

    def render(self, doc: Any) -> bytes | str:
        text = json.dumps(doc, ensure_ascii=self.rng.random() < 0.3)
        for token, literal in self.raw.items():
            text = text.replace(f'"{token}"', literal)
        data = text.encode("utf-8", "surrogatepass")
        if self.rng.random() < 0.15:  # byte-level damage
            rng = self.rng
            cut = rng.randrange(len(data) + 1)
            junk = rng.choice([b"", b"}", b"]", b"[", b'"', b",", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00",
                               b"\xe2\x80\xae", b"NaN", b"Infinity", b"1e400", b" "])
            data = data[:cut] + junk + data[cut + rng.choice([0, 1]):] if rng.random() < 0.8 else data[:cut]
        if self.rng.random() < 0.1:  # a str, as a text WebSocket message arrives (bad bytes: lone surrogates)
            return data.decode("utf-8", "surrogateescape")  # type: ignore[return-value]
        return data


def _inputs(seeds: list[bytes], count: int, rng: random.Random):
    parsed = [json.loads(s) for s in seeds]
    for i in range(count):
        k = i % len(seeds)
        m = Mutator(rng)
        doc = copy.deepcopy(parsed[k])
        for _ in range(rng.randint(1, 4)):
            doc = m.mutate(doc)
        yield i, k, m.render(doc)


# --------------------------------------------------------------------------- consumers


class Pipeline:
    """The store, a view and the snapshot, fed frame after frame as the app feeds them."""

    def __init__(self, setting: Setting, groups: list[ServerGroup]) -> None:
        self.setting, self.groups = setting, groups
        self.store = FleetStore(online_window=30)
        self.store.set_groups(groups)
        self.view = FleetView(self.store)
        self.n = 0

    def run(self, frame: StreamFrame, report: DecodeReport) -> None:
        n = self.n = self.n + 1
        store, view = self.store, self.view
        change = store.apply(frame)
        view.update(change)
        store.settle()
        ids = list(store.servers)
        for sid in ids[:8]:
            store.recent(sid)
            store.last_seen_age(sid)
            store.never_reported(sid)
            store.note(sid)
            store.public_note(sid)
        store.totals_for(ids)
        view.totals()
        view.set_sort(SORT_KEYS[n % len(SORT_KEYS)].id)
        if n % 3 == 0:
            view.toggle_reverse()
        view.set_offline_first(n % 2 == 0)
        view.set_status(list(StatusFilter)[n % 3])
        view.set_query(["", "a", "debian x86", "de", "\x1b"][n % 5])
        view.next_group()
        view.index_of(ids[0] if ids else None)
        view.group_label  # noqa: B018 - a property that looks the groups up
        for server in store.servers.values():
            online = store.is_online(server.id)
            for col in COLUMNS:
                col.cell(server, online)
            server_values(server)
            hottest(server)
            busiest_gpu(server)
        snapshot_table(self.setting, self.groups, frame, store)
        json.loads(snapshot_json(self.setting, self.groups, frame, store))


# --------------------------------------------------------------------------- the runs


def _fail(failures: list, i: int, seed: int, stage: str, data: bytes) -> None:
    if len(failures) < 20:
        failures.append(f"input {i} (corpus item {seed}) at {stage}: {traceback.format_exc(limit=6)}\n"
                        f"   data: {data[:300]!r}{' ...' if len(data) > 300 else ''}")


@_LONG
def test_fuzzed_frames_decoder_store_views_snapshot():
    frames, rest = _seeds()
    setting = decode_data((FIX / "setting_admin.json").read_bytes(), Setting)
    groups = [g for body, typ in rest if typ == list[ServerGroup] for g in decode_data(body, typ)]
    assert len(groups) > 3
    pipes = [Pipeline(setting, groups) for _ in frames]
    rng = random.Random(SEED)
    stats: Counter[str] = Counter()
    failures: list[str] = []
    for i, k, data in _inputs(frames, FRAMES, rng):
        stats["inputs"] += 1
        try:
            frame, report = decode_frame(data)
        except DecoderFault:
            stats["exceptions"] += 1
            _fail(failures, i, k, "decode_frame (DecoderFault)", data)
            continue
        except ProtocolError:
            stats["protocol_error"] += 1
            continue
        except Exception:
            stats["exceptions"] += 1
            _fail(failures, i, k, "decode_frame", data)
            continue
        stats["accepted"] += 1
        stats["repaired_servers"] += len(report.repaired)
        stats["dropped_servers"] += report.dropped_servers
        try:
            assert isinstance(frame, StreamFrame)
            ids = [s.id for s in frame.servers]
            assert len(set(ids)) == len(ids) and all(type(x) is int and 0 < x < 2**63 for x in ids)
            assert 0 <= frame.now <= 253_370_764_800_000
            assert set(report.repaired) <= set(ids)
            pipes[k].run(frame, report)
        except Exception:
            stats["exceptions"] += 1
            _fail(failures, i, k, "store/view/table/snapshot", data)
    print(f"\nfuzz frames (seed {SEED}): {dict(stats)}")
    assert not failures, "\n\n".join(failures)
    assert stats["exceptions"] == 0
    assert stats["accepted"] > FRAMES // 3 and stats["protocol_error"] > FRAMES // 50  # both kinds exercised


@_LONG
def test_fuzzed_rest_answers_raise_only_nezha_errors():
    _, rest = _seeds()
    rng = random.Random(SEED + 1)
    count = max(200, FRAMES // 2)
    stats: Counter[str] = Counter()
    failures: list[str] = []
    bodies = [b for b, _ in rest]
    for i, k, data in _inputs(bodies, count, rng):
        typ = rest[k][1]
        stats["inputs"] += 1
        report = DecodeReport()
        try:
            value = decode_data(data, typ, report)
        except DecoderFault:
            stats["exceptions"] += 1
            _fail(failures, i, k, "decode_data (DecoderFault)", data)
            continue
        except NezhaError as exc:
            stats["protocol_error" if isinstance(exc, ProtocolError) else "error_envelope"] += 1
            continue
        except Exception:
            stats["exceptions"] += 1
            _fail(failures, i, k, "decode_data", data)
            continue
        stats["accepted"] += 1
        try:
            json.dumps(to_builtins(value), allow_nan=False)  # what snapshot --json would write
        except Exception:
            stats["exceptions"] += 1
            _fail(failures, i, k, "to_builtins", data)
    print(f"\nfuzz REST (seed {SEED + 1}): {dict(stats)}")
    assert not failures, "\n\n".join(failures)
    assert stats["accepted"] > count // 3


@pytest.mark.parametrize("literal", RAW)
def test_every_raw_number_in_every_stream_field(literal):
    """Deterministic companion of the fuzzer: each absurd number in each numeric field."""
    numeric = {"host": ["mem_total", "disk_total", "swap_total", "boot_time"],
               "state": ["cpu", "mem_used", "swap_used", "disk_used", "net_in_transfer", "net_out_transfer",
                         "net_in_speed", "net_out_speed", "uptime", "load_1", "load_5", "load_15",
                         "tcp_conn_count", "udp_conn_count", "process_count"]}
    frames, rest = _seeds()
    pipe = Pipeline(Setting(), [])
    for part, keys in numeric.items():
        for key in keys:
            doc = json.loads(frames[0])
            for s in doc["servers"]:
                s.setdefault(part, {})[key] = "@@X@@"
            data = json.dumps(doc).replace('"@@X@@"', literal).encode()
            frame, report = decode_frame(data)
            assert len(frame.servers) == len(doc["servers"])
            pipe.run(frame, report)


@pytest.mark.parametrize("now", [253402300800000, 2**62, -1])
def test_a_frame_from_beyond_year_9999_reaches_the_filter_as_an_unknown_time(now):
    """Was: the filter's public_note look-up computed today's date from ``now`` and crashed."""
    doc = json.loads((FIX / "frame_first.json").read_bytes())
    doc["now"] = now
    frame, report = decode_frame(json.dumps(doc).encode())
    assert frame.now == 0 and report.bad_fields == 1
    store = FleetStore()
    store.apply(frame)
    view = FleetView(store)
    view.set_query("tokyo")
    assert view.ids == [3]
    assert store.note(3) is not None
