"""JSON written the way the Dashboard's Go encoders write it.

The simulated Dashboard must produce the same bytes a client meets in the
wild, so this module writes JSON by Go's rules instead of Python's:

- struct fields keep declaration order; ``omitempty`` drops a field whose
  value is ``false``, ``0``, ``""``, nil, an empty slice or an empty map, but
  never a struct (``{}`` stays) - see :func:`fields`;
- maps (:class:`GoMap`) have their keys written as strings and sorted as
  strings ("1" < "10" < "2"), as ``encoding/json`` does;
- a float64 is printed with the shortest representation that round-trips,
  without ``.0`` when integral (``45``), in exponent form only below 1e-6 or
  from 1e21 on, with ``e-07`` cleaned to ``e-7``; a float32 (:class:`F32`,
  e.g. ``up_percent``) uses the shortest representation of the float32
  (``97.22222``);
- strings escape ``<``, ``>``, ``&``, U+2028 and U+2029 like ``json.Marshal``
  (HTML-safe), other non-ASCII is written as is;
- times are RFC 3339 with nanoseconds, trailing zeros trimmed, and the
  Dashboard's zone offset (``+08:00``; ``Z`` for UTC); Go's zero time is
  ``0001-01-01T00:00:00Z`` (:data:`ZERO_TIME`).

Values: ``None`` -> null, ``bool``, ``int``, ``float``, :class:`F32`,
``str``, :class:`GoTime`, ``list``/``tuple`` (arrays), ``dict`` (a struct,
order kept), :class:`GoMap` (a map), :class:`Raw` (pre-encoded JSON, used to
cache the static parts of stream frames).
"""

from __future__ import annotations

import re
import struct
import time
from decimal import Decimal
from typing import Any

__all__ = [
    "Raw", "F32", "GoMap", "GoTime", "ZERO_TIME", "OMIT", "fields",
    "dumps", "go_float", "go_float32", "go_str", "rfc3339", "rfc3339nano",
]

OMIT = True  # readability marker for fields(): ("key", value, OMIT)


class Raw(str):
    """Pre-encoded JSON inserted verbatim."""

    __slots__ = ()


class F32(float):
    """A Go float32: encoded with the float32's shortest representation."""

    __slots__ = ()


class GoMap(dict):
    """A Go map: keys written as strings and sorted; omitted when empty under omitempty."""

    __slots__ = ()


class GoTime:
    """A point in time: integer nanoseconds since the epoch plus a zone offset in seconds."""

    __slots__ = ("ns", "offset", "nano")

    def __init__(self, ns: int, offset: int = 0, *, nano: bool = True) -> None:
        self.ns = ns
        self.offset = offset
        self.nano = nano  # False: RFC 3339 without fraction

    def encode(self) -> str:
        return rfc3339nano(self.ns, self.offset) if self.nano else rfc3339(self.ns // 1_000_000_000, self.offset)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"GoTime({self.encode()})"


class _ZeroTime(GoTime):
    __slots__ = ()

    def encode(self) -> str:
        return "0001-01-01T00:00:00Z"


#: Go's ``time.Time{}``: what a server that never reported has as ``last_active``.
ZERO_TIME: GoTime = _ZeroTime(0)
ZERO_TIME_JSON = '"0001-01-01T00:00:00Z"'


# --------------------------------------------------------------------------- numbers


def _positional(digits: str) -> str:
    """A shortest-digits repr such as '1e+16' or '1.5e-05' written without exponent."""
    s = format(Decimal(digits), "f")
    return s


def _clean_exp(s: str) -> str:
    # Go: "clean up e-09 to e-9" (only a single leading zero of a negative exponent)
    n = len(s)
    if n >= 4 and s[n - 4] == "e" and s[n - 3] == "-" and s[n - 2] == "0":
        return s[: n - 2] + s[n - 1]
    return s


def go_float(x: float) -> str:
    """A float64 as ``encoding/json`` writes it."""
    r = repr(x)
    if r[-2:] == ".0":  # integral below 1e16 (Python switches to exponent form at 1e16)
        return r[:-2]
    if "e" not in r and "n" not in r and 1e-6 <= abs(x):  # plain shortest digits; 'n': nan/inf
        return r
    return _go_float_slow(x)


def _go_float_slow(x: float) -> str:
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError(f"json: unsupported value: {x!r}")
    if x == 0:
        return "-0" if str(x).startswith("-") else "0"
    a = abs(x)
    if a.is_integer() and a < 1e16:
        return str(int(x))
    r = repr(x)
    if a < 1e-6 or a >= 1e21:
        # exponent form; Python's repr gives e.g. '1e-07', '1.5e+21'
        if "e" not in r:  # pragma: no cover - repr always uses 'e' in these ranges
            r = "%e" % x
        return _clean_exp(r)
    if "e" in r:
        return _positional(r)
    return r


def _f32_shortest(x: float) -> tuple[float, str]:
    x32 = struct.unpack("<f", struct.pack("<f", x))[0]
    for p in range(1, 10):
        s = "%.*g" % (p, x32)
        if struct.unpack("<f", struct.pack("<f", float(s)))[0] == x32:
            return x32, s
    return x32, repr(x32)  # pragma: no cover - 9 digits always round-trip


def go_float32(x: float) -> str:
    """A float32 as ``encoding/json`` writes it (shortest float32 representation)."""
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError(f"json: unsupported value: {x!r}")
    if x == 0:
        return "0"
    x32, s = _f32_shortest(x)
    a = abs(x32)
    if a < 1e-6 or a >= 1e21:
        # rebuild from the shortest digits: d.ddde±XX
        d = Decimal(s)
        sign, digs, e = d.as_tuple()
        digits = "".join(map(str, digs)).rstrip("0") or "0"
        exp10 = e + len(digs) - 1
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        out = ("-" if sign else "") + m + "e" + ("-" if exp10 < 0 else "+") + "%02d" % abs(exp10)
        return _clean_exp(out)
    if "e" in s:
        return _positional(s)
    return s


# --------------------------------------------------------------------------- strings

_SAFE = re.compile(r'[^"\\<>&\x00-\x1f\x7f-\uffff]*\Z')
_ESCAPES = {
    '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
    "\b": "\\b", "\f": "\\f",  # since Go 1.22 (before: \u0008, \u000c)
    "<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
    "\u2028": "\\u2028", "\u2029": "\\u2029",
}
# Go escapes every control below 0x20 (DEL and C1 stay raw), U+2028/9 and <>& (HTML-safe);
# a Go string cannot hold a lone surrogate: invalid UTF-8 is written as \ufffd
_NEEDS = re.compile('["\\\\<>&\u2028\u2029\\x00-\\x1f\ud800-\udfff]')


def _esc(m: "re.Match[str]") -> str:
    c = m.group(0)
    e = _ESCAPES.get(c)
    if e is not None:
        return e
    if "\ud800" <= c <= "\udfff":
        return "\\ufffd"
    return "\\u%04x" % ord(c)


def go_str(s: str) -> str:
    """A JSON string as ``json.Marshal`` writes it (HTML-safe escaping)."""
    if _SAFE.match(s):
        return '"' + s + '"'
    return '"' + _NEEDS.sub(_esc, s) + '"'


# --------------------------------------------------------------------------- times


def _zone(offset: int) -> str:
    if offset == 0:
        return "Z"
    sign = "+" if offset > 0 else "-"
    o = abs(offset)
    return "%s%02d:%02d" % (sign, o // 3600, (o % 3600) // 60)


def rfc3339(seconds: int, offset: int = 0) -> str:
    """``time.RFC3339``: no fraction."""
    t = time.gmtime(seconds + offset)
    return "%04d-%02d-%02dT%02d:%02d:%02d%s" % (t[0], t[1], t[2], t[3], t[4], t[5], _zone(offset))


def rfc3339nano(ns: int, offset: int = 0) -> str:
    """``time.RFC3339Nano``: nanoseconds with trailing zeros trimmed."""
    sec, frac = divmod(ns, 1_000_000_000)
    t = time.gmtime(sec + offset)
    if frac:
        f = ("%09d" % frac).rstrip("0")
        return "%04d-%02d-%02dT%02d:%02d:%02d.%s%s" % (t[0], t[1], t[2], t[3], t[4], t[5], f, _zone(offset))
    return "%04d-%02d-%02dT%02d:%02d:%02d%s" % (t[0], t[1], t[2], t[3], t[4], t[5], _zone(offset))


# --------------------------------------------------------------------------- structure


def _empty(v: Any) -> bool:
    """Go's omitempty test. Structs (plain dicts, GoTime) are never empty."""
    if v is None or v is False:
        return True
    if isinstance(v, (GoMap, list, tuple, str)) and not isinstance(v, Raw):
        return len(v) == 0
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v == 0
    return False


def fields(*items: tuple) -> dict:
    """Build a struct: each item is ``(key, value)`` or ``(key, value, omitempty)``."""
    out: dict = {}
    for it in items:
        if len(it) == 3 and it[2] and _empty(it[1]):
            continue
        out[it[0]] = it[1]
    return out


def _map_key(k: Any) -> str:
    if isinstance(k, bool):  # pragma: no cover - Go has no bool map keys in JSON
        raise TypeError("bool map key")
    return str(k)


def _enc_object(items, out: list[str]) -> None:
    out.append("{")
    first = True
    for k, val in items:
        if not first:
            out.append(",")
        first = False
        out.append(go_str(k))
        out.append(":")
        _enc(val, out)
    out.append("}")


def _enc(v: Any, out: list) -> None:
    if isinstance(v, Raw):
        out.append(v)
    elif isinstance(v, str):
        out.append(go_str(v))
    elif v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, F32):
        out.append(go_float32(v))
    elif isinstance(v, float):
        out.append(go_float(v))
    elif isinstance(v, GoTime):
        out.append('"' + v.encode() + '"')
    elif isinstance(v, GoMap):  # a Go map: keys as strings, sorted (encoding/json sorts map keys)
        _enc_object(sorted(((_map_key(k), val) for k, val in v.items()), key=lambda kv: kv[0]), out)
    elif isinstance(v, dict):  # a Go struct: fields in declaration order
        _enc_object(v.items(), out)
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, val in enumerate(v):
            if i:
                out.append(",")
            _enc(val, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(v).__name__}")


def dumps(v: Any) -> str:
    """Encode ``v`` as compact Go-style JSON."""
    out: list[str] = []
    _enc(v, out)
    return "".join(out)
