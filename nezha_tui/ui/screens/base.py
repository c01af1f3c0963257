"""The base of every nezha-tui screen: the keys every screen has.

- ``?``: this screen's keys, generated from its active bindings (:mod:`nezha_tui.ui.screens.help`);
- ``ctrl+p``: the palette lists this screen's actions with their keys (:meth:`NezhaScreen.palette`);
- ``esc`` and ``q``: back (the fleet binds them to "clear filter" and "quit" instead);
- ``tab`` / ``shift+tab``: the next / previous pane;
- ``j`` ``k`` ``g`` ``G`` ``home`` ``end``: move in the focused list or table, whatever its kind
  (a DataTable, an OptionList, a scrolling container), in one place rather than one subclass per
  widget.  ``pgup`` / ``pgdn`` and the arrows are the widgets' own.

Every binding comes from :mod:`nezha_tui.ui.commands` and has an id ``nezha.<id>`` for keymaps.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar

from textual.actions import SkipAction
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.screen import ModalScreen, Screen
from textual.scroll_view import ScrollView
from textual.widget import Widget
from textual.widgets import DataTable, OptionList

from nezha_tui.ui.context import UsesNezha
from nezha_tui.ui.commands import Command, palette_commands

__all__ = ["NezhaScreen", "NezhaModalScreen", "list_action", "key_label", "PaletteEntry"]

ResultType = TypeVar("ResultType")

_MOVES = ("down", "up", "first", "last")
_LIST_ACTIONS: tuple[tuple[type[Widget], tuple[str, str, str, str]], ...] = (
    # (down, up, first, last) of each kind of list; a DataTable's own home/end move sideways
    (DataTable, ("cursor_down", "cursor_up", "scroll_top", "scroll_bottom")),
    (OptionList, ("cursor_down", "cursor_up", "first", "last")),
    (ScrollableContainer, ("scroll_down", "scroll_up", "scroll_home", "scroll_end")),
)


def list_action(widget: Widget | None, move: str) -> str | None:
    """The action of ``widget`` that does ``move`` (``down`` ``up`` ``first`` ``last``), or ``None``
    when the widget is no list this knows (an Input, the fleet grid with its own keys)."""
    if widget is None or move not in _MOVES:
        return None
    for kind, actions in _LIST_ACTIONS:
        if isinstance(widget, kind):
            if kind is ScrollableContainer and isinstance(widget, ScrollView):
                return None  # a list drawn line by line (the fleet grid) moves its own cursor
            return actions[_MOVES.index(move)]
    return None


_NAMES = {
    "slash": "/", "question_mark": "?", "left_square_bracket": "[", "right_square_bracket": "]",
    "escape": "esc", "enter": "enter", "pageup": "pgup", "pagedown": "pgdn", "less_than_sign": "<",
    "shift+tab": "shift+tab", "tab": "tab", "home": "home", "end": "end", "f6": "F6", "exclamation_mark": "!",
}


def key_label(app: Any, key: str, binding: Binding) -> str:
    """How the help and the palette write ``key`` (one key of ``binding``)."""
    if key in _NAMES:
        return _NAMES[key]
    if binding.key_display and "," not in binding.key:
        return binding.key_display
    if len(key) == 1:
        return key
    try:
        return str(app.get_key_display(binding))
    except Exception:  # a key Textual cannot name: its own name
        return key


_TITLES = {"fleet": "Keys of the fleet", "detail": "Keys of the server detail",
           "services": "Keys of the services overview", "events": "Keys of the event log", "service_history": "Keys of a monitor's history",
           "sort_menu": "Keys of the sort menu", "column_chooser": "Keys of the column chooser",
           "help": "Keys of this help", "confirm": "Keys of the question"}

PaletteEntry = tuple[str, str, str]
"""(title with its key, help, action)"""


class _Keys:
    """What :class:`NezhaScreen` and :class:`NezhaModalScreen` share (a mixin on a Screen)."""

    SCOPE: ClassVar[str] = ""
    """This screen's scope in :data:`~nezha_tui.ui.commands.COMMANDS` (its palette commands)."""

    # -- ? help

    def action_help(self) -> None:
        from nezha_tui.ui.screens.help import HelpScreen

        screen: Any = self
        screen.app.push_screen(HelpScreen(screen.active_bindings, title=screen.help_title()))

    def help_title(self) -> str:
        return _TITLES.get(self.SCOPE, "Keys")

    # -- esc / q

    def action_back(self) -> None:
        screen: Any = self
        screen.dismiss()

    # -- j k g G home end

    async def action_list(self, move: str) -> None:
        screen: Any = self
        focused = screen.focused
        action = list_action(focused, move)
        if focused is None or action is None:
            raise SkipAction()  # the key goes on to the focused widget (text in an Input, the grid's own keys)
        await focused.run_action(action)

    # -- enter on a row that names a server

    def open_server(self, server_id: int) -> None:
        """The server's detail (the app's ``open_server`` action: it says so when it cannot)."""
        screen: Any = self
        screen.app.call_later(screen.app.run_action, f"open_server({int(server_id)})")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "list":
            screen: Any = self
            # not a list this knows: the key goes on to the focused widget (text in an Input, the grid)
            return list_action(screen.focused, str(parameters[0]) if parameters else "") is not None
        return True

    # -- ctrl+p

    def palette(self) -> Iterator[PaletteEntry]:
        """This screen's palette commands: title with the key now bound (after a keymap), help, action."""
        screen: Any = self
        keys: dict[str, list[str]] = {}
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if binding.id:
                keys.setdefault(binding.id, []).append(key_label(screen.app, key, binding))
        for command in palette_commands(self.SCOPE):
            bound = keys.get(f"nezha.{command.id}")
            if not bound:
                continue  # a keymap left it without a key here, or another binding took the key
            yield f"{command.title}  ({' '.join(dict.fromkeys(bound))})", command.help, command.action

    @staticmethod
    def commands_of(scope: str) -> list[Command]:
        return palette_commands(scope)


class NezhaScreen(UsesNezha, _Keys, Screen[None]):
    """A full screen of nezha-tui (the fleet, a server, the services, one monitor's history).

    A subclass sets ``SCOPE`` and ``BINDINGS = screen_bindings(SCOPE)``: its own keys, then the
    keys every screen shares (this class binds none, so the footer shows a screen's own first)."""

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.app.pop_screen()


class NezhaModalScreen(_Keys, ModalScreen[ResultType]):
    """A dialog over a screen (help, the sort menu): esc / q close it (``BINDINGS`` as for
    :class:`NezhaScreen`)."""
