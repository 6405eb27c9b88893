"""Single-use email tokens (verification, password reset): random, stored only as hashes."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import AccountToken, TokenPurpose
from studyhall.core.db import utcnow
from studyhall.core.security import hash_token, new_opaque_token


async def issue_account_token(
    db: AsyncSession, user_id: uuid.UUID, purpose: TokenPurpose, lifetime: timedelta
) -> str:
    """Store a new token's hash and return the token itself: it exists only in the email."""
    raw = new_opaque_token()
    db.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose.value,
            token_hash=hash_token(raw),
            expires_at=utcnow() + lifetime,
        )
    )
    await db.flush()
    return raw


async def invalidate_account_tokens(
    db: AsyncSession, user_id: uuid.UUID, purpose: TokenPurpose
) -> None:
    """Mark every outstanding token of this purpose used (e.g. all reset links after a reset)."""
    await db.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose.value,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
