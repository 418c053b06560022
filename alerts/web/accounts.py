"""Passwords, session tokens and the login brake: pure functions, no I/O.

Passwords are hashed with scrypt (hashlib, RFC 7914) at n=2^14, r=8, p=1, a 16-byte salt and
a 32-byte key, stored as `scrypt$n$r$p$salt$key` (base64) so the cost can rise later without
breaking old hashes. The session cookie holds a random token; the database holds its SHA-256
only, so a copy of the file opens no session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_KEY_BYTES = 32
_SALT_BYTES = 16
MIN_PASSWORD = 8
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
MAX_NAME = 64
# Failed logins: the answer to the n-th failure in a row waits 0.5 s · 2^(n-1), at most 8 s.
FIRST_DELAY, MAX_DELAY = 0.5, 8.0


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    key = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=_KEY_BYTES,
        maxmem=64 * 1024 * 1024,
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (a malformed hash matches nothing)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def name_problem(name: str) -> str | None:
    """Why `name` cannot be an account name (None: it can)."""
    if not name or len(name) > MAX_NAME or not set(name) <= NAME_CHARS:
        return (
            f"account name {name!r}: use 1 to {MAX_NAME} lower-case letters, digits, '.', '_' "
            "or '-'"
        )
    return None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"the password is too short; use at least {MIN_PASSWORD} characters"
    return None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time equality of two tokens; a missing one is never equal."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def login_delay(failures: int) -> float:
    """Seconds to hold the answer after the `failures`-th failed login in a row (0: none)."""
    if failures <= 0:
        return 0.0
    return min(MAX_DELAY, FIRST_DELAY * 2 ** min(failures - 1, 16))
