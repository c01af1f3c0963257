"""The user's ``[keymap]``: which binding ids exist to be remapped.

Every binding of nezha-tui has an id (``nezha.<id>``, see :mod:`nezha_tui.ui.commands`);
Textual's ``App.set_keymap`` swaps the keys of the bindings a keymap names on every
screen.  An id that no binding has would do nothing: :func:`unknown_ids` finds those
so the user hears of the typo once; :func:`clashes` finds a key given to a binding that
another binding of the same screen had (Textual then gives it to the remapped one only).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen

__all__ = ["binding_ids", "clashes", "unknown_ids"]


def _subclasses(cls: type) -> Iterable[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _own_bindings() -> dict[type, list[Binding]]:
    """Every nezha-tui app, screen and widget class with the bindings it declares (its modules imported)."""
    import nezha_tui.ui

    for info in pkgutil.walk_packages(nezha_tui.ui.__path__, "nezha_tui.ui."):
        importlib.import_module(info.name)
    out: dict[type, list[Binding]] = {}
    for cls in [App, *_subclasses(DOMNode)]:
        if cls is not App and not cls.__module__.startswith("nezha_tui."):
            continue
        own = [b for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding)]
        if own:
            out[cls] = own
    return out


def binding_ids() -> frozenset[str]:
    """The ids of every binding of the app, its screens and widgets."""
    return frozenset(b.id for own in _own_bindings().values() for b in own if b.id)


def _keys(binding: Binding, keymap: Mapping[str, str]) -> set[str]:
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return {b.key for b in Binding.make_bindings([Binding(keys, binding.action)])}


def clashes(keymap: Mapping[str, str]) -> list[str]:
    """One line for each key ``keymap`` gives to a binding that another binding of the same screen
    (or the app, which is under every screen) had: the other one loses it."""
    own = _own_bindings()
    app_bindings = [b for cls, bindings in own.items() if issubclass(cls, App) for b in bindings]
    lines: list[str] = []
    for cls, bindings in own.items():
        if issubclass(cls, Screen) and not issubclass(cls, ModalScreen):
            bindings = bindings + app_bindings
        for binding in bindings:
            if binding.id not in keymap:
                continue
            for other in bindings:
                if other.id == binding.id or other.action == binding.action:
                    continue
                for key in sorted(_keys(binding, keymap) & _keys(other, keymap)):
                    line = f"keymap: {binding.id} takes {key!r} from {other.id or other.action}"
                    if line not in lines:
                        lines.append(line)
    return lines


def unknown_ids(keymap: Iterable[str]) -> list[str]:
    """The ids in ``keymap`` that no binding has, in order."""
    known = binding_ids()
    return [binding_id for binding_id in keymap if binding_id not in known]
