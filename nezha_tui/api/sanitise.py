"""One sanitiser for every string a Dashboard or an agent sends (issue 9, part 1).

Server, group, service and rule names are set by Dashboard members; host facts
(platform, CPU model, GPU names, sensor names) come from the agent on the
monitored machine.  Any of them can carry bytes a terminal acts on: OSC 52
writes the clipboard, OSC 0 the window title, CSI moves the cursor or clears
the screen, DSR makes the terminal type into our input.  :func:`sanitise`
turns such text into inert, single-line text whose width Rich measures as the
terminal draws it:

* a whole escape sequence (ESC or C1 introducer: CSI, OSC, DCS, SOS, PM, APC,
  and two-byte ``ESC x`` escapes; an unterminated string sequence runs to the
  end of the text, as a terminal would swallow it) becomes one ``␛``;
* tab, newline, CR, VT, FF and the line/paragraph separators (U+2028/9) become
  a space, so a name can never break a row;
* other C0 controls and DEL become their control pictures (``␀``, ``␇``,
  ``␡``...); C1 controls and lone surrogates become ``�``;
* format characters (Unicode category Cf: bidi overrides and isolates
  U+202A-U+202E / U+2066-U+2069, marks such as U+200E/U+200F/U+061C,
  zero-width U+200B/U+200C/U+2060/U+FEFF, soft hyphen, tag characters...) are
  removed, and so are the emoji variation selectors U+FE0E/U+FE0F and the
  skin-tone modifiers U+1F3FB-U+1F3FF (Rich measures them as 0 cells after an
  emoji, terminals without emoji joining draw 2).

The zero width joiner (U+200D) is removed too, also inside emoji sequences
(👨‍👩‍👧 becomes 👨👩👧), and so is VS16: Rich 15 measures a joined sequence as
one 2-cell grapheme and ``❤️`` as 2 cells, but terminals disagree (tmux 3.3
draws the family as three 2-cell emoji, 6 cells, and ``❤️`` as 1), so a row
holding one would be misaligned by the difference.  Without joiners and
selectors every terminal draws what Rich measures.  Combining marks, CJK,
emoji, flags (regional-indicator pairs) and private-use characters are left
alone: Rich's ``cell_len`` measures them as they are drawn.

The function is pure and cheap for clean text: ASCII printable text, and any
text ``str.isprintable()`` accepts (CJK, emoji, accents), is returned as is
(the same object).  :func:`sanitise_obj` applies it to every string of a
decoded REST answer (msgspec Structs, lists, dicts), in place.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from functools import lru_cache
from typing import Any

import msgspec

__all__ = ["sanitise", "sanitise_obj", "is_clean", "escape_json_controls", "ESCAPE_STAND_IN"]

#: What a whole escape sequence becomes.
ESCAPE_STAND_IN = "\u241b"  # ␛
_REPLACEMENT = "\ufffd"  # �

# ESC/C1-introduced sequences, matched whole.  String sequences (OSC, DCS, SOS,
# PM, APC) end at BEL or ST (ESC \ or 0x9c); unterminated, at the end of the text.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"          # CSI ... final
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x9c|\x1b\\)?"  # OSC/DCS/SOS/PM/APC
    r"|\x1b[ -/]*[0-~]?"                          # ESC x, ESC ( B, a lone ESC
)


def _table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for cp in range(0x20):
        table[cp] = chr(0x2400 + cp)  # ␀ ... ␟
    table[0x7F] = "\u2421"  # ␡
    for cp in range(0x80, 0xA0):
        table[cp] = _REPLACEMENT
    for cp in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x2028, 0x2029, 0x85):
        table[cp] = " "
    for cp in range(0xD800, 0xE000):
        table[cp] = _REPLACEMENT
    table[0xFE0E] = table[0xFE0F] = None  # variation selectors: widths terminals disagree on
    for cp in range(0x1F3FB, 0x1F400):  # skin tones: Rich measures 0 cells, terminals draw 2
        table[cp] = None
    for lo, hi in _CF_RANGES:
        for cp in range(lo, hi):
            if cp not in table and unicodedata.category(chr(cp)) == "Cf":
                table[cp] = None
    return table


# where Unicode's format characters (Cf) live; scanning only these keeps the import cheap
_CF_RANGES = ((0, 0x10000), (0x11080, 0x11100), (0x13430, 0x13460), (0x1BCA0, 0x1BCB0),
              (0x1D170, 0x1D180), (0xE0000, 0xE0080))


_TABLE = _table()
# the introducers of escape sequences (else the slow path is one translate())
_SPECIAL = re.compile("[\x1b\x90\x98\x9b\x9d\x9e\x9f]")


def sanitise(s: str) -> str:
    """``s`` as inert single-line text (see the module docstring); pure, never raises."""
    if s.isascii():
        if s.isprintable():
            return s
    elif s.isprintable() and _WIDTH_TROUBLE.search(s) is None:
        return s
    return _slow(s)


_WIDTH_TROUBLE = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")


def _slow(s: str) -> str:
    if _SPECIAL.search(s) is not None:
        s = _SEQUENCE.sub(ESCAPE_STAND_IN, s)
    return s.translate(_TABLE)


def _ranges(cps: list[int]) -> str:
    out, start, prev = [], None, None
    for cp in sorted(cps):
        if start is None:
            start = prev = cp
        elif cp == prev + 1:  # type: ignore[operator]
            prev = cp
        else:
            out.append((start, prev))
            start = prev = cp
    if start is not None:
        out.append((start, prev))
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in out)


# emoji selectors and skin tones: harmless to a terminal, kept readable in JSON
_KEPT_IN_JSON = frozenset(["\ufe0e", "\ufe0f", *map(chr, range(0x1F3FB, 0x1F400))])
# what JSON output must not carry raw: DEL, C1, line/paragraph separators, lone surrogates
# and format characters (bidi, zero-width); json.dumps already escapes C0
_JSON_UNSAFE = re.compile("[" + _ranges(
    [0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, *range(0xD800, 0xE000),
     *(cp for cp, v in _TABLE.items() if v is None and chr(cp) not in _KEPT_IN_JSON)]) + "]")


def _json_escape(m: re.Match[str]) -> str:
    cp = ord(m.group())
    if cp > 0xFFFF:  # a tag character: a surrogate pair, as JSON spells it
        cp -= 0x10000
        return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"
    return f"\\u{cp:04x}"


def escape_json_controls(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with C1 controls, DEL,
    bidi and zero-width characters and lone surrogates written as ``\\uXXXX`` escapes:
    the data stays exact, the terminal or file gets nothing it would act on.  These
    characters only occur inside JSON strings, where an escape means the same."""
    return _JSON_UNSAFE.sub(_json_escape, text)


def is_clean(s: str) -> bool:
    """Would :func:`sanitise` leave ``s`` unchanged?"""
    return sanitise(s) == s


# --------------------------------------------------------------------------- decoded answers

@lru_cache(maxsize=None)
def _text_fields(typ: type) -> tuple[str, ...]:
    """The fields of a Struct type that can hold text (directly or nested)."""
    names = []
    for f in msgspec.structs.fields(typ):
        if _may_hold_text(f.type, set()):
            names.append(f.name)
    return tuple(names)


def _may_hold_text(tp: Any, seen: set[int]) -> bool:
    if tp is str or tp is Any or tp is object:
        return True
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        if id(tp) in seen:
            return False
        seen.add(id(tp))
        return any(_may_hold_text(f.type, seen) for f in msgspec.structs.fields(tp))
    args = getattr(tp, "__args__", None)
    if args:
        return any(_may_hold_text(a, seen) for a in args if a is not Ellipsis)
    return False


def sanitise_obj(obj: Any, _depth: int = 0) -> Any:
    """Sanitise every string in a decoded answer; Structs, lists and dicts in place
    (dataclasses, often frozen, are copied with ``dataclasses.replace``).

    Returns the (possibly new, for str and tuple) object.  Fields whose type cannot
    hold text (e.g. lists of metric points) are not walked.
    """
    if _depth > 64:
        return obj
    if isinstance(obj, str):
        return sanitise(obj)
    if isinstance(obj, msgspec.Struct):
        for name in _text_fields(type(obj)):
            value = getattr(obj, name)
            new = sanitise_obj(value, _depth + 1)
            if new is not value:
                setattr(obj, name, new)
        return obj
    if isinstance(obj, list):
        for i, value in enumerate(obj):
            new = sanitise_obj(value, _depth + 1)
            if new is not value:
                obj[i] = new
        return obj
    if isinstance(obj, tuple):
        items = [sanitise_obj(v, _depth + 1) for v in obj]
        if any(a is not b for a, b in zip(items, obj)):
            return type(obj)(items) if type(obj) is tuple else obj
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            new = sanitise_obj(value, _depth + 1)
            if new is not value:
                changes[f.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    if isinstance(obj, dict):
        for key, value in list(obj.items()):
            new = sanitise_obj(value, _depth + 1)
            new_key = sanitise(key) if isinstance(key, str) else key
            if new_key is not key:
                del obj[key]
                obj[new_key] = new
            elif new is not value:
                obj[key] = new
        return obj
    return obj
