"""force_auth and a guest who gave no credentials: told a login is required, not that credentials were refused."""

from __future__ import annotations

from nezha_tui.api.credentials import Credentials
from nezha_tui.api.stream import LOGIN_REQUIRED
from tests.test_ui_fleet import NARROW, make_app
from tests.ui_fakes import status


async def test_guest_under_force_auth_is_told_to_log_in():
    app, streams, notes = make_app()
    app.client.credentials = Credentials()  # a guest
    async with app.run_test(size=NARROW) as pilot:
        streams.last.set_status(status("auth_failed", message=LOGIN_REQUIRED))
        await pilot.pause()
        assert notes[-1][0] == LOGIN_REQUIRED and notes[-1][1]["severity"] == "error"
        empty = str(app.screen.query_one("#empty").render())
        assert "requires a login" in empty and "refused" not in empty


async def test_refused_credentials_still_say_so():
    app, streams, notes = make_app()
    app.client.credentials = Credentials("admin", "wrong")
    async with app.run_test(size=NARROW) as pilot:
        streams.last.set_status(status("auth_failed", message="login failed: wrong user name or password"))
        await pilot.pause()
        assert notes[-1][0] == "Authentication failed: login failed: wrong user name or password"
        assert "refused the credentials" in str(app.screen.query_one("#empty").render())
