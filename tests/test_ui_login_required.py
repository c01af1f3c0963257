"""force_auth and a guest who gave no credentials: told a login is required, not that credentials were refused."""

from __future__ import annotations

from nezha_tui.api.credentials import Credentials
from nezha_tui.api.stream import LOGIN_REQUIRED
from tests.test_ui_fleet import NARROW, make_app
from tests.ui_fakes import status


def panel(app) -> str:
    return str(app.screen.query_one("#empty").render())


async def test_guest_under_force_auth_is_told_to_log_in():
    app, streams, notes = make_app()
    app.client.credentials = Credentials()  # a guest
    async with app.run_test(size=NARROW) as pilot:
        streams.last.set_status(status("auth_failed", message=LOGIN_REQUIRED))
        await pilot.pause()
        assert not notes  # the panel says it (no toast on top)
        assert "requires a login" in panel(app) and "refused" not in panel(app)
        assert "--user NAME" in panel(app) and "NEZHA_TOKEN" in panel(app)


async def test_refused_credentials_still_say_so():
    app, streams, notes = make_app()
    app.client.credentials = Credentials("admin", "wrong")
    async with app.run_test(size=NARROW) as pilot:
        streams.last.set_status(status("auth_failed", message="login failed: wrong user name or password"))
        await pilot.pause()
        assert "refused the credentials: login failed: wrong user name or password" in panel(app)
        assert "NEZHA_PASSWORD" in panel(app) and "blocks an address" in panel(app)
