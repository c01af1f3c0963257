"""Several Dashboards in one grid: fleet keys and the combined fleet.

Server ids are unique per Dashboard only.  Every server the app shows is named by a
**fleet key**, an int that encodes (Dashboard index, server id): :func:`server_key` and
:func:`split_key`.  Dashboard 0's keys are its server ids, so with one Dashboard nothing
changes: the app's fleet is that Dashboard's :class:`~nezha_tui.store.FleetStore` itself
(which answers the few questions below as a fleet of one Dashboard).

With several, :class:`CombinedFleet` is the fleet the screens read.  Each Dashboard keeps
its own :class:`FleetStore` (its own ids, online rule, clock, recent values); the app
applies a frame to the Dashboard's store and hands the resulting change to
:meth:`CombinedFleet.absorb`, which translates it to keys and updates the merged
mappings the screens read (``servers``, ``online_flags``, ``version``, ``order``): work
per frame is one dict update over that Dashboard's servers plus what changed.

Plain Python, no Textual.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace as _replace

from nezha_tui.api.models import GroupInfo, ServerGroup, StreamServer
from nezha_tui.store import FleetChange, FleetStore, FleetTotals, RecentSample, ServerStatus

__all__ = [
    "CombinedFleet", "DashboardTarget", "KEY_SHIFT", "server_key", "split_key", "merge_changes",
]

KEY_SHIFT = 64
"""A fleet key is ``(index << KEY_SHIFT) | server_id`` (Dashboard 0: the id itself)."""
ID_MAX = (1 << KEY_SHIFT) - 1
"""The largest server id a Dashboard after the first may use (Go's uint64 sends no other)."""


def server_key(index: int, server_id: int) -> int:
    """The fleet key of server ``server_id`` of Dashboard ``index``."""
    if index == 0:
        return server_id
    return (index << KEY_SHIFT) | server_id


def split_key(key: int) -> tuple[int, int]:
    """``(dashboard index, server id)`` of a fleet key (a key of Dashboard 0 is its id, any int)."""
    if key <= ID_MAX:
        return 0, key
    return key >> KEY_SHIFT, key & ID_MAX


def _id_ok(server_id: object) -> bool:
    return type(server_id) is int and 0 <= server_id <= ID_MAX  # type: ignore[operator]


@dataclass
class DashboardTarget:
    """One Dashboard the app shows: what the command line hands the app.

    ``name`` is unique among the targets (the profile's name, ``demo-2``, or the URL's host).
    ``named``: the user chose the name (a profile, a view); otherwise the Dashboard's site name
    becomes its label once the site settings arrive.
    """

    name: str
    client: Any
    named: bool = True
    online_window: float = 30.0


def merge_changes(into: FleetChange, other: FleetChange) -> FleetChange:
    """``into`` extended with ``other`` (changes of different Dashboards: their keys are disjoint)."""
    into.added |= other.added
    into.removed |= other.removed
    into.changed |= other.changed
    into.went_offline |= other.went_offline
    into.came_online |= other.came_online
    into.meta_changed |= other.meta_changed
    into.order_changed = into.order_changed or other.order_changed
    into.first = into.first or other.first
    into.now_ms = max(into.now_ms, other.now_ms)
    return into


class CombinedFleet:
    """The servers of several Dashboards, keyed by fleet keys; the read interface of a FleetStore.

    ``stores[i]`` is Dashboard ``i``'s own store; ``names[i]`` its label (the Dashboard column,
    the pseudo-group, the header).  Feed each of its changes through :meth:`absorb`.
    """

    several = True

    def __init__(self, stores: Sequence[FleetStore], names: Sequence[str]) -> None:
        if len(stores) != len(names):
            raise ValueError("one name per store")
        self.stores: list[FleetStore] = list(stores)
        self.names: list[str] = list(names)
        self.servers: dict[int, StreamServer] = {}
        self.order: list[int] = []
        self.position: dict[int, int] = {}
        self.version: dict[int, int] = {}
        self._online: dict[int, bool] = {}
        self._keys: list[list[int]] = [[] for _ in self.stores]
        """Each Dashboard's keys in its order (what :attr:`order` concatenates)."""
        self._bad: list[set[int]] = [set() for _ in self.stores]
        """Ids a Dashboard sent that cannot be keyed (outside 0..2^64-1, which Go's uint64 never
        sends): not shown when several Dashboards share the grid."""
        self._counter = 0
        self.groups: list[ServerGroup] = []
        self.group_names: dict[int, list[str]] = {}
        self._members: dict[int, set[int]] = {}
        self.stale: frozenset[int] = frozenset()
        """Indexes of the Dashboards whose stream is not live while they have data."""
        self._frozen = False
        self._rebuild_groups()

    # ------------------------------------------------------------------ keys

    def key_for(self, index: int, server_id: int) -> int:
        return server_key(index, server_id)

    def index_of(self, key: int) -> int:
        return split_key(key)[0]

    def server_id(self, key: int) -> int:
        return split_key(key)[1]

    def store_for(self, key: int) -> FleetStore:
        index = split_key(key)[0]
        return self.stores[index] if index < len(self.stores) else self.stores[0]

    def name_of(self, key: int) -> str:
        index = split_key(key)[0]
        return self.names[index] if index < len(self.names) else ""

    def _split(self, key: int) -> tuple[FleetStore | None, int]:
        index, sid = split_key(key)
        if index >= len(self.stores):
            return None, sid
        return self.stores[index], sid

    # ------------------------------------------------------------------ frames

    def absorb(self, index: int, change: FleetChange) -> FleetChange:
        """Take in Dashboard ``index``'s change (its store has applied the frame); return it in keys.

        While frozen (:meth:`freeze`) the picture stays: nothing is taken in (see :meth:`thaw`)."""
        keyed = self._keyed(index, change)
        if self._frozen:
            return keyed
        store = self.stores[index]
        base = index << KEY_SHIFT
        servers, online, version = self.servers, self._online, self.version
        bad = self._bad[index]
        for key in keyed.removed:
            servers.pop(key, None)
            online.pop(key, None)
            version.pop(key, None)
        if not bad:
            servers.update({base | sid: server for sid, server in store.servers.items()})
        else:
            servers.update({base | sid: server for sid, server in store.servers.items() if sid not in bad})
        flags = store.online_flags
        vc = self._counter
        for key in keyed.added | keyed.changed:
            vc += 1
            version[key] = vc
        self._counter = vc
        for key in keyed.added | keyed.went_offline | keyed.came_online:
            online[key] = flags.get(split_key(key)[1], False)
        if change.order_changed or change.removed or change.added:
            self._keys[index] = self._keys_of(index)
            self._reorder()
            keyed.order_changed = True
        if change.added or change.removed:
            self._rebuild_groups()
        return keyed

    def _keyed(self, index: int, change: FleetChange) -> FleetChange:
        """``change`` in keys.  Ids are checked once, when they join (:attr:`_bad` keeps the ones
        that cannot be keyed); after that a key is one ``|`` per id."""
        base = index << KEY_SHIFT
        bad = self._bad[index]
        if change.added:
            bad.update(sid for sid in change.added if not _id_ok(sid))

        def keys(ids: Iterable[int]) -> set[int]:
            if not bad:
                return {base | sid for sid in ids}
            return {base | sid for sid in ids if sid not in bad}

        keyed = FleetChange(keys(change.added), keys(change.removed), keys(change.changed),
                            keys(change.went_offline), keys(change.came_online), keys(change.meta_changed),
                            change.order_changed, change.first, change.now_ms)
        bad.difference_update(change.removed)
        return keyed

    def _keys_of(self, index: int) -> list[int]:
        order = self.stores[index].order
        base = index << KEY_SHIFT
        return [base | sid for sid in order if _id_ok(sid)]

    def _reorder(self) -> None:
        self.order = [key for keys in self._keys for key in keys]
        self.position = {key: i for i, key in enumerate(self.order)}

    def rebuild(self) -> None:
        """Everything again from the stores (after :meth:`thaw`, or a name change)."""
        self.servers = {}
        self._online = {}
        for index, store in enumerate(self.stores):
            keys = self._keys_of(index)
            self._keys[index] = keys
            self._bad[index] = {sid for sid in store.order if not _id_ok(sid)}
            ids = [split_key(key)[1] for key in keys]
            self.servers.update(zip(keys, (store.servers[sid] for sid in ids)))
            flags = store.online_flags
            self._online.update(zip(keys, (flags.get(sid, False) for sid in ids)))
        version = self.version
        for key in list(version):
            if key not in self.servers:
                del version[key]
        self._reorder()
        self._rebuild_groups()

    def set_stale(self, index: int, stale: bool) -> FleetChange:
        """Dashboard ``index``'s stream is (not) live: its rows render differently; the change
        names them (their versions bumped) so row caches follow.  Empty if nothing changed."""
        was = index in self.stale
        if was == stale or not 0 <= index < len(self.stores):
            return FleetChange()
        self.stale = self.stale | {index} if stale else self.stale - {index}
        return self._touch(index)

    def _touch(self, index: int) -> FleetChange:
        change = FleetChange(now_ms=self.now_ms)
        keys = self._keys[index]
        vc = self._counter
        version = self.version
        for key in keys:
            vc += 1
            version[key] = vc
        self._counter = vc
        change.changed.update(keys)
        return change

    def set_name(self, index: int, name: str) -> FleetChange:
        """A Dashboard's label changed (its site name arrived): groups and its rows follow."""
        if not 0 <= index < len(self.names) or self.names[index] == name:
            return FleetChange()
        self.names[index] = name
        self._rebuild_groups()
        change = self._touch(index)
        change.meta_changed.update(change.changed)
        return change

    def is_stale(self, key: int) -> bool:
        return bool(self.stale) and split_key(key)[0] in self.stale

    def settle(self) -> None:
        for store in self.stores:
            store.settle()

    # ------------------------------------------------------------------ pause

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        if self._frozen:
            return
        self._frozen = True
        for store in self.stores:
            store.freeze()

    def thaw(self) -> FleetChange:
        """Every Dashboard's catch-up as one change (in keys)."""
        if not self._frozen:
            return FleetChange(now_ms=self.now_ms)
        self._frozen = False
        change = FleetChange(now_ms=self.now_ms)
        for index, store in enumerate(self.stores):
            merge_changes(change, self._keyed(index, store.thaw()))
        self.rebuild()
        vc = self._counter
        for key in change.added | change.changed:
            vc += 1
            self.version[key] = vc
        self._counter = vc
        change.now_ms = self.now_ms
        return change

    # ------------------------------------------------------------------ the fleet as a whole

    @property
    def frames(self) -> int:
        return sum(store.frames for store in self.stores)

    @property
    def now_ms(self) -> int:
        """The newest Dashboard clock (clocks are taken to be in step: NTP)."""
        return max((store.now_ms for store in self.stores), default=0)

    @property
    def viewers(self) -> int:
        return sum(store.viewers for store in self.stores)

    @property
    def site_name(self) -> str:
        return " · ".join(self.names)

    @property
    def totals(self) -> FleetTotals:
        return _sum_totals(store.totals for store in self.stores)

    def dashboard_totals(self, index: int) -> FleetTotals:
        return self.stores[index].totals if 0 <= index < len(self.stores) else FleetTotals()

    def totals_for(self, keys: Iterable[int]) -> FleetTotals:
        by_index: dict[int, list[int]] = {}
        for key in keys:
            index, sid = split_key(key)
            by_index.setdefault(index, []).append(sid)
        return _sum_totals(self.stores[i].totals_for(ids) for i, ids in by_index.items() if i < len(self.stores))

    @property
    def online_flags(self) -> Mapping[int, bool]:
        return self._online

    def __len__(self) -> int:
        return len(self.servers)

    def __contains__(self, key: object) -> bool:
        return key in self.servers

    # ------------------------------------------------------------------ one server

    def get(self, key: int) -> StreamServer | None:
        return self.servers.get(key)

    def received(self, key: int) -> StreamServer | None:
        store, sid = self._split(key)
        return None if store is None else store.received(sid)

    def is_online(self, key: int) -> bool:
        return self._online.get(key, False)

    def last_seen_age(self, key: int, now_s: float | None = None) -> float | None:
        store, sid = self._split(key)
        return None if store is None else store.last_seen_age(sid, now_s)

    def state_of(self, key: int) -> ServerStatus:
        store, sid = self._split(key)
        if store is None:
            return FleetStore().state_of(sid)
        return store.state_of(sid)

    def never_reported(self, key: int) -> bool:
        store, sid = self._split(key)
        return store is None or store.never_reported(sid)

    def public_note(self, key: int) -> str:
        store, sid = self._split(key)
        return "" if store is None else store.public_note(sid)

    def note(self, key: int, today: _dt.date | None = None) -> Any:
        store, sid = self._split(key)
        return None if store is None else store.note(sid, today)

    def recent(self, key: int) -> Sequence[RecentSample]:
        store, sid = self._split(key)
        return [] if store is None else store.recent(sid)

    def recent_net_speeds(self, key: int, count: int) -> list[float]:
        store, sid = self._split(key)
        return [] if store is None else store.recent_net_speeds(sid, count)

    # ------------------------------------------------------------------ groups

    def absorb_groups(self, index: int) -> None:
        """Dashboard ``index``'s store took new groups (``FleetStore.set_groups`` said so)."""
        self._rebuild_groups()

    def _rebuild_groups(self) -> None:
        """Pseudo-groups (one per Dashboard, negative ids) then each Dashboard's groups, in keys."""
        groups: list[ServerGroup] = []
        members: dict[int, set[int]] = {}
        names: dict[int, list[str]] = {}
        for index, name in enumerate(self.names):
            keys = self._keys[index]
            gid = -(index + 1)
            groups.append(ServerGroup(group=GroupInfo(id=gid, name=name), servers=list(keys)))
            members[gid] = set(keys)
            for key in keys:
                names[key] = [name]
        for index, store in enumerate(self.stores):
            label = self.names[index]
            for group in store.groups:
                if not _id_ok(group.group.id):
                    continue  # (Go's uint64 sends no other; a negative one would pass for a Dashboard's)
                gid = server_key(index, group.group.id)
                keys = [server_key(index, sid) for sid in group.servers or () if _id_ok(sid)]
                name = f"{label}: {group.group.name}" if group.group.name else f"{label}: group {group.group.id}"
                groups.append(ServerGroup(group=_replace(group.group, id=gid, name=name), servers=keys))
                members[gid] = set(keys)
                for key in keys:
                    names.setdefault(key, []).append(group.group.name)
        self.groups = groups
        self._members = members
        self.group_names = names

    def group_members(self, group_id: int) -> set[int]:
        return set(self._members.get(group_id, ()))

    def visible_groups(self) -> list[ServerGroup]:
        servers = self.servers
        return [g for g in self.groups if any(key in servers for key in g.servers or ())]


def _sum_totals(parts: Iterable[FleetTotals]) -> FleetTotals:
    total = FleetTotals()
    for part in parts:
        total.servers += part.servers
        total.online += part.online
        total.net_in_speed += part.net_in_speed
        total.net_out_speed += part.net_out_speed
        total.net_in_transfer += part.net_in_transfer
        total.net_out_transfer += part.net_out_transfer
    return total
