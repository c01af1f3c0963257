"""Terminal notifications (OSC 777 / 9 / 99, tmux passthrough, hostile text) and the command hook (stdin
JSON, no shell, timeout killing the process group, concurrency bound, queue overflow, failures once)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time

import pytest

from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.alerts.notify import (
    BODY_MAX,
    TITLE_MAX,
    HookRunner,
    clean_text,
    event_notification,
    in_tmux,
    osc_notification,
    tmux_passthrough,
)

ESC, BEL, ST = "\x1b", "\x07", "\x1b\\"
PY = sys.executable


def ev(i: int = 1, **kw) -> Event:
    return Event(ts_ms=1_764_771_720_000 + i, kind=kw.pop("kind", EventKind.OFFLINE),
                 severity=kw.pop("severity", Severity.WARNING), message=kw.pop("message", f"srv-{i} is offline"),
                 dashboard="prod", server_id=i, server_name=f"srv-{i}", **kw)


# ---------------------------------------------------------------------------- escape sequences


def test_sequences_exact():
    assert osc_notification("osc777", "prod", "fra-12 is offline", tmux=False) == \
        f"{ESC}]777;notify;prod;fra-12 is offline{BEL}"
    assert osc_notification("osc9", "prod", "fra-12 is offline", tmux=False) == f"{ESC}]9;fra-12 is offline{BEL}"
    assert osc_notification("osc99", "prod", "fra-12 is offline", tmux=False, ident="n1") == (
        f"{ESC}]99;i=n1:d=0;prod{ST}" f"{ESC}]99;i=n1:p=body;fra-12 is offline{ST}")
    # no title: kitty's one-chunk form
    assert osc_notification("osc99", "", "fra-12 is offline", tmux=False) == f"{ESC}]99;;fra-12 is offline{ST}"
    # no body: the title chunk, then an empty chunk that finishes it
    assert osc_notification("osc99", "prod", "", tmux=False, ident="n1") == (
        f"{ESC}]99;i=n1:d=0;prod{ST}{ESC}]99;i=n1;{ST}")
    # OSC 9 has no title: the title stands in for an empty body
    assert osc_notification("osc9", "prod", "", tmux=False) == f"{ESC}]9;prod{BEL}"


def test_off_and_unknown_styles_give_nothing():
    for style in ("off", "", "osc52", "OSC777", None):
        assert osc_notification(style, "t", "b", tmux=True) == ""  # type: ignore[arg-type]


def test_osc99_ids_are_new_per_notification_and_safe():
    a = osc_notification("osc99", "t", "b", tmux=False)
    b = osc_notification("osc99", "t", "b", tmux=False)
    ida = re.findall(r"i=([^:;]+)", a)
    idb = re.findall(r"i=([^:;]+)", b)
    assert len(set(ida)) == 1 and len(set(idb)) == 1 and ida[0] != idb[0]
    assert re.fullmatch(r"[A-Za-z0-9_\-+.]+", ida[0])
    # a hostile id is reduced to kitty's identifier characters
    c = osc_notification("osc99", "t", "b", tmux=False, ident="x;y:z\x1b=1")
    assert c.startswith(f"{ESC}]99;i=xyz1:d=0;t{ST}")


def test_tmux_passthrough_doubles_inner_escapes():
    assert tmux_passthrough(f"{ESC}]9;hi{BEL}") == f"{ESC}Ptmux;{ESC}{ESC}]9;hi{BEL}{ST}"
    assert osc_notification("osc777", "t", "b", tmux=True) == f"{ESC}Ptmux;{ESC}{ESC}]777;notify;t;b{BEL}{ST}"
    # kitty's two chunks: each wrapped
    assert osc_notification("osc99", "t", "b", tmux=True, ident="n") == (
        f"{ESC}Ptmux;{ESC}{ESC}]99;i=n:d=0;t{ESC}{ESC}\\{ST}"
        f"{ESC}Ptmux;{ESC}{ESC}]99;i=n:p=body;b{ESC}{ESC}\\{ST}")


def test_in_tmux():
    assert in_tmux({"TMUX": "/tmp/tmux-0/default,123,0"})
    assert not in_tmux({"TMUX": ""}) and not in_tmux({})


HOSTILE = (
    "a;b\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b31m\x9d0;title\x9c\x1bP+q\x1b\\\x00\x08\x7f\x85"
    "\nline2\r\n\t\u2028x\ud800y;z"
)


@pytest.mark.parametrize("tmux", [False, True])
@pytest.mark.parametrize("style", ["osc777", "osc9", "osc99"])
def test_hostile_text_cannot_escape_the_sequence(style, tmux):
    out = osc_notification(style, HOSTILE, HOSTILE, tmux=tmux, ident="n")
    if tmux:  # unwrap: the only ESCs inside are doubled ones
        parts = re.findall(r"\x1bPtmux;(.*?)\x1b\\(?=\x1bPtmux;|$)", out, re.S)
        assert "".join(f"{ESC}Ptmux;{p}{ST}" for p in parts) == out
        out = "".join(p.replace(ESC + ESC, ESC) for p in parts)
    seqs = re.findall(r"\x1b\](?:777|9|99);[^\x1b\x07]*(?:\x07|\x1b\\)", out)
    assert "".join(seqs) == out  # nothing outside the notification sequences
    for seq in seqs:
        inner = seq[2:-2] if seq.endswith(ST) else seq[2:-1]
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]", inner)
        if style == "osc777":
            assert inner.count(";") == 3  # 777 ; notify ; title ; body
        elif style == "osc9":
            assert inner.count(";") == 1
    text = clean_text(HOSTILE, 500)
    assert text == "a;b]52;c;ZXZpbA==[2J31m0;titleP+q\\ line2 xy;z"  # inert leftovers: no control at all


def test_length_is_bounded():
    out = osc_notification("osc777", "T" * 1000, "B" * 10_000, tmux=False)
    assert out == f"{ESC}]777;notify;{'T' * (TITLE_MAX - 1)}…;{'B' * (BODY_MAX - 1)}…{BEL}"
    assert clean_text("ab   cd  ", 4) == "ab…"
    assert clean_text(None, 10) == ""  # type: ignore[arg-type]


def test_event_notification():
    e = ev(12, message="fra-12 is offline", severity=Severity.CRITICAL)
    assert event_notification("osc777", e, tmux=False) == f"{ESC}]777;notify;prod: critical;fra-12 is offline{BEL}"


# ---------------------------------------------------------------------------- the hook


def script(code: str, *args: str) -> list[str]:
    return [PY, "-c", code, *args]


WRITE_STDIN = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())"


async def test_hook_gets_the_event_json_on_stdin(tmp_path):
    problems: list[str] = []
    out = tmp_path / "got.json"
    e = ev(5, kind=EventKind.SERVICE_DOWN, service_id=3, service_name="api ✓", data={"down_today": 2})
    runner = HookRunner(script(WRITE_STDIN, str(out)), on_problem=problems.append)
    assert runner.submit(e) is True
    assert await runner.drain(30)
    raw = out.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    assert json.loads(raw) == e.to_json()
    assert Event.from_json(json.loads(raw)) == e
    assert problems == [] and runner.failures == 0 and runner.completed == 1


async def test_hook_argv_never_goes_through_a_shell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "argv.json"
    hostile = ["$(touch pwned1)", "`touch pwned2`", "; touch pwned3", "| touch pwned4", "*", "a b"]
    code = "import sys, json, pathlib; sys.stdin.read(); pathlib.Path(sys.argv[1]).write_text(json.dumps(sys.argv[2:]))"
    runner = HookRunner(script(code, str(out), *hostile))
    runner.submit(ev())
    assert await runner.drain(30)
    assert json.loads(out.read_text()) == hostile
    assert not any(p.name.startswith("pwned") for p in tmp_path.iterdir())


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_hook_timeout_kills_its_process_group(tmp_path):
    problems: list[str] = []
    pidfile = tmp_path / "child.pid"
    code = (
        "import subprocess, sys, time, pathlib\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "pathlib.Path(sys.argv[1]).write_text(str(child.pid))\n"
        "time.sleep(120)\n"
    )
    runner = HookRunner(script(code, str(pidfile)), timeout=2.0, on_problem=problems.append)
    started = time.monotonic()
    runner.submit(ev())
    assert await runner.drain(30)
    assert time.monotonic() - started < 15
    assert problems == [f"event hook {os.path.basename(PY)}: still running after 2 s, killed"]
    child = int(pidfile.read_text())
    for _ in range(200):  # the orphan is reaped by init at its own pace
        if not _alive(child):
            break
        await asyncio.sleep(0.01)
    assert not _alive(child)


async def test_hook_concurrency_is_bounded_and_the_rest_queued(tmp_path):
    # each hook records how many hooks were running when it started (a marker file per live hook)
    code = (
        "import sys, os, pathlib, time\n"
        "d = pathlib.Path(sys.argv[1]); me = d / f'live-{os.getpid()}'\n"
        "me.touch(); seen = len(list(d.glob('live-*')))\n"
        "time.sleep(0.2)\n"
        "(d / f'seen-{os.getpid()}').write_text(str(seen)); me.unlink(); sys.stdin.read()\n"
    )
    runner = HookRunner(script(code, str(tmp_path)), max_running=2, max_queued=10)
    results = [runner.submit(ev(i)) for i in range(6)]
    assert results == [True] * 6
    assert runner.running == 2 and runner.queued == 4  # submit returned at once; no more than 2 started
    assert await runner.drain(60)
    seen = [int(p.read_text()) for p in tmp_path.glob("seen-*")]
    assert len(seen) == 6 and max(seen) <= 2
    assert runner.running == 0 and runner.queued == 0 and runner.completed == 6


async def test_hook_queue_overflow_drops_and_reports_once(tmp_path):
    problems: list[str] = []
    runner = HookRunner(script("import sys; sys.stdin.read()"), max_running=1, max_queued=1,
                        on_problem=problems.append)
    assert [runner.submit(ev(i)) for i in range(5)] == [True, True, False, False, False]
    assert runner.dropped == 3
    assert problems == [f"event hook {os.path.basename(PY)}: too many events at once (1 running, 1 queued); "
                        "further events dropped"]
    assert await runner.drain(30)
    assert runner.completed == 2


async def test_hook_failures_are_reported_once_per_problem(tmp_path, caplog):
    problems: list[str] = []
    code = "import sys; sys.stdin.read(); print('lots of noise\\n' * 5000, file=sys.stderr); " \
           "print('boom: no webhook url', file=sys.stderr); sys.exit(int(sys.argv[1]))"
    name = os.path.basename(PY)
    caplog.set_level(logging.DEBUG, logger="nezha_tui.alerts.notify")
    failing = HookRunner(script(code, "3"), on_problem=problems.append)
    for i in range(3):
        failing.submit(ev(i, message="SECRET-TEXT of the event"))
    assert await failing.drain(30)
    assert problems == [f"event hook {name}: exit status 3 (boom: no webhook url)"]
    assert failing.failures == 3
    # another exit status is another problem
    other = HookRunner(script(code, "4"), on_problem=problems.append)
    other.submit(ev(9))
    assert await other.drain(30)
    assert problems[1:] == [f"event hook {name}: exit status 4 (boom: no webhook url)"]
    # the log names the event's kind and server, never its text
    assert "offline event of server 1" in caplog.text
    assert "SECRET" not in caplog.text


async def test_hook_not_found_and_not_executable(tmp_path):
    problems: list[str] = []
    missing = HookRunner([str(tmp_path / "no-such-hook")], on_problem=problems.append)
    missing.submit(ev(1))
    missing.submit(ev(2))
    assert await missing.drain(30)
    assert problems == [f"event hook: command not found: {tmp_path / 'no-such-hook'}"]
    assert missing.failures == 2
    plain = tmp_path / "hook.sh"
    plain.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(plain, 0o644)
    notexec = HookRunner([str(plain)], on_problem=problems.append)  # (root cannot exec it either: no x bit)
    notexec.submit(ev(1))
    assert await notexec.drain(30)
    assert problems[1] == f"event hook: cannot run {plain}: permission denied"


async def test_hook_killed_by_a_signal(tmp_path):
    problems: list[str] = []
    runner = HookRunner(script("import os, signal; os.kill(os.getpid(), signal.SIGTERM)"),
                        on_problem=problems.append)
    runner.submit(ev())
    assert await runner.drain(30)
    assert problems == [f"event hook {os.path.basename(PY)}: killed by SIGTERM"]


async def test_hook_that_ignores_stdin_is_fine(tmp_path):
    problems: list[str] = []
    big = ev(1, data={"blob": "x" * 300_000})  # more than a pipe holds: the write meets a closed pipe
    runner = HookRunner(script("pass"), on_problem=problems.append)
    runner.submit(big)
    runner.submit(ev(2))
    assert await runner.drain(30)
    assert problems == [] and runner.failures == 0


async def test_close_kills_running_hooks_and_drops_the_rest(tmp_path):
    runner = HookRunner(script("import time; time.sleep(120)"), max_running=1, timeout=100)
    runner.submit(ev(1))
    runner.submit(ev(2))
    await asyncio.sleep(0)  # let the first start
    started = time.monotonic()
    assert not await runner.drain(0.05)
    await runner.close()
    assert time.monotonic() - started < 10
    assert runner.running == 0 and runner.dropped == 1
    assert runner.submit(ev(3)) is False and runner.dropped == 2


def test_hook_needs_a_command():
    for argv in ([], [""], [1, 2], ["ok", None]):
        with pytest.raises(ValueError):
            HookRunner(argv)  # type: ignore[arg-type]


async def test_a_broken_problem_reporter_does_not_break_the_runner(tmp_path):
    def bad(msg: str) -> None:
        raise RuntimeError("reporter bug")

    runner = HookRunner(script("import sys; sys.exit(1)"), on_problem=bad)
    runner.submit(ev(1))
    runner.submit(ev(2))
    assert await runner.drain(30)
    assert runner.failures == 2 and runner.completed == 2
