"""Command line: ``nezha-tui [URL]``, ``snapshot``, ``watch``, ``demo-server``, ``bench``.

Every failure ends as one line on stderr (exit 1; 2 for usage), never a
Python traceback; ``--log FILE`` keeps the details, secrets redacted.
Heavy modules (Textual, the demo server) are imported only by the command
that needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from nezha_tui import __version__
from nezha_tui.config import (
    ONLINE_WINDOW_MAX,
    ONLINE_WINDOW_MIN,
    URL_ECHO_MAX,
    ConfigError,
    UsageError,
)
from nezha_tui.connections import DEMO_DASHBOARDS_MAX, Connection, Dashboards, demo_count, open_dashboards

__all__ = ["CliError", "Connection", "OneLineParser", "main", "number"]

log = logging.getLogger("nezha_tui")


class CliError(Exception):
    """A failure already phrased for the user."""


def _err(message: str) -> None:
    print(f"nezha-tui: {message}", file=sys.stderr)


def _capped(text: str) -> str:
    """``text`` with every word longer than URL_ECHO_MAX cut: argparse echoes what it rejects."""
    from nezha_tui.logsetup import one_line

    words = [w if len(w) <= URL_ECHO_MAX else w[: URL_ECHO_MAX - 1] + "…" for w in str(text).split(" ")]
    return one_line(" ".join(words), 3 * URL_ECHO_MAX)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are a :class:`UsageError` (one line, exit 2), values capped and redacted."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{_capped(message)} (see {self.prog} --help)")


def _shown(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e6 else f"{int(x)}"


def number(low: float, high: float, unit: str = "seconds", integer: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number (an integer if asked) from ``low`` to ``high``."""
    what = "a whole number" if integer else "a number"
    message = f"must be {what} from {_shown(low)} to {_shown(high)}" + (f" {unit}" if unit else "")

    def parse(text: str) -> float:
        try:
            value = int(text, 10) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{message}, not {_capped(repr(text))}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"{message}, not {_capped(repr(text))}")
        return value

    return parse


# a usage error may list the choices (--theme: 21 names, ~290 characters); still one line
USAGE_LINE_MAX = 480
# the most of a rejected theme name echoed back
THEME_ECHO_MAX = 40

# --wall pages every SECONDS: below 2 s a page is not readable and the app only burns CPU
WALL_MIN, WALL_MAX = 2.0, 3600.0
TIMEOUT_MIN, TIMEOUT_MAX = 0.5, 3600.0
# as demo-server --servers
DEMO_SERVERS_MAX = 10000


def _add_connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("url", nargs="*", metavar="URL",
                   help="Dashboard URL, e.g. https://nezha.example.com (or NEZHA_URL); several: one grid over all")
    p.add_argument("--profile", metavar="NAME", action="append",
                   help="profile from the config file; repeat it to show several Dashboards as one")
    p.add_argument("--view", metavar="NAME", help="the Dashboards of [views.NAME] in the config file (profiles = [...])")
    p.add_argument("--user", metavar="NAME", help="log in as NAME; password from NEZHA_PASSWORD or a prompt")
    p.add_argument("--token-file", metavar="PATH", help="file holding an nzp_ access token or a JWT (mode 600)")
    p.add_argument("--insecure", action="store_true", help="do not verify the Dashboard's TLS certificate")
    p.add_argument("--demo", action="store_true", help="start the built-in simulated Dashboard and connect to it")
    p.add_argument("--demo-servers", type=number(1, DEMO_SERVERS_MAX, "", integer=True), default=24, metavar="N",
                   help=f"servers in the demo fleet (24, up to {DEMO_SERVERS_MAX})")
    p.add_argument("--demo-dashboards", type=number(1, DEMO_DASHBOARDS_MAX, "", integer=True), metavar="N",
                   help=f"start N simulated Dashboards (1-{DEMO_DASHBOARDS_MAX}), each its own fleet, shown as one")
    p.add_argument("--demo-fail-one", action="store_true",
                   help="the last simulated Dashboard fails in a loop (fine 40 s, stalled 20 s, proxy 502 for 30 s)")
    p.add_argument("--demo-seed", type=number(-(2**63), 2**63 - 1, "", integer=True), default=1, metavar="S",
                   help="seed of the demo fleet (1)")
    p.add_argument("--demo-as", choices=("admin", "guest", "token"), default="admin",
                   help="how to sign in to the demo: admin password, guest, or an nzp_ token (admin)")
    p.add_argument("--demo-no-tsdb", action="store_true", help="the demo Dashboard keeps no metric history")
    p.add_argument("--fault-malformed", type=number(0, 1000, "", integer=True), default=0, metavar="N",
                   help="the demo Dashboard makes every Nth frame malformed (a null state, wrong types, truncated)")
    p.add_argument("--fault-hostile", action="store_true",
                   help="the demo Dashboard sends hostile names, host facts, notes and error texts")
    p.add_argument("--log", metavar="FILE", help="write details for bug reports to FILE (secrets redacted)")


def _run_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="nezha-tui",
        description="Terminal client for the Nezha monitoring Dashboard. "
                    "Subcommands: snapshot, watch, shell, demo-server, bench (nezha-tui SUBCOMMAND --help).",
    )
    _add_connection_args(p)
    _add_on_event(p)
    p.add_argument("--wall", nargs="?", type=number(WALL_MIN, WALL_MAX), const=15.0, metavar="SECONDS",
                   help=f"wall-screen mode: large cards, a clock, pages every SECONDS (15; {WALL_MIN:g}-{WALL_MAX:g})")
    _add_online_window(p)
    p.add_argument("--bell", action="store_true", help="ring the terminal bell on offline/online changes")
    p.add_argument("--theme", metavar="NAME", help="colour theme (e.g. textual-light, nord; ctrl+p lists them); "
                                                   "beats the one saved in the config file")
    p.add_argument("--version", action="version", version=f"nezha-tui {__version__}")
    return p


def _add_on_event(p: argparse.ArgumentParser) -> None:
    p.add_argument("--on-event", metavar="'CMD ARGS'",
                   help="run CMD for each event, the event as one JSON object on stdin (split like a shell "
                        "would, but run without one); beats alerts.on_event in the config file")


def _watch_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="nezha-tui watch",
                      description="Watch a Dashboard without a UI: one line per event (offline, back, service "
                                  "down, quota, alert rules...) on stdout; reconnects forever; exit 0 on "
                                  "SIGINT/SIGTERM, 1 when the Dashboard refuses the credentials.")
    _add_connection_args(p)
    _add_online_window(p)
    _add_on_event(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    return p


def _add_online_window(p: argparse.ArgumentParser) -> None:
    p.add_argument("--online-window", type=number(ONLINE_WINDOW_MIN, ONLINE_WINDOW_MAX), metavar="SECONDS",
                   help="a server is online if it reported within this many seconds (30)")


def _snapshot_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="nezha-tui snapshot", description="Print the fleet once (one stream frame) and exit.")
    _add_connection_args(p)
    p.add_argument("--json", action="store_true", help="print the decoded models as JSON")
    p.add_argument("--timeout", type=number(TIMEOUT_MIN, TIMEOUT_MAX), default=15.0, metavar="SECONDS",
                   help="give up after this long without a frame (15)")
    _add_online_window(p)
    return p


def _dashboards(args: argparse.Namespace) -> Dashboards:
    """The Dashboards the arguments name; one, as always, or several (see connections.py)."""
    return open_dashboards(args)


# --------------------------------------------------------------------------- alerts




def _alert_setup(args: argparse.Namespace):
    """The ``[alerts]`` config (its problems printed now, one line each: the app still starts) and
    the hook's argv from ``--on-event``.  Returns (config, problems, hook argv)."""
    import shlex

    from nezha_tui.alerts.rules import AlertConfig, load_alert_config
    from nezha_tui.config import config_path, read_config_text

    hook: tuple[str, ...] = ()
    if getattr(args, "on_event", None) is not None:
        try:
            hook = tuple(shlex.split(args.on_event))
        except ValueError as exc:
            raise UsageError(f"--on-event: {exc}") from None
        if not hook:
            raise UsageError("--on-event: no command given")
    path = config_path()
    config, problems = AlertConfig(), []
    if path.exists():
        try:
            config, problems = load_alert_config(read_config_text(path), str(path))
        except ConfigError as exc:
            problems = [str(exc)]
    for problem in problems:
        _err(problem)
    if demo_count(args) and not config.rules:
        import dataclasses

        from nezha_tui.alerts.rules import DEMO_RULE

        # the demo's story runs a server hot for a minute: a rule to show it, unless the user has rules
        config = dataclasses.replace(config, rules=(DEMO_RULE,))
    return config, problems, hook


# --------------------------------------------------------------------------- run (the TUI)


def _check_theme(name: str | None) -> None:
    """UsageError for a theme Textual does not have, listing the ones it has."""
    if name is None:
        return
    from textual.theme import BUILTIN_THEMES

    if name not in BUILTIN_THEMES:
        shown = repr(name if len(name) <= THEME_ECHO_MAX else name[: THEME_ECHO_MAX - 1] + "…")
        raise UsageError(f"unknown theme {shown}; themes: {', '.join(sorted(BUILTIN_THEMES))}")


def _cmd_run(argv: Sequence[str]) -> int:
    args = _run_parser().parse_args(argv)
    from nezha_tui.logsetup import setup_logging

    setup_logging(args.log)
    _check_theme(args.theme)
    alerts, problems, hook = _alert_setup(args)
    dashboards = _dashboards(args)
    try:
        from nezha_tui.config import config_path
        from nezha_tui.settings import SettingsFile, SettingsStore
        from nezha_tui.ui.app import NezhaApp

        settings = SettingsStore.from_file(SettingsFile(config_path(), dashboards.scope))
        conn = dashboards.first
        common = dict(wall=args.wall, online_window=conn.online_window or 30.0, bells=args.bell, settings=settings,
                      theme=args.theme, alerts=alerts, hook_argv=hook, keep_event_log=True,
                      startup_problems=[*dashboards.notes, *problems])  # a merge said in the app too
        if dashboards.several:
            app = NezhaApp([c.target() for c in dashboards.connections], **common)
        else:
            app = NezhaApp(conn.make_client(), dashboard_name=conn.name, **common)
        app.run()
        return app.return_code or 0
    finally:
        dashboards.close()


def _cmd_watch(argv: Sequence[str]) -> int:
    args = _watch_parser().parse_args(argv)
    from nezha_tui.logsetup import setup_logging

    setup_logging(args.log)
    config, _problems, hook = _alert_setup(args)
    dashboards = _dashboards(args)
    try:
        from nezha_tui.watch import run_watch

        # one Dashboard: exactly the Watcher as before; several: one each, one log and hook
        targets = [(c.name, c.make_client(), c.online_window or 30.0) for c in dashboards.connections]
        return asyncio.run(run_watch(targets, config, hook, args.json, dashboards.first.online_window or 30.0))
    finally:
        dashboards.close()


def _warn_report(report, who: str = "") -> None:
    if report.bad_fields or report.dropped_servers:
        _err(f"{who}warning: {report.bad_fields} malformed field(s) and {report.dropped_servers} server(s) "
             "could not be read and were skipped")


def _cmd_snapshot(argv: Sequence[str]) -> int:
    args = _snapshot_parser().parse_args(argv)
    from nezha_tui.logsetup import setup_logging

    setup_logging(args.log)
    from nezha_tui.snapshot import (
        SnapshotError,
        several_json,
        several_table,
        snapshot_json,
        snapshot_table,
        take_snapshot,
        take_snapshots,
    )

    dashboards = _dashboards(args)
    if dashboards.several:
        try:
            targets = [(c.name, c.make_client(), c.online_window or 30.0) for c in dashboards.connections]
            snaps = asyncio.run(take_snapshots(targets, args.timeout))
        finally:
            dashboards.close()
        from nezha_tui.logsetup import one_line

        for snap in snaps:  # one line each, and the rest still print
            if snap.error is not None:
                _err(one_line(f"{snap.name}: {snap.error}"))
            else:
                _warn_report(snap.report, f"{snap.name}: ")
        if all(snap.error is not None for snap in snaps):
            return 1
        sys.stdout.write((several_json(snaps) if args.json else several_table(snaps)) + "\n")
        sys.stdout.flush()
        return 0
    conn = dashboards.first
    try:
        setting, groups, frame, report, store = asyncio.run(take_snapshot(conn.make_client(), args.timeout,
                                                                          conn.online_window or 30.0))
    except SnapshotError as exc:
        raise CliError(str(exc)) from None
    finally:
        dashboards.close()
    _warn_report(report)
    out = (snapshot_json(setting, groups, frame, store, conn.name) if args.json
           else snapshot_table(setting, groups, frame, store))
    sys.stdout.write(out + "\n")
    sys.stdout.flush()
    return 0


# --------------------------------------------------------------------------- shell


def _shell_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="nezha-tui shell",
                      description="Open a shell on one server through the Dashboard's web terminal, in this "
                                  "terminal (ctrl+] detaches). Needs a login or a token with nezha:server:exec.")
    p.add_argument("server", metavar="NAME|ID", help="the server: its id, its name, or a unique start of it")
    _add_connection_args(p)
    p.add_argument("--timeout", type=number(TIMEOUT_MIN, TIMEOUT_MAX), default=15.0, metavar="SECONDS",
                   help="give up after this long without the Dashboard's first frame (15)")
    return p


def _cmd_shell(argv: Sequence[str]) -> int:
    args = _shell_parser().parse_args(argv)
    from nezha_tui.logsetup import setup_logging

    setup_logging(args.log)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("shell needs a terminal (stdin and stdout)")
    from nezha_tui.shell_command import ServerChoiceError, run
    from nezha_tui.snapshot import SnapshotError

    dashboards = _dashboards(args)
    try:
        if dashboards.several:
            raise UsageError("shell takes one Dashboard (one --profile or URL)")
        conn = dashboards.first
        return run(conn.make_client(), args.server, args.timeout)
    except ServerChoiceError as exc:
        raise UsageError(str(exc)) from None
    except SnapshotError as exc:
        raise CliError(str(exc)) from None
    finally:
        dashboards.close()


# --------------------------------------------------------------------------- dispatch


def _dispatch(argv: Sequence[str]) -> int:
    if argv and argv[0] == "snapshot":
        return _cmd_snapshot(argv[1:])
    if argv and argv[0] == "watch":
        return _cmd_watch(argv[1:])
    if argv and argv[0] == "shell":
        return _cmd_shell(argv[1:])
    if argv and argv[0] == "demo-server":
        from nezha_tui.demo.cli import run_demo_server

        return run_demo_server(list(argv[1:]))
    if argv and argv[0] == "bench":
        from nezha_tui.bench import run_bench

        return run_bench(list(argv[1:]))
    return _cmd_run(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code: 0 ok, 1 failure, 2 usage (a bad argument, URL or setting), 130 Ctrl-C."""
    from nezha_tui.logsetup import guarded

    argv = list(sys.argv[1:] if argv is None else argv)
    with guarded():
        return _main(argv)


def _main(argv: list[str]) -> int:
    from nezha_tui.logsetup import log_file_active

    try:
        return _dispatch(argv)
    except SystemExit as exc:  # argparse: 0 for --help and --version
        return exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: no traceback reaches the user
        if log_file_active() and not isinstance(exc, (UsageError, CliError, ConfigError)):
            log.exception("the command failed")
        return _report(exc)


def _report(exc: BaseException) -> int:
    """One line on stderr for ``exc``; the exit code (2 usage, 1 anything else)."""
    from nezha_tui.api.errors import NezhaError
    from nezha_tui.logsetup import LogFileError, one_line

    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:  # anyio wraps one error in a group
        exc = exc.exceptions[0]
    if isinstance(exc, (UsageError, LogFileError)):
        _err(one_line(str(exc), USAGE_LINE_MAX))
        return 2
    if isinstance(exc, (CliError, ConfigError)):
        _err(one_line(str(exc)))
        return 1
    if isinstance(exc, NezhaError):
        _err(one_line(exc.message))
        return 1
    _err(one_line(f"unexpected error: {type(exc).__name__}: {exc} (run with --log FILE for details)"))
    return 1
