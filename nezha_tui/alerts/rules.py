"""Alert rules: the built-in ones and the user's ``[[alerts.rules]]`` from config.toml, and the
rest of the ``[alerts]`` table.

:func:`load_alert_config` checks the table and returns the config with one line per problem,
naming the file and the line (``config.toml:14: alert rule 'hot cpu': unknown metric 'cpux'
(one of cpu, mem, ...)``).  A bad rule is skipped, a bad setting keeps its default, an unknown
key is reported (typo help) and ignored: the app still starts.

tomllib gives no line numbers, so lines are found by scanning the text: the n-th
``[[alerts.rules]]`` header is the n-th rule, and a key's line is looked for inside its block.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field

__all__ = [
    "Rule", "AlertConfig", "BUILTIN_RULES", "NOTIFY_STYLES", "load_alert_config", "parse_duration",
    "DEFAULT_CONFIG",
]

BUILTIN_RULES = ("offline", "service_down", "quota", "expiry")
"""Built-in rules, on by default; ``[alerts] disable = ["expiry"]`` turns one off."""

NOTIFY_STYLES = ("off", "osc777", "osc9", "osc99")


@dataclass(frozen=True, slots=True)
class Rule:
    """One metric rule: ``metric`` above/below a threshold, sustained ``for_s`` seconds."""

    name: str
    metric: str
    """A key of :data:`nezha_tui.alerts.rule_engine.METRICS` (cpu, mem, swap, disk, load1, ...)."""
    above: float | None = None
    below: float | None = None
    for_s: float = 0.0
    """Seconds the condition must hold (Dashboard clock) before the rule fires."""
    servers: str | None = None
    """A glob on server names (``"fra-*"``), case-insensitive; ``None``: every server."""
    group: str | None = None
    """A server group's name; ``None``: every server."""
    line: int | None = None
    """Line of its ``[[alerts.rules]]`` header in the config file (for messages)."""


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """The ``[alerts]`` table of config.toml, checked."""

    rules: tuple[Rule, ...] = ()
    disabled: frozenset[str] = frozenset()
    """Built-in rules turned off (names from :data:`BUILTIN_RULES`)."""
    quota_percent: float = 90.0
    """The built-in quota rule's threshold (quota events are also logged at 80 and 100 %)."""
    expiry_days: int = 7
    notify: str = "off"
    """Terminal notifications: one of :data:`NOTIFY_STYLES`."""
    on_event: tuple[str, ...] = ()
    """The hook's argv (``[]``: none); ``--on-event`` overrides it."""
    hook_timeout: float = 10.0
    hook_max: int = 4
    """Hooks running at once; more wait (up to a bound, then are dropped and counted)."""
    log_max_bytes: int = 5_000_000
    extra: dict[str, object] = field(default_factory=dict)

    def enabled(self, builtin: str) -> bool:
        return builtin not in self.disabled


DEFAULT_CONFIG = AlertConfig()

# --------------------------------------------------------------------------- durations

_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([dhms])", re.I)
_UNIT_S = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
MAX_FOR_S = 30 * 86400.0
"""The longest ``for`` accepted (30 days)."""


def parse_duration(value: object) -> float | None:
    """``"90s"``, ``"5m"``, ``"1h"``, ``"1h30m"``, ``"2d"``, ``"1h 30m"``, a number of seconds (``90``,
    ``"90"``, ``1.5``) -> seconds; ``None`` when it is none of these, negative or over 30 days."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        try:
            seconds = float(text)
        except ValueError:
            seconds = 0.0
            pos = 0
            seen: set[str] = set()
            while pos < len(text):
                m = _DURATION_PART.match(text, pos)
                if m is None or m.group(2) in seen:
                    return None
                seen.add(m.group(2))
                seconds += float(m.group(1)) * _UNIT_S[m.group(2)]
                pos = m.end()
                while pos < len(text) and text[pos] == " ":
                    pos += 1
    else:
        return None
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_FOR_S:
        return None
    return seconds


# --------------------------------------------------------------------------- where things are in the text

_RULE_HEADER = re.compile(r"""^\s*\[\[\s*(?:alerts|"alerts"|'alerts')\s*\.\s*(?:rules|"rules"|'rules')\s*\]\]""")
_ALERTS_HEADER = re.compile(r"""^\s*\[\s*(?:alerts|"alerts"|'alerts')\s*\]""")
_ANY_HEADER = re.compile(r"^\s*\[")


class _Lines:
    """Line numbers (1-based) of the ``[alerts]`` table, the rule headers and keys, found by scanning."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.rule_headers = [i for i, line in enumerate(self.lines) if _RULE_HEADER.match(line)]
        self.alerts_header = next((i for i, line in enumerate(self.lines) if _ALERTS_HEADER.match(line)), None)

    def _block_end(self, start: int) -> int:
        for j in range(start + 1, len(self.lines)):
            if _ANY_HEADER.match(self.lines[j]):
                return j
        return len(self.lines)

    def _key_in(self, start: int, end: int, key: str) -> int | None:
        pattern = re.compile(r"""^\s*(?:%s|"%s"|'%s')\s*=""" % ((re.escape(key),) * 3))
        for j in range(start, end):
            if pattern.match(self.lines[j]):
                return j + 1
        return None

    def rule(self, index: int, count: int, key: str | None = None) -> int | None:
        """The line of rule ``index`` (of ``count``) or of its ``key``."""
        if len(self.rule_headers) == count:
            start = self.rule_headers[index]
            if key is not None:
                found = self._key_in(start + 1, self._block_end(start), key)
                if found is not None:
                    return found
            return start + 1
        return self.alerts_key("rules")  # written some other way (an inline array): the best guess

    def alerts_key(self, key: str | None) -> int | None:
        """The line of ``key`` in ``[alerts]`` (or of ``alerts.key = ...``), else of ``[alerts]``."""
        if key is not None:
            if self.alerts_header is not None:
                start = self.alerts_header
                found = self._key_in(start + 1, self._block_end(start), key)
                if found is not None:
                    return found
            dotted = re.compile(r"""^\s*(?:alerts|"alerts")\s*\.\s*(?:%s|"%s")\s*=""" % ((re.escape(key),) * 2))
            for j, line in enumerate(self.lines):
                if dotted.match(line):
                    return j + 1
        if self.alerts_header is not None:
            return self.alerts_header + 1
        if self.rule_headers:
            return self.rule_headers[0] + 1
        plain = re.compile(r"""^\s*(?:alerts|"alerts"|'alerts')\s*[=.]""")
        return next((j + 1 for j, line in enumerate(self.lines) if plain.match(line)), None)


# --------------------------------------------------------------------------- checking

_RULE_KEYS = ("name", "metric", "above", "below", "for", "servers", "group")
_ALERT_KEYS = ("rules", "disable", "quota_percent", "expiry_days", "notify", "on_event", "hook_timeout",
               "hook_max", "log_max_bytes")
_NAME_MAX = 80


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"


def _show(value: object) -> str:
    """A value as it appears in a message: short, one line, no control characters."""
    from nezha_tui.api.sanitise import sanitise

    text = repr(value) if not isinstance(value, str) else "'" + value + "'"
    text = sanitise(text)
    return text if len(text) <= 40 else text[:39] + "…"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _fmt_threshold(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else repr(value)


def load_alert_config(text: str, path: str) -> tuple[AlertConfig, list[str]]:
    """Check the ``[alerts]`` table of config.toml ``text`` (read from ``path``, named in messages).

    Returns the config (defaults for what is absent or bad) and the problems, one line each,
    ``"PATH:LINE: ..."``.  Never raises.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", message)
        where = f"{path}:{m.group(1)}" if m else path
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) or "bad TOML"
        return AlertConfig(), [f"{where}: not valid TOML ({message}): alert rules and settings not read"]
    except (RecursionError, ValueError, TypeError):
        return AlertConfig(), [f"{path}: not valid TOML (nested too deeply): alert rules and settings not read"]
    return check_alert_table(data.get("alerts"), text, path)


def check_alert_table(table: object, text: str, path: str) -> tuple[AlertConfig, list[str]]:
    """:func:`load_alert_config` on an already parsed ``[alerts]`` value (``None``: absent)."""
    problems: list[str] = []
    if table is None:
        return AlertConfig(), problems
    lines = _Lines(text)

    def problem(line: int | None, message: str) -> None:
        problems.append(f"{path}:{line}: {message}" if line is not None else f"{path}: {message}")

    if not isinstance(table, dict):
        problem(lines.alerts_key(None), "[alerts] must be a table; alert settings not read")
        return AlertConfig(), problems

    values: dict[str, object] = {}
    extra: dict[str, object] = {}
    for key, value in table.items():
        if key not in _ALERT_KEYS:
            problem(lines.alerts_key(key), f"unknown key {_show(key)} in [alerts]{_did_you_mean(key, _ALERT_KEYS)}")
            extra[key] = value
            continue
        if key == "rules":
            continue
        checked = _check_setting(key, value)
        if isinstance(checked, _Bad):
            problem(lines.alerts_key(key), f"[alerts] {key}: {checked.reason}")
        else:
            values["disabled" if key == "disable" else key] = checked

    rules: list[Rule] = []
    raw_rules = table.get("rules", [])
    if not isinstance(raw_rules, list):
        problem(lines.alerts_key("rules"), "[alerts] rules must be an array of tables ([[alerts.rules]]); "
                                           "no rule read")
        raw_rules = []
    names: dict[str, int | None] = {}
    for index, raw in enumerate(raw_rules):
        rule = _check_rule(raw, index, len(raw_rules), lines, problem)
        if rule is None:
            continue
        if rule.name in names:
            taken = names[rule.name]
            n = 2
            while f"{rule.name} ({n})" in names:
                n += 1
            new_name = f"{rule.name} ({n})"
            at = f" at line {taken}" if taken is not None else ""
            problem(rule.line, f"alert rule {_show(rule.name)}: the rule{at} has this name too; "
                               f"this one is called {_show(new_name)}")
            rule = _replace_name(rule, new_name)
        names[rule.name] = rule.line
        rules.append(rule)
    config = AlertConfig(rules=tuple(rules), extra=extra, **values)  # type: ignore[arg-type]
    return config, problems


def _replace_name(rule: Rule, name: str) -> Rule:
    from dataclasses import replace

    return replace(rule, name=name)


class _Bad:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _check_setting(key: str, value: object) -> object:
    """The checked value of one ``[alerts]`` setting (its AlertConfig form), or a :class:`_Bad`."""
    if key == "disable":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _Bad(f"must be a list of built-in rule names ({', '.join(BUILTIN_RULES)}), not {_show(value)}")
        unknown = [v for v in value if v not in BUILTIN_RULES]
        if unknown:
            return _Bad(f"unknown built-in rule {_show(unknown[0])} (one of {', '.join(BUILTIN_RULES)})")
        return frozenset(value)
    if key == "quota_percent":
        number = _number(value)
        if number is None or not 0 < number <= 1000:
            return _Bad(f"must be a percentage above 0 (like 90), not {_show(value)}")
        return number
    if key == "expiry_days":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
            return _Bad(f"must be a whole number of days from 0 to 3650, not {_show(value)}")
        return value
    if key == "notify":
        if value not in NOTIFY_STYLES:
            return _Bad(f"must be one of {', '.join(repr(s) for s in NOTIFY_STYLES)}, not {_show(value)}")
        return value
    if key == "on_event":
        if (not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value)
                or not value[0].strip()):
            return _Bad(f'must be a command as a list of strings, like ["notify-send", "nezha"] '
                        f"(never run through a shell), not {_show(value)}")
        return tuple(value)
    if key == "hook_timeout":
        number = _number(value)
        if number is None or not 0 < number <= 3600:
            return _Bad(f"must be seconds from 0 to 3600 (like 10), not {_show(value)}")
        return number
    if key == "hook_max":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
            return _Bad(f"must be a whole number from 1 to 64, not {_show(value)}")
        return value
    if key == "log_max_bytes":
        if isinstance(value, bool) or not isinstance(value, int) or not 10_000 <= value <= 1 << 40:
            return _Bad(f"must be a whole number of bytes, at least 10000 (like 5000000), not {_show(value)}")
        return value
    return _Bad("unknown")  # pragma: no cover - every key of _ALERT_KEYS is handled above


def _check_rule(raw: object, index: int, count: int, lines: _Lines, problem) -> Rule | None:
    from nezha_tui.alerts.rule_engine import METRICS
    from nezha_tui.api.sanitise import sanitise

    header = lines.rule(index, count)
    if not isinstance(raw, dict):
        problem(header, f"alert rule {index + 1}: must be a table ([[alerts.rules]]), not {_show(raw)}; skipped")
        return None

    def at(key: str) -> int | None:
        return lines.rule(index, count, key)

    ok = True
    for key in raw:
        if key not in _RULE_KEYS:
            label = f"alert rule {_show(raw['name'])}" if isinstance(raw.get("name"), str) else \
                f"alert rule {index + 1}"
            problem(at(key), f"{label}: unknown key {_show(key)}{_did_you_mean(key, _RULE_KEYS)}")

    metric = raw.get("metric")
    above, below = raw.get("above"), raw.get("below")
    name = raw.get("name")
    default_name = None
    if isinstance(metric, str) and metric in METRICS:
        threshold, word = (above, "above") if above is not None else (below, "below")
        number = _number(threshold)
        if number is not None:
            default_name = f"{metric} {word} {_fmt_threshold(number)}"
    if name is None:
        label_name = default_name or f"rule {index + 1}"
    elif isinstance(name, str) and name.strip():
        label_name = sanitise(name.strip())
        if len(label_name) > _NAME_MAX:
            label_name = label_name[:_NAME_MAX - 1] + "…"
    else:
        label_name = default_name or f"rule {index + 1}"
        problem(at("name"), f"alert rule {index + 1}: name must be a non-empty string, not {_show(name)}; "
                            f"called {_show(label_name)}")
    label = f"alert rule {_show(label_name)}" if name is not None or default_name else f"alert rule {index + 1}"

    if metric is None:
        problem(header, f"{label}: no metric (one of {', '.join(METRICS)}); skipped")
        ok = False
    elif not isinstance(metric, str) or metric not in METRICS:
        problem(at("metric"), f"{label}: unknown metric {_show(metric)} (one of {', '.join(METRICS)}); skipped")
        ok = False

    threshold_value: float | None = None
    if above is None and below is None:
        problem(header, f"{label}: needs a threshold: above = N or below = N; skipped")
        ok = False
    elif above is not None and below is not None:
        problem(at("below"), f"{label}: has both above and below (one rule, one threshold: "
                             f"write two rules); skipped")
        ok = False
    else:
        key = "above" if above is not None else "below"
        threshold_value = _number(raw[key])
        if threshold_value is None:
            problem(at(key), f"{label}: {key} must be a number, not {_show(raw[key])}; skipped")
            ok = False

    for_s = 0.0
    if "for" in raw:
        parsed = parse_duration(raw["for"])
        if parsed is None:
            problem(at("for"), f"{label}: bad duration for = {_show(raw['for'])} (like \"90s\", \"5m\", "
                               f"\"1h30m\" or a number of seconds, at most 30 days); skipped")
            ok = False
        else:
            for_s = parsed

    filters: dict[str, str | None] = {"servers": None, "group": None}
    for key, what in (("servers", "a glob on server names, like \"fra-*\""), ("group", "a group's name")):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            problem(at(key), f"{label}: {key} must be {what}, not {_show(value)}; skipped")
            ok = False
        else:
            filters[key] = value.strip()

    if not ok:
        return None
    assert isinstance(metric, str) and threshold_value is not None
    return Rule(
        name=label_name, metric=metric,
        above=threshold_value if above is not None else None,
        below=threshold_value if below is not None else None,
        for_s=for_s, servers=filters["servers"], group=filters["group"], line=header,
    )


DEMO_RULE = Rule(name="hot cpu (demo)", metric="cpu", above=90.0, for_s=30.0)
"""``--demo`` adds it when the config has no rules: the demo's story runs a server hot for a minute."""
