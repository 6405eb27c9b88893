"""Signing in with a password: answers that reveal nothing, and progressive lockout."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from studyhall.core import cache
from studyhall.core.settings import Settings
from tests.accounts.conftest import API, MakeUser, SecurityLog, bearer, login, settle_mail
from tests.backends import Mailbox, message_text

WRONG = "not the right passphrase"


def assert_locked(response: httpx.Response, around_seconds: int) -> None:
    assert response.status_code == 423, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "locked_out"
    retry_after = int(response.headers["Retry-After"])
    assert around_seconds - 5 <= retry_after <= around_seconds + 1
    assert body["retry_after"] == retry_after


async def test_login_returns_a_token_pair_that_works(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user("pat@example.com", "Pat")
    response = await login(client, "PAT@Example.com ")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["refresh_token"] and body["access_token"]
    me = await client.get(f"{API}/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "pat@example.com"
    assert me.json()["last_login_at"] is not None


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user("known@example.com")
    known = await login(client, "known@example.com", WRONG)
    unknown = await login(client, "nobody@example.com", WRONG)
    assert known.status_code == unknown.status_code == 401
    assert known.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    assert known.json()["detail"] == unknown.json()["detail"]


async def test_unverified_and_deactivated_users_cannot_sign_in(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user("unverified@example.com", verified=False)
    await make_user("gone@example.com", active=False)
    unverified = await login(client, "unverified@example.com")
    assert unverified.status_code == 403
    assert unverified.json()["code"] == "email_not_verified"
    gone = await login(client, "gone@example.com")
    assert gone.status_code == 403
    assert gone.json()["code"] == "account_inactive"


async def test_account_locks_after_threshold_and_lock_doubles(
    client_from: Callable[[str], httpx.AsyncClient],
    make_user: MakeUser,
    settings: Settings,
    mailbox: Mailbox,
    security_log: SecurityLog,
) -> None:
    email = "locked.owner@example.com"
    await make_user(email, "Lou Locked")
    # Every attempt from a new address: this test is about the account, not the IP.
    for attempt in range(settings.lockout_threshold):
        failed = await login(client_from(f"10.1.0.{attempt}"), email, WRONG)
        assert failed.status_code == 401, failed.text
    locked = await login(client_from("10.1.1.1"), email)  # even the right password
    assert_locked(locked, settings.lockout_base_seconds)

    message = await mailbox.wait_for(email, "was locked")
    assert "10.1.0.4" in message_text(message)
    assert security_log.events("account_locked")

    # When the lock runs out, the next failure locks for twice as long.
    await cache.delete(f"lockout:login:until:{email}")
    failed = await login(client_from("10.1.2.1"), email, WRONG)
    assert failed.status_code == 401
    assert_locked(await login(client_from("10.1.2.2"), email), 2 * settings.lockout_base_seconds)

    await settle_mail(mailbox)
    assert len(mailbox.sent_to(email)) == 1, "the owner is told once per series of locks"


async def test_unknown_email_locks_exactly_like_a_known_one(
    client_from: Callable[[str], httpx.AsyncClient],
    make_user: MakeUser,
    settings: Settings,
) -> None:
    await make_user("exists@example.com")
    answers: dict[str, list[httpx.Response]] = {}
    for email in ("exists@example.com", "missing@example.com"):
        answers[email] = [
            await login(client_from(f"10.2.{len(answers)}.{attempt}"), email, WRONG)
            for attempt in range(settings.lockout_threshold + 1)
        ]
    known, unknown = answers["exists@example.com"], answers["missing@example.com"]
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [r.status_code for r in known] == [401] * settings.lockout_threshold + [423]
    for a, b in zip(known, unknown, strict=True):
        assert a.json()["code"] == b.json()["code"]
        assert a.json()["detail"] == b.json()["detail"]
        assert a.headers.get("Retry-After") == b.headers.get("Retry-After")


async def test_an_ip_with_many_failures_is_locked_for_every_account(
    client: httpx.AsyncClient,
    client_from: Callable[[str], httpx.AsyncClient],
    make_user: MakeUser,
    settings: Settings,
    security_log: SecurityLog,
) -> None:
    await make_user("victim@example.com")
    # One failure per account, so no account reaches the threshold; the IP does.
    for attempt in range(settings.lockout_threshold):
        failed = await login(client, f"guess{attempt}@example.com", WRONG)
        assert failed.status_code == 401
    assert_locked(await login(client, "victim@example.com"), settings.lockout_base_seconds)
    assert security_log.events("ip_locked")
    # The account itself is not locked: from elsewhere its owner signs in.
    assert (await login(client_from("10.3.0.1"), "victim@example.com")).status_code == 200


async def test_successful_login_clears_the_account_counter(
    client_from: Callable[[str], httpx.AsyncClient],
    make_user: MakeUser,
    settings: Settings,
) -> None:
    email = "forgetful@example.com"
    await make_user(email)
    almost = settings.lockout_threshold - 1
    for attempt in range(almost):
        assert (await login(client_from(f"10.4.0.{attempt}"), email, WRONG)).status_code == 401
    assert (await login(client_from("10.4.1.0"), email)).status_code == 200
    # Counting starts again from zero: `almost` more failures do not lock.
    for attempt in range(almost):
        assert (await login(client_from(f"10.4.2.{attempt}"), email, WRONG)).status_code == 401
    assert (await login(client_from("10.4.3.0"), email)).status_code == 200
