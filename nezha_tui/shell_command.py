"""``nezha-tui shell NAME|ID``: a shell on one server through the Dashboard's web terminal, from the
command line (the same session and bridge as ``x`` in the app).  No Textual.

The server is found in the Dashboard's first stream frame: an id, else a name matched exactly,
else a unique prefix of one; ambiguous or unknown is one line listing candidates (exit 2).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from nezha_tui.api.models import StreamServer

__all__ = ["find_server", "ServerChoiceError", "run_shell"]

log = logging.getLogger(__name__)

CANDIDATES_SHOWN = 8


class ServerChoiceError(Exception):
    """The name matched no server, or several (a usage error: exit 2)."""


def find_server(servers: Sequence[StreamServer], wanted: str) -> StreamServer:
    """The server ``wanted`` names: its id, its exact name, or the one name it is a prefix of."""
    text = wanted.strip()
    if text.isdigit():
        for server in servers:
            if server.id == int(text):
                return server
    exact = [s for s in servers if s.name == text]
    if len(exact) == 1:
        return exact[0]
    folded = text.casefold()
    matches = exact or [s for s in servers if (s.name or "").casefold().startswith(folded)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        names = sorted(s.name or f"#{s.id}" for s in servers)
        raise ServerChoiceError(f"no server is called {wanted!r} (servers: {_listed(names)})")
    raise ServerChoiceError(f"{wanted!r} names {len(matches)} servers: "
                            f"{_listed(sorted(f'{s.name} (id {s.id})' for s in matches))}; give more of the name "
                            "or the id")


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:CANDIDATES_SHOWN])
    return shown + (f" and {len(names) - CANDIDATES_SHOWN} more" if len(names) > CANDIDATES_SHOWN else "")


async def run_shell(client, wanted: str, timeout: float = 15.0) -> int:
    """Find the server, open the session, bridge this terminal to it; the exit code."""
    from nezha_tui.api.sanitise import sanitise
    from nezha_tui.api.terminal import TerminalSession
    from nezha_tui.shell_bridge import EndKind, bridge, write_all
    from nezha_tui.snapshot import first_frame

    frame, _report = await first_frame(client, timeout)
    server = find_server(list(frame.servers or ()), wanted)
    name = sanitise(server.name or f"#{server.id}")
    ticket = await client.open_terminal(server.id, name)
    session = await TerminalSession.attach(client, ticket)
    log.info("shell on server %s opened", server.id)
    try:
        out_fd, in_fd = sys.stdout.fileno(), sys.stdin.fileno()
        await write_all(out_fd, f"nezha-tui: a shell on {name}; ctrl+] detaches\r\n".encode())
        end = await bridge(session, in_fd, out_fd)
    finally:
        await session.close()
        log.info("shell on server %s closed", server.id)
    if end.kind is EndKind.ERROR:
        print(f"nezha-tui: the shell on {name} ended: {end.message}", file=sys.stderr)
        return 1
    if end.kind is EndKind.DETACHED:
        print(f"\r\nnezha-tui: detached from the shell on {name}", file=sys.stderr)
    return 0


def run(client, wanted: str, timeout: float) -> int:
    return asyncio.run(run_shell(client, wanted, timeout))
