"""What the app publishes on ``state_changed`` when its own state changes (not the fleet's).

Each event is a small frozen dataclass; subscribers match on the type::

    def on_app_state(self, event: AppEvent) -> None:
        if isinstance(event, Tick):
            ...

Frames go on ``fleet_changed`` (a :class:`~nezha_tui.store.FleetChange`) and the
stream's status on ``stream_status_changed``; these are the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from nezha_tui.alerts.event import Event
from nezha_tui.api.models import Setting

__all__ = ["AppEvent", "BellToggled", "EventsAdded", "GroupsChanged", "PauseChanged", "SettingLoaded", "Tick"]


@dataclass(frozen=True, slots=True)
class PauseChanged:
    """The picture was frozen or thawed, or a frame was recorded while it is frozen
    (``held_frames`` grew: the header's "PAUSED (+n)" mark)."""

    paused: bool
    held_frames: int = 0


@dataclass(frozen=True, slots=True)
class Tick:
    """One second passed (the app's clock): ages and countdowns move on."""


@dataclass(frozen=True, slots=True)
class BellToggled:
    """The bell on alerts was turned on or off."""

    on: bool


@dataclass(frozen=True, slots=True)
class SettingLoaded:
    """The Dashboard's site settings arrived (the site name, whether it keeps history)."""

    setting: Setting


@dataclass(frozen=True, slots=True)
class GroupsChanged:
    """The server groups differ from before (``app.store.groups``), or the first groups request
    ended (``app.groups_answered``, even in failure): group choices, group filters and the
    filter text's group names must follow, a saved group waits no longer; no server changed."""


@dataclass(frozen=True, slots=True)
class EventsAdded:
    """New events reached ``app.events`` (the feed), and/or the active alerts of these servers
    changed (``app.events.active``: the grid's pinned, marked rows)."""

    events: tuple[Event, ...] = ()
    alerts_changed: frozenset[int] = frozenset()


AppEvent = PauseChanged | Tick | BellToggled | SettingLoaded | GroupsChanged | EventsAdded
"""Everything ``state_changed`` carries."""
