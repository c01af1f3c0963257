"""``--fault-hostile``: a Dashboard whose members and agents send hostile text (issue 9, part 8).

Server names are set by their owner (a member of a multi-user Dashboard), host
facts come from the agent on the monitored machine: both can carry escape
sequences, control characters, bidi overrides, markup-looking text, absurd
lengths.  With this fault the simulated fleet carries them in server, group,
service and quota-rule names, the site name, host facts (platform, CPU model,
GPU names, virtualization, sensor names), public notes, and in error texts
(the second ``/server-group`` request, the history of one service monitor and
the metrics of one server answer ``{"success":false,"error":...}``), so anyone
can watch the client keep them inert without writing a server.

Deterministic: the same texts on the same servers for every seed and size.
Nothing here is shared with the client: the demo writes these strings as the
Go server would (see gojson.py).
"""

from __future__ import annotations

import json
from dataclasses import replace

__all__ = ["HOSTILE_NAMES", "HOSTILE_SITE_NAME", "HOSTILE_ERROR", "make_hostile"]

OSC52 = "\x1b]52;c;aGFja2VkIGNsaXBib2FyZA==\x07"  # writes "hacked clipboard" to the clipboard
OSC0 = "\x1b]0;pwned title\x07"  # retitles the window
CLEAR = "\x1b[2J\x1b[H"  # clears the screen, cursor home
DSR = "\x1b[6n"  # asks the terminal to type the cursor position into our input

#: Server names, in fleet order from server 1 (servers past the list keep their names).
HOSTILE_NAMES: tuple[str, ...] = (
    f"clip-{OSC52}web",
    "x [/b]",  # the first three in the Dashboard's order: an alert names them
    "[@click=app.quit]x[/]",
    f"title-{OSC0}db",
    f"clear-{CLEAR}edge",
    f"dsr-{DSR}cache",
    "bell\x07nul\x00bs\x08del\x7f",
    "tab\tnew\nline\rcr",
    "bidi-\u202egnp.exe\u202c-\u2066iso\u2069",
    "zero\u200bwidth\u200c\u2060\ufeffname",
    "[bold red]x[/]",
    "long-" + "abcdefghij" * 19 + "-end",  # 200 characters
    "",
    "数据库服务器-上海-01",
    "👨\u200d👩\u200d👧 family 🏳\ufe0f\u200d🌈 rainbow",
    "🇭🇰 [HK] Hong Kong 🇯🇵",
    "Zalgo e\u0301\u0302\u0303 n\u0303 a\u0308",
    "c1-\x9b31mred\x9d0;c1 title\x9c-\x85nel",
    "dcs-\x1bPq#0;2;0;0;0\x1b\\-apc-\x1b_x\x1b\\-end",
    "cut-osc-\x1b]52;c;dW50ZXJtaW5hdGVk",
)
HOSTILE_SITE_NAME = f"Hostile {OSC0}[bold]Demo[/] \u202eetis"
#: The Dashboard's error text in the faulty answers.
HOSTILE_ERROR = f"quota [/] exceeded {OSC52}{CLEAR}\x07 x [/b]"

_GROUP_NAMES = (f"Prod {OSC0}[/]", "[bold red]Edge[/]", "亚洲 🇯🇵 Asia", f"Internal{DSR}", "x [/b]")
_MONITOR_NAMES = (f"DNS {CLEAR}[/b]", "[@click=app.quit]Cloudflare[/]", "Web\tsite\nnew",
                  "API \u202eHTLAEH", f"SSH {OSC52}", "Postgres 数据库", "Flaky " + "x" * 80)
_RULE_NAMES = (f"quota [/] {OSC52}", "[bold]Daily[/] \u202ecap")
_HOST = {
    "platform": f"debian{OSC52}",
    "platform_version": "12\x1b[31m [/]",
    "virtualization": "kvm\u202e\x07",
    "cpu": (f"AMD EPYC{CLEAR} [bold]64[/] Virtual Core",),
    "gpu": (f"NVIDIA {OSC0}RTX [/]", "GPU\x00\t2"),
}
_SENSORS = (f"core{DSR}0", "[bold]nvme[/]", "temp\u202e1", "acpi\x07tz")
_NOTE = {
    "billingDataMod": {"startDate": "2026-01-01T00:00:00.000Z", "endDate": "2027-01-01T00:00:00.000Z",
                       "autoRenewal": "1", "cycle": "Year", "amount": f"9.99{OSC52}USD[/]"},
    "planDataMod": {"bandwidth": "1Gbps [/]", "trafficVol": f"2TB{CLEAR}", "trafficType": "2",
                    "IPv4": "1", "IPv6": "1", "networkRoute": "CN2\u202eAIG", "extra": f"tag{OSC0},[bold]x[/]"},
}
_PLAIN_NOTE = f"plain note {OSC0}[/] with\nnewline\x07"

#: ids of the fault routes' targets
HOSTILE_MONITOR_ID = 1  # its history answers HOSTILE_ERROR
HOSTILE_METRICS_SERVER = 2  # its metrics answer HOSTILE_ERROR


def make_hostile(fleet):  # type: ignore[no-untyped-def]
    """The fleet with hostile texts (in place; returns it)."""
    servers = []
    for i, s in enumerate(fleet.servers):
        changes: dict = {}
        if i < len(HOSTILE_NAMES):
            changes["name"] = HOSTILE_NAMES[i]
        if i % 2 == 0 and s.host is not None:
            changes["host"] = replace(s.host, **_HOST)
        if i % 3 == 0 and s.sensors:
            changes["sensors"] = _SENSORS[: len(s.sensors)]
        if i % 4 == 0:
            changes["public_note"] = json.dumps(_NOTE, ensure_ascii=False, separators=(",", ":"))
        elif i % 4 == 1:
            changes["public_note"] = _PLAIN_NOTE
        servers.append(replace(s, **changes) if changes else s)
    fleet.servers[:] = servers
    fleet.groups[:] = [replace(g, name=_GROUP_NAMES[i % len(_GROUP_NAMES)]) for i, g in enumerate(fleet.groups)]
    fleet.monitors[:] = [replace(m, name=_MONITOR_NAMES[i % len(_MONITOR_NAMES)]) for i, m in enumerate(fleet.monitors)]
    fleet.rules[:] = [replace(r, name=_RULE_NAMES[i % len(_RULE_NAMES)]) for i, r in enumerate(fleet.rules)]
    fleet.__post_init__()
    return fleet
