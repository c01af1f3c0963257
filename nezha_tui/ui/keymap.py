"""The user's ``[keymap]``: which binding ids exist to be remapped.

Every binding of nezha-tui has an id (``nezha.<id>``, see :mod:`nezha_tui.ui.commands`);
Textual's ``App.set_keymap`` swaps the keys of the bindings a keymap names on every
screen.  An id that no binding has would do nothing: :func:`unknown_ids` finds those
so the user hears of the typo once.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

from textual.binding import Binding
from textual.dom import DOMNode

__all__ = ["binding_ids", "unknown_ids"]


def _subclasses(cls: type) -> Iterable[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def binding_ids() -> frozenset[str]:
    """The ids of every binding of the app, its screens and widgets (their modules are imported)."""
    import nezha_tui.ui

    for info in pkgutil.walk_packages(nezha_tui.ui.__path__, "nezha_tui.ui."):
        importlib.import_module(info.name)
    ids: set[str] = set()
    for cls in _subclasses(DOMNode):
        if not cls.__module__.startswith("nezha_tui."):
            continue
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return frozenset(ids)


def unknown_ids(keymap: Iterable[str]) -> list[str]:
    """The ids in ``keymap`` that no binding has, in order."""
    known = binding_ids()
    return [binding_id for binding_id in keymap if binding_id not in known]
