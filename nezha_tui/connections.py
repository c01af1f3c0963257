"""Which Dashboards the command line names, and how to reach each: :class:`Connection`.

One Dashboard (a URL, a profile, the default profile, ``--demo``) is what it
always was.  Several come from a repeated ``--profile``, several URLs, a
config view (``--view NAME``, ``[views.NAME] profiles = [...]``) or
``--demo-dashboards N``:

- each profile brings its own URL and credentials; a bare URL is a guest
  (``--user``/``--token-file``, ``NEZHA_URL``/``NEZHA_TOKEN``/``NEZHA_PASSWORD``
  name one Dashboard's credentials and are not sent to several);
- two that point at the same Dashboard (the URL normalised) are shown once,
  said on stderr;
- a name each, unique: the profile's, else the URL's host (``host:port`` or
  ``-2`` only to tell two apart);
- the UI settings of a view are ``[views.NAME.ui]``; of a combination given on
  the command line ``[views."a+b".ui]`` (the names sorted); of several demos
  ``[demos.ui]``.

No Textual here.  Nothing printed holds a secret.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from nezha_tui.api.credentials import Credentials
from nezha_tui.config import (
    VIEW_MAX,
    ConfigError,
    Profile,
    UsageError,
    check_url,
    load_profile,
    load_view,
    resolve_auth,
    resolve_url,
)

__all__ = ["Connection", "DEMO_FLEETS", "DEMO_THREAD_MAX", "DEMOS_SCOPE", "Dashboards", "open_dashboards",
           "view_scope"]

# Above this many servers a demo runs in its own process: encoding a frame of
# thousands of servers takes long enough to stall the app if they shared the GIL.
DEMO_THREAD_MAX = 1000
# --demo-dashboards N: (name, site name, servers) of each; the first's size is --demo-servers
DEMO_FLEETS: tuple[tuple[str, str, int], ...] = (
    ("home", "Home Lab", 24),
    ("work", "Work Fleet", 16),
    ("friends", "Friends' Boxes", 12),
    ("lab", "University Lab", 10),
    ("club", "Game Club", 8),
    ("shop", "Web Shop", 8),
    ("edge", "Edge Nodes", 6),
    ("backup", "Backup Site", 6),
)
DEMO_DASHBOARDS_MAX = len(DEMO_FLEETS)
DEMOS_SCOPE: tuple[str, ...] = ("demos",)
SEED_MAX = 2**63 - 1


def view_scope(name: str) -> tuple[str, ...]:
    """Where a view's (or a combination's) UI settings live: ``[views.NAME.ui]``."""
    return ("views", name)


class Connection:
    """Where to connect and as whom; owns the in-process demo when ``--demo``."""

    def __init__(self, url: str, auth: Credentials, verify: bool, online_window: float | None, demo=None,
                 scope: tuple[str, ...] = (), name: str = "", named: bool = True):
        self.url, self.auth, self.verify, self.online_window, self.demo = url, auth, verify, online_window, demo
        self.scope = scope
        """Where this connection's UI settings are saved: its profile's, the demo's, or the common ones."""
        self.name = name or _host_of(url)
        """The Dashboard's name in events and its label: the profile's name, a demo's, else the URL's host."""
        self.named = named
        """False for a bare URL: the grid labels it with its site name once known."""

    def make_client(self):
        from nezha_tui.api.client import NezhaClient

        return NezhaClient(self.url, self.auth, verify=self.verify)

    def target(self):
        """The app's :class:`~nezha_tui.fleets.DashboardTarget` for this Dashboard (a new client)."""
        from nezha_tui.fleets import DashboardTarget

        return DashboardTarget(self.name, self.make_client(), self.named, self.online_window or 30.0)

    def close(self) -> None:
        if self.demo is not None:
            self.demo.stop()
            self.demo = None


@dataclass
class Dashboards:
    """The Dashboards of one command, in order, and where their UI settings live."""

    connections: list[Connection]
    scope: tuple[str, ...]
    notes: list[str] = field(default_factory=list)
    """What was said on stderr while opening (a merge, an unused variable)."""

    @property
    def several(self) -> bool:
        return len(self.connections) > 1

    @property
    def first(self) -> Connection:
        return self.connections[0]

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


# --------------------------------------------------------------------------- demos


def _start_demo(args: argparse.Namespace, servers: int, seed: int, site_name: str | None = None,
                fail: bool = False):
    """One simulated Dashboard: in a thread, or a process when it is big."""
    if servers > DEMO_THREAD_MAX:
        from nezha_tui.demo.process import start_demo_process

        extra = ["--no-tsdb"] if args.demo_no_tsdb else []
        extra += ["--fault-hostile"] if getattr(args, "fault_hostile", False) else []
        extra += ["--fault-malformed", str(args.fault_malformed)] if getattr(args, "fault_malformed", 0) else []
        extra += ["--site-name", site_name] if site_name is not None else []
        extra += ["--fail-cycle"] if fail else []
        try:
            return start_demo_process(["--servers", str(servers), "--seed", str(seed), *extra])
        except RuntimeError as exc:
            raise ConfigError(str(exc)) from None
    from nezha_tui.demo.failing import FAIL_CYCLE
    from nezha_tui.demo.server import DemoOptions
    from nezha_tui.demo.thread import start_demo_in_thread

    options = DemoOptions(servers=servers, seed=seed, tsdb=not args.demo_no_tsdb,
                          hostile=getattr(args, "fault_hostile", False),
                          malformed_every=getattr(args, "fault_malformed", 0),
                          fail_cycle=FAIL_CYCLE if fail else None)
    if site_name is not None:
        options.site_name = site_name
    return start_demo_in_thread(options)


def _demo_auth(args: argparse.Namespace, demo) -> Credentials:
    if args.demo_as == "admin":
        return Credentials(username=demo.username, password=demo.password)
    if args.demo_as == "token":
        return Credentials(token=demo.token)
    return Credentials()


def demo_count(args: argparse.Namespace) -> int:
    """How many simulated Dashboards the arguments ask for (0: none)."""
    n = getattr(args, "demo_dashboards", None)
    if n:
        return int(n)
    return 1 if args.demo or getattr(args, "demo_fail_one", False) else 0


def _open_demos(args: argparse.Namespace, count: int) -> Dashboards:
    from nezha_tui.settings import DEMO_SCOPE

    window = getattr(args, "online_window", None)
    fail_one = getattr(args, "demo_fail_one", False)
    if count == 1:  # --demo as it always was
        demo = _start_demo(args, args.demo_servers, args.demo_seed, fail=fail_one)
        return Dashboards([Connection(demo.url, _demo_auth(args, demo), True, window, demo, DEMO_SCOPE, "demo")],
                          DEMO_SCOPE)
    conns: list[Connection] = []
    try:
        for i, (name, site, size) in enumerate(DEMO_FLEETS[:count]):
            seed = args.demo_seed + i if args.demo_seed + i <= SEED_MAX else args.demo_seed - i
            demo = _start_demo(args, args.demo_servers if i == 0 else size, seed, site,
                               fail=fail_one and i == count - 1)
            conns.append(Connection(demo.url, _demo_auth(args, demo), True, window, demo, DEMOS_SCOPE, name))
    except BaseException:
        for conn in conns:
            conn.close()
        raise
    return Dashboards(conns, DEMOS_SCOPE)


# --------------------------------------------------------------------------- real Dashboards


def _host_of(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return ""


def _base(url: str) -> str:
    from nezha_tui.api.client import normalize_base_url

    try:
        return normalize_base_url(url)
    except ValueError:  # what check_url let through; its message would echo the URL in full
        raise UsageError("the Dashboard URL is malformed (expected e.g. https://nezha.example.com)") from None


def _shown_base(base: str) -> str:
    """A Dashboard's URL as said on stderr: scheme, host and port (a path could hold a secret)."""
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def open_one(args: argparse.Namespace, env: Mapping[str, str], prompt: Callable[[str], str] | None,
             profile_name: str | None, url: str | None) -> Connection:
    """One Dashboard, exactly as before several were possible."""
    from nezha_tui.logsetup import register_secret
    from nezha_tui.settings import NO_PROFILE_SCOPE, profile_scope

    profile = load_profile(profile_name)
    url_ = resolve_url(url, profile, env)
    auth = resolve_auth(user=args.user, token_file=args.token_file, profile=profile, env=env, prompt=prompt)
    register_secret(auth.password)
    register_secret(auth.token)
    _base(url_)
    window = getattr(args, "online_window", None) or profile.online_window
    # the profile's settings only when this is the profile's Dashboard (its group names mean something)
    from_profile = bool(profile.name and profile.url) and not url and not env.get("NEZHA_URL")
    scope = profile_scope(profile.name) if from_profile else NO_PROFILE_SCOPE
    return Connection(url_, auth, not (args.insecure or profile.insecure), window, scope=scope,
                      name=profile.name if from_profile else "", named=from_profile)


@dataclass
class _Wanted:
    """One Dashboard of several, before its credentials."""

    profile: Profile | None  # None: a bare URL (a guest)
    url: str
    base: str
    name: str = ""

    @property
    def what(self) -> str:
        return f"profile {self.profile.name}" if self.profile else _host_of(self.url) or "a URL"

    def secrets(self) -> tuple[str, ...]:
        p = self.profile
        return (p.user, p.password, p.token, p.token_file) if p else ("", "", "", "")


def _merge_line(kept: _Wanted, other: _Wanted) -> str:
    where = _shown_base(kept.base)
    if kept.profile and other.profile:
        said = f"profiles {kept.profile.name} and {other.profile.name} both point at {where}: shown once"
    elif kept.profile is None and other.profile is None:
        said = f"{where} is given twice: shown once"
    else:
        said = f"{kept.what} and {other.what} both point at {where}: shown once"
    if kept.secrets() != other.secrets():
        said += f", with the credentials of {kept.what}" if kept.profile else ", as a guest"
    return said


def _unique_names(wanted: list[_Wanted]) -> None:
    """A name each: the profile's; for a URL its host, ``host:port`` if that tells it apart, else ``-2``..."""
    taken = {w.profile.name for w in wanted if w.profile}
    for w in wanted:
        if w.profile:
            w.name = w.profile.name
            continue
        from urllib.parse import urlsplit

        parts = urlsplit(w.base)
        host = parts.hostname or "dashboard"
        choices = [host, f"{host}:{parts.port}" if parts.port else host]
        name = next((c for c in choices if c not in taken), None)
        n = 2
        while name is None:
            name = f"{host}-{n}" if f"{host}-{n}" not in taken else None
            n += 1
        taken.add(name)
        w.name = name


def open_several(args: argparse.Namespace, env: Mapping[str, str], prompt: Callable[[str], str] | None,
                 profiles: list[str], urls: list[str], view: str | None, say: Callable[[str], None]) -> Dashboards:
    from nezha_tui.logsetup import register_secret

    if args.user or args.token_file:
        raise UsageError("--user and --token-file are one Dashboard's credentials: with several, put each "
                         "Dashboard's in its profile")
    if len(profiles) + len(urls) > VIEW_MAX:
        raise UsageError(f"at most {VIEW_MAX} Dashboards at once ({len(profiles) + len(urls)} given)")
    notes: list[str] = []
    unused = [v for v in ("NEZHA_URL", "NEZHA_TOKEN", "NEZHA_PASSWORD") if env.get(v)]
    if unused:
        notes.append(f"{', '.join(unused)} not used with several Dashboards: each profile's own url and "
                     "credentials are (a bare URL is a guest)")
    wanted: list[_Wanted] = []
    for name in profiles:
        p = load_profile(name)
        if not p.url:
            raise UsageError(f"profile {name!r} has no url (needed to show it with other Dashboards)")
        url = check_url(p.url, f"the url of profile {name!r}")
        wanted.append(_Wanted(p, url, _base(url)))
    for raw in urls:
        url = check_url(raw)
        wanted.append(_Wanted(None, url, _base(url)))
    kept: list[_Wanted] = []
    for w in wanted:
        same = next((k for k in kept if k.base == w.base), None)
        if same is None:
            kept.append(w)
            continue
        if same.profile is None and w.profile is not None:  # a profile (a name, credentials) beats a bare URL
            kept[kept.index(same)] = w
            same, w = w, same
        notes.append(_merge_line(same, w))
    for note in notes:
        say(note)
    _unique_names(kept)
    if len(kept) == 1 and kept[0].profile is None:  # one URL given twice: named as one URL always was
        kept[0].name = ""
    conns: list[Connection] = []
    for w in kept:
        window = getattr(args, "online_window", None)
        if w.profile is None:
            conns.append(Connection(w.url, Credentials(), not args.insecure, window, name=w.name, named=False))
            continue
        p = w.profile
        auth = resolve_auth(user=None, token_file=None, profile=p, env={}, prompt=prompt,
                            where=f"{p.name} ({_shown_base(w.base)})")
        register_secret(auth.password)
        register_secret(auth.token)
        conns.append(Connection(w.url, auth, not (args.insecure or p.insecure), window or p.online_window,
                                name=w.name, named=True))
    if view is not None:
        scope = view_scope(view)
    elif len(conns) > 1:
        scope = view_scope("+".join(sorted(c.name for c in conns)))
    else:  # several asked for, one left after merging: that one's settings
        from nezha_tui.settings import NO_PROFILE_SCOPE, profile_scope

        scope = profile_scope(conns[0].name) if conns[0].named else NO_PROFILE_SCOPE
    for conn in conns:
        conn.scope = scope
    return Dashboards(conns, scope, notes)


def _prompt_password(prompt: str) -> str:
    import getpass

    return getpass.getpass(prompt)


def _say(message: str) -> None:
    print(f"nezha-tui: {message}", file=sys.stderr)


def open_dashboards(args: argparse.Namespace, env: Mapping[str, str] | None = None,
                    prompt: Callable[[str], str] | None = None,
                    say: Callable[[str], None] = _say) -> Dashboards:
    """The Dashboards ``args`` name (demos started, credentials resolved, passwords asked for).

    ``prompt``: ``None`` asks on the terminal when stdin and stderr are one,
    else a password that is needed is an error.  Problems are ConfigError or
    UsageError (exit 2: an unknown profile or view, a bad URL).
    """
    env = os.environ if env is None else env
    if prompt is None and sys.stdin.isatty() and sys.stderr.isatty():
        prompt = _prompt_password
    count = demo_count(args)
    if count:
        return _open_demos(args, count)
    view = getattr(args, "view", None)
    profiles = list(args.profile or [])
    urls = list(args.url or [])
    if view is not None:
        v = load_view(view)
        if profiles or urls:  # more than the view: another combination, with its own settings
            profiles, urls, view = [*v.profiles, *profiles], [*v.urls, *urls], None
        else:
            profiles, urls = list(v.profiles), list(v.urls)
    profiles = list(dict.fromkeys(profiles))
    if len(profiles) + len(urls) <= 1:
        conn = open_one(args, env, prompt, profiles[0] if profiles else None, urls[0] if urls else None)
        return Dashboards([conn], conn.scope)
    return open_several(args, env, prompt, profiles, urls, view, say)
