"""``nezha-tui watch`` as a user runs it: against the demo, JSON lines, the hook, signals, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start(tmp_path: Path, *args: str, config: str | None = None) -> subprocess.Popen:
    cfg = tmp_path / "cfg"
    cfg.mkdir(exist_ok=True)
    if config is not None:
        (cfg / "config.toml").write_text(config)
        (cfg / "config.toml").chmod(0o600)
    env = {**os.environ, "NEZHA_TUI_CONFIG_DIR": str(cfg), "NEZHA_TUI_STATE_DIR": str(tmp_path / "state")}
    return subprocess.Popen([sys.executable, "-m", "nezha_tui", "watch", "--demo", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def test_json_lines_a_hook_and_sigterm_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "hook-out.jsonl"
    hook = tmp_path / "hook.py"
    hook.write_text(f"import sys\nopen({str(out)!r}, 'a').write(sys.stdin.read())\n")
    proc = start(tmp_path, "--json", "--on-event", f"{sys.executable} {hook} '$(touch {tmp_path}/pwned)'")
    try:
        first = json.loads(proc.stdout.readline())
        assert first["kind"] == "summary" and first["dashboard"] == "demo"
        assert first["message"].startswith("24 servers:")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err == ""
    assert json.loads(out.read_text().splitlines()[0])["kind"] == "summary"  # the hook got it on stdin
    assert not (tmp_path / "pwned").exists()  # never through a shell
    logged = (tmp_path / "state" / "events.jsonl").read_text().splitlines()
    assert json.loads(logged[0])["kind"] == "summary"


def test_a_bad_rule_is_one_line_naming_file_and_line_and_watch_still_runs(tmp_path: Path) -> None:
    config = textwrap.dedent("""\
        [[alerts.rules]]
        name = "typo"
        metric = "cpux"
        above = 90
    """)
    proc = start(tmp_path, config=config)
    try:
        line = proc.stdout.readline()
        assert "summary" in line and "[demo]" in line
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    lines = err.splitlines()
    assert len(lines) == 1 and "config.toml:3:" in lines[0] and "cpux" in lines[0], err


def test_usage_errors_exit_2() -> None:
    proc = subprocess.run([sys.executable, "-m", "nezha_tui", "watch", "--demo", "--on-event", "'unclosed"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={**os.environ, "NEZHA_TUI_CONFIG_DIR": "/nonexistent-nezha-tui"})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--on-event" in proc.stderr
