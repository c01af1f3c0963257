"""What the fleet screen says instead of a grid when it has nothing to show.

Pure functions of plain values (no Textual, no HTTP): the screen decides which
state it is in, these build the words.  Everything a user or the Dashboard
typed (a filter query, a group name, the Dashboard's error text) goes into a
``rich.text.Text`` as plain text, never as markup.
"""

from __future__ import annotations

from rich.text import Text

from nezha_tui.api.sanitise import sanitise
from nezha_tui.format import cut_cells

__all__ = ["no_match_text", "waiting_text", "no_servers_text", "auth_failure_text", "several_waiting_text"]

BAN_NOTE = ("A Dashboard blocks an address for a while after repeated failed logins or bad tokens "
            "(3 s, 16 s, 81 s, 256 s ... longer with each failure): fix the credentials before retrying.")


def no_match_text(query: str, status: str, group: str | None) -> Text:
    """Why the grid is empty although the fleet is not: the filter, the status filter or the group.

    ``status``: ``"all"``, ``"online"`` or ``"offline"``; ``group``: the selected group's
    name, ``None`` for all servers.
    """
    which = "" if status == "all" else f"{status} "
    where = f" in group '{cut_cells(sanitise(group), 40)}'" if group is not None else ""
    query = query.strip()
    if query:
        text = f"No {which}server{where} matches '{cut_cells(sanitise(query), 60)}' (esc clears)"
    elif which:
        text = f"No {which}servers{where} (f shows all, esc clears)"
    elif group is not None:
        text = f"Group '{cut_cells(sanitise(group), 40)}' has no servers ([ and ] change the group)"
    else:
        text = "No servers"
    return Text(text)


def waiting_text(origin: str, reason: str = "") -> Text:
    """No frame yet: the stream is connecting (``reason``: why the last attempt failed)."""
    text = Text(f"Connecting to {origin}…")
    if reason:
        text.append(f"\n{sanitise(reason)}")
    return text


def several_waiting_text(lines: list[tuple[str, str, str]], refused: bool = False) -> Text:
    """No frame from any of several Dashboards yet: one line each, ``(name, origin, what it is at)``
    (``'connecting'``, ``'auth failed: invalid token'``...); ``refused``: every one refused the
    login (the keys to retry or quit follow)."""
    text = Text(f"Connecting to {len(lines)} Dashboards…" if not refused else "Every Dashboard refused the login",
                style=None if not refused else "bold")
    for name, origin, state in lines:
        text.append(f"\n{cut_cells(sanitise(name), 40)} ({origin}): {cut_cells(sanitise(state), 200)}")
    if refused:
        text.append("\n\nFix: check each profile's credentials (user/password or token in config.toml).\n")
        text.append(f"{BAN_NOTE}\n\n")
        text.append("r", style="bold")
        text.append(" retry   ")
        text.append("q", style="bold")
        text.append(" quit")
    return text


def no_servers_text() -> Text:
    return Text("No servers are visible to this account on this Dashboard.")


def auth_failure_text(mode: str, message: str, origin: str) -> Text:
    """The panel for a refused login: the cause (the Dashboard's words), the fix, the keys.

    ``mode``: the credentials given, ``"guest"``, ``"password"``, ``"access_token"`` (nzp_)
    or ``"jwt"`` (a JWT given as the token).
    """
    cause = sanitise(message).strip()
    text = Text()
    if mode == "guest":
        text.append("Login required", style="bold")
        text.append(f"\n{origin}: {cause or 'this Dashboard requires a login'}")
        text.append("\n\nFix: give a user name (--user NAME, the password in NEZHA_PASSWORD) or an access "
                    "token (--token-file PATH or NEZHA_TOKEN), or set user/token in a profile of "
                    "config.toml (--profile NAME).")
    else:
        text.append("Authentication failed", style="bold")
        text.append(f"\n{origin} refused the credentials: {cause or 'no reason given'}")
        if mode == "password":
            fix = ("check the user name and password (--user and NEZHA_PASSWORD, or the profile's "
                   "user/password in config.toml); an account that signs in with OAuth only needs "
                   "an access token.")
        elif mode == "access_token":
            fix = ("check the access token (NEZHA_TOKEN, --token-file or the profile's token in "
                   "config.toml): it may be unknown, expired, revoked or lack a scope.")
        else:
            fix = ("the JWT given as token expired or its session is gone: log in again, or use an "
                   "access token (NEZHA_TOKEN, --token-file or the profile's token).")
        text.append(f"\n\nFix: {fix}")
        text.append(f"\n{BAN_NOTE}")
    text.append("\n\n")
    text.append("r", style="bold")
    text.append(" retry   ")
    text.append("q", style="bold")
    text.append(" quit")
    return text
