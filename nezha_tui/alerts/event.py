"""One event: something that happened on a Dashboard, as the event log, the hook and ``watch`` show it."""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field
from typing import Any

from nezha_tui.api.sanitise import sanitise

__all__ = ["EventKind", "Severity", "Event", "SEVERITY_ORDER"]


class EventKind(enum.StrEnum):
    """What happened (the ``kind`` of the JSON form: these values never change)."""

    SUMMARY = "summary"
    """The first frame of a connection: how the fleet stands (one event, not one per server)."""
    OFFLINE = "offline"
    ONLINE = "online"
    """Back online; ``data["away_s"]``: how long it was away, when known."""
    FLAPPING = "flapping"
    """Went offline and back several times in a short window (folds those events)."""
    ADDED = "added"
    REMOVED = "removed"
    RENAMED = "renamed"
    SERVICE_DOWN = "service_down"
    SERVICE_UP = "service_up"
    QUOTA = "quota"
    """A traffic-quota cycle crossed 80 / 90 / 100 % (``data["percent"]``, ``data["threshold"]``)."""
    EXPIRY = "expiry"
    """A billing end date (public_note) falls within 7 days, or has passed."""
    STREAM_STALE = "stream_stale"
    STREAM_LIVE = "stream_live"
    RULE_FIRED = "rule_fired"
    RULE_CLEARED = "rule_cleared"
    GAP = "gap"
    """Not watching from ``data["from_ms"]`` to ``data["to_ms"]`` (nezha-tui was closed)."""


class Severity(enum.StrEnum):
    OK = "ok"
    """Something recovered."""
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_ORDER = {Severity.OK: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}


@dataclass(frozen=True, slots=True)
class Event:
    """One event.  Text fields hold sanitised text (it came through the store or the decoder's
    sanitiser); render them as text, never as markup."""

    ts_ms: int
    """When, on the Dashboard's clock (unix ms): the frame's ``now`` or the app's estimate of it."""
    kind: EventKind
    severity: Severity
    message: str
    """One line, e.g. ``"fra-12 is offline"``, ``"fra-12 is back online after 7m 13s"``."""
    dashboard: str = ""
    """The Dashboard's name: its site name, else the profile name, else its host."""
    server_id: int | None = None
    server_name: str = ""
    service_id: int | None = None
    service_name: str = ""
    rule: str = ""
    """The alert rule's name (rule events, and built-in rules such as ``"offline"``)."""
    data: dict[str, Any] = field(default_factory=dict)
    """Kind-specific values (JSON-safe: str, int, float, bool, None, lists and dicts of them)."""

    @property
    def time(self) -> _dt.datetime:
        """``ts_ms`` as an aware UTC datetime."""
        return _dt.datetime.fromtimestamp(self.ts_ms / 1000.0, _dt.timezone.utc)

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to the log, given to the hook and printed by ``watch --json``."""
        out: dict[str, Any] = {
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "ts_ms": self.ts_ms,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "message": self.message,
            "dashboard": self.dashboard,
            "server_id": self.server_id,
            "server_name": self.server_name,
        }
        if self.service_id is not None:
            out["service_id"] = self.service_id
            out["service_name"] = self.service_name
        if self.rule:
            out["rule"] = self.rule
        if self.data:
            out["data"] = self.data
        return out

    @classmethod
    def from_json(cls, obj: object) -> Event | None:
        """The event of a :meth:`to_json` object (a log line), or ``None`` when it is not one.
        Never raises: a line torn by a crash or edited by hand is skipped, not fatal."""
        if not isinstance(obj, dict):
            return None
        try:
            ts = obj.get("ts_ms")
            if isinstance(ts, bool) or not isinstance(ts, int):
                return None
            kind = EventKind(obj.get("kind"))
            severity = Severity(obj.get("severity"))
            message = obj.get("message")
            if not isinstance(message, str):
                return None
            message = sanitise(message)
            sid = obj.get("server_id")
            service_id = obj.get("service_id")
            data = obj.get("data")
            return cls(
                ts_ms=ts, kind=kind, severity=severity, message=message,
                dashboard=_text(obj.get("dashboard")),
                server_id=sid if isinstance(sid, int) and not isinstance(sid, bool) else None,
                server_name=_text(obj.get("server_name")),
                service_id=service_id if isinstance(service_id, int) and not isinstance(service_id, bool) else None,
                service_name=_text(obj.get("service_name")),
                rule=_text(obj.get("rule")),
                data=data if isinstance(data, dict) else {},
            )
        except (ValueError, TypeError, OverflowError):
            return None


def _text(value: object) -> str:
    """A text field read back from a file: sanitised again (the file may have been edited)."""
    return sanitise(value) if isinstance(value, str) else ""
