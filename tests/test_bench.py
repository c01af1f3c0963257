"""``nezha-tui bench --dashboards N``: its options, its demo processes, its figures and verdicts."""

from __future__ import annotations

import json
import math
import sys
import time

import pytest
import websockets.sync.client

from nezha_tui import bench
from nezha_tui.cli import main
from nezha_tui.ui.app import FrameSample


def test_dashboards_default_to_one_and_the_child_command_is_todays():
    args = bench._parser().parse_args([])
    assert args.dashboards == 1 and args.stagger is None
    argv = bench._child_argv(args, 1000, "160x48")
    assert argv[1:] == ["-m", "nezha_tui", "bench", "--child", "1000", "--seconds", "60.0", "--keys", "20",
                        "--size", "160x48"]


def test_several_dashboards_reach_the_child():
    args = bench._parser().parse_args(["--servers", "1000", "--dashboards", "3", "--stagger", "0"])
    assert args.dashboards == 3 and args.stagger == 0.0
    argv = bench._child_argv(args, 1000, "160x48")
    assert argv[argv.index("--dashboards") + 1] == "3" and argv[argv.index("--stagger") + 1] == "0.0"
    child = bench._parser().parse_args(argv[argv.index("--child"):])
    assert (child.child, child.dashboards, child.stagger) == (1000, 3, 0.0)


def test_profile_file_per_size():
    one = bench._parser().parse_args(["--servers", "1000", "--profile", "p.prof"])
    assert bench._child_argv(one, 1000, "160x48")[-2:] == ["--profile", "p.prof"]
    two = bench._parser().parse_args(["--servers", "100,1000", "--profile", "p.prof"])
    assert bench._child_argv(two, 1000, "160x48")[-2:] == ["--profile", "p.prof.1000"]
    assert "--profile" not in bench._child_argv(bench._parser().parse_args([]), 100, "160x48")


@pytest.mark.parametrize("argv", [["--dashboards", "0"], ["--dashboards", "21"], ["--dashboards", "two"],
                                  ["--dashboards", "1.5"], ["--stagger", "-1"], ["--stagger", "2.5"],
                                  ["--stagger", "nan"]])
def test_bad_dashboards_or_stagger_are_one_line_and_exit_2(argv, capsys):
    assert main(["bench", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"nezha-tui: argument {argv[0]}") and "Traceback" not in captured.err


def test_phases_spread_over_the_frame_interval_unless_given():
    assert bench._phases(1, None) == [0.0]
    assert bench._phases(3, None) == [0.0, 0.667, 1.333]
    assert bench._phases(2, None) == [0.0, 1.0]
    assert bench._phases(3, 0.0) == [0.0, 0.0, 0.0]
    assert bench._phases(3, 0.5) == [0.0, 0.5, 1.0]


def test_demos_get_their_own_seed_and_phase_and_are_all_stopped_if_one_fails(monkeypatch):
    import nezha_tui.demo.process as process

    started, stopped = [], []

    class Fake:
        def __init__(self, args):
            self.args = args

        def stop(self):
            stopped.append(self.args)

    def fake_start(args):
        started.append(args)
        if "--seed" in args and args[args.index("--seed") + 1] == "3":
            raise RuntimeError("the demo server did not start: port exhausted")
        return Fake(args)

    monkeypatch.setattr(process, "start_demo_process", fake_start)
    demos = bench._start_demos(1000, [0.0, 0.7])
    assert [d.args for d in demos] == [["--servers", "1000", "--phase", "0"],
                                       ["--servers", "1000", "--seed", "2", "--phase", "0.7"]]
    assert [d.args for d in bench._start_demos(1000, [0.0])] == [["--servers", "1000"]]  # today's bench
    started.clear()
    stopped.clear()
    with pytest.raises(RuntimeError, match="did not start"):
        bench._start_demos(10, [0.0, 0.5, 1.0])
    ok = [a for a in started if "--seed" not in a or a[a.index("--seed") + 1] != "3"]  # the ones that started
    assert len(started) == 3 and len(ok) == 2 and sorted(map(str, stopped)) == sorted(map(str, ok))


def test_real_demo_processes_send_out_of_step_with_different_fleets():
    """Two real demo-server processes as the bench starts them: each first frame on its own phase of
    the 2 s grid, whenever the stream connected; different fleets."""
    phases = [0.0, 1.0]
    demos = bench._start_demos(5, phases)
    try:
        docs = []
        for d, phase in zip(demos, phases):
            url = d.url.replace("http://", "ws://") + "/api/v1/ws/server"
            with websockets.sync.client.connect(url, additional_headers={"Authorization": f"Bearer {d.token}"}) as ws:
                before = time.time()
                slot = before + (phase - before) % 2.0  # the earliest moment its server may send
                docs.append(json.loads(ws.recv(timeout=10)))
                assert time.time() >= slot - 0.001
        names = [sorted(s["name"] for s in doc["servers"]) for doc in docs]
        assert len(names[0]) == len(names[1]) == 5 and names[0] != names[1]
    finally:
        for d in demos:
            d.stop()
    assert all(d.proc.poll() is not None for d in demos)


def _sample(dashboard: int, received: float, screen_ms: float) -> FrameSample:
    return FrameSample(received + 0.002, received + 0.003, received + 0.004, painted=received + screen_ms / 1000.0,
                       servers=3000, changed=40, received=received, dashboard=dashboard)


def test_frame_figures_per_dashboard_phases_and_nearest_frames():
    samples = []
    for k in range(5):  # Dashboard 1 sends 0.7 s and Dashboard 2 1.3 s after Dashboard 0, every 2 s
        t = 100.0 + 2.0 * k
        samples += [_sample(0, t, 8.0 + k), _sample(1, t + 0.7, 6.0), _sample(2, t + 1.3, 12.0)]
    samples.append(FrameSample(200.0, 200.001, 200.002, painted=None, received=199.99, dashboard=1))  # not painted
    fig = bench._frame_figures(samples, 3, ["a", "b", "c"])
    per = fig["per_dashboard"]
    assert [(d["dashboard"], d["frames"]) for d in per] == [("a", 5), ("b", 5), ("c", 5)]
    assert [round(d["frame_median_ms"], 6) for d in per] == [10.0, 6.0, 12.0]
    assert [round(p, 6) for p in fig["phase_s"][1:]] == [0.7, 1.3] and fig["phase_s"][0] == 0.0
    assert round(fig["closest_ms"]) == 600  # each frame's nearest other-Dashboard frame: 0.6 or 0.7 s away


def test_frame_figures_with_a_silent_dashboard():
    fig = bench._frame_figures([_sample(0, 10.0, 5.0)], 2, ["a", "b"])
    assert fig["per_dashboard"][1]["frames"] == 0 and math.isnan(fig["per_dashboard"][1]["frame_median_ms"])
    assert fig["phase_s"] == [0.0, None] and fig["closest_ms"] is None


def _row(**over) -> dict:
    row = {"servers": 1000, "dashboards": 3, "phases_s": [0.0, 0.667, 1.333], "shown": 3000, "frames": 45,
           "merged": 2, "frame_median_ms": 8.0, "frame_p95_ms": 11.0, "handled_median_ms": 3.0,
           "decode_median_ms": 2.5, "cpu_percent": 2.4, "peak_rss_mb": 120.0, "pss_mb": 110.0,
           "key_median_ms": 4.0, "key_max_ms": 9.0, "load": 1.25, "phase_s": [0.0, 0.67, 1.34], "closest_ms": 660.0,
           "per_dashboard": [{"dashboard": f"demo-{i + 1}", "frames": 15, "frame_median_ms": m, "frame_p95_ms": 12.0}
                             for i, m in enumerate((7.5, 9.9, 10.4))]}
    row.update(over)
    return row


def test_dashboard_lines_check_each_bound():
    lines = bench._dashboard_lines(_row())
    text = "\n".join(lines)
    assert lines[0].startswith("3 x 1,000 servers: frames sent at 0.00/0.67/1.33 s past each 2 s; arrived "
                               "0.00/0.67/1.34 s")
    assert "demo-1: 15 frames, frame->screen median 7.5 ms (<= 10 ms: PASS)" in text
    assert "demo-2: 15 frames, frame->screen median 9.9 ms (<= 10 ms: PASS)" in text
    assert "demo-3: 15 frames, frame->screen median 10.4 ms (<= 10 ms: over)" in text
    assert "paints saved by merging frames that arrived together: 2" in text
    assert "app CPU 2.40 % of a core (<= 3 %: PASS), PSS 110 MB (<= 150 MB: PASS)" in text
    over = "\n".join(bench._dashboard_lines(_row(cpu_percent=3.2, pss_mb=None)))
    assert "app CPU 3.20 % of a core (<= 3 %: over), PSS n/a (<= 150 MB: not measured)" in over
    assert bench._dashboard_lines(_row(dashboards=1)) == []


def test_table_labels_several_dashboards_and_shows_pss():
    table = bench._table([_row(), _row(dashboards=1, servers=3000, pss_mb=None)])
    lines = table.splitlines()
    assert "PSS" in lines[0].split(" | ")
    assert lines[2].startswith("3 x 1,000 | 45 | 8.0 ms | 11.0 ms | 2.5 ms | 2.4 % | 110 MB | 120 MB")
    assert lines[2].endswith("| 4.0 ms | 9.0 ms | 1.2")
    assert lines[3].startswith("3,000 | 45 |") and "| n/a |" in lines[3]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PSS from /proc/self/smaps_rollup")
def test_pss_of_this_process_is_measured():
    pss = bench._pss_mb()
    assert pss is not None and 1.0 < pss < 10_000
