"""The command line: snapshot against the simulated Dashboard, errors as one line, usage."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import websockets.sync.client

from nezha_tui.cli import main
from nezha_tui.demo.server import DemoOptions
from nezha_tui.demo.thread import start_demo_in_thread

T = 1795694400.0  # 2026-11-26 12:00:00 UTC


@pytest.fixture(scope="module")
def demo():
    thread = start_demo_in_thread(DemoOptions(seed=7, clock=lambda: T, frame_interval=0.2))
    yield thread
    thread.stop()


@pytest.fixture(autouse=True)
def no_env(monkeypatch, tmp_path):
    for name in ("NEZHA_URL", "NEZHA_TOKEN", "NEZHA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEZHA_TUI_CONFIG_DIR", str(tmp_path))


def raw_first_frame(demo, token: str) -> dict:
    """The stream's first frame read with plain json, independent of the client's decoder."""
    url = demo.url.replace("http://", "ws://") + "/api/v1/ws/server"
    with websockets.sync.client.connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        return json.loads(ws.recv(timeout=10))


def test_snapshot_json_matches_the_stream(demo, monkeypatch, capsys):
    token = demo.server.token
    monkeypatch.setenv("NEZHA_TOKEN", token)
    assert main(["snapshot", demo.url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    raw = raw_first_frame(demo, token)
    assert out["site_name"] == "Nezha Demo" and out["now"] == raw["now"] == int(T) * 1000
    assert [s["id"] for s in out["servers"]] == [s["id"] for s in raw["servers"]]
    # one Dashboard: still marked, so that (dashboard, id) names a server as with several
    name = demo.url.removeprefix("http://")
    assert {s["dashboard"] for s in out["servers"]} == {name}
    assert [(d["name"], d["site_name"], d["error"]) for d in out["dashboards"]] == [(name, "Nezha Demo", None)]
    by_id = {s["id"]: s for s in out["servers"]}
    for r in raw["servers"]:
        s = by_id[r["id"]]
        assert s["name"] == r["name"]
        state = r.get("state") or {}
        if s["status"] == "never_reported":  # no values at all: null, not zeros
            assert s["state"] is None and not state
            continue
        # Omitted zero fields come out as 0; ints where floats are expected come out as floats.
        assert s["state"]["cpu"] == pytest.approx(state.get("cpu", 0))
        assert s["state"]["mem_used"] == state.get("mem_used", 0)
        assert s["state"]["temperatures"] == [{"Name": t["Name"], "Temperature": t["Temperature"]}
                                              for t in state.get("temperatures", [])]
        assert s["country_code"] == r.get("country_code", "")
        if r["last_active"].startswith("0001-01-01"):
            assert s["last_active"] is None and s["online"] is False
    assert any(s["online"] for s in out["servers"]) and not all(s["online"] for s in out["servers"])
    assert {g["group"]["name"] for g in out["groups"]} >= {"Production"}


def test_snapshot_table(demo, monkeypatch, capsys):
    monkeypatch.setenv("NEZHA_TOKEN", demo.server.token)
    assert main(["snapshot", demo.url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Nezha Demo: 24 servers, ")
    assert lines[1].split()[:3] == ["ID", "STATUS", "NAME"]
    assert len(lines) == 2 + 24


def test_snapshot_as_guest_hides_hidden_servers(demo, capsys):
    assert main(["snapshot", demo.url, "--json"]) == 0
    guest = json.loads(capsys.readouterr().out)
    assert 0 < len(guest["servers"]) < 24
    assert all("version" not in s["host"] or s["host"]["version"] == "" for s in guest["servers"])


def test_snapshot_password_from_environment(demo, monkeypatch, capsys):
    monkeypatch.setenv("NEZHA_PASSWORD", demo.server.password)
    assert main(["snapshot", demo.url, "--user", demo.server.username]) == 0
    assert "24 servers" in capsys.readouterr().out


def test_bad_password_is_one_line_and_not_echoed(demo, monkeypatch, capsys):
    monkeypatch.setenv("NEZHA_PASSWORD", "wrong-password-123")
    assert main(["snapshot", demo.url, "--user", "admin"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and captured.err.startswith("nezha-tui: ")
    assert "wrong-password-123" not in captured.err and "Traceback" not in captured.err


def test_unknown_token_is_one_line(demo, monkeypatch, capsys):
    monkeypatch.setenv("NEZHA_TOKEN", "nzp_not_a_real_token_at_all")
    assert main(["snapshot", demo.url]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "nzp_not_a_real" not in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_is_one_line(capsys):
    assert main(["snapshot", f"http://127.0.0.1:{free_port()}", "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "refused" in err and "Traceback" not in err


def test_force_auth_as_guest_fails_cleanly(monkeypatch, capsys):
    thread = start_demo_in_thread(DemoOptions(force_auth=True, frame_interval=0.2))
    try:
        assert main(["snapshot", thread.url, "--timeout", "5"]) == 1
    finally:
        thread.stop()
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    assert main(["snapshot", "--no-such-flag"]) == 2
    assert main(["--wall", "abc"]) == 2


def test_no_url_says_how_to_start(capsys):
    assert main(["snapshot"]) == 2
    assert "--demo" in capsys.readouterr().err


def test_token_file_must_be_private(tmp_path, capsys, demo):
    token_file = tmp_path / "token"
    token_file.write_text(demo.server.token + "\n")
    token_file.chmod(0o644)
    assert main(["snapshot", demo.url, "--token-file", str(token_file)]) == 1
    err = capsys.readouterr().err
    assert "chmod 600" in err and demo.server.token not in err
    token_file.chmod(0o600)
    assert main(["snapshot", demo.url, "--token-file", str(token_file)]) == 0


def test_profile_from_config_file(tmp_path, demo, capsys):
    (tmp_path / "config.toml").write_text(f'default = "lab"\n[profiles.lab]\nurl = "{demo.url}"\n')
    assert main(["snapshot"]) == 0
    assert "servers" in capsys.readouterr().out


def test_large_demo_runs_in_its_own_process(capsys):
    # Above DEMO_THREAD_MAX the demo's frame encoding must not share the app's GIL.
    from nezha_tui.connections import DEMO_THREAD_MAX

    n = DEMO_THREAD_MAX + 1
    assert main(["snapshot", "--demo", "--demo-servers", str(n), "--demo-as", "token"]) == 0
    assert capsys.readouterr().out.startswith(f"Nezha Demo: {n} servers")


# --------------------------------------------------------------------------- usage errors: exit 2, one line


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("nezha-tui: ") and "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize(("argv", "reason"), [
    (["snapshot", "ftp://x"], "unsupported scheme ftp"),
    (["snapshot"], "no Dashboard URL"),
    (["snapshot", "http://127.0.0.1:99999"], "invalid port"),
    (["snapshot", "localhost:0"], "invalid port"),
    (["snapshot", "http://[::1"], "malformed"),
    (["snapshot", "http://"], "no valid host"),
    (["snapshot", "https://８"], "malformed"),
    (["snapshot", "https://h/x@y"], "holds an @"),
    (["--wall", "nan"], "--wall: must be a number from 2 to 3600"),
    (["--wall", "inf"], "--wall"),
    (["--wall", "1e-9"], "--wall"),
    (["--wall", "0"], "--wall"),
    (["--wall", "abc"], "--wall"),
    (["--online-window", "-1"], "--online-window: must be a number from 1 to"),
    (["--online-window", "0"], "--online-window"),
    (["--online-window", "nan"], "--online-window"),
    (["snapshot", "--online-window", "inf", "http://h"], "--online-window"),
    (["snapshot", "--timeout", "nan", "http://h"], "--timeout"),
    (["snapshot", "--timeout", "0", "http://h"], "--timeout"),
    (["snapshot", "--timeout", "-5", "http://h"], "--timeout"),
    (["snapshot", "--demo", "--demo-servers", "0"], "--demo-servers: must be a whole number from 1 to 10000"),
    (["snapshot", "--demo", "--demo-servers", "-1"], "--demo-servers"),
    (["snapshot", "--demo", "--demo-servers", "100000000"], "--demo-servers"),
    (["snapshot", "--demo", "--demo-servers", "2.5"], "--demo-servers"),
    (["snapshot", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["snapshot", "--demo-as", "root"], "invalid choice"),
    (["demo-server", "--port", "99999"], "--port: must be a whole number from 0 to 65535"),
    (["demo-server", "--port", "-1"], "--port"),
    (["demo-server", "--interval", "nan"], "--interval"),
    (["demo-server", "--jwt-lifetime", "-1"], "--jwt-lifetime"),
])
def test_usage_errors_exit_2_with_one_line(capsys, argv, reason):
    assert main(argv) == 2
    assert reason in one_line_error(capsys)


def test_a_bad_url_from_the_environment_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setenv("NEZHA_URL", "ftp://x")
    assert main(["snapshot"]) == 2
    assert "NEZHA_URL has the unsupported scheme ftp" in one_line_error(capsys)


def test_a_huge_url_is_not_echoed_in_full(capsys):
    url = "http://h/" + "a" * 100_000
    assert main(["snapshot", url]) == 2
    assert len(one_line_error(capsys)) < 200
    # what argparse itself echoes is capped too
    assert main(["snapshot", "http://h", url]) == 2
    assert len(one_line_error(capsys)) < 300


@pytest.mark.parametrize("url", ["http://admin:hunter2-secret@127.0.0.1:1",
                                 "http://admin:hunter2-secret@[bad", "admin:hunter2-secret@h:x"])
def test_a_password_in_the_url_is_refused_and_never_echoed_or_logged(tmp_path, capsys, url):
    log_file = tmp_path / "log"
    assert main(["snapshot", url, "--log", str(log_file)]) == 2
    err = one_line_error(capsys)
    assert "--user" in err and "hunter2" not in err
    assert "hunter2" not in log_file.read_text()


def test_a_password_in_a_second_url_is_not_echoed_by_argparse(capsys):
    assert main(["snapshot", "http://h", "http://admin:hunter2-secret@h"]) == 2
    assert "hunter2" not in one_line_error(capsys)


# --------------------------------------------------------------------------- --log, the last resort


def test_log_to_a_directory_or_a_missing_directory_is_one_line(tmp_path, capsys):
    assert main(["snapshot", "http://h", "--log", str(tmp_path)]) == 2
    assert "is a directory" in one_line_error(capsys)
    assert main(["snapshot", "http://h", "--log", str(tmp_path / "missing" / "x")]) == 2
    assert "does not exist" in one_line_error(capsys)


@pytest.mark.timeout(10)
def test_log_to_a_fifo_does_not_hang(tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert main(["snapshot", "http://h", "--log", str(fifo)]) == 2
    assert "--log" in one_line_error(capsys)


def test_the_log_file_is_private(tmp_path, demo, monkeypatch, capsys):
    monkeypatch.setenv("NEZHA_TOKEN", demo.server.token)
    log_file = tmp_path / "log"
    assert main(["snapshot", demo.url, "--log", str(log_file)]) == 0
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert demo.server.token not in log_file.read_text()


def test_an_unexpected_error_is_one_redacted_line(monkeypatch, capsys):
    import nezha_tui.cli as cli

    def boom(argv):
        raise RuntimeError("bad luck with nzp_abcdefSECRET\nsecond line")

    monkeypatch.setattr(cli, "_dispatch", boom)
    assert main([]) == 1
    err = one_line_error(capsys)
    assert "unexpected error: RuntimeError" in err and "SECRET" not in err


def test_the_last_resort_is_one_redacted_line_without_traceback(capsys):
    from nezha_tui.logsetup import LAST_RESORT, guarded, register_secret

    register_secret("pw-for-the-last-resort")
    try:
        raise ValueError("with pw-for-the-last-resort inside")
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "it failed\nmore",
                                                   None, sys.exc_info())
    LAST_RESORT.handle(record)
    err = capsys.readouterr().err
    assert err == "nezha-tui: it failed: ValueError: with *** inside\n"
    saved = logging.lastResort
    with guarded():
        assert logging.lastResort is LAST_RESORT
    assert logging.lastResort is saved


GUARDED_CRASHES = """
import logging, sys, threading, warnings
from nezha_tui.logsetup import guarded, setup_logging
with guarded():
    logging.getLogger("nezha_tui").error("no handler here", exc_info=ZeroDivisionError("x"))
    t = threading.Thread(target=lambda: 1 / 0, name="worker")
    t.start(); t.join()
    warnings.warn("careful nzp_leakedtoken", RuntimeWarning)
    setup_logging(sys.argv[1])
    warnings.warn("logged nzp_leakedtoken", RuntimeWarning)
    t = threading.Thread(target=lambda: 1 / 0, name="logged-worker")
    t.start(); t.join()
"""


def run(*argv: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEZHA_TUI_CONFIG_DIR": kw.pop("config_dir", "/nonexistent-nezha-tui")}
    for name in ("NEZHA_URL", "NEZHA_TOKEN", "NEZHA_PASSWORD"):
        env.pop(name, None)
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=env, cwd=Path(__file__).resolve().parents[1], **kw)


def test_in_a_real_process_what_python_reports_by_itself_is_one_line_each(tmp_path):
    log_file = tmp_path / "log"
    r = run("-c", GUARDED_CRASHES, str(log_file))
    assert r.returncode == 0
    lines = r.stderr.splitlines()
    assert "Traceback" not in r.stderr and len(lines) == 2, r.stderr
    assert all(line.startswith("nezha-tui: ") for line in lines)
    assert lines[0] == "nezha-tui: no handler here: ZeroDivisionError: x"
    assert "ZeroDivisionError" in lines[1] and "worker" in lines[1]
    # warnings never reach the terminal; with --log they are in the file, redacted, tracebacks too
    logged = log_file.read_text()
    assert "logged nzp_***" in logged and "leakedtoken" not in logged and "careful" not in logged
    assert "thread logged-worker stopped by an error" in logged and "ZeroDivisionError" in logged


@pytest.mark.parametrize(("argv", "code"), [
    (["demo-server", "--port", "99999"], 2),
    (["snapshot", "http://user:hunter2-secret@127.0.0.1:99999"], 2),
    (["snapshot", "ftp://x"], 2),
    (["--log", "/", "--demo"], 2),
    (["snapshot", "http://127.0.0.1:1", "--log", "/nonexistent-dir/x"], 2),
    (["--wall", "nan", "--demo"], 2),
])
def test_exit_codes_and_no_traceback_in_a_real_process(argv, code):
    r = run("-m", "nezha_tui", *argv)
    assert r.returncode == code, r.stderr
    assert r.stdout == "" and "Traceback" not in r.stderr and "hunter2" not in r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("nezha-tui: ")


@pytest.mark.timeout(20)
def test_a_fifo_config_is_one_line_in_a_real_process(tmp_path):
    os.mkfifo(tmp_path / "config.toml")
    r = run("-m", "nezha_tui", "snapshot", "http://127.0.0.1:1", config_dir=str(tmp_path))
    assert r.returncode == 1 and "FIFO" in r.stderr and len(r.stderr.splitlines()) == 1


# --------------------------------------------------------------------------- packaging and CI

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    import re

    readme = (ROOT / "README.md").read_text()
    dev = readme[readme.index("## Development"):]
    command = re.search(r"```sh\n(.+?)\n```", dev).group(1)
    assert "ruff check" in command and "pytest" in command
    assert (ROOT / ".ci" / "run").read_text().rstrip().splitlines()[-1] == command


def test_every_declared_dependency_is_imported_and_every_import_declared():
    import ast
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.match(r"[A-Za-z0-9_.\-]+", d).group(0).lower() for d in project["dependencies"]}
    imported = set()
    for path in (ROOT / "nezha_tui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"nezha_tui", "__future__"}
    assert declared == third_party, (declared, third_party)
    # every runtime dependency has an upper bound or a stated reason not to
    for dep in project["dependencies"]:
        assert "<" in dep or dep.startswith(("rich", "platformdirs")), dep


def test_an_error_wrapped_alone_in_a_group_is_reported_as_itself(monkeypatch, capsys):
    import nezha_tui.cli as cli
    from nezha_tui.api.errors import NetworkError

    def refused(argv):
        raise ExceptionGroup("unhandled errors in a TaskGroup", [NetworkError("connection refused by h:1")])

    monkeypatch.setattr(cli, "_dispatch", refused)
    assert main([]) == 1
    assert one_line_error(capsys) == "nezha-tui: connection refused by h:1"


@pytest.mark.parametrize("argv", [["--seconds", "nan"], ["--servers", "abc"], ["--servers", "0"],
                                  ["--size", "5"], ["--keys", "-1"]])
def test_bench_usage_errors_are_one_line_and_exit_2(argv, capsys):
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nezha-tui: argument --") and "Traceback" not in err
