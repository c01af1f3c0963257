"""snapshot over several Dashboards: two simulated ones in-process, ids shared, one refusing credentials."""

from __future__ import annotations

import json

import pytest

from nezha_tui.cli import main
from nezha_tui.demo.server import DemoOptions
from nezha_tui.demo.thread import start_demo_in_thread

T = 1795694400.0


@pytest.fixture(scope="module")
def two():
    a = start_demo_in_thread(DemoOptions(servers=6, seed=3, clock=lambda: T, frame_interval=0.2, site_name="Alpha"))
    b = start_demo_in_thread(DemoOptions(servers=4, seed=9, clock=lambda: T, frame_interval=0.2, site_name="Beta"))
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture(scope="module")
def locked():
    """A Dashboard with force_auth: a guest is refused."""
    c = start_demo_in_thread(DemoOptions(servers=3, seed=5, clock=lambda: T, frame_interval=0.2, force_auth=True))
    yield c
    c.stop()


@pytest.fixture(autouse=True)
def config(monkeypatch, tmp_path, two):
    for name in ("NEZHA_URL", "NEZHA_TOKEN", "NEZHA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEZHA_TUI_CONFIG_DIR", str(tmp_path))
    a, b = two
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.alpha]\nurl = "{a.url}"\ntoken = "{a.server.token}"\n'
                    f'[profiles.beta]\nurl = "{b.url}"\ntoken = "{b.server.token}"\n'
                    f'[views.both]\nprofiles = ["alpha", "beta"]\n')
    path.chmod(0o600)


def test_json_marks_each_server_with_its_dashboard_and_lists_the_dashboards(capsys):
    assert main(["snapshot", "--view", "both", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    doc = json.loads(captured.out)
    assert [(d["name"], d["site_name"], d["error"]) for d in doc["dashboards"]] == [("alpha", "Alpha", None),
                                                                                    ("beta", "Beta", None)]
    assert all(d["now"] == int(T) * 1000 for d in doc["dashboards"])
    keys = [(s["dashboard"], s["id"]) for s in doc["servers"]]
    assert len(keys) == len(set(keys)) == 10  # the admin's token sees every server
    ids_a = {i for d, i in keys if d == "alpha"}
    ids_b = {i for d, i in keys if d == "beta"}
    assert ids_a & ids_b  # the same ids on both: told apart by the Dashboard
    for d in doc["dashboards"]:  # each Dashboard's groups name its own servers
        mine = ids_a if d["name"] == "alpha" else ids_b
        assert all(set(g["servers"]) <= mine for g in d["groups"])


def test_table_has_a_dashboard_column_and_a_title_per_dashboard(capsys):
    assert main(["snapshot", "--profile", "alpha", "--profile", "beta"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("alpha: Alpha: 6 servers, ") and lines[1].startswith("beta: Beta: 4 servers, ")
    assert lines[2].split()[:4] == ["DASHBOARD", "ID", "STATUS", "NAME"]
    rows = lines[3:]
    assert len(rows) == 10 and [r.split()[0] for r in rows] == ["alpha"] * 6 + ["beta"] * 4


def test_one_dashboard_refusing_credentials_does_not_stop_the_others(locked, capsys):
    assert main(["snapshot", "--profile", "alpha", locked.url, "--json"]) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert len(err) == 1 and err[0].startswith("nezha-tui: 127.0.0.1: ") and "Traceback" not in captured.err
    doc = json.loads(captured.out)
    assert [(d["name"], d["error"] is None) for d in doc["dashboards"]] == [("alpha", True), ("127.0.0.1", False)]
    assert doc["dashboards"][1]["error"] in err[0]
    assert {s["dashboard"] for s in doc["servers"]} == {"alpha"} and len(doc["servers"]) == 6


def test_all_failing_is_exit_1_with_a_line_each(locked, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    assert main(["snapshot", locked.url, f"http://127.0.0.1:{free_port}", "--timeout", "5"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.splitlines()
    assert len(err) == 2 and all(line.startswith("nezha-tui: 127.0.0.1") for line in err)


def test_one_dashboard_json_keeps_its_shape_and_marks_the_dashboard(capsys):
    assert main(["snapshot", "--profile", "alpha", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["site_name"] == "Alpha" and doc["now"] == int(T) * 1000 and "groups" in doc
    assert [d["name"] for d in doc["dashboards"]] == ["alpha"]
    assert {s["dashboard"] for s in doc["servers"]} == {"alpha"}
