"""Who may act on the station's page: operators log in with a PIN or a badge scan.

The station file lists ``operators: [{name, pin_sha256, badge_sha256}]``: only
hashes, so the file can be read by anyone at the station without giving a PIN
away. A login gets a random session token in an ``HttpOnly``, ``SameSite=Strict``
cookie; the token lives only in the page server's memory (a restart logs
everybody out, which on a station is a feature). Without a session the page is
read-only: a viewer sees the run but can neither start, stop nor answer.

Requests that change something must also carry the ``X-Rackval`` header (the
page's script sets it): a cross-site form cannot, so another site open in the
station's browser cannot start a run with the operator's cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from rackval.station import OperatorSpec

COOKIE = "rackval_session"
ACTION_HEADER = "x-rackval"
SESSION_TTL_S = 12 * 3600  # one shift
# after this many wrong codes in a row, logins pause (a 4-digit PIN is guessable by a script)
MAX_FAILURES = 5
LOCKOUT_S = 30.0


def hash_code(code: str) -> str:
    """The SHA-256 hex digest the station file stores for a PIN or badge code."""
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


@dataclass
class Session:
    operator: str
    expires: float


class Auth:
    """Operators of the station and their sessions (in memory, thread-safe)."""

    def __init__(self, operators: list[OperatorSpec]) -> None:
        self.operators = list(operators)
        self._sessions: dict[str, Session] = {}
        self._failures = 0
        self._locked_until = 0.0
        self._lock = threading.Lock()

    def check_code(self, code: str) -> str | None:
        """The operator whose PIN or badge is ``code``, or None (also while locked out)."""
        with self._lock:
            if time.monotonic() < self._locked_until:
                return None
        digest = hash_code(code)
        found = None
        for op in self.operators:
            for stored in (op.pin_sha256, op.badge_sha256):
                # compare every entry, matching or not: the time taken says nothing
                if stored is not None and hmac.compare_digest(stored, digest):
                    found = found or op.name
        with self._lock:
            if found is None:
                self._failures += 1
                if self._failures >= MAX_FAILURES:
                    self._locked_until = time.monotonic() + LOCKOUT_S
                    self._failures = 0
            else:
                self._failures = 0
        return found

    def login(self, code: str) -> str | None:
        """A new session token for the operator with this code, or None."""
        name = self.check_code(code)
        if name is None:
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[token] = Session(name, time.monotonic() + SESSION_TTL_S)
        return token

    def operator(self, token: str | None) -> str | None:
        """The operator of a session token, None for a viewer (no, unknown or expired token)."""
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires < time.monotonic():
                del self._sessions[token]
                return None
            return session.operator

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)
