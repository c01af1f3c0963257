"""Where events reach you outside the screen: terminal desktop notifications and the command hook.

**Terminal notifications** (config ``alerts.notify``): the escape sequences terminals turn into desktop
notifications, as text to write to the terminal:

* ``osc777``: ``ESC ] 777 ; notify ; TITLE ; BODY BEL`` (urxvt's notify extension, VTE/GNOME Terminal
  patches, foot, WezTerm, Ghostty...);
* ``osc9``: ``ESC ] 9 ; BODY BEL`` (iTerm2, Windows Terminal, WezTerm, Ghostty...): no title;
* ``osc99``: kitty's desktop-notification protocol, ``ESC ] 99 ; METADATA ; PAYLOAD ESC \\``: the title in
  a first chunk marked not done (``i=ID:d=0``, the payload is the title by default), the body in a second
  that finishes it (``i=ID:p=body``); without a title one ``ESC ] 99 ; ; BODY ESC \\``.

Title and body are cut to one line of "escape code safe" text: every control character (C0, DEL, C1) is
dropped (line breaks and tabs become spaces), ``;`` becomes ``,`` where it would split a field (OSC 777
and OSC 9), and the length is bounded.  Inside tmux the sequence is wrapped for passthrough
(``ESC P tmux ; ... ESC \\`` with every inner ESC doubled; tmux >= 3.3 needs ``set -g allow-passthrough on``).

**The command hook** (``--on-event`` / config ``alerts.on_event``): :class:`HookRunner` runs the command for
each event with the event as one JSON object on stdin: never through a shell, with a timeout that kills its
whole process group, at most ``max_running`` at once and a bounded queue, never blocking the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import signal
import subprocess
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from nezha_tui.alerts.event import Event

__all__ = ["NOTIFY_STYLES", "osc_notification", "event_notification", "in_tmux", "tmux_passthrough",
           "clean_text", "HookRunner"]

log = logging.getLogger(__name__)

NOTIFY_STYLES = ("off", "osc777", "osc9", "osc99")
TITLE_MAX = 80
"""Characters of a notification's title kept (the rest is cut, with an ellipsis)."""
BODY_MAX = 300
"""Characters of a notification's body kept."""

ESC = "\x1b"
BEL = "\x07"
ST = ESC + "\\"

# every C0 control, DEL, every C1 control, the line/paragraph separators and lone surrogates
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_BLANKS = re.compile(r"[\t\n\v\f\r\u2028\u2029]+")
_SPACES = re.compile(r" {2,}")
_IDENT_BAD = re.compile(r"[^A-Za-z0-9_\-+.]")
_ids = itertools.count(1)


def clean_text(text: object, limit: int, *, semicolons: bool = False) -> str:
    """``text`` as one line a terminal only displays: controls dropped (line breaks and tabs become a
    space), ``;`` replaced by ``,`` when ``semicolons`` (it would split a field), cut to ``limit``
    characters (the last one an ellipsis when cut)."""
    if not isinstance(text, str):
        return ""
    text = _BLANKS.sub(" ", text)
    text = _UNSAFE.sub("", text)
    if semicolons:
        text = text.replace(";", ",")
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + "…"
    return text


def in_tmux(environ: Mapping[str, str] | None = None) -> bool:
    """Whether we run inside tmux (``$TMUX`` is set): notifications need its passthrough wrapping."""
    env = os.environ if environ is None else environ
    return bool(env.get("TMUX"))


def tmux_passthrough(sequence: str) -> str:
    """``sequence`` wrapped so tmux hands it to the outer terminal: ``ESC P tmux ; ... ESC \\`` with every
    ESC inside doubled."""
    return f"{ESC}Ptmux;{sequence.replace(ESC, ESC + ESC)}{ST}"


def osc_notification(style: str, title: str, body: str, *, tmux: bool, ident: str | None = None) -> str:
    """The escape sequence(s) showing a desktop notification in ``style`` (one of :data:`NOTIFY_STYLES`;
    ``"off"`` or an unknown style gives ``""``).  ``tmux``: wrap for tmux's passthrough.  ``ident``: the
    OSC 99 notification id (default: a new one per call, so notifications do not replace each other).
    Never raises."""
    if style == "osc777":
        t = clean_text(title, TITLE_MAX, semicolons=True)
        b = clean_text(body, BODY_MAX, semicolons=True)
        sequences = [f"{ESC}]777;notify;{t};{b}{BEL}"]
    elif style == "osc9":
        b = clean_text(body, BODY_MAX, semicolons=True) or clean_text(title, TITLE_MAX, semicolons=True)
        sequences = [f"{ESC}]9;{b}{BEL}"]
    elif style == "osc99":
        t = clean_text(title, TITLE_MAX)
        b = clean_text(body, BODY_MAX)
        if not t:
            sequences = [f"{ESC}]99;;{b}{ST}"]
        else:
            ident = _IDENT_BAD.sub("", ident or "")[:64] or f"nezha-tui-{os.getpid()}-{next(_ids)}"
            sequences = [f"{ESC}]99;i={ident}:d=0;{t}{ST}"]
            if b:
                sequences.append(f"{ESC}]99;i={ident}:p=body;{b}{ST}")
            else:
                sequences.append(f"{ESC}]99;i={ident};{ST}")
    else:
        return ""
    if tmux:
        sequences = [tmux_passthrough(s) for s in sequences]
    return "".join(sequences)


def event_notification(style: str, event: Event, *, tmux: bool) -> str:
    """The notification for one event: its Dashboard (or "nezha-tui") and severity as the title, its
    message as the body."""
    source = event.dashboard or "nezha-tui"
    return osc_notification(style, f"{source}: {event.severity.value}", event.message, tmux=tmux)


# --------------------------------------------------------------------------- the hook

STDERR_KEEP = 2000
"""Bytes of a hook's stderr kept for the log (the rest is read and dropped)."""
_STDERR_GRACE_S = 1.0
"""After the hook exits, how long its stderr may stay open (a child it left behind) before we stop reading."""


class HookRunner:
    """Runs ``argv`` once per submitted event, the event's JSON (:meth:`Event.to_json`, one line) on its
    stdin.

    * never through a shell: ``argv[0]`` is looked up on ``$PATH`` and the other items are passed as they
      are (``"$(touch x)"`` stays that text);
    * stdout goes to ``/dev/null``; the last :data:`STDERR_KEEP` bytes of stderr are kept for the message;
    * each run is its own session (process group); after ``timeout`` seconds the whole group is killed;
    * at most ``max_running`` at once; more wait in a queue of ``max_queued``; beyond that, events are
      dropped and counted (:attr:`dropped`);
    * failures (not found, not executable, non-zero exit, killed by a signal, timed out, queue full) are
      logged (the event's kind and server, never its text) and reported through ``on_problem`` once per
      distinct problem, as one line.

    :meth:`submit` must be called from a running asyncio loop; it never blocks and never raises for an
    event.  :meth:`drain` waits for the queue; :meth:`close` kills what still runs.
    """

    def __init__(self, argv: Sequence[str], *, timeout: float = 10.0, max_running: int = 4,
                 max_queued: int = 100, on_problem: Callable[[str], None] | None = None) -> None:
        argv = list(argv)
        if not argv or not all(isinstance(a, str) for a in argv) or not argv[0]:
            raise ValueError("the event hook needs a command: a non-empty list of strings")
        self.argv = argv
        self.timeout = max(0.01, float(timeout))
        self.max_running = max(1, int(max_running))
        self.max_queued = max(0, int(max_queued))
        self.on_problem = on_problem
        self.dropped = 0
        """Events not run because the queue was full."""
        self.failures = 0
        """Runs that failed (any reason)."""
        self.completed = 0
        """Runs that finished (successfully or not)."""
        self._queue: deque[Event] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._reported: set[tuple[object, ...]] = set()
        self._idle: asyncio.Event | None = None
        self._closed = False

    @property
    def name(self) -> str:
        """The command's file name as messages show it."""
        return clean_text(os.path.basename(self.argv[0]) or self.argv[0], 80)

    @property
    def _command(self) -> str:
        return clean_text(self.argv[0], 200)

    @property
    def running(self) -> int:
        return len(self._tasks)

    @property
    def queued(self) -> int:
        return len(self._queue)

    # ------------------------------------------------------------------ submitting

    def submit(self, event: Event) -> bool:
        """Run the hook for ``event`` now, or queue it; ``False`` when it was dropped (queue full, or the
        runner closed)."""
        if self._closed:
            self.dropped += 1
            return False
        if len(self._tasks) < self.max_running:
            self._start(event)
            return True
        if len(self._queue) < self.max_queued:
            self._queue.append(event)
            return True
        self.dropped += 1
        log.log(logging.WARNING if self.dropped == 1 else logging.DEBUG,
                "event hook %s: queue full (%d running, %d queued), %s event dropped (%d so far)",
                self.name, len(self._tasks), len(self._queue), event.kind.value, self.dropped)
        self._problem(("queue_full",), f"event hook {self.name}: too many events at once "
                      f"({self.max_running} running, {self.max_queued} queued); further events dropped")
        return False

    def _start(self, event: Event) -> None:
        loop = asyncio.get_running_loop()
        if self._idle is None:
            self._idle = asyncio.Event()
        self._idle.clear()
        task = loop.create_task(self._run(event), name=f"event-hook-{event.kind.value}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.completed += 1
        if not task.cancelled() and task.exception() is not None:  # a bug: never let it pass silently
            exc = task.exception()
            log.error("event hook %s: unexpected %s: %s", self.name, type(exc).__name__, exc)
        while self._queue and len(self._tasks) < self.max_running and not self._closed:
            self._start(self._queue.popleft())
        if not self._tasks and not self._queue and self._idle is not None:
            self._idle.set()

    # ------------------------------------------------------------------ one run

    async def _run(self, event: Event) -> None:
        what = f"{event.kind.value} event" + (f" of server {event.server_id}" if event.server_id is not None else "")
        try:
            payload = (json.dumps(event.to_json(), ensure_ascii=False, default=str) + "\n").encode(
                "utf-8", "backslashreplace")
        except (ValueError, TypeError, RecursionError):
            payload = (json.dumps(event.to_json() | {"data": {}}, ensure_ascii=True, default=str) + "\n").encode()
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError:
            self._failed(("not_found",), what, f"event hook: command not found: {self._command}")
            return
        except PermissionError:
            self._failed(("not_executable",), what, f"event hook: cannot run {self._command}: permission denied")
            return
        except OSError as exc:
            self._failed(("oserror", exc.errno), what,
                         f"event hook: cannot run {self._command}: {exc.strerror or type(exc).__name__}")
            return
        feeder = asyncio.ensure_future(_feed(proc, payload))
        reader = asyncio.ensure_future(_read_bounded(proc))
        timed_out = False
        try:
            try:
                await asyncio.wait_for(proc.wait(), self.timeout)
            except TimeoutError:
                timed_out = True
                _kill_group(proc)
                await proc.wait()
            done, _ = await asyncio.wait({reader}, timeout=_STDERR_GRACE_S)
            stderr = reader.result() if reader in done else b""
        except asyncio.CancelledError:
            _kill_group(proc)
            with contextlib.suppress(Exception):
                await asyncio.shield(proc.wait())
            raise
        finally:
            for t in (feeder, reader):
                if not t.done():
                    t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.gather(feeder, reader, return_exceptions=True)
        tail = _one_line(stderr)
        detail = f" ({tail})" if tail else ""
        code = proc.returncode
        if timed_out:
            self._failed(("timeout",), what, f"event hook {self.name}: still running after {self.timeout:g} s, "
                         f"killed{detail}")
        elif code is not None and code < 0:
            try:
                signame = signal.Signals(-code).name
            except ValueError:
                signame = f"signal {-code}"
            self._failed(("signal", -code), what, f"event hook {self.name}: killed by {signame}{detail}")
        elif code:
            self._failed(("exit", code), what, f"event hook {self.name}: exit status {code}{detail}")
        else:
            log.debug("event hook %s: ran for the %s", self.name, what)

    def _failed(self, key: tuple[object, ...], what: str, message: str) -> None:
        self.failures += 1
        first = key not in self._reported
        log.log(logging.WARNING if first else logging.DEBUG, "%s (for the %s)", message, what)
        self._problem(key, message)

    def _problem(self, key: tuple[object, ...], message: str) -> None:
        if key in self._reported:
            return
        self._reported.add(key)
        if self.on_problem is not None:
            try:
                self.on_problem(message)
            except Exception:  # the reporter must not break the runner
                log.exception("event hook: the problem reporter failed")

    # ------------------------------------------------------------------ waiting, closing

    async def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until nothing runs or waits; ``True`` when drained."""
        if not self._tasks and not self._queue:
            return True
        assert self._idle is not None
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Drop the queue (counted in :attr:`dropped`), kill the running hooks' process groups and wait
        for them.  Later submits are dropped."""
        self._closed = True
        self.dropped += len(self._queue)
        self._queue.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def _feed(proc: asyncio.subprocess.Process, payload: bytes) -> None:
    """Write the event to the hook's stdin and close it (a hook that does not read it is fine)."""
    stdin = proc.stdin
    if stdin is None:
        return
    try:
        stdin.write(payload)
        await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        with contextlib.suppress(Exception):
            stdin.close()


async def _read_bounded(proc: asyncio.subprocess.Process) -> bytes:
    """The last :data:`STDERR_KEEP` bytes of the hook's stderr (read to the end, the rest dropped: the
    error is usually last)."""
    stream = proc.stderr
    if stream is None:
        return b""
    kept = b""
    while chunk := await stream.read(65536):
        kept = (kept + chunk)[-STDERR_KEEP:]
    return kept


def _one_line(data: bytes, limit: int = 200) -> str:
    """The hook's stderr as one short line for a message (the last non-empty line: usually the error)."""
    text = data.decode("utf-8", "replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    return clean_text(lines[-1], limit)


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the hook's process group (it was started in its own session: its pgid is its pid).  Only
    while the hook itself is not reaped: until then its pid (the group's id) cannot be reused."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, OSError):
        proc.kill()
