"""The last line of defence (NezhaApp._fatal_error): an exception no handler caught ends the app
with exit code 1 and one line on the terminal: no traceback, no local variables, no secret."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from rich.console import Console

from nezha_tui.api.credentials import Credentials
from nezha_tui.ui.app import NezhaApp
from tests.ui_fakes import FakeClient, fleet, stream_factory

PASSWORD = "hunter2-correct-horse"
TOKEN = "nzp_s3cr3tT0kenValue"


class Boom(Exception):
    pass


async def crash(credentials: Credentials, message: str, caplog: pytest.LogCaptureFixture) -> tuple[NezhaApp, str]:
    """Runs the app (headless, not under a test pilot: Textual re-raises there) until a key handler
    raises ``Boom(message)`` with the secrets in its local variables; ``(app, terminal output)``."""
    client = FakeClient()
    client.credentials = credentials  # type: ignore[misc]
    streams = stream_factory()
    app = NezhaApp(client, stream_factory=streams, start_timers=False)
    out = io.StringIO()
    app.error_console = Console(file=out, width=200, color_system=None, markup=False, highlight=False)

    def broken_bell() -> None:  # what Textual's own handler would print with show_locals=True
        password = credentials.password  # noqa: F841 - a local for the traceback
        token = credentials.token  # noqa: F841
        raise Boom(message)

    app.action_toggle_bells = broken_bell  # type: ignore[method-assign]

    async def user(pilot: Any) -> None:
        await pilot.pause()
        streams.last.push(fleet(3))
        await pilot.pause()
        await pilot.press("b")

    with caplog.at_level(logging.ERROR, logger="nezha_tui.ui"):
        await app.run_async(headless=True, size=(80, 24), auto_pilot=user)
    return app, out.getvalue()


@pytest.mark.parametrize("credentials", [Credentials("admin", PASSWORD), Credentials(token=TOKEN)],
                         ids=["password", "token"])
async def test_an_unexpected_error_ends_the_app_with_one_line_and_no_secret(
        credentials: Credentials, caplog: pytest.LogCaptureFixture) -> None:
    secret = credentials.password or credentials.token
    message = f"state went bad for {secret}!\nsecond line: {secret}"
    app, output = await crash(credentials, message, caplog)
    assert not app.is_running and app.return_code == 1
    lines = output.splitlines()
    assert len(lines) == 1, output
    assert lines[0] == "nezha-tui: unexpected error: Boom: state went bad for ***! (run with --log FILE for details)"
    assert PASSWORD not in output and TOKEN not in output
    assert "Traceback" not in output and "broken_bell" not in output and "locals" not in output
    # the details go to the log (which --log redacts), not to the terminal
    record = next(r for r in caplog.records if r.getMessage() == "unexpected error; the app stops")
    assert record.exc_info is not None and record.exc_info[0] is Boom


async def test_textuals_own_handler_would_have_shown_the_secrets(caplog: pytest.LogCaptureFixture) -> None:
    """The test above can fail: without the override the terminal gets the traceback and its locals."""
    from textual.app import App

    original = NezhaApp._fatal_error
    NezhaApp._fatal_error = App._fatal_error  # type: ignore[method-assign]
    try:
        app, output = await crash(Credentials("admin", PASSWORD), "state went bad", caplog)
    finally:
        NezhaApp._fatal_error = original  # type: ignore[method-assign]
    assert app.return_code == 1
    assert len(output.splitlines()) > 1 and PASSWORD in output
