"""Run ``nezha-tui demo-server`` in a child process and read back where it listens.

Used where the demo's work must not share the interpreter (and its GIL) with
the app being watched: the bench, and ``--demo`` with a large fleet, whose
frames take hundreds of milliseconds to encode.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

__all__ = ["DemoProcess", "start_demo_process"]


@dataclass
class DemoProcess:
    proc: subprocess.Popen
    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_demo_process(args: list[str], timeout: float = 60.0) -> DemoProcess:
    """Start ``demo-server --port 0 ARGS`` and wait for its banner (URL and credentials)."""
    errors = tempfile.TemporaryFile(mode="w+")  # a pipe nobody reads could fill up and block the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "nezha_tui", "demo-server", "--port", "0", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, text=True,
    )
    assert proc.stdout is not None
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(found) < 4:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.search(r"at (http://\S+)", line):
            found["url"] = m.group(1)
        if m := re.search(r"username '([^']*)'\s+password '([^']*)'", line):
            found["username"], found["password"] = m.group(1), m.group(2)
        if m := re.search(r"token:\s+(nzp_\S+)", line):
            found["token"] = m.group(1)
    if "url" not in found:
        proc.kill()
        proc.wait()
        errors.seek(0)
        err = errors.read().strip()
        raise RuntimeError(f"the demo server did not start{': ' + err.splitlines()[-1] if err else ''}")
    # stdout stays open: the banner is all it writes, and a closed pipe would kill it on a later write
    return DemoProcess(proc, **found)
