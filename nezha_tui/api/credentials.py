"""Who a client is: guest, user name and password, or a token (``nzp_`` or a JWT).

Its own module so that configuration can name credentials without importing
the HTTP client.  ``repr`` and ``str`` never show the password or the token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Credentials"]


@dataclass(frozen=True)
class Credentials:
    """Who the client is.  ``repr`` never shows the password or the token."""

    username: str | None = field(default=None)
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)  # nzp_... or a JWT

    @property
    def mode(self) -> str:
        if self.token:
            return "token"
        if self.password:
            return "password"
        return "guest"

    @property
    def is_access_token(self) -> bool:
        return bool(self.token) and self.token.strip().startswith("nzp_")

    def __repr__(self) -> str:
        parts = [f"mode={self.mode!r}"]
        if self.username:
            parts.append(f"username={self.username!r}")
        if self.password:
            parts.append("password=***")
        if self.token:
            parts.append("token=nzp_***" if self.is_access_token else "token=***")
        return f"Credentials({', '.join(parts)})"

    __str__ = __repr__
