"""The one tolerant decoding place of nezha-tui.

Two entry points:

* :func:`decode_frame` for documents of the live stream ``/api/v1/ws/server``;
* :func:`decode_data` for REST answers in the ``{"success", "data", "error"}``
  envelope.

Both try msgspec's typed decoder first (fast, ~1 ms for 1,000 servers; the
numbers' ranges are checked there too, see ``models.Int`` / ``models.Float``).
A typed decode is all-or-nothing: one wrong type anywhere fails the whole
document.  Then the slow path works piece by piece: per server (stream) or per
item (REST lists).  A stream server that fails is decoded untyped and
converted; each value msgspec names in a conversion error is removed (it
takes its default), counted in a :class:`DecodeReport` with the server's
field in ``report.repaired``, and the server converted again: one bad value
costs one more conversion.  ``null`` and absent are treated alike everywhere
(Go's ``omitempty``, proxies and forks).  Go's zero time
``0001-01-01T00:00:00Z`` becomes ``None``; so does a time in year 9999 or
later (counted).  Numbers msgspec cannot hold (``1e400``) cost their value
only; ids are positive int64s (ASCII digits in a string are accepted); a
repeated server id keeps its first record (counted in ``dropped_servers``).

Nothing here raises except :class:`~nezha_tui.api.errors.ProtocolError` (the
document is not JSON, not UTF-8, not an object, or nested deeper than msgspec
and Python's recursion limit allow: ~1,000 levels) and, in
:func:`decode_data`, the typed error of an ``{"error": ...}`` envelope.  An
exception nobody foresaw becomes a :class:`DecoderFault` (a ProtocolError,
logged with its traceback): the fuzz tests treat any as a failure.
"""

from __future__ import annotations

import logging
import math
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, Generic, TypeVar

import msgspec

from ..gc_policy import collection_paused
from .errors import NezhaError, ProtocolError, error_from_text, trim
from .models import FLOAT_MAX, INT64_MAX, INT64_MIN, StreamFrame, StreamServer, TerminalTicket

__all__ = ["DecodeReport", "DecoderFault", "decode_frame", "decode_data", "decode_terminal_ticket",
           "convert_lenient"]

_log = logging.getLogger(__name__)

T = TypeVar("T")
_MAX_NOTES = 12
_BAD = object()  # sentinel: this value could not be used


@dataclass
class DecodeReport:
    """What the tolerant path had to repair in one document."""

    bad_fields: int = 0  # values replaced by their default (or list items dropped)
    dropped_servers: int = 0  # servers without a usable id, and repeated ids (the first one is kept)
    notes: list[str] = field(default_factory=list)  # short, for logs / status line
    repaired: dict[int, set[str]] = field(default_factory=dict)
    """Server id -> the top-level ``StreamServer`` fields ("state", "host", "name", ...) that
    were malformed in this document (a bad value inside them, or ``null`` where an object
    belongs) and were replaced by defaults.  The store keeps such a server's previous values
    for those fields instead of showing the defaults."""

    @property
    def clean(self) -> bool:
        return self.bad_fields == 0 and self.dropped_servers == 0

    def note(self, text: str) -> None:
        if len(self.notes) < _MAX_NOTES:
            self.notes.append(trim(text, 120))
        elif len(self.notes) == _MAX_NOTES:
            self.notes.append("… more problems not listed")

    def bad(self, path: str, why: str) -> None:
        self.bad_fields += 1
        self.note(f"{path}: {why}")

    def repair(self, server_id: int, field_name: str) -> None:
        """Record that ``field_name`` of server ``server_id`` was replaced by a default."""
        self.repaired.setdefault(server_id, set()).add(field_name)


# --------------------------------------------------------------------------- the stream


_FRAME_DECODER = msgspec.json.Decoder(StreamFrame)
_ANY_DECODER = msgspec.json.Decoder()
_ID = attrgetter("id")
_MAX_YEAR = 9999
"""A time in year 9999 or later is refused (``None``, counted): its UTC or local
equivalent may lie beyond what Python's datetime can hold."""
_MAX_NOW_MS = 253_370_764_800_000  # 9999-01-01T00:00:00Z
"""A frame's ``now`` (ms) outside ``0 .. _MAX_NOW_MS`` is counted and becomes 0 (unknown)."""


class DecoderFault(ProtocolError):
    """An exception the decoder did not foresee, reported as a ProtocolError.

    The decoder's promise is "nothing but ProtocolError"; this is its last line of
    defence so that even a bug costs one document, not the connection or the app.
    The fuzz tests fail on any of these: each one is a bug to fix where it arises.
    """


def decode_frame(data: bytes | str) -> tuple[StreamFrame, DecodeReport]:
    """Decode one stream document.  Never raises except ProtocolError."""
    # A frame allocates ~10 objects per server that all survive: no cyclic GC meanwhile (gc_policy).
    try:
        with collection_paused():
            return _decode_frame(data)
    except ProtocolError:
        raise
    except UnicodeDecodeError as exc:  # msgspec < 0.23 on bytes that are not UTF-8
        raise ProtocolError(f"stream frame is not UTF-8: {exc.reason}") from None
    except UnicodeError as exc:  # a str holding lone surrogates cannot be UTF-8 encoded
        raise ProtocolError(f"stream frame is not valid text: {exc.reason}") from None
    except RecursionError:  # msgspec's nesting limit (Python's recursion limit), or ours
        raise ProtocolError("stream frame is nested too deeply") from None
    except Exception as exc:  # a decoder bug: still one lost document, never a crash
        _log.error("decode_frame: unexpected %s", type(exc).__name__, exc_info=True)
        raise DecoderFault(f"stream frame could not be decoded ({type(exc).__name__})") from None


def _decode_frame(data: bytes | str) -> tuple[StreamFrame, DecodeReport]:
    report = DecodeReport()
    try:
        frame = _FRAME_DECODER.decode(data)
    except msgspec.ValidationError:
        try:
            frame = _decode_frame_slow(data, report)
        except msgspec.ValidationError:
            raise
        except msgspec.DecodeError as exc:  # bad UTF-8 or syntax found in a server decoded on its own
            raise _not_json(data, "stream frame", exc) from None
        return frame, report
    except msgspec.DecodeError as exc:
        raise _not_json(data, "stream frame", exc) from None
    # The typed path: every value has its type and range (see models.Int / Float).  What is
    # left is per frame, in C where it can be: zero or absurd times, unusable or repeated ids.
    if not 0 <= frame.now <= _MAX_NOW_MS:
        report.bad("now", f"out of range ({frame.now})")
        frame.now = 0
    if frame.online < 0:
        report.bad("online", f"out of range ({frame.online})")
        frame.online = 0
    servers = frame.servers
    ids = set(map(_ID, servers))  # ~0.2 ms at 10,000 servers
    if ids and (len(ids) != len(servers) or min(ids) <= 0):
        servers = frame.servers = _usable_servers(servers, report)
    for s in servers:
        la = s.last_active
        if la is not None and not 1 < la.year < _MAX_YEAR:
            s.last_active = None  # Go's zero time: never reported / disconnected
            if la.year > 1:
                _bad_time(report, s.id, la)
    return frame, report


def _bad_time(report: DecodeReport, sid: int, value: Any) -> None:
    report.bad(f"server {sid}.last_active", f"out of range ({trim(str(value), 40)})")
    report.repair(sid, "last_active")


def _usable_servers(servers: list[StreamServer], report: DecodeReport) -> list[StreamServer]:
    """Drop servers whose id is not positive (nothing can refer to them) and repeated ids
    (the first record of an id wins, as in the store)."""
    kept = []
    seen: set[int] = set()
    for i, s in enumerate(servers):
        if s.id <= 0:
            report.dropped_servers += 1
            report.note(f"servers[{i}]: dropped, unusable id {s.id}")
        elif s.id in seen:
            _repeated(report, i, s.id)
        else:
            seen.add(s.id)
            kept.append(s)
    return kept


def _repeated(report: DecodeReport, index: int, sid: int) -> None:
    report.dropped_servers += 1
    report.note(f"servers[{index}]: dropped, id {sid} repeated (the first one is kept)")


_NULL = msgspec.Raw(b"null")


class _RawFrame(msgspec.Struct):
    """A frame whose values are left undecoded, to decode them one by one."""

    now: msgspec.Raw = _NULL
    online: msgspec.Raw = _NULL
    servers: list[msgspec.Raw] | None = None


class _LooseFrame(msgspec.Struct):
    """The same when ``servers`` is not even a list."""

    now: msgspec.Raw = _NULL
    online: msgspec.Raw = _NULL
    servers: msgspec.Raw = _NULL


_RAW_FRAME_DECODER = msgspec.json.Decoder(_RawFrame)
_LOOSE_FRAME_DECODER = msgspec.json.Decoder(_LooseFrame)
_RAW_LIST_DECODER = msgspec.json.Decoder(list[msgspec.Raw] | None)
_RAW_DICT_DECODER = msgspec.json.Decoder(dict[str, msgspec.Raw])
_SERVER_DECODER = msgspec.json.Decoder(StreamServer)


def _decode_frame_slow(data: bytes | str, report: DecodeReport) -> StreamFrame:
    """Per-server decoding: good servers still take the typed path, bad ones are repaired."""
    try:
        raw: _RawFrame | _LooseFrame = _RAW_FRAME_DECODER.decode(data)
        items = raw.servers or ()
    except msgspec.ValidationError:
        try:
            raw = _LOOSE_FRAME_DECODER.decode(data)
        except msgspec.ValidationError:
            raise ProtocolError(f"stream frame is not a JSON object (got {_kind(_untyped_any(data))})") from None
        report.bad("servers", f"expected a list, got {_kind(_untyped_any(raw.servers))}")
        items = ()
    now = _raw_int(raw.now, report, "now", 0, _MAX_NOW_MS)
    online = _raw_int(raw.online, report, "online", 0, INT64_MAX)
    servers: list[StreamServer] = []
    seen: set[int] = set()
    for i, item in enumerate(items):
        try:
            server = _SERVER_DECODER.decode(item)
        except msgspec.ValidationError:
            server = _server(item, report, i, seen)  # checks the id before it repairs anything
            if server is None:
                continue
        else:
            sid = server.id
            if sid <= 0:
                report.dropped_servers += 1
                report.note(f"servers[{i}]: dropped, unusable id {sid}")
                continue
            if sid in seen:
                _repeated(report, i, sid)
                continue
            la = server.last_active
            if la is not None and not 1 < la.year < _MAX_YEAR:
                server.last_active = None
                if la.year > 1:
                    _bad_time(report, sid, la)
        seen.add(server.id)
        servers.append(server)
    return StreamFrame(now=now, online=online, servers=servers)


def _raw_int(raw: msgspec.Raw, report: DecodeReport, path: str, lo: int, hi: int) -> int:
    value = _untyped_any(raw)
    if value is None:
        return 0
    out = _scalar(value, int, report, path)
    if out is _BAD:
        return 0
    if not lo <= out <= hi:
        report.bad(path, f"out of range ({trim(str(out), 24)})")
        return 0
    return out


def _untyped_any(raw: Any) -> Any:
    """An untyped value; numbers outside what msgspec can hold become the out-of-range mark."""
    try:
        return _ANY_DECODER.decode(raw)
    except msgspec.ValidationError:  # "Number out of range" / "Integer value out of range"
        return _salvage(raw, _OUT_OF_RANGE)


class _OutOfRange:
    """Marks a number JSON allows but msgspec cannot hold (1e400, a 5,000-digit integer)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<number out of range>"


_OUT_OF_RANGE = _OutOfRange()


def _salvage(raw: Any, mark: Any, report: DecodeReport | None = None, path: str = "$") -> Any:
    """Decode ``raw`` untyped, replacing each number out of range by ``mark``.

    Only used when an untyped decode failed on such a number: objects and arrays are
    opened one level at a time (as raw pieces) down to the offending numbers.
    """
    try:
        return _ANY_DECODER.decode(raw)
    except msgspec.ValidationError:
        pass
    try:
        parts = _RAW_DICT_DECODER.decode(raw)
    except msgspec.ValidationError:
        pass
    else:
        return {k: _salvage(v, mark, report, f"{path}.{k}") for k, v in parts.items()}
    try:
        items = _RAW_LIST_DECODER.decode(raw)
    except msgspec.ValidationError:
        pass
    else:
        return [_salvage(v, mark, report, f"{path}[{i}]") for i, v in enumerate(items or ())]
    if report is not None:
        report.bad(path, "number out of range")
    return mark


def _server(raw: msgspec.Raw, report: DecodeReport, index: int, seen: set[int]) -> StreamServer | None:
    """One server that failed the typed path: untyped, then repaired value by value."""
    item = _untyped_any(raw)
    if not isinstance(item, dict):
        report.dropped_servers += 1
        report.note(f"servers[{index}]: dropped, expected an object, got {_kind(item)}")
        return None
    sid = _usable_id(item.get("id"))
    if sid is None:
        report.dropped_servers += 1
        report.note(f"servers[{index}]: dropped, unusable id {_show(item.get('id'))}")
        return None
    if sid in seen:  # before any repair: the first record's repairs are the ones that count
        _repeated(report, index, sid)
        return None
    item["id"] = sid
    la_raw = item.get("last_active")
    if la_raw is not None and not isinstance(la_raw, str):
        # the Dashboard writes RFC 3339 text; a number would convert (as unix seconds) into
        # a time nobody sent: a wrong type like any other, so the previous value is kept
        del item["last_active"]
        report.bad(f"server {sid}.last_active", f"expected an RFC 3339 string, got {_kind(la_raw)}")
        report.repair(sid, "last_active")
    nulls = [k for k, v in item.items() if v is None]
    for k in nulls:  # null and absent alike
        del item[k]
    server = _convert_repairing(item, StreamServer, report, sid, f"server {sid}")
    la = server.last_active
    if la is not None and not 1 < la.year < _MAX_YEAR:
        server.last_active = None
        if la.year > 1:
            _bad_time(report, sid, la)
    if nulls and server.last_active is not None:
        # "host": null / "state": null from a server that reports: a broken record, not
        # the empty one of a server that never did (that one sends {} and the zero time)
        for name in ("host", "state"):
            if name in nulls:
                report.repair(sid, name)
    return server


_MAX_REPAIRS = 16
"""Values repaired one by one (one conversion each) before the field-by-field path takes over."""


def _convert_repairing(item: dict, typ: type, report: DecodeReport, sid: int, label: str) -> Any:
    """``msgspec.convert`` the untyped ``item``; at each failure remove the value msgspec
    names (its path is in the error) and convert again.

    One bad value costs one more conversion (a few microseconds), not a walk over every
    field in Python.  Removed values take their defaults; nulls are absent values (not
    counted) except inside arrays; a fraction where an int belongs is rounded.
    """
    for _ in range(_MAX_REPAIRS):
        try:
            return msgspec.convert(item, typ, strict=False)
        except msgspec.ValidationError as exc:
            if not _repair_at(item, str(exc), report, sid, label):
                break
    return _struct_fields(item, typ, report, label, sid)


def _repair_at(doc: dict, message: str, report: DecodeReport, sid: int, label: str) -> bool:
    reason, sep, where = message.rpartition(" - at `$")
    if not sep or not where.endswith("`") or not where.startswith("."):
        return False
    where = where[:-1]
    if "[" in where:
        steps: list[Any] = [k if k else int(i) for k, i in _PATH_STEP.findall(where)]
    else:  # the usual ".state.cpu"
        steps = where[1:].split(".")
    if not steps:
        return False
    node: Any = doc
    try:
        for step in steps[:-1]:
            node = node[step]
        key = steps[-1]
        value = node[key]
    except (KeyError, IndexError, TypeError):
        return False
    if value is None and isinstance(node, dict):
        del node[key]  # null: the default, as if absent
        return True
    if (isinstance(value, float) and reason.startswith("Expected `int`")
            and -_TWO_63 <= value < _TWO_63):  # a fork printing 1.5e9 for bytes: round it
        node[key] = round(value)
        return True
    del node[key]
    report.bad_fields += 1
    if len(report.notes) <= _MAX_NOTES:  # the text only while notes are kept
        if value is _OUT_OF_RANGE:
            reason = "number out of range"
        elif value is None:
            reason = "null item dropped"
        else:
            reason = f"{reason} ({_show(value)})"
        report.note(f"{label}{where}: {reason}")
    report.repair(sid, steps[0])
    return True


_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_TWO_63 = 2**63


def _usable_id(value: Any) -> int | None:
    """A server id: a positive int64.  Strings of ASCII digits and integral floats are accepted."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not (math.isfinite(value) and value == int(value)):
            return None
        value = int(value)
    elif isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= 19):
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value <= INT64_MAX:
        return value
    return None


# --------------------------------------------------------------------------- REST


class _Envelope(msgspec.Struct, Generic[T]):
    success: bool = False
    data: T | None = None
    error: str = ""


@lru_cache(maxsize=64)
def _envelope_decoder(typ: Any) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(_Envelope[typ])  # type: ignore[valid-type]


def decode_data(body: bytes | str, typ: Any, report: DecodeReport | None = None) -> Any:
    """Decode a REST answer ``{"success": true, "data": ...}`` into ``typ``.

    * success without ``data`` (Go's omitempty on an empty list) -> empty ``typ``;
    * ``{"error": "..."}`` (with or without ``success``) -> the typed error of
      :func:`~nezha_tui.api.errors.error_from_text` is raised;
    * a body that is not a JSON object -> ProtocolError;
    * wrong types inside ``data`` cost the bad field or list item only
      (counted in ``report`` when one is given).

    Raises nothing but :class:`~nezha_tui.api.errors.NezhaError` subclasses.
    """
    if report is None:
        report = DecodeReport()
    try:
        return _decode_data(body, typ, report)
    except NezhaError:
        raise
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"the answer is not UTF-8: {exc.reason}") from None
    except UnicodeError as exc:  # a str holding lone surrogates
        raise ProtocolError(f"the answer is not valid text: {exc.reason}") from None
    except RecursionError:
        raise ProtocolError("the answer is nested too deeply") from None
    except Exception as exc:  # a decoder bug: still one failed answer, never a crash
        _log.error("decode_data: unexpected %s", type(exc).__name__, exc_info=True)
        raise DecoderFault(f"the answer could not be decoded ({type(exc).__name__})") from None


def _decode_data(body: bytes | str, typ: Any, report: DecodeReport) -> Any:
    try:
        env = _envelope_decoder(typ).decode(body)
    except msgspec.ValidationError:
        doc = _untyped(body, "answer", report)
        success = doc.get("success") is True
        err = doc.get("error")
        if not success and err not in (None, ""):
            raise error_from_text(err if isinstance(err, str) else _show(err)) from None
        data = doc.get("data")
        if not success and data is None:
            raise ProtocolError("the answer has neither data nor an error") from None
        if data is None:
            return _empty(typ)
        value = convert_lenient(data, typ, report, "data")
        return value
    except msgspec.DecodeError as exc:
        raise _not_json(body, "the answer", exc) from None
    if not env.success and env.error:
        raise error_from_text(env.error)
    if env.data is None:
        if not env.success:
            raise ProtocolError("the answer has neither data nor an error")
        return _empty(typ)
    if _has_time(typ):
        return _clear_zero_times(env.data, typ, report)
    return env.data


_SESSION_ID = re.compile(r"[A-Za-z0-9._~-]{1,128}")


def decode_terminal_ticket(body: bytes | str, server_id: int) -> TerminalTicket:
    """``POST /api/v1/terminal``'s answer as a :class:`TerminalTicket`.

    Tolerant like every answer (:func:`decode_data`); then checked: the session id goes
    into the attach URL's path, so only URL-safe characters (a UUID) are accepted, else
    ProtocolError.  An absent or wrong ``server_id`` becomes the one asked for (Go's
    omitempty).  ``server_name`` is raw here (the client sanitises it with the rest).
    """
    ticket = decode_data(body, TerminalTicket)
    if not isinstance(ticket, TerminalTicket):  # a list or scalar ``data``: _empty() of the type
        raise ProtocolError("the terminal answer has no session")
    sid = ticket.session_id
    if not sid:
        raise ProtocolError("the terminal answer has no session_id")
    if not _SESSION_ID.fullmatch(sid):
        raise ProtocolError(f"the terminal answer's session_id is not a plain id ({_show(sid)})")
    if ticket.server_id != server_id:
        ticket.server_id = server_id
    return ticket


# --------------------------------------------------------------------------- lenient conversion


def convert_lenient(value: Any, typ: Any, report: DecodeReport, path: str = "$") -> Any:
    """Convert an untyped JSON value to ``typ``, repairing what is wrong.

    Returns the converted value; a value that cannot be used at all becomes
    the empty value of ``typ`` (counted as one bad field unless it was null).
    """
    out = _lenient(value, typ, report, path)
    if out is _BAD:
        return _empty(typ)
    return out


def _lenient(value: Any, typ: Any, report: DecodeReport, path: str) -> Any:
    origin = typing.get_origin(typ)
    if origin is typing.Annotated:  # models.Int / Float: the bounds are checked by _scalar's convert
        return _scalar(value, typ, report, path) if value is not None else _empty(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None:
            return None
        return _lenient(value, args[0], report, path) if len(args) == 1 else _scalar(value, typ, report, path)
    if value is None:
        return _empty(typ)
    if isinstance(typ, type) and issubclass(typ, msgspec.Struct):
        if not isinstance(value, dict):
            report.bad(path, f"expected an object, got {_kind(value)}")
            return _BAD
        try:
            out = msgspec.convert({k: v for k, v in value.items() if v is not None}, typ, strict=False)
        except msgspec.ValidationError:
            return _struct_fields(value, typ, report, path)
        return _clear_zero_times(out, typ, report) if _has_time(typ) else out
    if origin is list or origin is tuple:  # tuple[X, ...]: the stream models' per-server arrays
        item_t = (typing.get_args(typ) or (Any,))[0]
        if not isinstance(value, list):
            report.bad(path, f"expected a list, got {_kind(value)}")
            return _BAD
        try:
            out = msgspec.convert(value, typ, strict=False)
        except msgspec.ValidationError:
            pass
        else:
            return _clear_zero_times(out, typ, report) if _has_time(typ) else out
        items = []
        for i, v in enumerate(value):
            if v is None:
                report.bad(f"{path}[{i}]", "null item dropped")
                continue
            got = _lenient(v, item_t, report, f"{path}[{i}]")
            if got is _BAD:
                report.note(f"{path}[{i}]: item dropped")
            elif not (_is_datetime(item_t) and got is None):
                items.append(got)
        return tuple(items) if origin is tuple else items
    if origin is dict:
        key_t, val_t = typing.get_args(typ) or (Any, Any)
        if not isinstance(value, dict):
            report.bad(path, f"expected an object, got {_kind(value)}")
            return _BAD
        out_d = {}
        for k, v in value.items():
            key = _scalar(k, key_t, report, f"{path} key {_show(k, 20)}")
            if key is _BAD:
                continue
            got = _lenient(v, val_t, report, f"{path}[{_show(k, 20)}]")
            if got is _BAD or (got is None and _is_datetime(val_t)):
                continue  # a zero time in a map of times: the entry means nothing
            out_d[key] = got
        return out_d
    return _scalar(value, typ, report, path)


def _scalar(value: Any, typ: Any, report: DecodeReport, path: str) -> Any:
    if typ is Any:
        return value
    base = _base(typ)
    if base is int and isinstance(value, float) and -_TWO_63 <= value < _TWO_63:
        value = round(value)  # a fork printing 1.5e9 for bytes: accept it
    try:
        out = msgspec.convert(value, typ, strict=False)
    except msgspec.ValidationError:
        report.bad(path, f"expected {_type_name(base)}, got {_kind(value)} {_show(value)}")
        return _BAD
    if isinstance(out, float):
        if not -FLOAT_MAX <= out <= FLOAT_MAX:  # nan, inf ("nan" and "inf" convert laxly)
            report.bad(path, f"not a finite number ({_show(value)})")
            return _BAD
    elif isinstance(out, int) and not isinstance(out, bool):
        if not INT64_MIN <= out <= INT64_MAX:
            report.bad(path, f"out of range ({_show(value)})")
            return _BAD
    elif isinstance(out, datetime):
        if out.year <= 1:
            return None
        if out.year >= _MAX_YEAR:
            report.bad(path, f"out of range ({_show(value)})")
            return None
    return out


def _struct_fields(value: dict, typ: type, report: DecodeReport, path: str, sid: int | None = None) -> Any:
    """Field by field (the slow, sure path); with ``sid``, top-level repairs go to ``report.repaired``."""
    kwargs = {}
    for name, key, ftype in _fields(typ):
        if key not in value:
            continue
        before = report.bad_fields
        got = _lenient(value[key], ftype, report, f"{path}.{key}")
        if sid is not None and report.bad_fields != before:
            report.repair(sid, name)
        if got is _BAD:
            continue
        if got is None and not _allows_none(ftype):
            continue
        kwargs[name] = got
    return typ(**kwargs)


# --------------------------------------------------------------------------- helpers


def envelope_error(body: bytes) -> str | None:
    """The ``error`` text of an answer that is a JSON object.

    ``None`` when the body is not a JSON object at all (an HTML page, empty,
    garbage); ``""`` when it is an object without an ``error`` string.
    """
    try:
        doc = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    err = doc.get("error")
    return err if isinstance(err, str) else ""


def _not_json(data: bytes | str, what: str, exc: Exception) -> ProtocolError:
    """The error for a document msgspec could not parse.

    msgspec 0.23 reports bytes that are not UTF-8 as a ``DecodeError`` (older
    versions raised ``UnicodeDecodeError``): tell that case apart by decoding
    the bytes here, on the error path only.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError as bad:
            return ProtocolError(f"{what} is not UTF-8: {bad.reason}")
    return ProtocolError(f"{what} is not JSON: {exc}")


def _untyped(data: bytes | str, what: str, report: DecodeReport | None = None) -> dict:
    try:
        try:
            doc = _ANY_DECODER.decode(data)
        except msgspec.ValidationError:  # a number out of range: that value is null (counted)
            doc = _salvage(data, None, report)
    except msgspec.DecodeError as exc:  # also from _salvage: the syntax error after the number
        raise _not_json(data, what, exc) from None
    if not isinstance(doc, dict):
        raise ProtocolError(f"{what} is not a JSON object (got {_kind(doc)})")
    return doc


@lru_cache(maxsize=None)
def _fields(typ: type) -> tuple[tuple[str, str, Any], ...]:
    return tuple((f.name, f.encode_name, f.type) for f in msgspec.structs.fields(typ))


def _is_struct(typ: Any) -> bool:
    return isinstance(typ, type) and issubclass(typ, msgspec.Struct)


def _is_datetime(typ: Any) -> bool:
    return typ is datetime


def _allows_none(typ: Any) -> bool:
    return typing.get_origin(typ) in (typing.Union, types.UnionType) and type(None) in typing.get_args(typ)


def _base(typ: Any) -> Any:
    """``Annotated[int, Meta(...)]`` -> ``int``; other types unchanged."""
    if typing.get_origin(typ) is typing.Annotated:
        return typing.get_args(typ)[0]
    return typ


def _empty(typ: Any) -> Any:
    typ = _base(typ)
    origin = typing.get_origin(typ) or typ
    if origin in (typing.Union, types.UnionType):
        return None
    if origin is list:
        return []
    if origin is tuple:
        return ()
    if origin is dict:
        return {}
    if _is_struct(typ):
        return typ()
    if typ in (int, float, str, bool):
        return typ()
    return None


@lru_cache(maxsize=None)
def _has_time(typ: Any) -> bool:
    """Does ``typ`` (transitively) contain a datetime?  Cached per type."""
    if typ is datetime:
        return True
    if _is_struct(typ):
        return any(_has_time(t) for _, _, t in _fields(typ))
    return any(_has_time(a) for a in typing.get_args(typ))


def _clear_zero_times(obj: Any, typ: Any, report: DecodeReport | None = None) -> Any:
    """Go zero times (year 1) -> None, and times from year 9999 on (counted), walking only
    types that hold times."""
    if obj is None or not _has_time(typ):
        return obj
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if len(args) == 1:
            return _clear_zero_times(obj, args[0], report)
        return obj
    if typ is datetime:
        if 1 < obj.year < _MAX_YEAR:
            return obj
        if obj.year > 1 and report is not None:
            report.bad("time", f"out of range ({obj})")
        return None
    if _is_struct(typ):
        for name, _, ftype in _fields(typ):
            if _has_time(ftype):
                setattr(obj, name, _clear_zero_times(getattr(obj, name), ftype, report))
        return obj
    if origin is list:
        (item_t,) = typing.get_args(typ)
        out = [_clear_zero_times(v, item_t, report) for v in obj]
        return [v for v in out if v is not None] if item_t is datetime else out
    if origin is dict:
        _, val_t = typing.get_args(typ)
        out_d = {k: _clear_zero_times(v, val_t, report) for k, v in obj.items()}
        return {k: v for k, v in out_d.items() if v is not None} if val_t is datetime else out_d
    return obj


def _show(value: Any, limit: int = 24) -> str:
    """A short, safe rendering of any untyped value for a note (no deep or huge repr)."""
    if isinstance(value, str):
        return trim(repr(value[: limit + 2]), limit)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if -10**18 < value < 10**18 else ("a huge number" if value > 0 else "a huge negative number")
    return f"<{_kind(value)}>"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if value is _OUT_OF_RANGE:
        return "number out of range"
    return {dict: "object", list: "list", str: "string", bool: "bool",
            int: "int", float: "float"}.get(type(value), type(value).__name__)


def _type_name(typ: Any) -> str:
    return getattr(typ, "__name__", None) or str(typ)
