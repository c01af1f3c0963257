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


def test_phase_reaches_the_options_and_is_checked(capsys):
    from nezha_tui.demo.cli import build_parser

    assert build_parser().parse_args(["--phase", "0.7"]).phase == 0.7
    assert build_parser().parse_args(["--phase", "0"]).phase == 0.0
    assert build_parser().parse_args([]).phase is None and DemoOptions().frame_phase is None
    assert run_demo_server(["--phase", "-1"], out=io.StringIO()) == 2
    assert "--phase" in capsys.readouterr().err


def test_out_of_range_numbers_are_one_line_and_exit_2(capsys):
    for argv in (["--port", "99999"], ["--port", "-1"], ["--servers", "-1"], ["--interval", "nan"],
                 ["--jwt-lifetime", "inf"], ["--jwt-lifetime", "0"], ["--seed", "1" * 30]):
        assert run_demo_server(argv, out=io.StringIO()) == 2, argv
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and err.startswith("nezha-tui: argument ") and "Traceback" not in err


def test_an_address_that_cannot_be_bound_exits_1(capsys):
    assert run_demo_server(["--host", "256.0.0.1", "--port", "0"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "cannot listen on 256.0.0.1:0" in err
    assert run_demo_server(["--host", "a\0b"], out=io.StringIO()) == 2
