"""Password hashing, access JWTs and opaque tokens; no knowledge of users or sessions."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "studyhall"

# OWASP's Argon2id recommendation: m=19 MiB, t=2, p=1 (the minimum we go no lower than).
_password_hash = PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19456, parallelism=1),))
# Hashed once so a login for an unknown email costs as much as one for a known email.
_DUMMY_HASH = _password_hash.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-ish time whether or not a hash exists, so timing does not reveal accounts."""
    if not password_hash:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    try:
        return _password_hash.verify(password, password_hash)
    except Exception:
        return False


# Argon2 burns ~50 ms of CPU and 19 MiB per hash: async code hashes on these threads, never on
# the event loop (argon2-cffi releases the GIL, so the loop serves other requests meanwhile).
# One thread per core: a burst of sign-ins queues here instead of using the loop's default
# executor (which also runs the job queue's client) and that much memory at once.
PASSWORD_HASH_THREADS = max(2, os.cpu_count() or 2)
_password_pool: ThreadPoolExecutor | None = None
_password_pool_lock = threading.Lock()


def _password_threads() -> ThreadPoolExecutor:
    global _password_pool
    with _password_pool_lock:
        if _password_pool is None:
            _password_pool = ThreadPoolExecutor(
                max_workers=PASSWORD_HASH_THREADS, thread_name_prefix="argon2"
            )
        return _password_pool


async def hash_password_off_loop(password: str) -> str:
    """`hash_password` on a thread of its own, for async code."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_password_threads(), hash_password, password)


async def verify_password_off_loop(password: str, password_hash: str | None) -> bool:
    """`verify_password` on a thread of its own, for async code."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_password_threads(), verify_password, password, password_hash)


def new_opaque_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Opaque tokens are high-entropy, so a fast hash is enough (no salt or stretching)."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def sign(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


# The double-submit CSRF token is a random nonce signed with the installation secret, so a
# cookie planted by a sibling subdomain (which can set but not sign it) is refused. Pages and
# the API verify it with the same function.


def _csrf_signature(secret: str, nonce: str) -> str:
    return sign(secret, f"csrf:{nonce}")


def issue_csrf_token(secret: str) -> str:
    nonce = secrets.token_urlsafe(32)
    return f"{nonce}.{_csrf_signature(secret, nonce)}"


def is_genuine_csrf_token(secret: str, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce and signature) and constant_time_equals(
        signature, _csrf_signature(secret, nonce)
    )


def csrf_token_accepted(secret: str, cookie: str | None, submitted: str | None) -> bool:
    """Whether a request's CSRF cookie is genuine and the submitted token repeats it."""
    return bool(
        cookie
        and submitted
        and is_genuine_csrf_token(secret, cookie)
        and constant_time_equals(cookie, submitted)
    )


class InvalidToken(Exception):
    """A JWT that is malformed, expired, tampered with, or of the wrong kind."""


def encode_jwt(
    secret: str, subject: str, token_type: str, lifetime: timedelta, **claims: Any
) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": subject,
        "typ": token_type,
        "iss": JWT_ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM)


def decode_jwt(secret: str, token: str, token_type: str) -> dict[str, Any]:
    """Decode with the one pinned algorithm; `alg: none` or any other algorithm is refused."""
    try:
        # `algorithms` pins HS256: a token claiming `none` or any other algorithm is refused.
        payload: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            issuer=JWT_ISSUER,
            options={"require": ["exp", "iat", "sub", "typ", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if payload.get("typ") != token_type:
        raise InvalidToken("wrong token type")
    return payload
