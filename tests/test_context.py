"""The screens' contract with the app (nezha_tui.ui.context): NezhaApp and the tests' stand-in
both satisfy it, member by member, with values of the declared types."""

from __future__ import annotations

import inspect
import pathlib
import re
import types
import typing
from collections.abc import Callable
from typing import Any

import pytest
from textual.signal import Signal

from nezha_tui.alerts.feed import EventFeed
from nezha_tui.api.client import NezhaClient
from nezha_tui.api.credentials import Credentials
from nezha_tui.api.models import (
    MetricSeries, ServerGroup, ServerServiceSeries, ServiceHistory, ServiceOverview, Setting,
)
from nezha_tui.api.stream import StreamStatus
from nezha_tui.fleets import CombinedFleet
from nezha_tui.history_cache import HistoryCache
from nezha_tui.store import FleetChange, FleetStore
from nezha_tui.ui import context
from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.context import DashboardClient, NezhaContext, UsesNezha
from nezha_tui.ui.events import AppEvent
from nezha_tui.ui.links import DashboardLink
from tests.ui_fakes import FakeClient, HostApp, stream_factory

# what context.py imports for annotations only: get_type_hints resolves its strings with these
_NAMES = {
    "Signal": Signal, "Credentials": Credentials, "MetricSeries": MetricSeries, "ServerGroup": ServerGroup,
    "ServerServiceSeries": ServerServiceSeries, "ServiceHistory": ServiceHistory,
    "ServiceOverview": ServiceOverview, "Setting": Setting, "StreamStatus": StreamStatus,
    "HistoryCache": HistoryCache, "FleetChange": FleetChange, "FleetStore": FleetStore, "AppEvent": AppEvent,
    "EventFeed": EventFeed, "CombinedFleet": CombinedFleet, "DashboardLink": DashboardLink,
}


def protocol_members(proto: type) -> tuple[dict[str, Any], dict[str, Callable[..., Any]]]:
    """``(attributes with their resolved types, methods)`` a Protocol declares."""
    hints = typing.get_type_hints(proto, globalns=vars(context), localns=_NAMES)
    methods = {name: fn for name, fn in vars(proto).items()
               if inspect.isfunction(fn) and not name.startswith("_")}
    return hints, methods


def conforms(value: Any, hint: Any) -> bool:
    """``value`` is of type ``hint`` (unions, ``Callable``, generic aliases, Protocols)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is not None and origin.__module__ == "collections.abc" and origin.__name__ == "Callable":
        return callable(value)
    if origin is not None:  # Signal[X], list[X]: the class (the parameter is not kept at run time)
        return isinstance(value, origin)
    if getattr(hint, "_is_protocol", False):
        return not missing(value, hint)
    return isinstance(value, hint)


def missing(obj: Any, proto: type) -> list[str]:
    """What ``obj`` lacks of ``proto``: absent members, values of another type, methods whose
    parameters differ (names and defaults; a coroutine where the Protocol has one)."""
    hints, methods = protocol_members(proto)
    out = []
    for name, hint in hints.items():
        if not hasattr(obj, name):
            out.append(f"{name}: absent")
        elif not conforms(getattr(obj, name), hint):
            out.append(f"{name}: {type(getattr(obj, name)).__name__} is not {hint}")
    for name, declared in methods.items():
        impl = getattr(obj, name, None)
        if not callable(impl):
            out.append(f"{name}(): absent")
            continue
        want = [(p.name, p.default) for p in list(inspect.signature(declared).parameters.values())[1:]]
        have = [(p.name, p.default) for p in inspect.signature(impl).parameters.values()]
        if want != have:
            out.append(f"{name}(): parameters {have} instead of {want}")
        if inspect.iscoroutinefunction(declared) and not inspect.iscoroutinefunction(impl):
            out.append(f"{name}(): not async")
    return out


def nezha_app() -> NezhaApp:
    return NezhaApp(FakeClient(), stream_factory=stream_factory(), start_timers=False)


@pytest.mark.parametrize("make", [nezha_app, lambda: HostApp(FakeClient())], ids=["NezhaApp", "HostApp"])
def test_the_app_and_the_stand_in_satisfy_the_screens_contract(make: Callable[[], Any]) -> None:
    app = make()
    assert missing(app, NezhaContext) == []
    assert isinstance(app, NezhaContext)  # runtime_checkable: every member is there


@pytest.mark.parametrize("client", [NezhaClient("http://dash.invalid", Credentials("admin", "pw")), FakeClient()],
                         ids=["NezhaClient", "FakeClient"])
def test_the_client_and_the_fake_satisfy_the_client_contract(client: Any) -> None:
    assert missing(client, DashboardClient) == []


def test_the_check_finds_what_is_missing_or_mistyped() -> None:
    """The checks above can fail: a stand-in without a member, with a wrong type or signature."""
    app = HostApp(FakeClient())
    del app.held_frames
    app.setting = "site settings"  # type: ignore[assignment]
    app.frame_age = lambda now: None  # type: ignore[method-assign]
    found = missing(app, NezhaContext)
    assert any(m.startswith("held_frames: absent") for m in found)
    assert any(m.startswith("setting: str is not") for m in found)
    assert any(m.startswith("frame_age(): parameters") for m in found)
    assert not isinstance(app, NezhaContext)

    class SyncClient(FakeClient):
        def services(self) -> ServiceOverview:  # type: ignore[override]
            return ServiceOverview()

    assert missing(SyncClient(), DashboardClient) == ["services(): not async"]


def test_every_member_is_declared_with_a_type() -> None:
    hints, methods = protocol_members(NezhaContext)
    assert {"store", "client", "stream_status", "setting", "clock", "fleet_changed", "stream_status_changed",
            "state_changed", "history_cache", "events"} <= set(hints)
    assert {"fleet_now", "frame_age", "action_open_server"} <= set(methods)


async def test_screens_and_widgets_reach_the_app_through_the_contract() -> None:
    from nezha_tui.ui.screens.fleet import FleetScreen
    from nezha_tui.ui.widgets.fleet_table import FleetTable
    from nezha_tui.ui.widgets.summary import FleetSummary

    app = nezha_app()
    async with app.run_test(size=(80, 24)):
        screen = app.screen
        assert isinstance(screen, FleetScreen) and isinstance(screen, UsesNezha)
        assert screen.nezha is app
        assert screen.query_one(FleetTable).nezha is app and screen.query_one(FleetSummary).nezha is app


def test_no_getattr_scaffolding_on_the_app_in_the_ui() -> None:
    """Screens and widgets read the app through ``self.nezha``, typed; never ``getattr(self.app, ...)``."""
    root = pathlib.Path(context.__file__).parent
    pattern = re.compile(r"\b(getattr|hasattr)\((self\.)?app\b")
    offenders = [f"{p.relative_to(root)}:{i}" for p in sorted(root.rglob("*.py"))
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_no_untyped_app_state_in_the_ui() -> None:
    """The app's state and client through ``self.nezha`` (typed), never ``self.app.client`` and
    friends silenced with ``type: ignore[attr-defined]``."""
    root = pathlib.Path(context.__file__).parent
    pattern = re.compile(r"\bself\.app\.(client|store|stream_status|setting)\b|type:\s*ignore\[attr-defined\]")
    offenders = [f"{p.relative_to(root)}:{i}" for p in sorted(root.rglob("*.py"))
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []
