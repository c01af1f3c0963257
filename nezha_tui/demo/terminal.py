"""A simulated shell for the demo Dashboard's web terminal: never runs anything real.

``SimulatedShell(name)`` behaves like an interactive shell on a pseudo-terminal
as an agent starts it (``pkg/pty``: 80x24, cooked mode with echo), seen from
the terminal's side: ``feed(bytes)`` returns what the pty would write back.

- prompt ``root@NAME:~# `` (control characters of NAME shown as ``?``);
- typed characters are echoed; input ``\\r`` or ``\\n`` runs the line; output
  lines end in ``\\r\\n``;
- backspace (0x7f, 0x08) erases a character (``\\b \\b``, twice for wide
  ones); ^U erases the line; ^C prints ``^C`` and a new prompt; ^D on an empty
  line ends the session (prints ``exit`` as bash does); ^L clears the screen;
  escape sequences (arrow keys, bracketed paste marks) are swallowed;
- commands: ``hostname``, ``whoami``, ``id``, ``pwd``, ``uname [-a|-s|-n|-r|-m]``,
  ``stty size`` (from the last accepted resize), ``echo [-n] ...``, ``clear``,
  ``seq [FIRST] LAST`` (at most ``SEQ_LIMIT`` numbers), ``true``, ``false``,
  ``help``, ``exit [N]``; anything else is ``bash: X: command not found``.

Pure and deterministic: no clock, no I/O.
"""

from __future__ import annotations

import codecs
import random
import shlex
import unicodedata
from dataclasses import dataclass

__all__ = ["SimulatedShell", "TerminalBook", "TerminalSession", "ATTACH_WINDOW", "SEQ_LIMIT", "MIN_COLS", "MAX_COLS", "MIN_ROWS", "MAX_ROWS"]

# the agent ignores sizes outside these (cmd/agent/terminal_session.go)
MIN_COLS, MAX_COLS, MIN_ROWS, MAX_ROWS = 2, 1000, 2, 500
SEQ_LIMIT = 2_000_000  # numbers; `seq 2000000` is about 15 MB

KERNEL = "6.1.0-27-amd64"
KERNEL_VERSION = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)"
CLEAR = "\x1b[H\x1b[2J\x1b[3J"
HELP = ("simulated shell (nezha-tui demo): nothing here runs for real.\r\n"
        "commands: hostname whoami id pwd uname stty echo clear seq true false help exit\r\n")


def _safe(text: str) -> str:
    return "".join("?" if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0) else c for c in text)


def _width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class SimulatedShell:
    def __init__(self, name: str) -> None:
        self.name = _safe(name) or "server"
        self.cols, self.rows = 80, 24
        self.ended = False
        self.exit_status = 0
        self._line: list[str] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._esc = ""  # an escape sequence being swallowed ("" = none)

    @property
    def prompt(self) -> str:
        return f"root@{self.name}:~# "

    def start(self) -> bytes:
        """What the shell writes before any input: its prompt."""
        return self.prompt.encode()

    def resize(self, cols: int, rows: int) -> bool:
        """Take a new size; sizes the agent would ignore are ignored (False)."""
        if not (MIN_COLS <= cols <= MAX_COLS and MIN_ROWS <= rows <= MAX_ROWS):
            return False
        self.cols, self.rows = cols, rows
        return True

    def feed(self, data: bytes) -> bytes:
        """Input typed into the terminal -> what the terminal shows back."""
        if self.ended:
            return b""
        out: list[str] = []
        for ch in self._decoder.decode(data):
            if self.ended:
                break
            self._key(ch, out)
        return "".join(out).encode("utf-8")

    # ------------------------------------------------------------------ line discipline

    def _key(self, ch: str, out: list[str]) -> None:
        if self._esc:
            self._esc += ch
            # CSI: ESC [ params final(0x40-0x7e); SS3: ESC O x; other: ESC x
            if len(self._esc) == 2 and ch not in "[O":
                self._esc = ""
            elif len(self._esc) >= 3 and (self._esc[1] == "O" or "\x40" <= ch <= "\x7e"):
                self._esc = ""
            elif len(self._esc) > 32:
                self._esc = ""
            return
        o = ord(ch)
        if ch == "\x1b":
            self._esc = ch
        elif ch in "\r\n":
            out.append("\r\n")
            line = "".join(self._line)
            self._line.clear()
            out.append(self._run(line))
            if not self.ended:
                out.append(self.prompt)
        elif ch in "\x7f\x08":
            if self._line:
                w = _width(self._line.pop())
                out.append("\b" * w + " " * w + "\b" * w)
        elif ch == "\x03":
            self._line.clear()
            out.append("^C\r\n" + self.prompt)
        elif ch == "\x04":
            if not self._line:
                out.append("exit\r\n")
                self.ended = True
        elif ch == "\x15":
            w = sum(_width(c) for c in self._line)
            self._line.clear()
            out.append("\b" * w + " " * w + "\b" * w)
        elif ch == "\x0c":
            out.append(CLEAR + self.prompt + "".join(self._line))
        elif o < 32 or 0x7F <= o < 0xA0:
            pass  # other control characters: nothing
        else:
            self._line.append(ch)
            out.append(ch)

    # ------------------------------------------------------------------ commands

    def _run(self, line: str) -> str:
        try:
            argv = shlex.split(line)
        except ValueError:
            return "bash: unexpected EOF while looking for matching quote\r\n"
        if not argv:
            return ""
        cmd, args = argv[0], argv[1:]
        if cmd == "hostname":
            return self.name + "\r\n"
        if cmd == "whoami":
            return "root\r\n"
        if cmd == "id":
            return "uid=0(root) gid=0(root) groups=0(root)\r\n"
        if cmd == "pwd":
            return "/root\r\n"
        if cmd == "uname":
            return self._uname(args)
        if cmd == "stty":
            if args == ["size"]:
                return f"{self.rows} {self.cols}\r\n"
            return "stty: only 'stty size' is simulated\r\n"
        if cmd == "echo":
            newline = True
            if args[:1] == ["-n"]:
                newline, args = False, args[1:]
            return _safe(" ".join(args)) + ("\r\n" if newline else "")
        if cmd == "clear":
            return CLEAR
        if cmd == "seq":
            return self._seq(args)
        if cmd in ("true", ":"):
            return ""
        if cmd == "false":
            return ""
        if cmd == "help":
            return HELP
        if cmd == "exit":
            self.ended = True
            self.exit_status = int(args[0]) & 0xFF if args and args[0].isdigit() else 0
            return "exit\r\n"
        return f"bash: {_safe(cmd)}: command not found\r\n"

    def _uname(self, args: list[str]) -> str:
        parts = {"-s": "Linux", "-n": self.name, "-r": KERNEL, "-v": KERNEL_VERSION, "-m": "x86_64"}
        if not args:
            return "Linux\r\n"
        if args == ["-a"]:
            return f"Linux {self.name} {KERNEL} {KERNEL_VERSION} x86_64 GNU/Linux\r\n"
        if all(a in parts for a in args):
            return " ".join(parts[k] for k in parts if k in args) + "\r\n"
        return f"uname: invalid option -- '{_safe(args[0].lstrip('-')[:1])}'\r\n"

    def _seq(self, args: list[str]) -> str:
        try:
            nums = [int(a) for a in args]
        except ValueError:
            bad = next(a for a in args if not a.lstrip("-").isdigit())
            return f"seq: invalid floating point argument: '{_safe(bad)}'\r\n"
        if len(nums) == 1:
            first, last = 1, nums[0]
        elif len(nums) == 2:
            first, last = nums
        else:
            return "seq: missing operand\r\n" if not nums else "seq: only 'seq [FIRST] LAST' is simulated\r\n"
        if last - first + 1 > SEQ_LIMIT:
            return f"seq: the simulated shell prints at most {SEQ_LIMIT} numbers\r\n"
        if last < first:
            return ""
        return "\r\n".join(map(str, range(first, last + 1))) + "\r\n"


# --------------------------------------------------------------------------- sessions (the io_stream registry)

ATTACH_WINDOW = 10.0  # s: a session not attached by then is gone (see TerminalBook)
MAX_STREAMS_PER_USER = 20  # service/rpc/io_stream_quota.go


@dataclass
class TerminalSession:
    session_id: str
    server_id: int
    server_name: str
    creator_id: int
    created_at: float
    attached: bool = False


class TerminalBook:
    """Terminal sessions of one demo Dashboard (the Dashboard's io_stream registry, simplified).

    ``create`` registers a session for a creator and a server; ``attach``
    hands it out once, to its creator or an admin, within ``window`` seconds
    of creation on the demo's clock; a session attached, ended or too old is
    gone, and asking for it again answers like an unknown one.  Ids are
    deterministic UUID-shaped strings (seeded), like hashicorp/go-uuid's.
    """

    def __init__(self, seed: int, window: float = ATTACH_WINDOW) -> None:
        self.window = window
        self._rng = random.Random(f"nezha-demo-terminal:{seed}")
        self.sessions: dict[str, TerminalSession] = {}

    def _new_id(self) -> str:
        h = "%032x" % self._rng.getrandbits(128)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def expire(self, now: float) -> None:
        for sid in [k for k, s in self.sessions.items() if not s.attached and now - s.created_at > self.window]:
            del self.sessions[sid]

    def create(self, server_id: int, server_name: str, creator_id: int, now: float) -> TerminalSession:
        """A new session; raises ``ValueError`` with the Dashboard's text when the user has too many."""
        self.expire(now)
        if sum(1 for s in self.sessions.values() if s.creator_id == creator_id) >= MAX_STREAMS_PER_USER:
            raise ValueError("too many concurrent streams for this user")
        sid = self._new_id()
        while sid in self.sessions:
            sid = self._new_id()
        sess = TerminalSession(sid, server_id, server_name, creator_id, now)
        self.sessions[sid] = sess
        return sess

    def attach(self, session_id: str, user_id: int, is_admin: bool, now: float) -> TerminalSession | None:
        """The session, now attached; None when unknown, gone, taken, too old or not the caller's."""
        self.expire(now)
        sess = self.sessions.get(session_id)
        if sess is None or sess.attached or not (is_admin or sess.creator_id == user_id):
            return None
        sess.attached = True
        return sess

    def end(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)
