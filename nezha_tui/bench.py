"""``nezha-tui bench``: how fast the app follows a fleet, in numbers.

For each fleet size the parent starts a child process (so peak RSS is per
size); the child starts the simulated Dashboard in *another* process
(``nezha-tui demo-server``), runs the real app headless against it through
the same client code as a real Dashboard, and measures:

* frame -> screen: from the frame's bytes arriving from the socket (decoding
  included) to the next screen refresh after every widget followed it
  (``app.perf``); the decoding part is also shown on its own;
* app CPU %: the child's process time over wall time while frames arrive,
  with nobody pressing keys;
* peak RSS of the child (``ru_maxrss``) and its PSS at the end of the run
  (``/proc/self/smaps_rollup``; Linux);
* key -> screen: a cursor key sent to the app while frames keep arriving,
  until the selection moved and the screen was refreshed.

Several Dashboards (``--dashboards N``): N simulated Dashboards of ``--servers``
each, every one in its own process with its own seed (1..N), sending a frame
every 2 s out of step: Dashboard i's frames go when the wall clock is
``i * --stagger`` seconds past a multiple of 2 s (``demo-server --phase``), so the
streams keep that distance whenever the app connected them and however long
each demo takes to encode a frame.  The stagger is 2 s / N unless given;
``--stagger 0`` sends them in step.  The app
follows them all in one grid (:class:`~nezha_tui.fleets.DashboardTarget` each);
frame -> screen is given per Dashboard and over all, with how many paints were
saved by merging frames that arrived together, and the figures are checked
against issue 12's bounds (3 x 1,000 servers: app CPU <= 3 % of a core,
PSS <= 150 MB, each Dashboard's frame -> screen median <= 10 ms).

Cold start: wall time from spawning ``python -m nezha_tui`` in demo mode to
the first live frame on (a headless) screen, median of a few runs.

Alert rules: :func:`rule_bench` evaluates 10 rules per frame over the simulated
fleet's frames (decoded and applied to a store as the app does), at 10,000
servers (``--rule-servers``): ms per frame, median and p95, wall time and CPU time of the thread
(the wall time includes whatever else the machine runs).  Ten rules on the
metrics the store keeps in columns (cpu, mem, swap, disk, network speeds); then
with two of them on other metrics (load1, temperature), which are read from every
server of the frame, once per metric.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from typing import Sequence

__all__ = ["run_bench", "rule_bench"]


def _parser() -> argparse.ArgumentParser:
    from nezha_tui.cli import OneLineParser, number

    p = OneLineParser(prog="nezha-tui bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", type=_sizes, default="100,1000,10000",
                   help="comma-separated fleet sizes, 1-10000 each (100,1000,10000)")
    p.add_argument("--dashboards", type=number(1, 20, "", integer=True), default=1, metavar="N",
                   help="simulated Dashboards of --servers each, one process each, in one grid (1)")
    p.add_argument("--stagger", type=number(0, FRAME_INTERVAL), default=None, metavar="SEC",
                   help="seconds between the Dashboards' frames (2/N: spread over the 2 s interval; "
                        "0: all in step)")
    p.add_argument("--seconds", type=number(1, 3600), default=60.0, help="seconds of frames measured per size (60)")
    p.add_argument("--keys", type=number(0, 10_000, "", integer=True), default=20,
                   help="key presses measured per size (20)")
    p.add_argument("--cold-runs", type=number(0, 100, "", integer=True), default=3,
                   help="cold starts measured (3; 0 to skip)")
    p.add_argument("--size", type=_size, default="160x48", help="terminal size of the headless app (160x48)")
    p.add_argument("--rule-frames", type=number(0, 10_000, "", integer=True), default=40,
                   help="frames of alert rule evaluation measured (40; 0 to skip)")
    p.add_argument("--rule-servers", type=number(1, 10_000, "", integer=True), default=10_000,
                   help="fleet size of the alert rule evaluation (10000)")
    p.add_argument("--profile", metavar="FILE",
                   help="write cProfile stats (CPU time) of the measured seconds to FILE (FILE.N per size when "
                        "several; the figures then include the profiler's cost)")
    p.add_argument("--json", action="store_true", help="print results as JSON lines")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--cold-child", action="store_true", help=argparse.SUPPRESS)
    return p


FRAME_INTERVAL = 2.0
"""Seconds between the simulated Dashboard's frames (its default, as a real Dashboard's)."""

BOUNDS = {"cpu_percent": 3.0, "pss_mb": 150.0, "frame_median_ms": 10.0}
"""Issue 12's bounds, set for 3 x 1,000 servers: app CPU % of a core, PSS (MB), frame -> screen median
of each Dashboard (ms)."""


def _sizes(text: str) -> list[int]:
    """``'100,1000'`` -> ``[100, 1000]``; anything else is a usage error (argparse's type contract)."""
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("must be fleet sizes separated by commas, e.g. 100,1000") from None
    if not sizes or not all(1 <= n <= 10_000 for n in sizes):
        raise argparse.ArgumentTypeError("must be fleet sizes from 1 to 10000, e.g. 100,1000")
    return sizes


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def _size(text: str) -> tuple[int, int]:
    """``'160x48'`` -> ``(160, 48)``."""
    w, _, h = str(text).partition("x")
    try:
        size = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError("must be COLUMNSxROWS, e.g. 160x48") from None
    if not (20 <= size[0] <= 1000 and 5 <= size[1] <= 500):
        raise argparse.ArgumentTypeError("must be COLUMNSxROWS from 20x5 to 1000x500")
    return size


def _phases(dashboards: int, stagger: float | None) -> list[float]:
    """Each Dashboard's frame phase (s past a multiple of the frame interval): ``i * stagger``."""
    step = FRAME_INTERVAL / dashboards if stagger is None else stagger
    return [round(i * step, 3) for i in range(dashboards)]


def _start_demos(servers: int, phases: list[float]) -> list:
    """One ``demo-server`` process per phase (seeds 1..N), started together; all or none.

    One Dashboard: no phase (its first frame at once, exactly the single-Dashboard bench)."""
    from concurrent.futures import ThreadPoolExecutor

    from nezha_tui.demo.process import start_demo_process

    def argv(i: int, phase: float) -> list[str]:
        args = ["--servers", str(servers)]
        if i:
            args += ["--seed", str(i + 1)]
        if len(phases) > 1:
            args += ["--phase", f"{phase:g}"]
        return args

    with ThreadPoolExecutor(len(phases)) as pool:
        futures = [pool.submit(start_demo_process, argv(i, ph)) for i, ph in enumerate(phases)]
    demos, error = [], None
    for f in futures:
        try:
            demos.append(f.result())
        except Exception as e:  # noqa: BLE001 - stop the others, then report this one
            error = error or e
    if error is not None:
        for d in demos:
            d.stop()
        raise error
    return demos


def _pss_mb() -> float | None:
    """This process's proportional set size (MB), or None where /proc has no smaps_rollup."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return None


def _load() -> float | None:
    """The machine's 1-minute load average (other work competing for the CPUs), None where unknown."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _frame_figures(samples: list, dashboards: int, names: list[str]) -> dict:
    """Frame -> screen per Dashboard and over all, and when each Dashboard's frames arrived.

    ``phase_s``: each Dashboard's frames arrived this long after the first Dashboard's latest frame
    (median, modulo the frame interval); ``closest_ms``: the median gap between a frame and the nearest frame
    of another Dashboard (how far apart the streams really were).
    """
    screen = [s for s in samples if s.to_screen_ms is not None]
    per = []
    for i in range(dashboards):
        mine = [s.to_screen_ms for s in screen if s.dashboard == i]
        per.append({"dashboard": names[i], "frames": len(mine), "frame_median_ms": _median(mine),
                    "frame_p95_ms": _pct(mine, 0.95)})
    arrivals = sorted((s.received if s.received is not None else s.started, s.dashboard) for s in samples)
    offsets: list[list[float]] = [[] for _ in range(dashboards)]
    last_first = None  # the first Dashboard's latest frame (all streams drift alike: interval + encoding)
    for t, d in arrivals:
        if d == 0:
            last_first = t
        if last_first is not None and 0 <= d < dashboards:
            offsets[d].append((t - last_first) % FRAME_INTERVAL)
    phase: list[float | None] = [_median(o) if o else None for o in offsets]
    gaps = []
    for k, (t, d) in enumerate(arrivals):
        near = [abs(t - u) for u, e in arrivals[max(0, k - dashboards):k + dashboards + 1] if e != d]
        if near:
            gaps.append(min(near) * 1000.0)
    return {"per_dashboard": per, "phase_s": phase, "closest_ms": _median(gaps) if gaps else None}


async def _measure(servers: int, seconds: float, keys: int, size: tuple[int, int], dashboards: int = 1,
                   stagger: float | None = None, profile: str | None = None) -> dict:
    import cProfile
    import resource

    from textual import events

    from nezha_tui.api.client import Credentials, NezhaClient
    from nezha_tui.ui.app import NezhaApp

    phases = _phases(dashboards, stagger)
    demos = _start_demos(servers, phases)
    try:
        clients = [NezhaClient(d.url, Credentials(token=d.token)) for d in demos]
        names = [f"demo-{i + 1}" for i in range(dashboards)]
        if dashboards == 1:
            app = NezhaApp(clients[0])
        else:
            from nezha_tui.fleets import DashboardTarget

            app = NezhaApp([DashboardTarget(name, client, named=True, online_window=30.0)
                            for name, client in zip(names, clients)])
        painted: asyncio.Queue = asyncio.Queue()
        app.perf.add_listener(painted.put_nowait)
        async with app.run_test(headless=True, size=size) as pilot:
            # The first frame builds everything; measure steady state from each Dashboard's third on.
            seen = [0] * dashboards
            first = None
            while min(seen) < 3:
                sample = await asyncio.wait_for(painted.get(), 120 if first is None else 60)
                first = first or sample
                seen[sample.dashboard] += 1
            while not painted.empty():
                painted.get_nowait()
            app.perf.samples.clear()
            merged0 = app.perf.merged
            # CPU time, not wall time: other work on the machine does not inflate the profile
            profiler = cProfile.Profile(time.process_time) if profile else None
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            await asyncio.sleep(seconds)
            if profiler:
                profiler.disable()
            cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100.0
            if profiler and profile:
                profiler.dump_stats(profile)
            load = _load()
            samples = list(app.perf.samples)
            merged = app.perf.merged - merged0
            frame_ms = app.perf.screen_ms()
            handled_ms = [s.to_handled_ms for s in samples]
            decode_ms = [s.decode_ms for s in samples if s.decode_ms is not None]
            shown = len(app.store)

            # Key presses while frames keep arriving.
            screen = app.screen
            grid = screen.grid  # type: ignore[attr-defined]
            key_ms: list[float] = []
            loop = asyncio.get_running_loop()
            for i in range(keys):
                await asyncio.sleep(0.37)  # drift against the 2 s frames
                key = "down" if i % 2 == 0 else "up"
                before = grid.highlighted_id
                t0 = time.perf_counter()
                app._driver.send_message(events.Key(key, None))  # as a terminal would
                deadline = t0 + 5
                while grid.highlighted_id == before and time.perf_counter() < deadline:
                    await asyncio.sleep(0.0005)
                done = loop.create_future()
                app.call_after_refresh(lambda: done.done() or done.set_result(None))
                await asyncio.wait_for(done, 5)
                key_ms.append((time.perf_counter() - t0) * 1000.0)
            pss = _pss_mb()  # the app still running, every Dashboard's fleet in the store
            await pilot.press("q")
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        return {
            "servers": servers, "dashboards": dashboards, "phases_s": phases, "shown": shown,
            "frames": len(frame_ms), "merged": merged,
            "frame_median_ms": _median(frame_ms), "frame_p95_ms": _pct(frame_ms, 0.95),
            "handled_median_ms": _median(handled_ms), "decode_median_ms": _median(decode_ms),
            "cpu_percent": cpu, "peak_rss_mb": rss_mb, "pss_mb": pss, "load": load,
            "key_median_ms": _median(key_ms), "key_max_ms": max(key_ms) if key_ms else float("nan"),
            **_frame_figures(samples, dashboards, names),
        }
    finally:
        for d in demos:
            d.stop()


async def _cold_child(size: tuple[int, int]) -> None:
    """What ``nezha-tui --demo`` does, headless; prints the time of the first painted frame."""
    from nezha_tui.api.client import Credentials, NezhaClient
    from nezha_tui.demo.thread import start_demo_in_thread
    from nezha_tui.ui.app import NezhaApp

    demo = start_demo_in_thread()
    try:
        app = NezhaApp(NezhaClient(demo.url, Credentials(username=demo.username, password=demo.password)))
        first: asyncio.Future = asyncio.get_running_loop().create_future()
        app.perf.add_listener(lambda s: first.done() or first.set_result(time.time()))
        async with app.run_test(headless=True, size=size):
            print(f"FIRST {await asyncio.wait_for(first, 30):.6f}", flush=True)
    finally:
        demo.stop()


def _cold_start(runs: int, size: str) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.time()
        out = subprocess.run([sys.executable, "-m", "nezha_tui", "bench", "--cold-child", "--size", size],
                             capture_output=True, text=True, timeout=120)
        m = re.search(r"FIRST (\d+\.\d+)", out.stdout)
        if m:
            times.append(float(m.group(1)) - t0)
    return times


def _fleet_label(r: dict) -> str:
    n = r.get("dashboards", 1)
    return f"{n} x {r['servers']:,}" if n > 1 else f"{r['servers']:,}"


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} MB"


def _table(rows: list[dict]) -> str:
    head = ("servers", "frames", "frame->screen median", "p95", "of which decoding", "app CPU", "PSS", "peak RSS",
            "key->screen median", "max", "load")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        lines.append(" | ".join([
            _fleet_label(r), str(r["frames"]), f"{r['frame_median_ms']:.1f} ms", f"{r['frame_p95_ms']:.1f} ms",
            f"{r['decode_median_ms']:.1f} ms",
            f"{r['cpu_percent']:.1f} %", _mb(r.get("pss_mb")), f"{r['peak_rss_mb']:.0f} MB",
            f"{r['key_median_ms']:.1f} ms", f"{r['key_max_ms']:.1f} ms",
            "n/a" if r.get("load") is None else f"{r['load']:.1f}",
        ]))
    return "\n".join(lines)


def _verdict(value: float | None, bound: float) -> str:
    if value is None or value != value:  # nan: nothing measured
        return "not measured"
    return "PASS" if value <= bound else "over"


def _dashboard_lines(r: dict) -> list[str]:
    """Per Dashboard figures of a several-Dashboard row, each against issue 12's bounds."""
    if r.get("dashboards", 1) <= 1:
        return []
    phases = "/".join(f"{p:.2f}" for p in r["phases_s"])
    seen = "/".join("?" if p is None else f"{p:.2f}" for p in r["phase_s"])
    closest = r.get("closest_ms")
    lines = [f"{_fleet_label(r)} servers: frames sent at {phases} s past each 2 s; arrived {seen} s "
             f"after the first Dashboard's"
             + ("" if closest is None else f", nearest frame of another Dashboard {closest:.0f} ms away (median)")]
    bound = BOUNDS["frame_median_ms"]
    for d in r["per_dashboard"]:
        lines.append(f"  {d['dashboard']}: {d['frames']} frames, frame->screen median {d['frame_median_ms']:.1f} ms"
                     f" (<= {bound:g} ms: {_verdict(d['frame_median_ms'], bound)}), p95 {d['frame_p95_ms']:.1f} ms")
    lines.append(f"  all: {r['frames']} frames, median {r['frame_median_ms']:.1f} ms, p95 {r['frame_p95_ms']:.1f} ms;"
                 f" paints saved by merging frames that arrived together: {r['merged']}")
    cpu, pss = r["cpu_percent"], r.get("pss_mb")
    lines.append(f"  app CPU {cpu:.2f} % of a core (<= {BOUNDS['cpu_percent']:g} %: "
                 f"{_verdict(cpu, BOUNDS['cpu_percent'])}), PSS {_mb(pss)} (<= {BOUNDS['pss_mb']:g} MB: "
                 f"{_verdict(pss, BOUNDS['pss_mb'])}), peak RSS {r['peak_rss_mb']:.0f} MB")
    return lines


BENCH_RULES = (
    ("cpu above 90", "cpu", 90.0, None, 0.0, None),
    ("cpu above 80 for 5m", "cpu", 80.0, None, 300.0, None),
    ("mem above 90", "mem", 90.0, None, 60.0, None),
    ("swap above 50", "swap", 50.0, None, 0.0, None),
    ("disk above 90", "disk", 90.0, None, 0.0, None),
    ("disk above 80 on fra", "disk", 80.0, None, 0.0, "fra-*"),
    ("net in above 100 MB/s", "net_in_speed", 100e6, None, 30.0, None),
    ("net out above 100 MB/s", "net_out_speed", 100e6, None, 30.0, None),
    ("cpu below 1", "cpu", None, 1.0, 600.0, None),
    ("mem below 5", "mem", None, 5.0, 0.0, None),
)
"""The rules measured (name, metric, above, below, for_s, servers glob)."""


def _bench_rules(other_metrics: bool) -> list:
    from nezha_tui.alerts.rules import Rule

    rules = [Rule(name, metric, above=above, below=below, for_s=for_s, servers=glob)
             for name, metric, above, below, for_s, glob in BENCH_RULES]
    if other_metrics:
        rules[-2:] = [Rule("load above 8", "load1", above=8.0), Rule("hot", "temperature", above=85.0, for_s=60.0)]
    return rules


def rule_bench(servers: int = 10_000, frames: int = 40, *, other_metrics: bool = False,
               frame_interval: float = 2.0) -> dict:
    """Rule evaluation per frame (ms) at ``servers`` servers x 10 rules over the simulated fleet.

    The frames come from the demo Dashboard's encoder (one every ``frame_interval`` s of its
    clock), are decoded and applied to a :class:`FleetStore` as the app does; only
    :meth:`RuleEngine.evaluate` is timed, with the cyclic collector paused as in the app while
    it follows a frame.  The store's columns are recorded before the clock starts (the app
    records them each frame for the plots anyway; ``columns_ms`` is their cost).
    """
    from nezha_tui.alerts.rule_engine import RuleEngine
    from nezha_tui.api.decode import decode_frame
    from nezha_tui.demo.server import DemoOptions, DemoState
    from nezha_tui.gc_policy import collection_paused
    from nezha_tui.store import FleetStore

    t0 = 1_795_000_000.0
    state = DemoState(DemoOptions(servers=servers, clock=lambda: t0))
    visible = state.fleet.servers
    store = FleetStore()
    engine = RuleEngine(_bench_rules(other_metrics))
    wall_ms: list[float] = []
    cpu_ms: list[float] = []
    columns_ms: list[float] = []
    transitions = 0
    warmup = 2
    for k in range(frames + warmup):
        text = state.encoder.frame(t0 + k * frame_interval, 1, visible, with_note=(k == 0),
                                   full_host=lambda s: True)
        frame, report = decode_frame(text)
        change = store.apply(frame, report)
        with collection_paused():  # as in the app: no cyclic collection while a frame is followed
            c0 = time.perf_counter()
            store.frame_columns()
            w0, p0 = time.perf_counter(), time.thread_time()
            out = engine.evaluate(store, change, store.now_ms)
            w1, p1 = time.perf_counter(), time.thread_time()
        store.settle()
        if k >= warmup:
            columns_ms.append((w0 - c0) * 1000.0)
            wall_ms.append((w1 - w0) * 1000.0)
            cpu_ms.append((p1 - p0) * 1000.0)
            transitions += len(out)
    return {
        "servers": len(store), "rules": len(engine.rules), "frames": len(wall_ms),
        "other_metrics": other_metrics,
        "rules_median_ms": statistics.median(wall_ms) if wall_ms else float("nan"),
        "rules_p95_ms": _pct(wall_ms, 0.95),
        "rules_cpu_median_ms": statistics.median(cpu_ms) if cpu_ms else float("nan"),
        "rules_cpu_p95_ms": _pct(cpu_ms, 0.95),
        "columns_median_ms": statistics.median(columns_ms) if columns_ms else float("nan"),
        "transitions": transitions,
    }


def _rule_lines(results: list[dict]) -> list[str]:
    lines = []
    for r in results:
        what = "2 of them on load1 and temperature" if r["other_metrics"] else "on column metrics"
        lines.append(
            f"alert rules: {r['servers']:,} servers x {r['rules']} rules ({what}): "
            f"median {r['rules_median_ms']:.2f} ms, p95 {r['rules_p95_ms']:.2f} ms per frame "
            f"(CPU {r['rules_cpu_median_ms']:.2f} / {r['rules_cpu_p95_ms']:.2f} ms) over "
            f"{r['frames']} frames, {r['transitions']} transitions")
    return lines


def _child_argv(args: argparse.Namespace, servers: int, size_text: str) -> list[str]:
    """The command line of the child process that measures ``servers`` (per Dashboard)."""
    argv = [sys.executable, "-m", "nezha_tui", "bench", "--child", str(servers), "--seconds", str(args.seconds),
            "--keys", str(args.keys), "--size", size_text]
    if args.dashboards > 1:
        argv += ["--dashboards", str(args.dashboards)]
        if args.stagger is not None:
            argv += ["--stagger", str(args.stagger)]
    if args.profile:
        argv += ["--profile", args.profile if len(args.servers) == 1 else f"{args.profile}.{servers}"]
    return argv


def run_bench(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    size = args.size
    if args.cold_child:
        asyncio.run(_cold_child(size))
        return 0
    if args.child:
        result = asyncio.run(_measure(args.child, args.seconds, args.keys, size, args.dashboards, args.stagger,
                                      args.profile))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    sizes = args.servers
    size_text = f"{size[0]}x{size[1]}"
    several = f", {args.dashboards} Dashboards of each size" if args.dashboards > 1 else ""
    print(f"nezha-tui bench: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"{args.seconds:g} s of frames per size, terminal {size_text}{several}"
          + ("" if (load := _load()) is None else f"; load average {load:.1f} (1 min) before the run"), flush=True)
    rows = []
    for n in sizes:
        label = _fleet_label({"servers": n, "dashboards": args.dashboards})
        out = subprocess.run(_child_argv(args, n, size_text),
                             capture_output=True, text=True, timeout=args.seconds * 3 + 600)
        m = re.search(r"^RESULT (.*)$", out.stdout, re.M)
        if not m:
            print(f"  {label} servers: failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}",
                  file=sys.stderr)
            continue
        row = json.loads(m.group(1))
        rows.append(row)
        print(json.dumps(row) if args.json else f"  {label} servers done", flush=True)
    print(_table(rows))
    for row in rows:
        for line in _dashboard_lines(row):
            print(line)
    if args.rule_frames:
        results = [rule_bench(args.rule_servers, args.rule_frames, other_metrics=other) for other in (False, True)]
        for r, line in zip(results, _rule_lines(results)):
            print(json.dumps(r) if args.json else line, flush=True)
    if args.cold_runs:
        cold = _cold_start(args.cold_runs, size_text)
        if cold:
            print(f"cold start to the first live frame (--demo, headless): median {statistics.median(cold):.2f} s "
                  f"over {len(cold)} runs ({', '.join(f'{t:.2f}' for t in cold)})")
    return 0 if rows else 1
