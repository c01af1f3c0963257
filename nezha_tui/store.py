"""The fleet as the client knows it: current servers, the online rule, change sets.

Plain Python, no Textual.  The stream hands every decoded frame to
:meth:`FleetStore.apply`, which returns a :class:`FleetChange` naming the ids
that appeared, vanished, changed values, went offline or came back.  Screens
read the store; the bench, ``snapshot`` and tests drive it directly.

A server's state (online, offline since T, agent disconnected, never reported,
values repaired in this frame) has one definition here: :meth:`FleetStore.state_of`
returns a :class:`ServerStatus`, computed once per change of the server; every
view renders from it, with ages measured on the Dashboard's clock.

Per frame the store walks the frame once (the frame holds every server in
full, so that walk cannot be avoided); everything else it does is per id and
constant time.  Recent values (for realtime plots) are kept per frame, column
by column in ``array('d')`` blocks: six list comprehensions a frame, no
Python object per sample, 10,000 servers x 60 frames in about 30 MB.

Text from the Dashboard and the agents is untrusted (issue 9): :attr:`FleetStore.servers`
holds it sanitised (:mod:`nezha_tui.api.sanitise`), so no screen can forget it.
Frames are compared raw against raw; text is sanitised once per added or
meta-changed server, and only servers whose text needed it are copied each
frame.  Sensor names (live state) are checked in C against the names seen
before: about 0.06 us a sensor, 0.9 ms a frame at 10,000 servers with 15,000
sensors.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
from array import array
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple


from msgspec.structs import replace as _replace

from nezha_tui.api.models import Host, HostState, ServerGroup, StreamFrame, StreamServer, Temperature
from nezha_tui.api.sanitise import sanitise, sanitise_obj

if TYPE_CHECKING:  # pragma: no cover
    from nezha_tui.api.public_note import PublicNote

_EMPTY_HOST = Host()  # what a server that never reported sends (``"host": {}``)

__all__ = [
    "FleetChange", "FleetStore", "FleetTotals", "FrameColumns", "RecentSample", "ServerState", "ServerStatus",
    "age_text", "state_phrase",
]


# --------------------------------------------------------------------------- a server's state


class ServerState(enum.Enum):
    """What the client can say about one server (the one definition every view follows)."""

    ONLINE = "online"
    """Reported within the online window of the frame's ``now``."""
    OFFLINE = "offline"
    """Reported before, but longer ago than the online window: its values are last known."""
    DISCONNECTED = "disconnected"
    """Zero ``last_active`` while ``host``/``state`` still hold the last values (agent gone)."""
    NEVER_REPORTED = "never_reported"
    """Zero ``last_active`` and an empty ``host``: there are no values at all."""


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """One server's state, as :meth:`FleetStore.state_of` returns it (cached per change).

    Ages are not stored: they move with the clock.  ``age(now_s)`` gives the seconds since
    the last report at ``now_s`` (the Dashboard's clock: the frame's ``now``, advanced by the
    time elapsed since the frame arrived), ``None`` when there never was one.
    """

    state: ServerState
    last_active_s: float | None = None
    """Unix seconds of the last report (``None``: zero time)."""
    repaired: frozenset[str] = frozenset()
    """Top-level fields malformed in this frame: the previous values are shown for them."""
    unknown: frozenset[str] = frozenset()
    """Repaired fields with no previous value to keep (the server's first frame): show "-"."""

    @property
    def online(self) -> bool:
        """Values are current (online) rather than last known."""
        return self.state is ServerState.ONLINE

    @property
    def has_values(self) -> bool:
        """There are values to show (last known or live); otherwise every value is "-"."""
        return self.state is not ServerState.NEVER_REPORTED and not (self.unknown & _VALUE_FIELDS)

    @property
    def shows_age(self) -> bool:
        """Views show a moving "last seen ... ago" for this server."""
        return self.state is ServerState.OFFLINE and self.last_active_s is not None

    def age(self, now_s: float) -> float | None:
        """Seconds since the last report at ``now_s`` (>= 0), ``None`` when there is none."""
        if self.last_active_s is None:
            return None
        try:
            age = float(now_s) - self.last_active_s
        except (TypeError, ValueError):
            return None
        return age if age > 0 and math.isfinite(age) else 0.0


_VALUE_FIELDS = frozenset({"state", "host"})
_NO_STATUS = ServerStatus(ServerState.NEVER_REPORTED)


def age_text(seconds: float | None) -> str:
    """``'7m 13s'``, ``'2d 5h'`` (the largest two units), or ``'-'`` without an age."""
    if seconds is None:
        return "-"
    from nezha_tui.format import fmt_duration

    return fmt_duration(seconds)


def state_phrase(status: ServerStatus, now_s: float) -> str:
    """The state in words, the same in every view: ``'online'``, ``'offline, last seen 7m 13s ago'``,
    ``'agent disconnected'``, ``'never reported'`` (``', values repaired'`` appended when so)."""
    state = status.state
    if state is ServerState.ONLINE:
        text = "online"
    elif state is ServerState.OFFLINE:
        age = status.age(now_s)
        text = f"offline, last seen {age_text(age)} ago" if age is not None else "offline"
    elif state is ServerState.DISCONNECTED:
        text = "agent disconnected"
    else:
        text = "never reported"
    if status.repaired:
        text += ", values repaired"
    return text


class RecentSample(NamedTuple):
    """One frame's values of one server, for realtime plots (NaN: offline in that frame)."""

    ts_ms: int
    cpu: float
    mem_pct: float
    swap_pct: float
    disk_pct: float
    net_in_speed: float
    net_out_speed: float


@dataclass(slots=True)
class FleetChange:
    """What one frame changed.  Every set holds server ids."""

    added: set[int] = field(default_factory=set)
    removed: set[int] = field(default_factory=set)
    changed: set[int] = field(default_factory=set)
    """Live values (state) or static facts changed; includes online flips."""
    went_offline: set[int] = field(default_factory=set)
    came_online: set[int] = field(default_factory=set)
    meta_changed: set[int] = field(default_factory=set)
    """Name, country, platform, host facts, display index or public note changed
    (a subset of ``changed``): what filters and name sorts depend on."""
    order_changed: bool = False
    """The Dashboard's order of ids differs from the previous frame."""
    first: bool = False
    """The first frame the store saw: everything is ``added``."""
    now_ms: int = 0

    @property
    def flipped(self) -> set[int]:
        return self.went_offline | self.came_online

    @property
    def membership_changed(self) -> bool:
        return bool(self.added or self.removed)

    def __bool__(self) -> bool:  # "did anything change?"
        return bool(
            self.added or self.removed or self.changed or self.went_offline
            or self.came_online or self.order_changed
        )


@dataclass(slots=True)
class FleetTotals:
    """Sums over the online servers (of the whole fleet, or of a group)."""

    servers: int = 0
    online: int = 0
    net_in_speed: int = 0
    net_out_speed: int = 0
    net_in_transfer: int = 0
    net_out_transfer: int = 0

    @property
    def offline(self) -> int:
        return self.servers - self.online


class _Columns:
    """One frame's recent values for every server, column-wise (one ``array('d')`` per value).

    ``position`` maps a server id to its index; it is shared between frames
    while the Dashboard's order does not change.  Percentages are computed when
    read, from the server's totals, so a frame costs six list comprehensions.
    """

    __slots__ = ("ts_ms", "position", "cpu", "mem", "swap", "disk", "net_in", "net_out", "online")

    def __init__(self, ts_ms: int, position: dict[int, int], servers: list[StreamServer],
                 online: list[bool] | None = None, states: list[HostState] | None = None) -> None:
        self.ts_ms = ts_ms
        self.position = position
        if states is None:
            states = list(map(_STATE, servers))
        self.cpu = array("d", [st.cpu for st in states])
        self.mem = array("d", [st.mem_used for st in states])
        self.swap = array("d", [st.swap_used for st in states])
        self.disk = array("d", [st.disk_used for st in states])
        self.net_in = array("d", [st.net_in_speed for st in states])
        self.net_out = array("d", [st.net_out_speed for st in states])
        # who was online in this frame (one byte each, built in C; None: everyone): an offline
        # server has no value in this frame, read as NaN (a gap in a plot) by FleetStore.recent
        self.online: bytes | None = None if online is None or all(online) else bytes(online)


FrameColumns = _Columns
"""The public name of one frame's columns (:meth:`FleetStore.frame_columns`)."""

_GAP = RecentSample(0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)


def _pct(used: float, total: float) -> float:
    if used != used:  # NaN: offline in that frame
        return used
    try:
        if total > 0:
            return used * 100.0 / total
    except TypeError:
        pass
    return 0.0


def _timestamp(value: _dt.datetime | None) -> float | None:
    if value is None:
        return None
    try:
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        if value.year <= 1:  # Go's zero time, if a decoder let it through
            return None
        return value.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


class FleetStore:
    """Current fleet state keyed by server id.

    Online rule: a server is online when the frame's ``now`` minus its
    ``last_active`` is at most ``online_window`` seconds.  A missing
    ``last_active`` (Go's zero time) is offline; a ``last_active`` later than
    ``now`` (``now`` is truncated to whole seconds) counts as age 0.
    """

    def __init__(self, online_window: float = 30.0, recent_len: int = 60) -> None:
        self.online_window = float(online_window)
        self.recent_len = max(1, int(recent_len))
        self.servers: dict[int, StreamServer] = {}
        self.order: list[int] = []
        self.position: dict[int, int] = {}
        """Index of each id in :attr:`order` (the Dashboard's order)."""
        self.version: dict[int, int] = {}
        """Bumped whenever what is shown of a server may differ (for render caches)."""
        self.now_ms: int = 0
        self.viewers: int = 0
        self.frames: int = 0
        self.site_name: str = ""
        self.groups: list[ServerGroup] = []
        self.group_names: dict[int, list[str]] = {}
        """Names of the groups each server id belongs to."""
        self.totals = FleetTotals()
        self._online: dict[int, bool] = {}
        self._notes: dict[int, str] = {}
        self._parsed_notes: dict[int, tuple[str, object]] = {}
        self._history: deque[_Columns] = deque(maxlen=self.recent_len)
        self._unrecorded: tuple[int, dict[int, int], list[StreamServer]] | None = None
        """The last frame, until :meth:`settle` records its recent values."""
        self._retired: dict[int, StreamServer] | None = None
        """The previous frame's servers, until :meth:`settle` lets them go (see :meth:`apply`)."""
        self._version_counter = 0
        self._marked: set[int] = set()
        self._status: dict[int, tuple[int, ServerStatus]] = {}
        """Server id -> (its version, its state): computed once per change, on demand."""
        self.repaired: dict[int, frozenset[str]] = {}
        """Server id -> the fields repaired in the last frame (previous values kept)."""
        self._unknown: dict[int, frozenset[str]] = {}
        """Server id -> repaired fields that had no previous value (its first frame)."""

        self._recorder: FleetStore | None = None
        """While frozen (:meth:`freeze`): the store that takes the frames."""
        self._recorder_meta: set[int] = set()
        self._raw: dict[int, StreamServer] = {}
        """The last frame's servers as received: what the next frame is compared with.
        :attr:`servers` is the same dict unless some server's text needed cleaning."""
        self._text = _TextCleaner()
        self._frame_columns: tuple[int, _Columns | None, tuple | None, list[HostState] | None] | None = None
        """(frame count, the columns of that frame or None, what builds them if not built yet, the
        frame's live states by position): the frame the store holds, for vectorised readers."""

    # ------------------------------------------------------------------ frames

    def apply(self, frame: StreamFrame, report: Any = None) -> FleetChange:
        """Take in one frame; return what it changed (while frozen: what it changed in the recording).

        ``report`` (a :class:`~nezha_tui.api.decode.DecodeReport`, optional): its ``repaired``
        names the fields of servers that were malformed in this frame; those servers keep
        their previous values for these fields and are marked repaired for this frame.
        """
        recorder = self._recorder
        if recorder is not None:
            change = recorder.apply(frame, report)
            self._recorder_meta |= change.meta_changed
            return change
        self.settle()  # the previous frame's recent values, if nobody recorded them yet
        first = self.frames == 0
        self.frames += 1
        now_ms = _int(frame.now)
        if now_ms <= 0:  # absent, or out of range (the decoder made it 0): the Dashboard's clock is unknown
            now_ms = max(self.now_ms, _newest_report_ms(frame.servers or ()))
        self.now_ms = now_ms
        self.viewers = _int(frame.online)
        now_s = now_ms / 1000.0
        window = self.online_window
        change = FleetChange(first=first, now_ms=now_ms)
        added, changed, meta_changed = change.added, change.changed, change.meta_changed
        went_offline, came_online = change.went_offline, change.came_online

        servers, order = _unique(frame.servers or [])
        old_servers = self._raw
        repaired_now = getattr(report, "repaired", None) if report is not None else None
        self._marked = set()
        if repaired_now or self.repaired or self._unknown:
            servers = self._keep_repaired(servers, order, old_servers, repaired_now or {})
        new_servers = dict(zip(order, servers))
        # Per-server work is done column by column in comprehensions where it can be (a
        # frame holds every server, ~10,000 of them): an explicit loop with one statement
        # per step costs about twice as much in CPython.
        last_actives = [server.last_active for server in servers]
        # "now - last_active <= window" as a datetime comparison against a cutoff in the
        # datetime's own zone (the decoder shares one tzinfo object per offset): it is
        # about 20 times cheaper than computing every server's timestamp.
        cutoffs = _cutoffs(last_actives, now_s - window)
        online_flags = [
            la >= cutoffs[la.tzinfo] if la is not None and la.tzinfo in cutoffs else _online(la, now_s, window)
            for la in last_actives
        ]
        online_map = self._online
        notes = self._notes
        version = self.version
        vc = self._version_counter
        old_get = old_servers.get
        notes_get = notes.get
        online_get = online_map.get

        for sid, server, online in zip(order, servers, online_flags):
            note = server.public_note
            note_changed = False
            if note is not None and notes_get(sid) != note:
                note_changed = sid in notes
                notes[sid] = note
            old = old_get(sid)
            if old is None:
                added.add(sid)
                vc += 1
                version[sid] = vc
                online_map[sid] = online
                continue
            dirty = old.state != server.state or (not online and old.last_active != server.last_active)
            if (
                note_changed
                or old.name != server.name
                or old.country_code != server.country_code
                or old.display_index != server.display_index
                or old.host != server.host
            ):
                meta_changed.add(sid)
                dirty = True
            if online_get(sid, False) != online:
                (came_online if online else went_offline).add(sid)
                online_map[sid] = online
                dirty = True
            if dirty:
                changed.add(sid)
                vc += 1
                version[sid] = vc

        for sid in self._marked:  # the repaired mark came or went: the server shows differently
            if sid in old_servers and sid in new_servers and sid not in changed:
                changed.add(sid)
                vc += 1
                version[sid] = vc
        online_servers = [server for server, online in zip(servers, online_flags) if online]
        self._version_counter = vc
        # the same ids in the same order (the usual frame): nothing left the fleet
        same_ids = order == self.order and len(old_servers) == len(new_servers)
        removed = () if same_ids else old_servers.keys() - new_servers.keys()
        if removed:
            change.removed.update(removed)
            for sid in removed:
                for mapping in (online_map, notes, version, self._parsed_notes, self._status,
                                self.repaired, self._unknown):
                    mapping.pop(sid, None)
        if not same_ids and order != self.order:
            change.order_changed = True
            self.order = order
            self.position = {sid: i for i, sid in enumerate(order)}
        # Dropping the previous frame's servers frees ~100,000 objects at 10,000 servers
        # (~5 ms); keep them until settle(), which the app runs once the frame is on screen.
        self._retired = old_servers
        self._raw = new_servers
        self.servers = self._text.clean(new_servers, servers, added | meta_changed, change.removed, notes)
        self.totals = _totals(online_servers, len(new_servers))
        self._unrecorded = (now_ms, self.position, servers, online_flags)
        return change

    def _keep_repaired(self, servers: list[StreamServer], order: list[int],
                       old_servers: dict[int, StreamServer],
                       repaired: Mapping[int, Iterable[str]]) -> list[StreamServer]:
        """The frame's servers, those with repaired fields carrying their previous values instead.

        Sets :attr:`repaired` (this frame's marks) and ``_marked`` (ids whose mark changed,
        so that :meth:`apply` counts them as changed).  Work only for the repaired ids.
        """
        previous = self.repaired
        marks: dict[int, frozenset[str]] = {}
        unknown = self._unknown
        position = None
        out = servers
        for sid, fields in repaired.items():
            if not isinstance(sid, int):
                continue
            fields = frozenset(f for f in fields if isinstance(f, str) and f in _KEEPABLE)
            if not fields:
                continue
            if position is None:
                position = {s: i for i, s in enumerate(order)}
            i = position.get(sid)
            if i is None:
                continue
            marks[sid] = fields
            old = old_servers.get(sid)
            if old is None:  # its first frame: nothing to keep
                unknown[sid] = fields
                continue
            if out is servers:
                out = list(servers)  # the frame's own list stays as decoded
            try:
                out[i] = _replace(out[i], **{f: getattr(old, f) for f in fields})
            except Exception:  # pragma: no cover - a field the model does not have
                continue
            still = unknown.get(sid)
            if still:  # what was kept is still the defaults of a first frame for these fields
                unknown[sid] = still & fields
        for sid in [sid for sid, still in unknown.items() if sid not in marks or not still]:
            del unknown[sid]  # a clean frame brings every field: nothing is unknown any more
        self._marked = set(marks.keys() ^ previous.keys()) | {
            sid for sid, f in marks.items() if previous.get(sid) != f}
        self.repaired = marks
        return out

    def settle(self) -> None:
        """Do the per-frame work the fleet screen does not need: record the recent values
        and free the previous frame.

        The app calls it once the frame is on screen; :meth:`recent` and the next
        :meth:`apply` call it too, so nothing is lost when nobody does.
        """
        if self._recorder is not None:
            self._recorder.settle()
        self._retired = None  # the previous frame's servers: freed here, after the screen showed the new one
        self._record()

    def _record(self) -> None:
        """Record the last frame's recent values (once per frame)."""
        pending, self._unrecorded = self._unrecorded, None
        if pending is None:
            return
        now_ms, position, servers, online = pending
        history = self._history
        if history and history[-1].ts_ms == now_ms and history[-1].position is position:
            # a second frame in the same second (the Dashboard's ``now`` is whole seconds):
            # one sample per frame time; the columns are only built if asked for
            self._frame_columns = (self.frames, None, pending, None)
            return
        states = list(map(_STATE, servers))
        try:
            columns = _Columns(now_ms, position, servers, online, states)
        except (TypeError, ValueError, OverflowError):
            columns = None  # a value of the wrong type: no sample for this frame
        self._frame_columns = (self.frames, columns, None, states)
        if columns is not None and (not history or history[-1].ts_ms != now_ms):
            history.append(columns)

    def frame_columns(self) -> FrameColumns | None:
        """The values of the frame the store holds, column by column (for vectorised readers such
        as the alert rule engine): ``cpu``, ``mem``, ``swap``, ``disk`` (used bytes), ``net_in``,
        ``net_out`` (bytes/s) as ``array('d')`` indexed by :attr:`position`, and ``online``
        (one byte a server, ``None``: every server online).  ``None`` when a value of the wrong
        type kept the frame from being recorded.  Costs nothing more than :meth:`settle` does:
        the columns are the ones recorded for :meth:`recent`.
        """
        held = self._held_frame()
        return None if held is None else held[1]

    def frame_states(self) -> list[HostState] | None:
        """The live state of every server of the frame the store holds, by :attr:`position`
        (the list the columns were built from: reading another value from all servers starts
        here).  ``None`` when the store holds no frame."""
        held = self._held_frame()
        return None if held is None else held[3]

    def _held_frame(self) -> tuple[int, _Columns | None, tuple | None, list[HostState] | None] | None:
        self._record()
        held = self._frame_columns
        if held is None or held[0] != self.frames:
            return None
        frames, columns, pending, states = held
        if pending is not None:  # a second frame in the same second, asked for: build it now
            states = list(map(_STATE, pending[2]))
            try:
                columns = _Columns(*pending, states)
            except (TypeError, ValueError, OverflowError):
                columns = None
            held = self._frame_columns = (frames, columns, None, states)
        return held

    # ------------------------------------------------------------------ pause

    @property
    def frozen(self) -> bool:
        return self._recorder is not None

    @property
    def live(self) -> FleetStore:
        """The store that took the latest frame: this one, or while frozen the recorder (what
        events and alert rules read: they go on while the picture is paused)."""
        return self._recorder if self._recorder is not None else self

    def freeze(self) -> None:
        """Keep the picture; go on recording.

        Until :meth:`thaw`, :meth:`apply` gives the frames to a copy of the store (the
        "recorder"); what screens read (servers, online flags, totals, versions) stays as it
        was, while the recent values (:meth:`recent`, shared with the recorder) keep growing:
        a pause leaves no hole in the realtime plots.
        """
        if self._recorder is not None:
            return
        self.settle()
        recorder = FleetStore.__new__(FleetStore)
        for name, value in vars(self).items():
            # containers are copied (the recorder changes them); the recent values are shared
            setattr(recorder, name, value.copy() if isinstance(value, (dict, list, set)) else value)
        recorder._recorder = None
        recorder._recorder_meta = set()
        recorder._text = self._text.copy()  # the picture keeps the cleaned text of what it shows
        self._recorder = recorder
        self._recorder_meta = set()

    _KEPT_ON_THAW = frozenset({"groups", "group_names", "site_name", "_recorder", "_recorder_meta"})

    def thaw(self) -> FleetChange:
        """Take over what was recorded since :meth:`freeze`; return it as one change (the picture's
        catch-up: the net difference, e.g. a server that went offline and came back is only
        ``changed``)."""
        recorder = self._recorder
        if recorder is None:
            return FleetChange(now_ms=self.now_ms)
        old_servers, old_online, old_version, old_order = self.servers, self._online, self.version, self.order
        meta = self._recorder_meta
        self._recorder = None
        self._recorder_meta = set()
        for name, value in vars(recorder).items():
            if name not in self._KEPT_ON_THAW:
                setattr(self, name, value)
        servers, online = self.servers, self._online
        change = FleetChange(now_ms=self.now_ms)
        if servers.keys() != old_servers.keys():
            change.added.update(servers.keys() - old_servers.keys())
            change.removed.update(old_servers.keys() - servers.keys())
        added = change.added
        change.changed.update(sid for sid, v in self.version.items() if old_version.get(sid) != v and sid not in added)
        change.went_offline.update(sid for sid in change.changed if old_online.get(sid) and not online.get(sid))
        change.came_online.update(sid for sid in change.changed if online.get(sid) and not old_online.get(sid, False))
        change.meta_changed.update(meta & change.changed)
        change.order_changed = self.order != old_order
        return change

    # ------------------------------------------------------------------ a fleet of one Dashboard

    # The app's fleet is this store when it shows one Dashboard, a CombinedFleet
    # (nezha_tui.fleets) when several: these answer the combined fleet's questions.
    several = False
    stale: frozenset[int] = frozenset()

    def key_for(self, index: int, server_id: int) -> int:
        return server_id

    def index_of(self, key: int) -> int:
        return 0

    def server_id(self, key: int) -> int:
        return key

    def store_for(self, key: int) -> FleetStore:
        return self

    def name_of(self, key: int) -> str:
        return ""

    def is_stale(self, key: int) -> bool:
        return False

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self.servers)

    def __contains__(self, server_id: object) -> bool:
        return server_id in self.servers

    def get(self, server_id: int) -> StreamServer | None:
        return self.servers.get(server_id)

    def received(self, server_id: int) -> StreamServer | None:
        """The server as the Dashboard sent it: text *not* sanitised (for exact output such as
        ``snapshot --json``, never for a screen), a repaired server's kept values included."""
        return self._raw.get(server_id)

    def is_online(self, server_id: int) -> bool:
        return self._online.get(server_id, False)

    @property
    def online_flags(self) -> Mapping[int, bool]:
        """``id -> online`` for every server (read-only; ``.get(id, False)`` for loops over many ids)."""
        return self._online

    def last_seen_age(self, server_id: int, now_s: float | None = None) -> float | None:
        """Seconds between ``now_s`` (default: the frame's ``now``) and the server's ``last_active`` (>= 0)."""
        if server_id not in self.servers:
            return None
        return self.state_of(server_id).age(self.now_ms / 1000.0 if now_s is None else now_s)

    def state_of(self, server_id: int) -> ServerStatus:
        """The server's :class:`ServerStatus` (computed once per change of the server, then cached).

        An unknown id is "never reported".
        """
        v = self.version.get(server_id)
        if v is None:
            return _NO_STATUS
        cached = self._status.get(server_id)
        if cached is not None and cached[0] == v:
            return cached[1]
        status = self._compute_status(server_id)
        self._status[server_id] = (v, status)
        return status

    def _compute_status(self, server_id: int) -> ServerStatus:
        server = self.servers.get(server_id)
        if server is None:
            return _NO_STATUS
        last = _timestamp(server.last_active)
        if self._online.get(server_id, False):
            state = ServerState.ONLINE
        elif last is not None:
            state = ServerState.OFFLINE
        elif server.host == _EMPTY_HOST:
            state = ServerState.NEVER_REPORTED
        else:
            state = ServerState.DISCONNECTED
        return ServerStatus(state, last, self.repaired.get(server_id, frozenset()),
                            self._unknown.get(server_id, frozenset()))

    def never_reported(self, server_id: int) -> bool:
        """No report at all: zero ``last_active`` and an empty ``host``.

        A zero ``last_active`` alone also means "agent disconnected" on current
        Dashboards, which keep that server's last values in ``host``/``state``.
        """
        return server_id in self.servers and self.state_of(server_id).state is ServerState.NEVER_REPORTED

    def public_note(self, server_id: int) -> str:
        """The first ``public_note`` seen for the server ("" when none), sanitised."""
        clean = self._text.notes.get(server_id)
        # (sanitise() returns clean text as it is: the fallback costs nothing in the usual case)
        return clean if clean is not None else sanitise(self._notes.get(server_id, ""))

    def note(self, server_id: int, today: _dt.date | None = None) -> PublicNote | None:
        """The parsed ``public_note`` (billing, plan), or ``None`` when empty/unparsable."""
        raw = self._notes.get(server_id, "")
        if not raw.strip():
            return None
        if today is None:
            today = _dt.datetime.fromtimestamp(self.now_ms / 1000.0, _dt.timezone.utc).date() \
                if self.now_ms > 0 else _dt.date.today()
        cached = self._parsed_notes.get(server_id)
        key = f"{today.isoformat()}\0{raw}"
        if cached is not None and cached[0] == key:
            return cached[1]  # type: ignore[return-value]
        parsed = _parse_note(raw, today)
        self._parsed_notes[server_id] = (key, parsed)
        return parsed  # type: ignore[return-value]

    def recent(self, server_id: int) -> Sequence[RecentSample]:
        """Recent samples of one server, oldest first (at most ``recent_len``, one per frame time).

        While frozen, those of the frozen picture: the recording's newer samples (kept in the
        shared history, so a pause leaves no hole) show after :meth:`thaw`."""
        self.settle()
        server = self.servers.get(server_id)
        if server is None:
            return []
        host = server.host
        until = self.now_ms if self._recorder is not None else None
        out: list[RecentSample] = []
        for cols in self._history:
            if until is not None and cols.ts_ms > until:
                break  # recorded during the pause
            i = cols.position.get(server_id)
            if i is None:
                continue
            if cols.online is not None and not cols.online[i]:
                out.append(_GAP._replace(ts_ms=cols.ts_ms))  # offline in that frame
                continue
            out.append(RecentSample(
                cols.ts_ms, cols.cpu[i], _pct(cols.mem[i], host.mem_total),
                _pct(cols.swap[i], host.swap_total), _pct(cols.disk[i], host.disk_total),
                cols.net_in[i], cols.net_out[i],
            ))
        return out

    def recent_net_speeds(self, server_id: int, count: int) -> list[float]:
        """The last ``count`` network speeds (in + out, bytes/s) of one server, oldest first,
        ending with the frame the store shows; NaN where it was offline.  For a table's trend.

        Unlike :meth:`recent` it reads only the frames it returns (a row costs ``count``
        look-ups, not one per frame kept) and records nothing: the frame on screen is taken
        from the server itself, and frames recorded while the store is frozen (newer than the
        picture) are left out, so the trend matches the rest of the row.
        """
        server = self.servers.get(server_id)
        if server is None or count <= 0:
            return []
        out: list[float] = []
        now_ms = self.now_ms
        for cols in reversed(self._history):
            if len(out) >= count - 1:
                break
            if cols.ts_ms >= now_ms:  # the frame shown (taken below), or recorded during a pause
                continue
            i = cols.position.get(server_id)
            if i is None:  # not in the fleet then: nothing older belongs to this trend
                break
            if cols.online is not None and not cols.online[i]:
                out.append(math.nan)
            else:
                out.append(cols.net_in[i] + cols.net_out[i])
        out.reverse()
        current = math.nan
        if self.is_online(server_id):
            try:
                current = float(server.state.net_in_speed) + float(server.state.net_out_speed)
            except (TypeError, ValueError, OverflowError):
                pass
        out.append(current)
        return out

    def totals_for(self, ids: Iterable[int]) -> FleetTotals:
        """Totals over the given ids (e.g. the members of one group)."""
        totals = FleetTotals()
        servers = self.servers
        online = self._online
        for sid in ids:
            server = servers.get(sid)
            if server is None:
                continue
            totals.servers += 1
            if online.get(sid, False):
                state = server.state
                totals.online += 1
                totals.net_in_speed += _int(state.net_in_speed)
                totals.net_out_speed += _int(state.net_out_speed)
                totals.net_in_transfer += _int(state.net_in_transfer)
                totals.net_out_transfer += _int(state.net_out_transfer)
        return totals

    # ------------------------------------------------------------------ groups

    def set_groups(self, groups: Iterable[ServerGroup]) -> bool:
        """Replace the server groups; ``True`` when they differ from before."""
        groups = sanitise_obj(list(groups or ()))
        if self._recorder is not None:
            self._recorder.set_groups(groups)
        if groups == self.groups:
            return False
        self.groups = groups
        names: dict[int, list[str]] = {}
        for group in groups:
            for sid in group.servers or ():
                names.setdefault(sid, []).append(group.group.name)
        self.group_names = names
        return True

    def group_members(self, group_id: int) -> set[int]:
        for group in self.groups:
            if group.group.id == group_id:
                return set(group.servers or ())
        return set()

    def visible_groups(self) -> list[ServerGroup]:
        """Groups holding at least one server the store knows, in the Dashboard's order."""
        servers = self.servers
        return [g for g in self.groups if any(sid in servers for sid in g.servers or ())]


_KEEPABLE = frozenset({"name", "public_note", "display_index", "host", "state", "country_code", "last_active"})
"""The ``StreamServer`` fields whose previous value a repaired server keeps (all but ``id``)."""


def _cutoffs(last_actives: list[_dt.datetime | None], cutoff_s: float) -> dict[object, _dt.datetime]:
    """The instant ``cutoff_s`` (unix seconds) in each time zone the aware datetimes use."""
    cutoffs: dict[object, _dt.datetime] = {}
    for tz in {la.tzinfo for la in last_actives if la is not None}:
        if tz is None:
            continue  # naive: see _online
        try:
            cutoffs[tz] = _dt.datetime.fromtimestamp(cutoff_s, tz)
        except (OverflowError, ValueError, OSError, TypeError):
            pass  # an absurd "now": those servers take the slow path
    return cutoffs


def _newest_report_ms(servers: Iterable[StreamServer]) -> int:
    """The newest ``last_active`` of a frame, in ms (0 when none): the best guess of the
    Dashboard's clock for a frame without a usable ``now`` (reporting agents send every second)."""
    stamps = [ts for ts in map(_timestamp, (getattr(s, "last_active", None) for s in servers)) if ts is not None]
    return int(max(stamps) * 1000) if stamps else 0


def _online(last_active: _dt.datetime | None, now_s: float, window: float) -> bool:
    """The online rule on timestamps, for what has no cutoff (None, naive, odd zones)."""
    ts = _timestamp(last_active)
    return ts is not None and now_s - ts <= window


def _unique(servers: list[StreamServer]) -> tuple[list[StreamServer], list[int]]:
    """The servers with an int id, the first record of a duplicated id only; and their ids."""
    ids = list(map(_ID, servers))
    # (both checks run in C: the decoder already gives unique int ids, this is the backstop)
    if len(set(ids)) == len(ids) and set(map(type, ids)) <= _INT_ONLY:
        return servers, ids  # the usual case: nothing to drop
    seen: dict[int, StreamServer] = {}
    for server in servers:
        sid = server.id
        if isinstance(sid, int) and sid not in seen:
            seen[sid] = server
    return list(seen.values()), list(seen)


_ID = attrgetter("id")
_INT_ONLY = {int}
_STATE = attrgetter("state")
_NET_IN_SPEED = attrgetter("net_in_speed")
_NET_OUT_SPEED = attrgetter("net_out_speed")
_NET_IN_TRANSFER = attrgetter("net_in_transfer")
_NET_OUT_TRANSFER = attrgetter("net_out_transfer")


def _totals(online: list[StreamServer], servers: int) -> FleetTotals:
    totals = FleetTotals(servers=servers, online=len(online))
    states = list(map(_STATE, online))
    try:
        totals.net_in_speed = sum(map(_NET_IN_SPEED, states))
        totals.net_out_speed = sum(map(_NET_OUT_SPEED, states))
        totals.net_in_transfer = sum(map(_NET_IN_TRANSFER, states))
        totals.net_out_transfer = sum(map(_NET_OUT_TRANSFER, states))
    except TypeError:  # a value of the wrong type slipped through: count it as 0
        totals.net_in_speed = sum(_int(st.net_in_speed) for st in states)
        totals.net_out_speed = sum(_int(st.net_out_speed) for st in states)
        totals.net_in_transfer = sum(_int(st.net_in_transfer) for st in states)
        totals.net_out_transfer = sum(_int(st.net_out_transfer) for st in states)
    return totals


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0


def _parse_note(raw: str, today: _dt.date) -> object | None:
    try:
        from nezha_tui.api.public_note import parse_public_note
    except ImportError:  # pragma: no cover - until the parser lands
        return None
    try:
        return sanitise_obj(parse_public_note(raw, today))  # its strings are shown: clean them
    except Exception:  # the parser promises never to raise; be safe anyway
        return None


# --------------------------------------------------------------------------- untrusted text

_TEMPERATURES = attrgetter("temperatures")
_SENSOR_NAME = attrgetter("name")
_HOST_TEXT = ("platform", "platform_version", "arch", "virtualization", "version")


def _s(value: object) -> object:
    return sanitise(value) if type(value) is str else value


def _clean_host(host: Host) -> Host:
    changes: dict[str, object] = {}
    for name in _HOST_TEXT:
        value = getattr(host, name)
        clean = _s(value)
        if clean is not value:
            changes[name] = clean
    for name in ("cpu", "gpu"):
        values = getattr(host, name)
        if values and isinstance(values, tuple):
            clean_values = tuple(map(_s, values))
            if any(a is not b for a, b in zip(clean_values, values)):
                changes[name] = clean_values
    return _replace(host, **changes) if changes else host


class _TextCleaner:
    """Sanitised text of the servers that need it (issue 9): names, country codes,
    host facts, public notes and temperature sensor names.

    The store compares each frame's raw records with the previous frame's raw
    records, so a hostile name does not look changed every frame.  Text is
    sanitised once per added or meta-changed server; only servers whose text
    needed cleaning are kept here (nothing for a clean fleet), and only they are
    copied each frame (their live state is the frame's).  Sensor names live in
    the live state: a frame's names are collected in C (``map``/``chain``) and
    only names never seen before are sanitised.
    """

    __slots__ = ("meta", "notes", "sensors_ok", "sensors_bad")

    def __init__(self) -> None:
        self.meta: dict[int, tuple[object, object, Host]] = {}
        """id -> (name, country code, host), sanitised, for servers whose text needed it."""
        self.notes: dict[int, str] = {}
        """id -> sanitised public note, for notes that needed it."""
        self.sensors_ok: set[str] = set()
        self.sensors_bad: dict[str, str] = {}

    def copy(self) -> _TextCleaner:
        """Another cleaner with the same cleaned texts (the name caches are shared: they only grow)."""
        other = _TextCleaner()
        other.meta, other.notes = dict(self.meta), dict(self.notes)
        other.sensors_ok, other.sensors_bad = self.sensors_ok, self.sensors_bad
        return other

    def clean(self, new_servers: dict[int, StreamServer], servers: list[StreamServer],
              touched: set[int], removed: Iterable[int], notes: dict[int, str]) -> dict[int, StreamServer]:
        meta, clean_notes = self.meta, self.notes
        for sid in removed:
            meta.pop(sid, None)
            clean_notes.pop(sid, None)
        for sid in touched:
            server = new_servers[sid]
            name, cc, host = _s(server.name), _s(server.country_code), _clean_host(server.host)
            if name is server.name and cc is server.country_code and host is server.host:
                meta.pop(sid, None)
            else:
                meta[sid] = (name, cc, host)
            note = notes.get(sid)
            clean_note = _s(note)
            if clean_note is note:
                clean_notes.pop(sid, None)
            else:
                clean_notes[sid] = clean_note  # type: ignore[assignment]
        bad_sensors = self._sensors(servers)
        if not meta and not clean_notes and not bad_sensors:
            return new_servers  # the usual frame: nothing to copy
        out = dict(new_servers)
        for sid, (name, cc, host) in meta.items():
            server = out[sid]
            out[sid] = _replace(server, name=name, country_code=cc, host=host)
        for sid, note in clean_notes.items():
            server = out[sid]
            if server.public_note is not None:
                out[sid] = _replace(server, public_note=note)
        if bad_sensors:
            for sid, server in new_servers.items():
                temps = server.state.temperatures
                if temps and isinstance(temps, tuple) and not bad_sensors.keys().isdisjoint(map(_SENSOR_NAME, temps)):
                    fixed = tuple(Temperature(bad_sensors.get(t.name, t.name), t.temperature) for t in temps)
                    server = out[sid]
                    out[sid] = _replace(server, state=_replace(server.state, temperatures=fixed))
        return out

    def _sensors(self, servers: list[StreamServer]) -> dict[str, str]:
        """The hostile sensor names of this frame (raw -> sanitised); usually empty."""
        ok, bad = self.sensors_ok, self.sensors_bad
        try:
            if not bad and ok.issuperset(
                    map(_SENSOR_NAME, chain.from_iterable(map(_TEMPERATURES, map(_STATE, servers))))):
                return {}  # the usual frame: every sensor name seen and clean before (no set built)
            names = set(map(_SENSOR_NAME, chain.from_iterable(map(_TEMPERATURES, map(_STATE, servers)))))
        except (TypeError, AttributeError):
            return {}
        new = names - ok
        if new:
            if len(ok) + len(bad) > 100_000:  # names that keep changing: start over rather than grow
                ok.clear()
                bad.clear()
            for name in new - bad.keys():
                clean = _s(name)
                if clean is name:
                    ok.add(name)
                else:
                    bad[name] = clean  # type: ignore[assignment]
        if not bad or bad.keys().isdisjoint(names):
            return {}
        return {name: clean for name, clean in bad.items() if name in names}
