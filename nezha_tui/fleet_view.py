"""Sorted, filtered, grouped views over the :class:`~nezha_tui.store.FleetStore`.

Pure Python, no Textual.  A :class:`FleetView` holds the list of server ids
the grid shows, in order.  It is recomputed only when something it depends
on changed: the sort key, the filter, the group, the set of ids, the
Dashboard's order, online flips, or (for a value sort) the values - and then
at most once per frame.  A frame that changes nothing it depends on costs a
few set look-ups.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from nezha_tui.api.models import StreamServer
from nezha_tui.format import percent_of
from nezha_tui.store import FleetChange, FleetStore, FleetTotals

__all__ = ["SortKey", "SORT_KEYS", "StatusFilter", "FleetView", "server_haystack"]


@dataclass(frozen=True)
class SortKey:
    id: str
    label: str
    value: Callable[[StreamServer], object] | None
    """``None``: the Dashboard's order."""
    descending: bool = False
    """Natural direction: biggest first for values, A-Z for text."""
    column: str | None = None
    """The table column that shows the key (for the header's arrow)."""


def _mem(s: StreamServer) -> float:
    return percent_of(s.state.mem_used, s.host.mem_total)


def _disk(s: StreamServer) -> float:
    return percent_of(s.state.disk_used, s.host.disk_total)


SORT_KEYS: tuple[SortKey, ...] = (
    SortKey("default", "Dashboard order", None),
    SortKey("name", "name", lambda s: (s.name or "").casefold(), column="name"),
    SortKey("cpu", "CPU", lambda s: s.state.cpu, True, "cpu"),
    SortKey("mem", "memory", _mem, True, "mem"),
    SortKey("disk", "disk", _disk, True, "disk"),
    SortKey("net_in", "network in", lambda s: s.state.net_in_speed, True, "net_in"),
    SortKey("net_out", "network out", lambda s: s.state.net_out_speed, True, "net_out"),
    SortKey("load", "load", lambda s: s.state.load_1, True, "load"),
    SortKey("uptime", "uptime", lambda s: s.state.uptime, True, "uptime"),
    SortKey("country", "country", lambda s: (s.country_code or "").casefold(), column="country"),
)
_SORT_BY_ID = {k.id: k for k in SORT_KEYS}


class StatusFilter(enum.Enum):
    ALL = "all"
    ONLINE = "online"
    OFFLINE = "offline"


def server_haystack(store: FleetStore, server: StreamServer, key: int | None = None) -> str:
    """Lower-case text a filter query is matched against.  ``key``: the server's key in ``store``
    (a fleet key with several Dashboards, whose servers keep their own ids); its id by default."""
    if key is None:
        key = server.id
    host = server.host
    parts = [server.name or "", server.country_code or "", host.platform or "", host.arch or "",
             host.virtualization or ""]
    parts.extend(store.group_names.get(key, ()))
    note = store.note(key)
    plan = getattr(note, "plan", None)
    if plan is not None:
        parts.extend(getattr(plan, "tags", None) or ())
        route = getattr(plan, "network_route", "")
        if isinstance(route, str):
            parts.append(route)
    return "\n".join(p for p in parts if isinstance(p, str)).casefold()


def _safe_key(fn: Callable[[StreamServer], object], text: bool) -> Callable[[StreamServer], object]:
    def key(server: StreamServer) -> object:
        try:
            value = fn(server)
        except Exception:
            return "" if text else 0.0
        if text:
            return value if isinstance(value, str) else ""
        return value if isinstance(value, (int, float)) and value == value else 0.0
    return key


class FleetView:
    """The ids the grid shows, in order, for one sort/filter/group choice."""

    def __init__(self, store: FleetStore, *, sort: str = "default", reverse: bool = False,
                 offline_first: bool = False, pin_alerts: bool = False) -> None:
        self.store = store
        self.sort_key: SortKey = _SORT_BY_ID.get(sort, SORT_KEYS[0])
        self.reverse = reverse
        self.offline_first = offline_first
        self.pin_alerts = pin_alerts
        """Servers with an active alert (:meth:`set_alerts`) come first, each part in the sort."""
        self.alerts: Mapping[int, object] = {}
        """Server id -> its active alerts (``EventFeed.active``): what is pinned."""
        self.query = ""
        self._terms: list[str] = []
        self.group_id: int | None = None
        self.status = StatusFilter.ALL
        self.ids: list[int] = []
        self.group_total = 0
        """Servers in the current group (before the text and status filters): the "m" of "n of m"."""
        self.recomputes = 0
        """How many times the order was recomputed (for tests and the bench)."""
        self._members: list[int] = []
        self._member_set: set[int] = set()
        self._index: dict[int, int] | None = None
        self._hay: dict[int, str] = {}
        self._groups_seen: object = None
        self._totals: FleetTotals | None = None
        self._totals_frame = -1
        self._recompute(members=True)

    # ------------------------------------------------------------------ state

    @property
    def filtering(self) -> bool:
        return bool(self._terms) or self.status is not StatusFilter.ALL

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, server_id: int | None) -> int | None:
        if server_id is None:
            return None
        if self._index is None:
            self._index = {sid: i for i, sid in enumerate(self.ids)}
        return self._index.get(server_id)

    def group_choices(self) -> list[tuple[int | None, str]]:
        """"All" plus the groups that hold a server of the fleet."""
        return [(None, "All")] + [(g.group.id, g.group.name or f"group {g.group.id}")
                                  for g in self.store.visible_groups()]

    @property
    def group_label(self) -> str:
        if self.group_id is None:
            return "All"
        for gid, name in self.group_choices():
            if gid == self.group_id:
                return name
        return "All"

    def totals(self) -> FleetTotals:
        """Totals over the online servers of the current group (cached per frame)."""
        if self.group_id is None:
            return self.store.totals
        if self._totals is None or self._totals_frame != self.store.frames:
            self._totals = self.store.totals_for(self.store.group_members(self.group_id))
            self._totals_frame = self.store.frames
        return self._totals

    # ------------------------------------------------------------------ choices

    def set_sort(self, key_id: str, *, reverse: bool | None = None) -> None:
        """Sort by ``key_id`` (an unknown id: the Dashboard's order); ``reverse`` too when given."""
        self.sort_key = _SORT_BY_ID.get(key_id, SORT_KEYS[0])
        if reverse is not None:
            self.reverse = reverse
        self._recompute(members=False)

    def next_sort(self, step: int = 1) -> SortKey:
        i = SORT_KEYS.index(self.sort_key)
        self.sort_key = SORT_KEYS[(i + step) % len(SORT_KEYS)]
        self._recompute(members=False)
        return self.sort_key

    def toggle_reverse(self) -> bool:
        self.reverse = not self.reverse
        self._recompute(members=False)
        return self.reverse

    def set_offline_first(self, value: bool) -> None:
        self.offline_first = value
        self._recompute(members=False)

    def set_pin_alerts(self, value: bool) -> None:
        self.pin_alerts = value
        self._recompute(members=False)

    def set_alerts(self, alerts: Mapping[int, object], changed: Collection[int] | None = None) -> bool:
        """The active alerts now (server id -> names); ``changed``: the ids whose alerts differ
        (``None``: unknown, any may).  Re-sorts only when pinning is on and a shown server's
        pinned state changed.  ``True`` when the rows or their order changed."""
        old, self.alerts = self.alerts, alerts
        if not self.pin_alerts:
            return False
        ids = (old.keys() | alerts.keys()) if changed is None else changed
        members = self._member_set
        if any(sid in members and (sid in old) != (sid in alerts) for sid in ids):
            return self._recompute(members=False)
        return False

    def set_query(self, text: str) -> None:
        text = (text or "").strip()
        if text == self.query:
            return
        self.query = text
        self._terms = text.casefold().split()
        self._recompute(members=True)

    def set_status(self, status: StatusFilter) -> None:
        self.status = status
        self._recompute(members=True)

    STATUS_CYCLE = (StatusFilter.ALL, StatusFilter.OFFLINE, StatusFilter.ONLINE)
    """What ``f`` steps through: offline first (the servers one looks for), as README and help say."""

    def next_status(self) -> StatusFilter:
        order = self.STATUS_CYCLE
        self.set_status(order[(order.index(self.status) + 1) % len(order)])
        return self.status

    def set_group(self, group_id: int | None) -> None:
        self.group_id = group_id
        self._totals = None
        self._recompute(members=True)

    def next_group(self, step: int = 1) -> str:
        choices = self.group_choices()
        ids = [gid for gid, _ in choices]
        i = ids.index(self.group_id) if self.group_id in ids else 0
        gid, name = choices[(i + step) % len(choices)]
        self.set_group(gid)
        return name

    def follow_groups(self) -> bool:
        """The store's groups changed (no server did): the group names the filter matches,
        the current group (gone: back to "All") and its members follow.  ``True`` when the
        rows or their order changed."""
        self._hay.clear()
        self._totals = None
        if self.group_id is not None and self.group_id not in {g for g, _ in self.group_choices()}:
            self.group_id = None  # the group vanished or lost all its servers
        return self._recompute(members=True)

    # ------------------------------------------------------------------ frames

    def update(self, change: FleetChange | None) -> bool:
        """Follow one frame.  Returns ``True`` when the rows or their order changed."""
        if change is None:
            return self._recompute(members=True)
        groups_changed = self.store.groups is not self._groups_seen
        if groups_changed:
            self._hay.clear()
        else:
            for sid in change.removed:
                self._hay.pop(sid, None)
            for sid in change.meta_changed:
                self._hay.pop(sid, None)
        if (self.group_id is not None and (groups_changed or change.membership_changed)
                and self.group_id not in {g for g, _ in self.group_choices()}):
            self.group_id = None  # the group vanished or lost all its servers
            groups_changed = True
        flipped = bool(change.went_offline or change.came_online)
        members = (
            change.membership_changed or change.order_changed or groups_changed
            or (self.status is not StatusFilter.ALL and flipped)
            or (bool(self._terms) and bool(change.meta_changed))
        )
        key = self.sort_key
        if members:
            return self._recompute(members=True)
        if flipped and (key.id != "name" or self.offline_first):
            return self._recompute(members=False)
        if key.value is not None:
            if key.id in ("name", "country"):
                touched = change.meta_changed
            else:
                touched = change.changed
            if touched and not touched.isdisjoint(self._member_set):
                return self._recompute(members=False)
        return False

    # ------------------------------------------------------------------ work

    def _recompute(self, *, members: bool) -> bool:
        store = self.store
        if members or store.groups is not self._groups_seen:
            self._groups_seen = store.groups
            base: Sequence[int] = store.order
            if self.group_id is not None:
                wanted = store.group_members(self.group_id)
                base = [sid for sid in base if sid in wanted]
            self.group_total = len(base)
            online = store.online_flags.get
            if self.status is StatusFilter.ONLINE:
                base = [sid for sid in base if online(sid, False)]
            elif self.status is StatusFilter.OFFLINE:
                base = [sid for sid in base if not online(sid, False)]
            if self._terms:
                base = [sid for sid in base if self._matches(sid)]
            self._members = list(base)
            self._member_set = set(self._members)
        ids = self._sorted(self._members)
        self.recomputes += 1
        if ids == self.ids:
            return False
        self.ids = ids
        self._index = None
        return True

    def _matches(self, sid: int) -> bool:
        hay = self._hay.get(sid)
        if hay is None:
            server = self.store.servers.get(sid)
            if server is None:
                return False
            hay = self._hay[sid] = server_haystack(self.store, server, sid)
        return all(term in hay for term in self._terms)

    def _sorted(self, members: list[int]) -> list[int]:
        store = self.store
        key = self.sort_key
        if key.value is None:
            ids = members[::-1] if self.reverse else list(members)
        else:
            servers = store.servers
            text = key.id in ("name", "country")
            fn = _safe_key(key.value, text)
            ids = sorted(members, key=lambda sid: fn(servers[sid]),
                         reverse=key.descending != self.reverse)
        if key.id != "name" or self.offline_first:
            online = store.online_flags.get  # a dict look-up: this runs for every member
            up = [sid for sid in ids if online(sid, False)]
            if len(up) != len(ids):
                down = [sid for sid in ids if not online(sid, False)]
                ids = down + up if self.offline_first else up + down
        alerts = self.alerts
        if self.pin_alerts and alerts:
            pinned = [sid for sid in ids if sid in alerts]
            if pinned and len(pinned) != len(ids):
                ids = pinned + [sid for sid in ids if sid not in alerts]
        return ids
