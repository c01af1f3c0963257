"""Command line: ``nezha-tui [URL]``, ``snapshot``, ``demo-server``, ``bench``.

Every failure ends as one line on stderr (exit 1; 2 for usage), never a
Python traceback; ``--log FILE`` keeps the details, secrets redacted.
Heavy modules (Textual, the demo server) are imported only by the command
that needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Sequence

from nezha_tui import __version__
from nezha_tui.api.credentials import Credentials
from nezha_tui.config import ConfigError, load_profile, resolve_auth, resolve_url

log = logging.getLogger("nezha_tui")


class CliError(Exception):
    """A failure already phrased for the user."""


def _err(message: str) -> None:
    print(f"nezha-tui: {message}", file=sys.stderr)


def _add_connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("url", nargs="?", help="Dashboard URL, e.g. https://nezha.example.com (or NEZHA_URL)")
    p.add_argument("--profile", metavar="NAME", help="profile from the config file")
    p.add_argument("--user", metavar="NAME", help="log in as NAME; password from NEZHA_PASSWORD or a prompt")
    p.add_argument("--token-file", metavar="PATH", help="file holding an nzp_ access token or a JWT (mode 600)")
    p.add_argument("--insecure", action="store_true", help="do not verify the Dashboard's TLS certificate")
    p.add_argument("--demo", action="store_true", help="start the built-in simulated Dashboard and connect to it")
    p.add_argument("--demo-servers", type=int, default=24, metavar="N", help="servers in the demo fleet (24)")
    p.add_argument("--demo-seed", type=int, default=1, metavar="S", help="seed of the demo fleet (1)")
    p.add_argument("--demo-as", choices=("admin", "guest", "token"), default="admin",
                   help="how to sign in to the demo: admin password, guest, or an nzp_ token (admin)")
    p.add_argument("--demo-no-tsdb", action="store_true", help="the demo Dashboard keeps no metric history")
    p.add_argument("--log", metavar="FILE", help="write details for bug reports to FILE (secrets redacted)")


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nezha-tui",
        description="Terminal client for the Nezha monitoring Dashboard. "
                    "Subcommands: snapshot, demo-server, bench (nezha-tui SUBCOMMAND --help).",
    )
    _add_connection_args(p)
    p.add_argument("--wall", nargs="?", type=float, const=15.0, metavar="SECONDS",
                   help="wall-screen mode: large cards, a clock, pages every SECONDS (15)")
    p.add_argument("--online-window", type=float, metavar="SECONDS",
                   help="a server is online if it reported within this many seconds (30)")
    p.add_argument("--bell", action="store_true", help="ring the terminal bell on offline/online changes")
    p.add_argument("--version", action="version", version=f"nezha-tui {__version__}")
    return p


def _snapshot_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nezha-tui snapshot",
                                description="Print the fleet once (one stream frame) and exit.")
    _add_connection_args(p)
    p.add_argument("--json", action="store_true", help="print the decoded models as JSON")
    p.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS",
                   help="give up after this long without a frame (15)")
    p.add_argument("--online-window", type=float, default=30.0, metavar="SECONDS")
    return p


def _prompt_password(prompt: str) -> str:
    import getpass

    return getpass.getpass(prompt)


class Connection:
    """Where to connect and as whom; owns the in-process demo when ``--demo``."""

    def __init__(self, url: str, auth: Credentials, verify: bool, online_window: float | None, demo=None):
        self.url, self.auth, self.verify, self.online_window, self.demo = url, auth, verify, online_window, demo

    def make_client(self):
        from nezha_tui.api.client import NezhaClient

        return NezhaClient(self.url, self.auth, verify=self.verify)

    def close(self) -> None:
        if self.demo is not None:
            self.demo.stop()
            self.demo = None


# Above this many servers the demo runs in its own process: encoding a frame of
# thousands of servers takes long enough to stall the app if they shared the GIL.
DEMO_THREAD_MAX = 1000


def _start_demo(args: argparse.Namespace):
    servers = max(1, args.demo_servers)
    if servers > DEMO_THREAD_MAX:
        from nezha_tui.demo.process import start_demo_process

        extra = ["--no-tsdb"] if args.demo_no_tsdb else []
        try:
            return start_demo_process(["--servers", str(servers), "--seed", str(args.demo_seed), *extra])
        except RuntimeError as exc:
            raise CliError(str(exc)) from None
    from nezha_tui.demo.server import DemoOptions
    from nezha_tui.demo.thread import start_demo_in_thread

    return start_demo_in_thread(DemoOptions(servers=servers, seed=args.demo_seed, tsdb=not args.demo_no_tsdb))


def _connection(args: argparse.Namespace) -> Connection:
    from nezha_tui.logsetup import register_secret

    if args.demo:
        demo = _start_demo(args)
        if args.demo_as == "admin":
            auth = Credentials(username=demo.username, password=demo.password)
        elif args.demo_as == "token":
            auth = Credentials(token=demo.token)
        else:
            auth = Credentials()
        return Connection(demo.url, auth, True, getattr(args, "online_window", None), demo)
    profile = load_profile(args.profile)
    url = resolve_url(args.url, profile, os.environ)
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    auth = resolve_auth(user=args.user, token_file=args.token_file, profile=profile, env=os.environ,
                        prompt=_prompt_password if interactive else None)
    register_secret(auth.password)
    register_secret(auth.token)
    window = getattr(args, "online_window", None) or profile.online_window
    return Connection(url, auth, not (args.insecure or profile.insecure), window)


# --------------------------------------------------------------------------- run (the TUI)


def _cmd_run(argv: Sequence[str]) -> int:
    args = _run_parser().parse_args(argv)
    from nezha_tui.logsetup import setup_logging

    setup_logging(args.log)
    if args.wall is not None and args.wall <= 0:
        raise CliError("--wall takes a positive number of seconds")
    conn = _connection(args)
    try:
        from nezha_tui.ui.app import NezhaApp

        app = NezhaApp(conn.make_client(), wall=args.wall, online_window=conn.online_window or 30.0,
                       bells=args.bell)
        app.run()
        return getattr(app, "return_code", 0) or 0
    finally:
        conn.close()


# --------------------------------------------------------------------------- snapshot


async def _first_frame(client, timeout: float):
    """Open the stream, wait for one frame; any failure raises CliError."""
    from nezha_tui.api.stream import FleetStream, StreamState

    loop = asyncio.get_running_loop()
    got: asyncio.Future = loop.create_future()

    def on_frame(frame, report) -> None:
        if not got.done():
            got.set_result((frame, report))

    def on_status(status) -> None:
        failed = status.state in (StreamState.AUTH_FAILED, StreamState.RECONNECTING, StreamState.STALE)
        if failed and not got.done():
            got.set_exception(CliError(f"live stream: {status.message or status.state.name.lower()}"))

    stream = FleetStream(client, on_frame=on_frame, on_status=on_status)
    task = asyncio.create_task(stream.run())
    try:
        async with asyncio.timeout(timeout):
            return await got
    except TimeoutError:
        raise CliError(f"no frame from the live stream within {timeout:g} s") from None
    finally:
        stream.stop()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):  # the stream's own end is not the snapshot's business
            pass


async def _snapshot(conn: Connection, timeout: float, online_window: float):
    from nezha_tui.api.errors import NezhaError
    from nezha_tui.store import FleetStore

    client = conn.make_client()
    try:
        try:
            await client.login()
            setting, groups = await asyncio.gather(client.setting(), client.server_groups())
        except NezhaError as exc:
            raise CliError(exc.message) from None
        frame, report = await _first_frame(client, timeout)
    finally:
        await client.aclose()
    store = FleetStore(online_window=online_window)
    store.apply(frame)
    store.set_groups(groups)
    return setting, groups, frame, report, store


def _snapshot_json(setting, groups, frame, store) -> str:
    import json

    from nezha_tui.api.models import to_builtins

    servers = []
    for server in frame.servers:
        item = to_builtins(server)
        item["online"] = store.is_online(server.id)
        servers.append(item)
    doc = {
        "site_name": setting.config.site_name,
        "tsdb_enabled": setting.tsdb_enabled,
        "now": frame.now,
        "online": frame.online,
        "groups": to_builtins(groups),
        "servers": servers,
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


def _snapshot_table(setting, groups, frame, store) -> str:
    from nezha_tui.format import fmt_duration, fmt_percent, fmt_speed, percent_of

    group_of: dict[int, str] = {}
    for g in groups:
        for sid in g.servers:
            group_of.setdefault(sid, g.group.name)
    header = ("ID", "STATUS", "NAME", "CC", "CPU", "MEM", "DISK", "IN/s", "OUT/s", "UPTIME", "GROUP")
    rows = [header]
    for s in frame.servers:
        online = store.is_online(s.id)
        st, h = s.state, s.host
        rows.append((
            str(s.id), "online" if online else "offline", s.name, s.country_code.upper() or "-",
            fmt_percent(st.cpu), fmt_percent(percent_of(st.mem_used, h.mem_total)),
            fmt_percent(percent_of(st.disk_used, h.disk_total)),
            fmt_speed(st.net_in_speed), fmt_speed(st.net_out_speed),
            fmt_duration(st.uptime) if online else "-", group_of.get(s.id, ""),
        ))
    from rich.cells import cell_len  # wide (CJK) characters take two columns

    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(header))]
    right = {0, 4, 5, 6, 7, 8, 9}

    def pad(i: int, cell: str) -> str:
        fill = " " * (widths[i] - cell_len(cell))
        return fill + cell if i in right else cell + fill

    lines = ["  ".join(pad(i, c) for i, c in enumerate(r)).rstrip() for r in rows]
    total = len(frame.servers)
    online = sum(1 for s in frame.servers if store.is_online(s.id))
    title = f"{setting.config.site_name or 'Nezha'}: {total} servers, {online} online, {total - online} offline"
    return "\n".join([title, *lines])


def _cmd_snapshot(argv: Sequence[str]) -> int:
    args = _snapshot_parser().parse_args(argv)
    from nezha_tui.logsetup import setup_logging

    setup_logging(args.log)
    conn = _connection(args)
    try:
        setting, groups, frame, report, store = asyncio.run(_snapshot(conn, args.timeout, args.online_window))
    finally:
        conn.close()
    if report.bad_fields or report.dropped_servers:
        _err(f"warning: {report.bad_fields} malformed field(s) and {report.dropped_servers} server(s) "
             "could not be read and were skipped")
    out = _snapshot_json(setting, groups, frame, store) if args.json else _snapshot_table(setting, groups, frame, store)
    sys.stdout.write(out + "\n")
    sys.stdout.flush()
    return 0


# --------------------------------------------------------------------------- dispatch


def _dispatch(argv: Sequence[str]) -> int:
    if argv and argv[0] == "snapshot":
        return _cmd_snapshot(argv[1:])
    if argv and argv[0] == "demo-server":
        from nezha_tui.demo.cli import run_demo_server

        return run_demo_server(list(argv[1:]))
    if argv and argv[0] == "bench":
        from nezha_tui.bench import run_bench

        return run_bench(list(argv[1:]))
    return _cmd_run(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except SystemExit as exc:  # argparse: 2 for usage, 0 for --help
        return exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        return 130
    except (CliError, ConfigError) as exc:
        _err(str(exc))
        return 1
    except Exception as exc:  # the last line of defence: no traceback reaches the user
        from nezha_tui.api.errors import NezhaError

        if isinstance(exc, NezhaError):
            _err(exc.message)
            return 1
        from nezha_tui.logsetup import redact

        log.exception("unexpected error")
        _err(redact(f"unexpected error: {type(exc).__name__}: {exc} (run with --log FILE for details)"))
        return 1
