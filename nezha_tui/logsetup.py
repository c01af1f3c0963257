"""``--log FILE``: details for bug reports, with secrets redacted.

Without ``--log`` nothing is logged anywhere (a TUI cannot share its terminal
with log lines).  Every record passes through :class:`RedactingFilter`, which
masks bearer tokens, ``nzp_`` tokens, JWTs, cookies and any secret value the
program registered (the password and token actually in use).

Whatever would still reach the terminal goes through the same redaction and
is cut to one line, never a traceback: logging's last resort (used when no
handler is configured), Python warnings, exceptions in threads and
"exception ignored" reports (:func:`guarded`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import sys
import threading
import warnings
from collections.abc import Iterator

__all__ = ["LogFileError", "RedactingFilter", "guarded", "log_file_active", "one_line", "redact",
           "register_secret", "setup_logging"]

_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1***"),
    (re.compile(r"nzp_[A-Za-z0-9_\-]+"), "nzp_***"),
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), "<jwt>"),
    (re.compile(r"(?i)((?:nz-jwt|nz-csrf|x-csrf-token)[\"']?\s*[=:]\s*[\"']?)[^\s;'\",]+"), r"\1***"),
    (re.compile(r"(?i)(\"password\"\s*:\s*\")[^\"]*"), r"\1***"),
    (re.compile(r"(?i)([?&]token=)[^&\s]+"), r"\1***"),
    # user:password@ in a URL (the password is unknown to us, so it was never registered)
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://)[^/?#\s@]*@"), r"\1***@"),
]

_secrets: set[str] = set()

# the most of one message that reaches a terminal
ONE_LINE_MAX = 300
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it would be logged."""
    if value and len(value) >= 3:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def one_line(text: str, limit: int = ONE_LINE_MAX) -> str:
    """``text`` redacted, on one line, without control characters, at most ``limit`` characters."""
    text = redact(str(text)).strip()
    text = _CONTROLS.sub(" ", text.splitlines()[0] if text else "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class _OneLineStderr(logging.Handler):
    """Logging's last resort: ``nezha-tui: <message>`` on stderr, redacted, one line, no traceback."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            try:
                message = record.getMessage()
            except Exception:
                message = str(record.msg)
            message = one_line(message)
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                message = f"{message}: {type(exc).__name__}: {one_line(str(exc))}"
            stream = sys.stderr
            if stream is not None:
                stream.write(f"nezha-tui: {one_line(message)}\n")
                stream.flush()
        except Exception:  # never let reporting an error become a traceback
            pass

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass


LAST_RESORT = _OneLineStderr()


class LogFileError(Exception):
    """``--log PATH`` cannot be used (one line, for the user)."""


def _open_log(path: str):
    """Open ``path`` for appending, refusing what is not a regular file (a FIFO would block)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except IsADirectoryError:
        raise LogFileError(f"--log {path}: is a directory; give a file name") from None
    except FileNotFoundError:
        raise LogFileError(f"--log {path}: the directory {os.path.dirname(path) or '.'} does not exist") from None
    except OSError as exc:
        raise LogFileError(f"--log {path}: cannot write there ({exc.strerror or type(exc).__name__})") from None
    except ValueError:  # an embedded NUL
        raise LogFileError("--log: not a usable file name") from None
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):  # /dev/null and a terminal are fine
        os.close(fd)
        raise LogFileError(f"--log {path}: not a regular file")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")


class _LogFile(logging.StreamHandler):
    """The ``--log`` handler (a marker class: :func:`log_file_active`)."""


def setup_logging(path: str | None, level: int = logging.DEBUG) -> None:
    """Log to ``path`` (redacted) or nowhere.  Raises :class:`LogFileError` for an unusable path."""
    stream = _open_log(path) if path else None  # before touching the handlers: a failure changes nothing
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if isinstance(handler, _LogFile):
            handler.close()
            handler.stream.close()
    if stream is None:
        root.addHandler(logging.NullHandler())
        root.setLevel(logging.WARNING)
        return
    handler = _LogFile(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries log request lines and headers at DEBUG; keep them, redacted, but not their noise.
    for noisy in ("httpcore", "websockets.client", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.INFO)


def log_file_active() -> bool:
    """Whether ``--log`` is in effect (records reach a file rather than nowhere or the last resort)."""
    return any(isinstance(h, _LogFile) for h in logging.getLogger().handlers)


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """While the command runs, nothing that Python reports on its own reaches the terminal raw.

    Logging's last resort becomes :data:`LAST_RESORT`; exceptions in threads
    and unraisable exceptions ("Exception ignored in ...") are logged (to
    ``--log``, else to the last resort: one line) instead of being printed
    with a traceback; Python warnings go to ``--log`` only (logging gives
    ``py.warnings`` a null handler of its own).  Everything is restored on exit.
    """
    saved = (logging.lastResort, threading.excepthook, sys.unraisablehook)
    log = logging.getLogger("nezha_tui")

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        log.error("thread %s stopped by an error", name,
                  exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    def unraisable_hook(args) -> None:
        where = type(getattr(args, "object", None)).__name__
        log.error("%s (a %s)", getattr(args, "err_msg", None) or "Exception ignored", where,
                  exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    logging.lastResort = LAST_RESORT
    threading.excepthook = thread_hook
    sys.unraisablehook = unraisable_hook
    with warnings.catch_warnings():
        logging.captureWarnings(True)
        try:
            yield
        finally:
            logging.captureWarnings(False)
            logging.lastResort, threading.excepthook, sys.unraisablehook = saved
