"""Registration, email verification and resending the link."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import AccountToken, User
from studyhall.core.db import utcnow
from studyhall.core.security import hash_token
from tests.accounts.conftest import API, MakeUser, login, settle_mail
from tests.backends import Mailbox, message_text
from tests.conftest import PASSWORD, TOKEN_IN_LINK


async def register(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, name: str = "Reg Istrant"
) -> httpx.Response:
    return await client.post(
        f"{API}/auth/register", json={"email": email, "name": name, "password": password}
    )


async def link_token(mailbox: Mailbox, email: str, subject: str = "Verify") -> str:
    message = await mailbox.wait_for(email, subject)
    match = TOKEN_IN_LINK.search(message_text(message))
    assert match, message_text(message)
    return match.group(1)


async def verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(f"{API}/auth/verify-email", json={"token": token})


async def test_new_account_must_verify_its_email_before_signing_in(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    response = await register(client, "fresh@example.com")
    assert response.status_code == 202
    refused = await login(client, "fresh@example.com")
    assert refused.status_code == 403
    assert refused.json()["code"] == "email_not_verified"

    token = await link_token(mailbox, "fresh@example.com")
    assert (await verify(client, token)).status_code == 200
    signed_in = await login(client, "fresh@example.com")
    assert signed_in.status_code == 200
    me = await client.get(
        f"{API}/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    )
    assert me.json()["email_verified"] is True
    assert me.json()["roles"] == ["student"]


@pytest.mark.parametrize(
    "password",
    [
        "short1!",  # too short
        "password123",  # common
        "qwertyuiop",  # common
        "Password123!",  # a common password with decoration
        "aaaaaaaaaaaaaaaa",  # one character repeated
        "weakling-wendy-2024",  # contains the email's local part
    ],
)
async def test_weak_passwords_are_refused(client: httpx.AsyncClient, password: str) -> None:
    response = await register(client, "weakling-wendy@example.com", password)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "weak_password"
    assert body["errors"] and all(error["loc"] == ["password"] for error in body["errors"])


async def test_malformed_registration_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await register(client, "not-an-email")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    blank_name = await register(client, "blank@example.com", name="   ")
    assert blank_name.status_code == 422


async def test_registering_a_taken_email_answers_like_a_new_one(
    client: httpx.AsyncClient, mailbox: Mailbox, make_user: MakeUser
) -> None:
    await make_user("taken@example.com", "Tia Taken")
    new = await register(client, "brand-new@example.com", "another fine passphrase")
    taken = await register(client, "  Taken@Example.COM ", "another fine passphrase", "Intruder")
    assert taken.status_code == new.status_code == 202
    assert taken.json() == new.json()
    assert taken.headers["content-type"] == new.headers["content-type"]

    warning = await mailbox.wait_for("taken@example.com", "tried to sign up")
    assert "/forgot-password" in message_text(warning)
    await settle_mail(mailbox)
    assert len(mailbox.sent_to("taken@example.com")) == 1, "no verification link for the taker"
    # The owner's account is untouched.
    assert (await login(client, "taken@example.com")).status_code == 200
    assert (await login(client, "taken@example.com", "another fine passphrase")).status_code == 401


async def test_a_verification_link_works_once(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    await register(client, "once@example.com")
    token = await link_token(mailbox, "once@example.com")
    assert (await verify(client, token)).status_code == 200
    again = await verify(client, token)
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_token"


async def test_a_verification_link_expires(
    client: httpx.AsyncClient, mailbox: Mailbox, db: AsyncSession
) -> None:
    await register(client, "late@example.com")
    token = await link_token(mailbox, "late@example.com")
    await db.execute(
        update(AccountToken)
        .where(AccountToken.token_hash == hash_token(token))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    expired = await verify(client, token)
    assert expired.status_code == 400
    assert expired.json()["code"] == "invalid_token"
    user = await db.scalar(select(User).where(User.email == "late@example.com"))
    assert user is not None and user.email_verified_at is None
    assert (await login(client, "late@example.com")).status_code == 403


async def test_unknown_and_wrong_purpose_tokens_are_refused(
    client: httpx.AsyncClient, mailbox: Mailbox, make_user: MakeUser
) -> None:
    assert (await verify(client, "x" * 43)).status_code == 400
    await make_user("resetter@example.com", verified=False)
    await client.post(f"{API}/auth/password-reset/request", json={"email": "resetter@example.com"})
    reset_token = await link_token(mailbox, "resetter@example.com", "Reset")
    wrong_purpose = await verify(client, reset_token)
    assert wrong_purpose.status_code == 400
    assert wrong_purpose.json()["code"] == "invalid_token"


async def test_resend_verification(
    client: httpx.AsyncClient, mailbox: Mailbox, make_user: MakeUser
) -> None:
    await make_user("waiting@example.com", "Wai Ting", verified=False)
    await make_user("done@example.com", "Don E")
    answers = [
        await client.post(f"{API}/auth/resend-verification", json={"email": email})
        for email in ("waiting@example.com", "done@example.com", "nobody@example.com")
    ]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert answers[0].json() == answers[1].json() == answers[2].json()

    token = await link_token(mailbox, "waiting@example.com")
    assert (await verify(client, token)).status_code == 200
    assert (await login(client, "waiting@example.com")).status_code == 200
    await settle_mail(mailbox)
    assert mailbox.sent_to("done@example.com") == []
    assert mailbox.sent_to("nobody@example.com") == []
