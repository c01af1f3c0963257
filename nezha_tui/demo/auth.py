"""Who is asking: demo users, JWT sessions, CSRF tokens and personal access tokens.

Mirrors the Dashboard (``jwt.go``, ``csrf.go``, ``api_token*.go``):

- ``POST /login`` issues an HS256 JWT (claims ``uid``, ``keyId``, ``exp``,
  ``orig_iat``) backed by a server-side session; a JWT is good while its
  signature verifies, ``exp`` is ahead and its session exists;
- the CSRF cookie is ``nonce.HMAC(nonce)``; unsafe requests with a JWT need
  cookie ``nz-csrf`` == header ``X-CSRF-Token`` and a valid signature;
- ``nzp_`` tokens are looked up by plaintext (the Dashboard stores a hash;
  the behaviour is the same): unknown -> 401 ``invalid api token``, expired
  -> 401 ``api token expired``, a missing scope -> 403.

Secrets are derived from the seed so a demo is reproducible; they are demo
values, never real credentials, and are only shown by the CLI banner.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

__all__ = ["User", "ApiToken", "Session", "AuthBook", "scope_matches"]


@dataclass(frozen=True)
class User:
    id: int
    username: str
    password: str
    role: int  # 0 admin, 1 member
    created_at: float
    agent_secret: str

    @property
    def is_admin(self) -> bool:
        return self.role == 0


@dataclass(frozen=True)
class ApiToken:
    id: int
    plaintext: str
    user_id: int
    scopes: tuple[str, ...]
    server_ids: tuple[int, ...] = ()  # whitelist; empty = all
    expires_at: float | None = None

    def has_scope(self, wanted: str) -> bool:
        return any(scope_matches(s, wanted) for s in self.scopes)

    def can_access_server(self, server_id: int) -> bool:
        return not self.server_ids or server_id in self.server_ids


def scope_matches(owned: str, wanted: str) -> bool:
    if owned == wanted:
        return True
    if owned == "nezha:*":
        return wanted.startswith("nezha:")
    if owned.endswith(":*"):
        prefix = owned[:-2]
        return wanted.startswith(prefix + ":") or wanted == prefix
    return False


@dataclass
class Session:
    key_id: str
    user_id: int
    expires_at: float


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@dataclass
class AuthBook:
    """Users, tokens and sessions of one demo Dashboard."""

    seed: int
    t0: float
    jwt_lifetime: float = 3600.0
    users: dict[int, User] = field(default_factory=dict)
    tokens: dict[str, ApiToken] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)

    def __post_init__(self) -> None:
        d = hashlib.sha256(f"nezha-demo-secrets:{self.seed}".encode()).hexdigest()
        self.secret = d[:48]
        self.users = {
            1: User(1, "admin", "nezha-demo", 0, self.t0 - 420 * 86400 + 0.5, d[:32]),
            2: User(2, "viewer", "viewer-demo", 1, self.t0 - 90 * 86400 + 0.25, d[32:64]),
        }
        tok = hashlib.sha256(f"nezha-demo-tokens:{self.seed}".encode()).hexdigest()
        self.full_token = "nzp_" + tok[:40]
        self.expired_token = "nzp_" + tok[40:64] + "expired00000000"
        self.noscope_token = "nzp_" + tok[8:32] + "servicereadonly0"
        self.limited_token = "nzp_" + tok[16:40] + "limitedservers00"
        for t in (
            ApiToken(1, self.full_token, 1, ("nezha:*",)),
            ApiToken(2, self.expired_token, 1, ("nezha:*",), expires_at=self.t0 - 86400),
            ApiToken(3, self.noscope_token, 1, ("nezha:service:read",)),
            ApiToken(4, self.limited_token, 1, ("nezha:inventory:read", "nezha:server:read", "nezha:service:read"),
                     server_ids=(1, 2, 3)),
        ):
            self.tokens[t.plaintext] = t

    # ------------------------------------------------------------------ login / JWT

    def check_password(self, username: str, password: str) -> User | None:
        for u in self.users.values():
            if hmac.compare_digest(u.username.encode(), username.encode()) and \
                    hmac.compare_digest(u.password.encode(), password.encode()):
                return u
        return None

    def issue_jwt(self, user: User, now: float) -> tuple[str, int]:
        """A new session and its token; returns (token, exp unix seconds)."""
        key_id = secrets.token_hex(16)
        exp = int(now + self.jwt_lifetime)
        self.sessions[key_id] = Session(key_id, user.id, float(exp))
        return self._sign({"exp": exp, "keyId": key_id, "orig_iat": int(now), "uid": f"u{user.id}"}), exp

    def refresh_jwt(self, claims: dict, now: float) -> tuple[str, int]:
        exp = int(now + self.jwt_lifetime)
        key_id = claims.get("keyId", "")
        sess = self.sessions.get(key_id)
        if sess is not None:
            sess.expires_at = float(exp)
        new = dict(claims)
        new["exp"] = exp
        new["orig_iat"] = int(now)
        return self._sign(new), exp

    def _sign(self, claims: dict) -> str:
        header = _b64(b'{"alg":"HS256","typ":"JWT"}')
        payload = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
        sig = hmac.new(self.secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(sig)}"

    def jwt_claims(self, token: str) -> dict | None:
        """Claims of a token whose signature verifies (expiry not checked); None otherwise."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            sig = _unb64(parts[2])
            want = hmac.new(self.secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(sig, want):
                return None
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        return claims if isinstance(claims, dict) else None

    def session_user(self, claims: dict, now: float) -> User | None:
        """The identity behind verified claims (the Dashboard's identityHandler)."""
        sess = self.sessions.get(str(claims.get("keyId", "")))
        if sess is None or now > sess.expires_at:
            return None
        if claims.get("uid") != f"u{sess.user_id}":
            return None
        return self.users.get(sess.user_id)

    def revoke_sessions(self) -> None:
        self.sessions.clear()

    # ------------------------------------------------------------------ CSRF

    def issue_csrf(self) -> str:
        nonce = secrets.token_hex(32)
        return nonce + "." + hmac.new(self.secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()

    def valid_csrf(self, value: str) -> bool:
        idx = value.rfind(".")
        if idx <= 0 or idx == len(value) - 1:
            return False
        nonce, sig = value[:idx], value[idx + 1:]
        want = hmac.new(self.secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(sig.encode(), want.encode())
