"""Password hashing with argon2id (argon2-cffi defaults, RFC 9106 low-memory profile) and the
password policy: at least MIN_LENGTH characters, not the username, not one repeated
character, and not guessable by zxcvbn (its offline frequency lists of common passwords,
names and words, keyboard patterns and repeats: score 3 of 4 or more; no network call)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")
MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection from offline attack"
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; the first 72 characters decide


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; False for a mismatch, a malformed hash or no user."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def weakness(password: str, username: str = "") -> str | None:
    """Why the password is refused (one sentence), or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    lowered = password.lower()
    if username and len(username) >= 3 and username.lower() in lowered:
        return "must not contain the username"
    if len(set(lowered)) <= 2:
        return "must not be one or two repeated characters"
    verdict = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=[username] if username else [])
    if verdict["score"] < MIN_SCORE:
        hint = verdict["feedback"]["warning"] or "too easy to guess"
        return f"too common or guessable ({hint.rstrip('.')}); use a longer passphrase"
    return None
