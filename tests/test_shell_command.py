"""``nezha-tui shell NAME|ID``: which server a name means (id, exact name, unique prefix) and the
one-line answers for no server and several."""

from __future__ import annotations

import pytest

from nezha_tui.shell_command import ServerChoiceError, find_server
from tests.ui_fakes import frame, server_json


SERVERS = frame([server_json(1, "web-01"), server_json(2, "web-02"), server_json(3, "db-01"),
                 server_json(12, "web-01-old")]).servers


@pytest.mark.parametrize(("wanted", "sid"), [("3", 3), ("db-01", 3), ("db", 3), ("web-01", 1), ("WEB-02", 2),
                                             ("12", 12), ("web-01-o", 12)])
def test_an_id_an_exact_name_or_a_unique_start(wanted: str, sid: int) -> None:
    assert find_server(SERVERS, wanted).id == sid


def test_several_or_none_is_one_line_naming_candidates() -> None:
    with pytest.raises(ServerChoiceError, match=r"'web' names 3 servers: web-01 \(id 1\), web-01-old \(id 12\)"):
        find_server(SERVERS, "web")
    with pytest.raises(ServerChoiceError, match=r"no server is called 'mail' \(servers: db-01, web-01"):
        find_server(SERVERS, "mail")
