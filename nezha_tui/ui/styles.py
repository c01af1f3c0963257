"""Theme -> Rich style: the one place that turns a theme's variables into colours and styles.

``theme`` below is a mapping of Textual's theme variables (``app.theme_variables``: ``"warning"
-> "#FEA62B"``...); a plain ``dict`` works too (tests).  Nothing here raises on a bad value: a
colour that does not parse falls back to a default.

Severity colours (warn, critical) are *derived* from the theme: its ``warning`` / ``error``
colours with their lightness moved until the WCAG contrast against every background they are
drawn on (``background``, ``surface``, ``panel``) is at least :data:`MIN_CONTRAST`, and moved
apart when the two look alike.  An ANSI theme (``ansi-dark``, ``ansi-light``: the terminal
decides the colours, so contrast cannot be measured) uses bold named ANSI colours: yellow
(magenta on a light theme, where yellow is unreadable) for warn, red for critical.

Under NO_COLOR (Textual turns every colour into a grey) warn and critical take the normal text
colour, so they are never dimmer than a normal value, and are told apart by bold (warn) and
bold + underline (critical): see :func:`emphasis`.

Selection (the table's cursor row, the selected card) and plot lines never use a colour that
looks like a severity colour: :func:`selection_colors`, :func:`plot_palette`.

:class:`~nezha_tui.ui.app.NezhaApp` publishes the derived colours as CSS variables
(:func:`css_variables`), so ``.tcss`` and ``DEFAULT_CSS`` use ``$nezha-warn``,
``$nezha-crit``, ``$nezha-severity-style``, ``$nezha-accent``, ``$nezha-cursor-background`` and
``$nezha-cursor-blurred-background``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rich.style import Style
from textual.color import Color, rgb_to_lab

__all__ = [
    "NO_COLOR_KEY", "DARK_KEY", "MIN_CONTRAST", "Severity", "no_color", "emphasis", "theme_color", "theme_style",
    "rich_color_name", "severity", "severity_style", "selection_colors", "plot_palette", "plot_colors", "css_variables",
    "contrast", "luminance", "color_distance", "is_ansi_theme",
]

DARK_KEY = "nezha-dark"
"""``"1"`` in ``app.theme_variables`` for a dark theme, ``"0"`` for a light one (an ANSI theme's
background is the terminal's: its lightness cannot be measured)."""

NO_COLOR_KEY = "nezha-no-color"
"""Set (to ``"1"``) in ``app.theme_variables`` when the app runs under NO_COLOR (see
``NezhaApp.get_css_variables``): what takes a theme mapping learns it from there."""

MIN_CONTRAST = 4.5
"""WCAG AA for normal text: what a severity colour keeps against each of its backgrounds."""

SURFACES = ("background", "surface", "panel")
"""The backgrounds severity values are drawn on: the screen, and the cards' / detail's panels."""

MIN_DISTANCE = 20.0
"""Two colours closer than this (CIE76 delta E, Lab) are taken as "the same colour" by the eye
at a glance: warn vs critical, and a severity colour vs a selection or plot colour."""

SEVERITY_ROLES = ("warning", "error")
"""Theme roles that mean a severity in Rich text (``theme_style(theme, "warning")``)."""

_FALLBACK_COLORS = {
    "success": "#4EBF71", "warning": "#ffa62b", "error": "#ba3c5b", "primary": "#0178D4",
    "accent": "#ffa62b", "secondary": "#004578", "foreground-muted": "#808080", "foreground": "#e0e0e0",
    "background": "#121212", "panel-lighten-2": "#464646",
}


# --------------------------------------------------------------------------- NO_COLOR


def no_color(theme: Mapping[str, str] | Any) -> bool:
    """The theme mapping comes from an app under NO_COLOR (colours become shades of grey)."""
    try:
        return bool(theme.get(NO_COLOR_KEY))
    except Exception:
        return False


def emphasis(theme: Mapping[str, str] | Any, role: str) -> Style:
    """What a severity ``role`` adds besides its colour: bold on an ANSI theme (the terminal's
    colours may be faint), and under NO_COLOR ``warning`` is bold and ``error`` bold and
    underlined (they must stand out when every colour is a grey); nothing otherwise."""
    if role not in SEVERITY_ROLES:
        return Style()
    if no_color(theme):
        return Style(bold=True, underline=role == "error")
    return Style(bold=True) if severity(theme).bold else Style()


# --------------------------------------------------------------------------- colours


def _get(theme: Mapping[str, str] | Any, role: str) -> str:
    try:
        return str(theme.get(role, "") or "")
    except Exception:
        return ""


def _parse(raw: str) -> Color | None:
    try:
        return Color.parse(raw)
    except Exception:
        return None


def _background(theme: Mapping[str, str] | Any) -> Color:
    return _parse(_get(theme, "background")) or Color(18, 18, 18)


def theme_color(theme: Mapping[str, str] | Any, role: str) -> Color | None:
    """Theme variable ``role`` (or a colour in Textual's syntax) as a ``Color``; a translucent one
    (``foreground-muted`` is ``"#E0E0E099"``) is blended over the background, as the terminal
    shows it.  Severity roles give the derived colours (:func:`severity`).  ``None``: unknown."""
    if not role:
        return None
    if role in SEVERITY_ROLES:
        derived = severity(theme)
        return _parse(derived.warn if role == "warning" else derived.crit)
    for candidate in (_get(theme, role), _FALLBACK_COLORS.get(role, ""), role):
        c = _parse(candidate) if candidate else None
        if c is None:
            continue
        if c.a < 1:
            c = _background(theme) + c
        return c
    return None


def theme_style(theme: Mapping[str, str] | Any, role: str, *, bold: bool = False, italic: bool = False) -> Style:
    """A Rich ``Style`` in the colour of theme variable ``role`` (never raises; ``""`` gives the
    plain style).  ``warning`` / ``error`` are the severity colours (:func:`severity`) with
    :func:`emphasis` (bold / underline under NO_COLOR)."""
    c = theme_color(theme, role)
    style = Style(bold=bold, italic=italic) if c is None else Style(color=c.rich_color, bold=bold, italic=italic)
    return style + emphasis(theme, role) if role in SEVERITY_ROLES else style


def rich_color_name(theme: Mapping[str, str] | Any, role: str, fallback: str) -> str:
    """:func:`theme_color` in Rich's style syntax (``"#fea62b"``, ``"color(3)"`` for an ANSI one)."""
    c = theme_color(theme, role)
    return fallback if c is None else c.rich_color.name


# --------------------------------------------------------------------------- contrast


def luminance(c: Color) -> float:
    """WCAG 2 relative luminance of an opaque colour."""

    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def contrast(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio (1 to 21)."""
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def color_distance(a: Color, b: Color) -> float:
    """CIE76 delta E between two colours (about 2.3: just noticeable; :data:`MIN_DISTANCE`: clearly apart)."""
    la, lb = rgb_to_lab(a), rgb_to_lab(b)
    return float(((la.L - lb.L) ** 2 + (la.a - lb.a) ** 2 + (la.b - lb.b) ** 2) ** 0.5)


def is_ansi_theme(theme: Mapping[str, str] | Any) -> bool:
    """The theme leaves colours to the terminal (its background is ``ansi_default``)."""
    c = _parse(_get(theme, "background"))
    return c is None or c.ansi is not None


def _surfaces(theme: Mapping[str, str] | Any) -> list[Color]:
    bg = _background(theme)
    out = [bg]
    for role in SURFACES[1:]:
        c = _parse(_get(theme, role))
        if c is not None:
            out.append(bg + c if c.a < 1 else c)
    return out


def _readable(c: Color, backgrounds: list[Color]) -> Color | None:
    """``c`` with its lightness moved (the least that does it) until its contrast against every
    background is at least :data:`MIN_CONTRAST`; None if no lightness does."""
    if min(contrast(c, bg) for bg in backgrounds) >= MIN_CONTRAST:
        return c
    h, s, light = c.hsl
    for step in range(1, 101):
        for direction in (1, -1):
            level = light + direction * step / 100
            if not 0.0 <= level <= 1.0:
                continue
            candidate = Color.from_hsl(h, s, level)
            if min(contrast(candidate, bg) for bg in backgrounds) >= MIN_CONTRAST:
                return candidate
    return None


def _toward(h: float, target: float, step: float) -> float:
    """Hue ``h`` moved by ``step`` (fractions of the circle) the short way toward ``target``."""
    diff = (target - h + 0.5) % 1.0 - 0.5
    if abs(diff) <= step:
        return target
    return (h + step * (1 if diff > 0 else -1)) % 1.0


@dataclass(frozen=True)
class Severity:
    """The severity colours of one theme, in Textual's colour syntax (``"#FFB347"``,
    ``"ansi_yellow"``); ``bold``: the theme's colours alone may not carry it (ANSI)."""

    warn: str
    crit: str
    bold: bool = False


@lru_cache(maxsize=64)
def _severity(background: str, surface: str, panel: str, warning: str, error: str, foreground: str,
              dark: bool, monochrome: bool) -> Severity:
    theme = {"background": background, "surface": surface, "panel": panel, "warning": warning,
             "error": error, "foreground": foreground}
    if monochrome:  # every colour becomes a grey: take the normal text's, never a dimmer one
        fg = _parse(foreground)
        plain = fg.hex if fg is not None and fg.ansi is None and fg.a == 1 else foreground or "#e0e0e0"
        return Severity(plain, plain, bold=True)
    if is_ansi_theme(theme):
        return Severity("ansi_yellow" if dark else "ansi_magenta", "ansi_red", bold=True)
    backgrounds = _surfaces(theme)
    fg = theme_color(theme, "foreground") or Color(224, 224, 224)
    crit_raw = _parse(error) or Color.parse(_FALLBACK_COLORS["error"])
    crit = _readable(crit_raw, backgrounds) or fg
    warn_raw = _parse(warning) or Color.parse(_FALLBACK_COLORS["warning"])
    warn = _readable(warn_raw, backgrounds) or fg
    # warn like critical (solarized: orange next to red), or like the text: turn warn toward amber-yellow
    h, s, light = warn_raw.hsl
    s = max(s, 0.6)
    for _ in range(60):
        if color_distance(warn, crit) >= MIN_DISTANCE and color_distance(warn, fg) >= MIN_DISTANCE:
            break
        h = _toward(h, 0.13, 0.02)  # 47 degrees: amber
        s = min(1.0, s + 0.02)
        warn = _readable(Color.from_hsl(h, s, light), backgrounds) or warn
    return Severity(warn.hex, crit.hex)


def severity(theme: Mapping[str, str] | Any) -> Severity:
    """The theme's severity colours (cached per theme: cheap to call per frame)."""
    bg = _get(theme, "background")
    dark = _get(theme, DARK_KEY)
    is_dark = dark == "1" if dark in ("0", "1") else luminance(_background(theme)) < 0.2
    return _severity(bg, _get(theme, "surface"), _get(theme, "panel"), _get(theme, "warning"),
                     _get(theme, "error"), _get(theme, "foreground"), is_dark, no_color(theme))


def severity_style(theme: Mapping[str, str] | Any, level: str | None) -> Style:
    """The style of a value at ``level`` (``"warn"``, ``"crit"``; anything else: plain)."""
    if level == "warn":
        return theme_style(theme, "warning")
    if level == "crit":
        return theme_style(theme, "error")
    return Style()


# --------------------------------------------------------------------------- selection and plots


def _looks_like_severity(theme: Mapping[str, str] | Any, c: Color) -> bool:
    derived = severity(theme)
    severities = [_parse(v) for v in (_get(theme, "warning"), _get(theme, "error"), derived.warn, derived.crit)]
    for s in severities:
        if s is None:
            continue
        if c.ansi is not None or s.ansi is not None:  # the terminal's palette: compare the names
            if c.ansi is not None and s.ansi is not None and c.ansi % 8 == s.ansi % 8:
                return True
            continue
        if color_distance(c, s) < MIN_DISTANCE:
            return True
    return False


def _first_apart(theme: Mapping[str, str] | Any, roles: tuple[str, ...]) -> str:
    for role in roles:
        raw = _get(theme, role)
        c = _parse(raw) if raw else None
        if c is not None and c.a == 1 and not _looks_like_severity(theme, c):
            return raw
    return _get(theme, "foreground") or "#e0e0e0"


def selection_colors(theme: Mapping[str, str] | Any) -> tuple[str, str]:
    """``(accent, cursor background)``: the theme's accent (the selected card's border, the sorted
    column, the filter prompt) and the table's cursor row background (the theme's block cursor),
    each or the first of the theme's other colours that does not look like a severity colour
    (textual-dark's accent is its amber warning)."""
    return (_first_apart(theme, ("accent", "primary", "secondary", "success")),
            _first_apart(theme, ("block-cursor-background", "primary", "secondary", "accent")))


PLOT_ROLES = ("primary", "success", "accent", "secondary", "primary-lighten-2", "success-darken-2",
              "accent-lighten-2", "secondary-lighten-2", "foreground")


def plot_palette(theme: Mapping[str, str] | Any) -> tuple[Color, ...]:
    """The colours of plot lines in this theme: its colours that do not look like a severity
    colour (a line in amber would read as "warning"), in :data:`PLOT_ROLES` order, one each."""
    out: list[Color] = []
    for role in PLOT_ROLES:
        c = theme_color(theme, role)
        if c is None or _looks_like_severity(theme, c) or any(c == o for o in out):
            continue
        out.append(c)
    return tuple(out) or (theme_color(theme, "foreground") or Color(224, 224, 224),)


def plot_colors(theme: Mapping[str, str] | Any, roles: Sequence[str | None]) -> list[Color]:
    """The colours of plot lines that ask for ``roles`` (a theme variable or colour; ``None`` or
    ``""``: any): a role is kept unless it looks like a severity colour or like an earlier
    line's, else the next unused colour of :func:`plot_palette` takes its place.  Line ``i``
    depends only on ``roles[:i + 1]`` (a legend drawn apart gets the same colours)."""
    palette = plot_palette(theme)
    out: list[Color] = []
    for role in roles:
        c = theme_color(theme, role) if role and role not in SEVERITY_ROLES else None
        if c is not None and (_looks_like_severity(theme, c) or c in out):
            c = None
        if c is None:
            c = next((p for p in palette if p not in out), palette[len(out) % len(palette)])
        out.append(c)
    return out


def css_variables(theme: Mapping[str, str]) -> dict[str, str]:
    """The CSS variables :class:`~nezha_tui.ui.app.NezhaApp` adds to the theme's."""
    derived = severity(theme)
    accent, cursor_background = selection_colors(theme)
    blurred = _get(theme, "block-cursor-blurred-background")
    if cursor_background != _get(theme, "block-cursor-background") or not blurred:
        blurred = f"{cursor_background} 30%"  # as Textual derives it from the block cursor
    return {
        "nezha-warn": derived.warn, "nezha-crit": derived.crit,
        "nezha-severity-style": "bold" if derived.bold else "none",
        "nezha-accent": accent, "nezha-cursor-background": cursor_background,
        "nezha-cursor-blurred-background": blurred,
    }
