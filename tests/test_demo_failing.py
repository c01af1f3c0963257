"""--demo-fail-one: the failing demo's schedule, on an injected clock."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from nezha_tui.demo.failing import FAIL_CYCLE, FailDriver, FailSchedule, Phase
from nezha_tui.demo.faults import DemoFaults
from nezha_tui.demo.server import DemoOptions, DemoServer

T0 = 1795694400.0


def test_the_cycle_is_fine_then_stalled_then_502_then_fine_again():
    s = FailSchedule(T0)
    assert s.period == 90
    seen = [s.phase_at(T0 + t) for t in (0, 39.9, 40, 59.9, 60, 89.9, 90, 130, 150, 180 + 45)]
    assert seen == ["fine", "fine", "stall", "stall", "proxy_502", "proxy_502", "fine", "stall", "proxy_502",
                    "stall"]
    assert s.next_change(T0) == T0 + 40 and s.next_change(T0 + 45) == T0 + 60
    assert s.next_change(T0 + 95) == T0 + 130
    assert s.phase_at(T0 - 5) == "fine"  # a clock that went back


def test_a_schedule_needs_known_phases_of_positive_length():
    for phases in ((), (Phase("fine", 0),), (Phase("explode", 5),)):
        with pytest.raises(ValueError):
            FailSchedule(T0, phases)


def test_the_driver_flips_the_switches_once_per_change_and_cuts_streams_on_502():
    faults = DemoFaults()
    drops: list[int] = []
    faults._drop_hook = lambda: drops.append(1)
    driver = FailDriver(faults, FailSchedule(T0))
    assert driver.tick(T0) == "fine" and not faults.stall and not faults.proxy_502
    assert driver.tick(T0 + 10) is None
    assert driver.tick(T0 + 40) == "stall" and faults.stall and not faults.proxy_502 and drops == []
    assert driver.tick(T0 + 60) == "proxy_502" and faults.proxy_502 and not faults.stall and drops == [1]
    assert driver.tick(T0 + 70) is None and drops == [1]
    assert driver.tick(T0 + 90) == "fine" and not faults.proxy_502 and not faults.stall


def test_a_demo_server_follows_its_schedule_on_its_own_clock():
    now = [T0]

    async def scenario() -> list[int]:
        server = DemoServer(DemoOptions(servers=3, clock=lambda: now[0], fail_cycle=FAIL_CYCLE))
        codes = []
        async with server, httpx.AsyncClient() as http:
            for t in (0, 65, 95):  # fine, 502, fine: the server's driver ticked as its loop would
                now[0] = T0 + t
                assert server.fail_driver is not None
                server.fail_driver.tick(now[0])
                codes.append((await http.get(server.url + "/api/v1/setting")).status_code)
        return codes

    assert asyncio.run(scenario()) == [200, 502, 200]


def test_demo_server_in_a_process_takes_a_site_name_and_the_fail_cycle():
    # what --demo-dashboards does for a fleet too big for a thread
    from nezha_tui.demo.process import start_demo_process

    demo = start_demo_process(["--servers", "2", "--site-name", "Work Fleet", "--fail-cycle"])
    try:
        doc = httpx.get(demo.url + "/api/v1/setting", timeout=10).json()
        assert doc["data"]["config"]["site_name"] == "Work Fleet"  # fine for its first 40 s
    finally:
        demo.stop()


def test_demo_server_refuses_an_unprintable_site_name(capsys):
    import io

    from nezha_tui.demo.cli import run_demo_server

    assert run_demo_server(["--site-name", "a\x1b[31mb"], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--site-name" in err
