"""Account emails are jobs that carry the user's id, never a message or a token: the job makes
the single-use token (stored hashed), renders the message and sends it."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import AccountToken, User
from studyhall.core.security import hash_token
from tests.accounts.conftest import API, MakeUser, login, settle_mail
from tests.accounts.test_passwords import reset_token
from tests.accounts.test_registration import link_token, register
from tests.backends import Mailbox
from tests.core.test_enqueue import Enqueued, enqueued


def _mail_jobs(seen: list[Enqueued]) -> list[tuple[str, tuple[object, ...]]]:
    return [(e.name, e.args) for e in seen if e.name.endswith("_email")]


async def _token_rows(db: AsyncSession, token: str) -> tuple[int, int]:
    """(rows holding the token's hash, rows holding the token itself)."""
    hashed = await db.scalars(
        select(AccountToken).where(AccountToken.token_hash == hash_token(token))
    )
    raw = await db.scalars(select(AccountToken).where(AccountToken.token_hash == token))
    return len(hashed.all()), len(raw.all())


async def test_sign_up_and_reset_jobs_carry_the_user_id_and_make_hashed_tokens(
    client: httpx.AsyncClient, mailbox: Mailbox, db: AsyncSession
) -> None:
    with enqueued() as seen:
        await register(client, "jobs@example.com")
        verify_token = await link_token(mailbox, "jobs@example.com")
        await client.post(f"{API}/auth/password-reset/request", json={"email": "jobs@example.com"})
        password_token = await reset_token(mailbox, "jobs@example.com")
    user_id = await db.scalar(select(User.id).where(User.email == "jobs@example.com"))
    assert isinstance(user_id, uuid.UUID)
    assert _mail_jobs(seen) == [
        ("send_verification_email", (user_id,)),
        ("send_password_reset_email", (user_id,)),
    ]
    for token in (verify_token, password_token):
        assert not [e for e in seen if token.encode() in e.data], "a token went through the queue"
        assert await _token_rows(db, token) == (1, 0)
    assert not [e for e in seen if b"jobs@example.com" in e.data], "an address went through"


async def test_the_other_account_emails_carry_ids_and_plain_values(
    client: httpx.AsyncClient, mailbox: Mailbox, make_user: MakeUser, db: AsyncSession
) -> None:
    await make_user("owner@example.com", "Olive Owner")
    user_id = await db.scalar(select(User.id).where(User.email == "owner@example.com"))
    with enqueued() as seen:
        await register(client, "owner@example.com", "another fine passphrase", "Intruder")
        await mailbox.wait_for("owner@example.com", "tried to sign up")
        for attempt in range(5):
            await login(client, "owner@example.com", f"wrong password {attempt}")
        await mailbox.wait_for("owner@example.com", "was locked")
        await settle_mail(mailbox)
    assert _mail_jobs(seen) == [
        ("send_already_registered_email", (user_id,)),
        ("send_account_locked_email", (user_id, 1, "127.0.0.1")),
    ]
