"""Alert rules: the built-in ones and the user's ``[[alerts.rules]]`` from config.toml, and the
rest of the ``[alerts]`` table.

(Skeleton: the dataclasses are the contract; parsing is filled in by the rules work.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Rule", "AlertConfig", "BUILTIN_RULES", "NOTIFY_STYLES"]

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
