"""``x``: a shell on a server through its Dashboard's web terminal, in this terminal.

Asks first (the server and its Dashboard named), then opens the session (the server's own
Dashboard: its login, its token's scope), suspends the app (Textual's :meth:`App.suspend`),
bridges the raw terminal to the session (:mod:`nezha_tui.shell_bridge`) until the shell ends or
``ctrl+]`` detaches, and comes back live where it was.  Refusals are one toast each.  Nothing
typed or shown is logged: only that a session opened and closed.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from textual.app import SuspendNotSupported

from nezha_tui.api.errors import NezhaError
from nezha_tui.ui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:  # pragma: no cover
    from nezha_tui.ui.app import NezhaApp

__all__ = ["ask_and_open_shell", "open_shell", "EXEC_SCOPE"]

log = logging.getLogger(__name__)

EXEC_SCOPE = "nezha:server:exec"
"""The access-token scope the Dashboard asks for a web terminal."""


def ask_and_open_shell(app: NezhaApp, key: int) -> None:
    """The question, then (on ``y``) the shell, in a worker; a refusal the app can tell at once is a toast."""
    server = app.store.get(key)
    if server is None:
        app.notify("That server is no longer on the Dashboard", severity="warning", kind="shell")
        return
    link = app.link_for(key)
    name = server.name or f"#{app.store.server_id(key)}"
    if link.client.credentials.mode == "guest":
        app.notify(f"A shell needs a login: log in or use a token with {EXEC_SCOPE}", severity="warning",
                   kind="shell")
        return
    if not app.store.is_online(key):
        app.notify(f"{name} is not connected", severity="warning", kind="shell")
        return
    where = link.name or app.dashboard_origin()
    question = f"Open a shell on {name} ({where})?"
    detail = "Its agent opens it, as the user the agent runs as (often root). ctrl+] detaches."

    def answered(yes: bool | None) -> None:
        if yes:
            app.run_worker(open_shell(app, key, name), name="shell", group="shell", exclusive=True,
                           exit_on_error=False)

    app.push_screen(ConfirmScreen(question, detail), callback=answered)


async def open_shell(app: NezhaApp, key: int, name: str) -> None:
    """Open the session, hand the terminal over to it, and say how it ended."""
    from nezha_tui.api.terminal import TerminalSession
    from nezha_tui.shell_bridge import EndKind, write_all

    client = app.client_for(key)
    server_id = app.store.server_id(key)
    try:
        ticket = await client.open_terminal(server_id, name)
        session = await TerminalSession.attach(client, ticket)
    except NezhaError as exc:
        app.notify(exc.message, severity="error", timeout=10, kind="shell")
        return
    except Exception as exc:  # never a traceback: one line
        log.exception("opening a shell failed")
        app.notify(f"The shell could not be opened: {type(exc).__name__}", severity="error", kind="shell")
        return
    log.info("shell on server %s opened", server_id)
    end = None
    try:
        with app.suspend():
            out_fd, in_fd = sys.__stdout__.fileno(), sys.__stdin__.fileno()
            await write_all(out_fd, f"nezha-tui: a shell on {name}; ctrl+] detaches\r\n".encode())
            end = await app.shell_bridge(session, in_fd, out_fd)
    except SuspendNotSupported:
        app.notify("This terminal cannot be handed over to a shell", severity="error", kind="shell")
    except Exception as exc:
        log.exception("the shell bridge failed")
        app.notify(f"The shell ended: {type(exc).__name__}", severity="error", kind="shell")
    finally:
        try:
            await session.close()
        except Exception:
            log.exception("closing the shell session failed")
        log.info("shell on server %s closed", server_id)
    if end is None:
        return
    if end.kind is EndKind.DETACHED:
        app.notify(f"Detached from the shell on {name}", kind="shell", timeout=4)
    elif end.kind is EndKind.ERROR:
        app.notify(f"The shell on {name} ended: {end.message}", severity="error", kind="shell")
    else:
        app.notify(f"The shell on {name} ended", kind="shell", timeout=4)
