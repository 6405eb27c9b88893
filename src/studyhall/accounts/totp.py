"""TOTP (RFC 6238) codes with replay protection, otpauth URIs, QR codes and backup codes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import pyotp
import segno

ISSUER = "Studyhall"
STEP_SECONDS = 30
DIGITS = 6
ACCEPTED_DRIFT_STEPS = 1
BACKUP_CODE_COUNT = 10


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def code_at(
    secret_b32: str, for_time: float, digits: int = DIGITS, digest: Any = hashlib.sha1
) -> str:
    """The code valid at `for_time` (seconds since the epoch)."""
    return str(
        pyotp.TOTP(secret_b32, digits=digits, digest=digest, interval=STEP_SECONDS).at(for_time)
    )


def matching_step(
    secret_b32: str, code: str, last_used_step: int, now: float | None = None
) -> int | None:
    """The time step `code` belongs to, if it is valid now (±1 step) and newer than the last used.

    Returning the step lets the caller store it, so the same code can never be used twice.
    """
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != DIGITS:
        return None
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current - ACCEPTED_DRIFT_STEPS, current + ACCEPTED_DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret_b32, step * STEP_SECONDS), code):
            return step if step > last_used_step else None
    return None


def is_replay(secret_b32: str, code: str, last_used_step: int, now: float | None = None) -> bool:
    """True when `code` is a genuine code that was already used (worth a security event)."""
    code = code.strip()
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    return any(
        hmac.compare_digest(code_at(secret_b32, step * STEP_SECONDS), code)
        for step in range(current - ACCEPTED_DRIFT_STEPS, last_used_step + 1)
    )


def otpauth_uri(secret_b32: str, account: str) -> str:
    return pyotp.TOTP(secret_b32).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    qr = segno.make(uri, error="m")
    svg: str = qr.svg_inline(scale=5, title="QR code for your authenticator app", omitsize=True)
    return svg


async def qr_svg_off_loop(uri: str) -> str:
    """`qr_svg` on a worker thread: drawing the code takes ~20 ms of CPU."""
    return await asyncio.to_thread(qr_svg, uri)


def new_backup_codes() -> list[str]:
    """Ten codes like `4K7Q-9XWM-T2PZ` (60 bits each)."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    codes = []
    for _ in range(BACKUP_CODE_COUNT):
        raw = "".join(secrets.choice(alphabet) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def normalize_backup_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def hash_backup_code(secret_key: str, code: str) -> str:
    return hmac.new(
        secret_key.encode(), normalize_backup_code(code).encode(), hashlib.sha256
    ).hexdigest()


def looks_like_backup_code(code: str) -> bool:
    return len(normalize_backup_code(code)) == 12


def b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode()
