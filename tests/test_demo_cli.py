"""demo-server command and the threaded demo used by ``nezha-tui --demo``."""

import io
import json

import websockets.sync.client as wsc

from nezha_tui.demo.cli import run_demo_server
from nezha_tui.demo.server import DemoOptions, start_demo_in_thread


def test_bad_arguments_exit_2(capsys):
    assert run_demo_server(["--servers", "20000"]) == 2
    assert run_demo_server(["--interval", "0"]) == 2
    assert run_demo_server(["--bogus"]) == 2
    assert "--servers" in capsys.readouterr().err


def test_cannot_bind_exits_1(capsys):
    d = start_demo_in_thread(DemoOptions())
    try:
        port = d.url.rsplit(":", 1)[1]
        assert run_demo_server(["--port", port], out=io.StringIO()) == 1
        assert "cannot listen" in capsys.readouterr().err
    finally:
        d.stop()


def test_thread_serves_first_frame_and_stops():
    d = start_demo_in_thread(DemoOptions(servers=50))
    try:
        assert d.url.startswith("http://127.0.0.1:")
        with wsc.connect(d.server.ws_url) as ws:
            doc = json.loads(ws.recv(timeout=5))
        assert len(doc["servers"]) > 40
    finally:
        d.stop()
    d.stop()  # idempotent


def test_legacy_switch_reaches_the_options():
    from nezha_tui.demo.cli import build_parser

    assert build_parser().parse_args(["--legacy"]).legacy is True
    assert build_parser().parse_args([]).legacy is False
    assert DemoOptions().legacy is False
