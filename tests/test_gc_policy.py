"""The one place that turns the cyclic collector off and on (nezha_tui.gc_policy)."""

from __future__ import annotations

import gc

import pytest

from nezha_tui import gc_policy
from nezha_tui.api.decode import decode_frame
from nezha_tui.api.errors import ProtocolError
from tests.ui_fakes import frame_json, server_json


def test_a_decode_pauses_the_collector_and_leaves_it_as_it_found_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import nezha_tui.api.decode as decode

    seen: list[bool] = []
    original = decode._decode_frame

    def spy(data):
        seen.append(gc.isenabled())
        return original(data)

    monkeypatch.setattr(decode, "_decode_frame", spy)
    assert gc.isenabled()
    decode_frame(frame_json([server_json(1)]))
    assert seen == [False] and gc.isenabled()
    with pytest.raises(ProtocolError):
        decode_frame(b"{not json")
    assert gc.isenabled()  # also after a refused document
    gc.disable()
    try:
        decode_frame(frame_json([server_json(1)]))
        assert not gc.isenabled()  # someone else's pause (the app's) is not ended by the decoder
    finally:
        gc.enable()


def test_the_frame_pause_only_enables_what_it_disabled() -> None:
    pause = gc_policy.FramePause()
    pause.pause()
    pause.pause()  # idempotent
    assert not gc.isenabled() and pause.paused
    with gc_policy.collection_paused():  # nested inside: a no-op
        assert not gc.isenabled()
    assert not gc.isenabled()
    pause.resume()
    assert gc.isenabled() and not pause.paused
    pause.resume()
    assert gc.isenabled()
    gc.disable()
    try:
        pause.pause()  # already off: not this pause's to turn back on
        pause.resume()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_freezing_happens_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(gc_policy, "_frozen", False)
    monkeypatch.setattr(gc_policy.gc, "collect", lambda: calls.append("collect"))
    monkeypatch.setattr(gc_policy.gc, "freeze", lambda: calls.append("freeze"))
    gc_policy.freeze_long_lived()
    gc_policy.freeze_long_lived()
    assert calls == ["collect", "freeze"]


def test_no_other_module_touches_the_collector() -> None:
    """GC policy lives in one module: nothing else in the package enables, disables or freezes it."""
    import pathlib
    import re

    root = pathlib.Path(gc_policy.__file__).parent
    pattern = re.compile(r"\bgc\.(enable|disable|freeze|collect|unfreeze|set_threshold)\(")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "gc_policy.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
