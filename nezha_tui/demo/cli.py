"""``nezha-tui demo-server``: run the simulated Dashboard until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Sequence, TextIO

__all__ = ["run_demo_server", "build_parser"]

SITE_NAME_MAX = 100


def build_parser() -> argparse.ArgumentParser:
    from nezha_tui.cli import OneLineParser, number

    p = OneLineParser(prog="nezha-tui demo-server",
                      description="Serve a simulated Nezha Dashboard (API v1) on this machine.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    p.add_argument("--port", type=number(0, 65535, "", integer=True), default=8008,
                   help="port (8008; 0 = any free port)")
    p.add_argument("--servers", type=number(0, 10000, "", integer=True), default=24, metavar="N",
                   help="servers in the fleet (24, up to 10000)")
    p.add_argument("--seed", type=number(-(2**63), 2**63 - 1, "", integer=True), default=1, metavar="S",
                   help="seed of the simulation (1)")
    p.add_argument("--interval", type=number(0.05, 3600), default=2.0, metavar="SEC",
                   help="seconds between stream frames (2)")
    p.add_argument("--phase", type=number(0, 3600), default=None, metavar="SEC",
                   help="frames when the clock is SEC past a multiple of --interval: several demos in or "
                        "out of step (default: the first at once, then --interval after each)")
    p.add_argument("--force-auth", action="store_true", help="guests get ApiErrorUnauthorized (force_auth)")
    p.add_argument("--no-tsdb", action="store_true", help="no TSDB: empty metric history, SQL service history")
    p.add_argument("--legacy", action="store_true",
                   help="act as a Dashboard older than v2.0 (history routes answer 404, no tsdb_enabled)")
    p.add_argument("--jwt-lifetime", type=number(1, 366 * 86400), default=3600.0, metavar="SEC",
                   help="JWT lifetime (3600)")
    p.add_argument("--fault-502", action="store_true", help="answer every route with an nginx 502 page")
    p.add_argument("--fault-waf", metavar="REASON", help="answer every route with the WAF 403 page")
    p.add_argument("--fault-stall", action="store_true", help="streams connect but never send a frame")
    p.add_argument("--fault-malformed", type=number(0, 1000, "", integer=True), default=0, metavar="N",
                   help="every Nth frame is malformed: a null state, wrong types, truncated (in turn)")
    p.add_argument("--fault-hostile", action="store_true",
                   help="hostile names, host facts, public notes and error texts (escape sequences, markup...)")
    p.add_argument("--fail-cycle", action="store_true",
                   help="fail in a loop: fine 40 s, stream stalled 20 s, proxy 502 for 30 s (the clock from the start)")
    p.add_argument("--site-name", metavar="TEXT", help="the Dashboard's site name (Nezha Demo)")
    return p


def run_demo_server(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Parse ``argv``, serve until Ctrl-C; returns the exit code (0 clean, 2 usage, 1 cannot bind)."""
    from nezha_tui.config import UsageError
    from nezha_tui.logsetup import one_line

    out = out or sys.stdout
    try:
        args = build_parser().parse_args(list(argv or []))
    except SystemExit as e:  # --help
        return int(e.code or 0)
    except UsageError as e:
        print(f"nezha-tui: {one_line(str(e))}", file=sys.stderr)
        return 2
    if "\0" in args.host or not args.host.strip():
        print("nezha-tui: demo-server: --host must be an address or a host name", file=sys.stderr)
        return 2

    if args.site_name is not None and (len(args.site_name) > SITE_NAME_MAX or not args.site_name.isprintable()):
        print(f"nezha-tui: demo-server: --site-name must be printable text of at most {SITE_NAME_MAX} characters",
              file=sys.stderr)
        return 2

    from .failing import FAIL_CYCLE
    from .server import DemoOptions, DemoServer

    opts = DemoOptions(servers=args.servers, seed=args.seed, frame_interval=args.interval, frame_phase=args.phase,
                       force_auth=args.force_auth, tsdb=not args.no_tsdb, legacy=args.legacy,
                       jwt_lifetime=args.jwt_lifetime,
                       proxy_502=args.fault_502, waf_reason=args.fault_waf, stall=args.fault_stall,
                       hostile=args.fault_hostile, malformed_every=args.fault_malformed,
                       fail_cycle=FAIL_CYCLE if args.fail_cycle else None)
    if args.site_name is not None:
        opts.site_name = args.site_name

    async def serve() -> int:
        server = DemoServer(opts, host=args.host, port=args.port)
        try:
            await server.start()
        except (OSError, OverflowError, ValueError) as e:
            print(f"nezha-tui: demo-server: cannot listen on {one_line(args.host, 80)}:{args.port}: "
                  f"{one_line(str(e))}", file=sys.stderr)
            return 1
        t = server.tokens
        legacy = "; acting as a pre-v2.0 Dashboard without history" if args.legacy else ""
        legacy += "; failing in a loop (fine 40 s, stalled 20 s, 502 for 30 s)" if args.fail_cycle else ""
        print(f"Nezha demo Dashboard at {server.url}  ({args.servers} servers, seed {args.seed}{legacy})", file=out)
        print(f"  stream:   {server.ws_url}", file=out)
        print(f"  admin:    username {server.username!r}  password {server.password!r}", file=out)
        print(f"  token:    {t['full']}  (nezha:*)", file=out)
        print(f"  tests:    expired {t['expired']}  no-scope {t['noscope']}  servers 1-3 {t['limited']}",
              file=out)
        print("  (demo credentials, valid only for this simulated Dashboard)  Ctrl-C to stop", file=out)
        out.flush()
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()
        return 0  # pragma: no cover - the wait ends by cancellation

    try:
        return asyncio.run(serve())
    except KeyboardInterrupt:
        print("stopped", file=out)
        return 0
