"""Password policy, reset by emailed link, and change; both of the latter end every session."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import AccountToken
from studyhall.accounts.passwords import check_password_policy, password_problems
from studyhall.core.db import utcnow
from studyhall.core.errors import ValidationFailed
from studyhall.core.security import hash_token
from tests.accounts.conftest import API, MakeUser, SecurityLog, bearer, login, settle_mail
from tests.backends import Mailbox, message_text
from tests.conftest import PASSWORD, TOKEN_IN_LINK, SignedInUser, sign_in

NEW_PASSWORD = "a different and sturdy passphrase"


# ------------------------------------------------------------------ policy


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 10"),
        ("password123", "too common"),
        ("qwertyuiop", "too common"),
        ("iloveyou!!", "too common"),
        ("zzzzzzzzzzzz", "different characters"),
        ("x" * 129 + "yzw", "at most 128"),
        ("my name is Hannah Smith", "email address or name"),
        ("hannah.s-rules-forever", "email address or name"),
    ],
)
def test_password_problems(password: str, problem: str) -> None:
    problems = password_problems(password, "hannah.s@example.com", "Hannah Smith")
    assert any(problem in p for p in problems), problems


def test_a_good_password_passes_the_policy() -> None:
    assert password_problems(PASSWORD, "someone@example.com", "Some One") == []
    check_password_policy(PASSWORD, "someone@example.com", "Some One")
    with pytest.raises(ValidationFailed) as raised:
        check_password_policy("password123")
    assert raised.value.code == "weak_password"
    assert raised.value.status == 422


# ------------------------------------------------------------------ reset


async def request_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(f"{API}/auth/password-reset/request", json={"email": email})


async def confirm_reset(
    client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": password}
    )


async def reset_token(mailbox: Mailbox, email: str) -> str:
    message = await mailbox.wait_for(email, "Reset")
    match = TOKEN_IN_LINK.search(message_text(message))
    assert match and "/reset-password?token=" in message_text(message)
    return match.group(1)


async def test_reset_request_answers_the_same_for_any_address(
    client: httpx.AsyncClient, mailbox: Mailbox, make_user: MakeUser
) -> None:
    await make_user("member@example.com")
    await make_user("deactivated@example.com", active=False)
    answers = [
        await request_reset(client, email)
        for email in ("member@example.com", "stranger@example.com", "deactivated@example.com")
    ]
    assert {a.status_code for a in answers} == {202}
    assert answers[0].json() == answers[1].json() == answers[2].json()
    await mailbox.wait_for("member@example.com", "Reset")
    await settle_mail(mailbox)
    assert mailbox.sent_to("stranger@example.com") == []
    assert mailbox.sent_to("deactivated@example.com") == []


async def test_reset_changes_the_password_and_ends_every_session(
    client: httpx.AsyncClient, mailbox: Mailbox, student: SignedInUser, security_log: SecurityLog
) -> None:
    other_device = await sign_in(client, student.email)
    await request_reset(client, student.email)
    token = await reset_token(mailbox, student.email)

    weak = await confirm_reset(client, token, "password123")
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    # A refused password does not use up the link.
    done = await confirm_reset(client, token)
    assert done.status_code == 200, done.text

    for old in (student, other_device):
        me = await client.get(f"{API}/me", headers=old.headers)
        assert me.status_code == 401 and me.json()["code"] == "session_ended"
        refreshed = await client.post(
            f"{API}/auth/refresh", json={"refresh_token": old.refresh_token}
        )
        assert refreshed.status_code == 401
    assert (await login(client, student.email, PASSWORD)).status_code == 401
    assert (await login(client, student.email, NEW_PASSWORD)).status_code == 200
    await mailbox.wait_for(student.email, "password was changed")
    assert security_log.events("password_reset")


async def test_a_reset_link_works_once(
    client: httpx.AsyncClient, mailbox: Mailbox, make_user: MakeUser
) -> None:
    await make_user("twice@example.com")
    await request_reset(client, "twice@example.com")
    token = await reset_token(mailbox, "twice@example.com")
    assert (await confirm_reset(client, token)).status_code == 200
    again = await confirm_reset(client, token, "yet another good passphrase")
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_token"
    assert (await login(client, "twice@example.com", NEW_PASSWORD)).status_code == 200


async def test_a_reset_invalidates_every_other_reset_link_of_the_account(
    client: httpx.AsyncClient, mailbox: Mailbox, make_user: MakeUser
) -> None:
    await make_user("many@example.com")
    tokens = []
    for _ in range(2):
        await request_reset(client, "many@example.com")
        tokens.append(await reset_token(mailbox, "many@example.com"))
        mailbox.clear()
    older, newer = tokens
    assert (await confirm_reset(client, newer)).status_code == 200
    refused = await confirm_reset(client, older, "yet another good passphrase")
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "invalid_token"
    assert (await login(client, "many@example.com", NEW_PASSWORD)).status_code == 200


async def test_a_reset_link_expires(
    client: httpx.AsyncClient, mailbox: Mailbox, make_user: MakeUser, db: AsyncSession
) -> None:
    await make_user("slow@example.com")
    await request_reset(client, "slow@example.com")
    token = await reset_token(mailbox, "slow@example.com")
    await db.execute(
        update(AccountToken)
        .where(AccountToken.token_hash == hash_token(token))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    expired = await confirm_reset(client, token)
    assert expired.status_code == 400
    assert expired.json()["code"] == "invalid_token"
    assert (await login(client, "slow@example.com", PASSWORD)).status_code == 200


async def test_a_reset_proves_the_address_of_an_unverified_account(
    client: httpx.AsyncClient, mailbox: Mailbox, make_user: MakeUser
) -> None:
    await make_user("unproven@example.com", verified=False)
    await request_reset(client, "unproven@example.com")
    token = await reset_token(mailbox, "unproven@example.com")
    assert (await confirm_reset(client, token)).status_code == 200
    assert (await login(client, "unproven@example.com", NEW_PASSWORD)).status_code == 200


# ------------------------------------------------------------------ change


async def change(
    client: httpx.AsyncClient, user: SignedInUser, current: str, new: str
) -> httpx.Response:
    return await client.post(
        f"{API}/me/password",
        headers=user.headers,
        json={"current_password": current, "new_password": new},
    )


async def test_changing_the_password_needs_the_current_one_and_ends_every_session(
    client: httpx.AsyncClient, mailbox: Mailbox, student: SignedInUser
) -> None:
    other_device = await sign_in(client, student.email)
    wrong = await change(client, student, "not my password at all", NEW_PASSWORD)
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_credentials"
    weak = await change(client, student, PASSWORD, "qwertyuiop")
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    assert (await client.get(f"{API}/me", headers=student.headers)).status_code == 200

    changed = await change(client, student, PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 204
    for old in (student, other_device):
        me = await client.get(f"{API}/me", headers=old.headers)
        assert me.status_code == 401 and me.json()["code"] == "session_ended"
        refreshed = await client.post(
            f"{API}/auth/refresh", json={"refresh_token": old.refresh_token}
        )
        assert refreshed.status_code == 401
    assert (await login(client, student.email, PASSWORD)).status_code == 401
    fresh = await login(client, student.email, NEW_PASSWORD)
    assert fresh.status_code == 200
    me = await client.get(f"{API}/me", headers=bearer(fresh.json()["access_token"]))
    assert me.status_code == 200
    await mailbox.wait_for(student.email, "password was changed")
