"""Who may act on the station's page: operators log in with a PIN or a badge scan.

The station file lists ``operators: [{name, pin_hash, badge_hash}]``: only salted
scrypt hashes, so the file gives no PIN away at a glance, two operators with the
same PIN have different hashes, and each guess at a stolen file costs a scrypt
(about 50 ms here). A 4-digit PIN is still only 10 000 guesses: the file should
be readable by the station's account only, and badges (long codes) are better.
Unsalted ``pin_sha256``/``badge_sha256`` from earlier station files still work.

A login gets a random session token in an ``HttpOnly``, ``SameSite=Strict``
cookie; the token lives only in the page server's memory (a restart logs
everybody out, which on a station is a feature). Without a session the page is
read-only: a viewer sees the run but can neither start, stop nor answer.

Requests that change something must also carry the ``X-Rackval`` header (the
page's script sets it): a cross-site form cannot, so another site open in the
station's browser cannot start a run with the operator's cookie.
"""

from __future__ import annotations

import base64
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


# scrypt's cost for new hashes: ~50 ms and 16 MiB per check on a 2-core station PC
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES = 16


def hash_code(code: str) -> str:
    """The unsalted SHA-256 hex digest of earlier station files (``pin_sha256``)."""
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(code: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        code.strip().encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


def scrypt_hash(code: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$key``: what the station file stores as ``pin_hash``/``badge_hash``."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = _scrypt(code, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def code_matches(stored: str, code: str) -> bool:
    """Whether ``code`` is the PIN or badge of ``stored`` (a scrypt string or a SHA-256 hex)."""
    if stored.startswith("scrypt$"):
        _, n, r, p, salt, key = stored.split("$")
        return hmac.compare_digest(_scrypt(code, _unb64(salt), int(n), int(r), int(p)), _unb64(key))
    return hmac.compare_digest(stored, hash_code(code))


def legacy_hash_warnings(operators: list[OperatorSpec]) -> list[str]:
    """One warning per unsalted SHA-256 still in the station file."""
    return [
        f"operator {op.name}: {field} is an unsalted hash; replace it with "
        f"{field.split('_')[0]}_hash from `rackval station hash-pin`"
        for op in operators
        for field in op.legacy_fields()
    ]


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
        found = None
        for op in self.operators:
            for stored in op.hashes():
                # check every entry, matching or not: the time taken says nothing
                if code_matches(stored, code):
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
        """A new session token for the operator with this code, or None.

        Blocks for one scrypt per stored hash: call it off the event loop."""
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
