"""The one tolerant decoding place of nezha-tui.

Two entry points:

* :func:`decode_frame` for documents of the live stream ``/api/v1/ws/server``;
* :func:`decode_data` for REST answers in the ``{"success", "data", "error"}``
  envelope.

Both try msgspec's typed decoder first (fast, ~4 ms for 1,000 servers).  A
typed decode is all-or-nothing: one wrong type anywhere fails the whole
document.  Then the slow path decodes untyped and converts piece by piece:
per server (stream) or per item (REST lists), and when an object still fails,
per field: good fields are kept, bad ones get their default and are counted in
a :class:`DecodeReport`.  ``null`` and absent are treated alike everywhere
(Go's ``omitempty``, proxies and forks).  Go's zero time
``0001-01-01T00:00:00Z`` becomes ``None``.

Nothing here raises except :class:`~nezha_tui.api.errors.ProtocolError` (the
document is not JSON or not an object) and, in :func:`decode_data`, the typed
error of an ``{"error": ...}`` envelope.
"""

from __future__ import annotations

import gc
import math
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

import msgspec

from .errors import ProtocolError, error_from_text, trim
from .models import StreamFrame, StreamServer

__all__ = ["DecodeReport", "decode_frame", "decode_data", "convert_lenient"]

T = TypeVar("T")
_MAX_NOTES = 12
_BAD = object()  # sentinel: this value could not be used


@dataclass
class DecodeReport:
    """What the tolerant path had to repair in one document."""

    bad_fields: int = 0  # values replaced by their default (or list items dropped)
    dropped_servers: int = 0  # servers without a usable id
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


def decode_frame(data: bytes | str) -> tuple[StreamFrame, DecodeReport]:
    """Decode one stream document.  Never raises except ProtocolError."""
    # A frame allocates ~10 objects per server that all survive; the cyclic GC
    # would walk them again and again while they are created (measured: 30-50 %
    # of the decode time at 10,000 servers).  Pause it for the duration.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _decode_frame(data)
    except UnicodeDecodeError as exc:  # msgspec < 0.23 on bytes that are not UTF-8
        raise ProtocolError(f"stream frame is not UTF-8: {exc.reason}") from None
    finally:
        if paused:
            gc.enable()


def _decode_frame(data: bytes | str) -> tuple[StreamFrame, DecodeReport]:
    report = DecodeReport()
    try:
        frame = _FRAME_DECODER.decode(data)
    except msgspec.ValidationError:
        frame = _decode_frame_slow(data, report)
    except msgspec.DecodeError as exc:
        raise _not_json(data, "stream frame", exc) from None
    else:
        bad_ids = False
        for s in frame.servers:
            la = s.last_active
            if la is not None and la.year <= 1:
                s.last_active = None
            if s.id <= 0:
                bad_ids = True
        if bad_ids:  # absent (0) or negative ids: nothing can refer to such a server
            kept = []
            for i, s in enumerate(frame.servers):
                if s.id > 0:
                    kept.append(s)
                else:
                    report.dropped_servers += 1
                    report.note(f"servers[{i}]: dropped, unusable id {s.id}")
            frame.servers = kept
    return frame, report


class _RawFrame(msgspec.Struct):
    """A frame whose servers are left undecoded, to decode them one by one."""

    now: Any = 0
    online: Any = 0
    servers: list[msgspec.Raw] | None = None


_RAW_FRAME_DECODER = msgspec.json.Decoder(_RawFrame)
_SERVER_DECODER = msgspec.json.Decoder(StreamServer)


def _decode_frame_slow(data: bytes | str, report: DecodeReport) -> StreamFrame:
    """Per-server decoding: good servers still take the typed path, bad ones are repaired."""
    try:
        raw = _RAW_FRAME_DECODER.decode(data)
    except msgspec.ValidationError:
        return _decode_frame_untyped(data, report)
    except msgspec.DecodeError as exc:
        raise _not_json(data, "stream frame", exc) from None
    now = convert_lenient(raw.now, int, report, "now")
    online = convert_lenient(raw.online, int, report, "online")
    servers: list[StreamServer] = []
    for i, item in enumerate(raw.servers or ()):
        try:
            server = _SERVER_DECODER.decode(item)
        except msgspec.ValidationError:
            server = _server(_ANY_DECODER.decode(item), report, f"servers[{i}]")
            if server is not None:
                servers.append(server)
            continue
        if server.id <= 0:
            report.dropped_servers += 1
            report.note(f"servers[{i}]: dropped, unusable id {server.id}")
            continue
        la = server.last_active
        if la is not None and la.year <= 1:
            server.last_active = None
        servers.append(server)
    return StreamFrame(now=now, online=online, servers=servers)


def _decode_frame_untyped(data: bytes | str, report: DecodeReport) -> StreamFrame:
    doc = _untyped(data, "stream frame")
    now = convert_lenient(doc.get("now"), int, report, "now")
    online = convert_lenient(doc.get("online"), int, report, "online")
    raw = doc.get("servers")
    servers: list[StreamServer] = []
    if raw is not None and not isinstance(raw, list):
        report.bad("servers", f"expected a list, got {_kind(raw)}")
        raw = None
    for i, item in enumerate(raw or ()):
        server = _server(item, report, f"servers[{i}]")
        if server is not None:
            servers.append(server)
    return StreamFrame(now=now, online=online, servers=servers)


def _server(item: Any, report: DecodeReport, path: str) -> StreamServer | None:
    if not isinstance(item, dict):
        report.dropped_servers += 1
        report.note(f"{path}: dropped, expected an object, got {_kind(item)}")
        return None
    sid = _usable_id(item.get("id"))
    if sid is None:
        report.dropped_servers += 1
        report.note(f"{path}: dropped, unusable id {trim(repr(item.get('id')), 30)}")
        return None
    path = f"server {sid}"
    try:
        server = msgspec.convert({k: v for k, v in item.items() if v is not None},
                                 StreamServer, strict=False)
    except msgspec.ValidationError:
        server = _struct_fields(item, StreamServer, report, path)
    else:
        la = server.last_active
        if la is not None and la.year <= 1:
            server.last_active = None
    server.id = sid
    return server


def _usable_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and value > 0:
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
    """
    if report is None:
        report = DecodeReport()
    try:
        env = _envelope_decoder(typ).decode(body)
    except msgspec.ValidationError:
        doc = _untyped(body, "answer")
        success = doc.get("success") is True
        err = doc.get("error")
        if not success and err not in (None, ""):
            raise error_from_text(err if isinstance(err, str) else str(err))
        data = doc.get("data")
        if not success and data is None:
            raise ProtocolError("the answer has neither data nor an error")
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
        return _clear_zero_times(env.data, typ)
    return env.data


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
        return _clear_zero_times(out, typ) if _has_time(typ) else out
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
            return _clear_zero_times(out, typ) if _has_time(typ) else out
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
            key = _scalar(k, key_t, report, f"{path} key {trim(repr(k), 20)}")
            if key is _BAD:
                continue
            got = _lenient(v, val_t, report, f"{path}[{k}]")
            if got is _BAD or (got is None and _is_datetime(val_t)):
                continue  # a zero time in a map of times: the entry means nothing
            out_d[key] = got
        return out_d
    return _scalar(value, typ, report, path)


def _scalar(value: Any, typ: Any, report: DecodeReport, path: str) -> Any:
    if typ is Any:
        return value
    if typ is int and isinstance(value, float) and math.isfinite(value) and not isinstance(value, bool):
        return round(value)  # a fork printing 1.5e9 for bytes: accept it
    try:
        out = msgspec.convert(value, typ, strict=False)
    except msgspec.ValidationError:
        report.bad(path, f"expected {_type_name(typ)}, got {_kind(value)} {trim(repr(value), 24)}")
        return _BAD
    if isinstance(out, datetime) and out.year <= 1:
        return None
    return out


def _struct_fields(value: dict, typ: type, report: DecodeReport, path: str) -> Any:
    kwargs = {}
    for name, key, ftype in _fields(typ):
        if key not in value:
            continue
        got = _lenient(value[key], ftype, report, f"{path}.{key}")
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


def _untyped(data: bytes | str, what: str) -> dict:
    try:
        doc = _ANY_DECODER.decode(data)
    except msgspec.DecodeError as exc:
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


def _empty(typ: Any) -> Any:
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


def _clear_zero_times(obj: Any, typ: Any) -> Any:
    """Go zero times (year 1) -> None, walking only types that hold times."""
    if obj is None or not _has_time(typ):
        return obj
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if len(args) == 1:
            return _clear_zero_times(obj, args[0])
        return obj
    if typ is datetime:
        return None if obj.year <= 1 else obj
    if _is_struct(typ):
        for name, _, ftype in _fields(typ):
            if _has_time(ftype):
                setattr(obj, name, _clear_zero_times(getattr(obj, name), ftype))
        return obj
    if origin is list:
        (item_t,) = typing.get_args(typ)
        out = [_clear_zero_times(v, item_t) for v in obj]
        return [v for v in out if v is not None] if item_t is datetime else out
    if origin is dict:
        _, val_t = typing.get_args(typ)
        out_d = {k: _clear_zero_times(v, val_t) for k, v in obj.items()}
        return {k: v for k, v in out_d.items() if v is not None} if val_t is datetime else out_d
    return obj


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "list", str: "string", bool: "bool",
            int: "int", float: "float"}.get(type(value), type(value).__name__)


def _type_name(typ: Any) -> str:
    return getattr(typ, "__name__", None) or str(typ)
