"""The command line: snapshot against the simulated Dashboard, errors as one line, usage."""

from __future__ import annotations

import json
import socket

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
    by_id = {s["id"]: s for s in out["servers"]}
    for r in raw["servers"]:
        s = by_id[r["id"]]
        assert s["name"] == r["name"]
        state = r.get("state") or {}
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
    assert main(["snapshot"]) == 1
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
    from nezha_tui.cli import DEMO_THREAD_MAX

    n = DEMO_THREAD_MAX + 1
    assert main(["snapshot", "--demo", "--demo-servers", str(n), "--demo-as", "token"]) == 0
    assert capsys.readouterr().out.startswith(f"Nezha Demo: {n} servers")
