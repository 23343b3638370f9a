"""Passwords and access tokens: argon2id hashes (pwdlib) and signed, expiring JWTs (PyJWT).

A token names only the account (``sub``); role, carrier and site are read from the account on
every request, so a changed or disabled account takes effect at once.
"""

from __future__ import annotations

import functools
import secrets
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash

__all__ = [
    "ALGORITHM",
    "create_access_token",
    "hash_password",
    "new_secret_key",
    "read_access_token",
    "verify_password",
]

ALGORITHM = "HS256"
_AUDIENCE = "hazmat-api"
_HASHER = PasswordHash.recommended()


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return _HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user is unknown, so both cases take as long."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def verify_password(password: str, password_hash: str | None) -> bool:
    """Return whether the password matches; an unknown user (None) costs the same and fails."""
    if password_hash is None:
        _HASHER.verify(password, _dummy_hash())
        return False
    return _HASHER.verify(password, password_hash)


def new_secret_key() -> str:
    """Return a random signing key (for a process without a configured one)."""
    return secrets.token_urlsafe(48)


def create_access_token(
    *, account_id: int, secret_key: str, ttl_s: int, now: datetime | None = None
) -> str:
    """Return a signed token for an account, valid for `ttl_s` seconds from `now`."""
    issued_at = datetime.now(UTC) if now is None else now
    claims = {
        "sub": str(account_id),
        "aud": _AUDIENCE,
        "iat": issued_at,
        "exp": issued_at + timedelta(seconds=ttl_s),
    }
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_access_token(token: str, *, secret_key: str) -> int | None:
    """Return the account id of a valid token; None when forged, expired or malformed."""
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=[ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
    except jwt.InvalidTokenError:
        return None
    subject = claims.get("sub")
    if isinstance(subject, str) and subject.isdigit() and len(subject) <= 12:
        return int(subject)
    return None
