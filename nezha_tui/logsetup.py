"""``--log FILE``: details for bug reports, with secrets redacted.

Without ``--log`` nothing is logged anywhere (a TUI cannot share its terminal
with log lines).  Every record passes through :class:`RedactingFilter`, which
masks bearer tokens, ``nzp_`` tokens, JWTs, cookies and any secret value the
program registered (the password and token actually in use).
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "redact", "setup_logging"]

_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1***"),
    (re.compile(r"nzp_[A-Za-z0-9_\-]+"), "nzp_***"),
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), "<jwt>"),
    (re.compile(r"(?i)((?:nz-jwt|nz-csrf|x-csrf-token)[\"']?\s*[=:]\s*[\"']?)[^\s;'\",]+"), r"\1***"),
    (re.compile(r"(?i)(\"password\"\s*:\s*\")[^\"]*"), r"\1***"),
    (re.compile(r"(?i)([?&]token=)[^&\s]+"), r"\1***"),
]

_secrets: set[str] = set()


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


def setup_logging(path: str | None, level: int = logging.DEBUG) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if not path:
        root.addHandler(logging.NullHandler())
        root.setLevel(logging.WARNING)
        return
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries log request lines and headers at DEBUG; keep them, redacted, but not their noise.
    for noisy in ("httpcore", "websockets.client", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.INFO)
