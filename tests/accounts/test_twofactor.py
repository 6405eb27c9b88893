"""Two-factor: set-up, sign-in with TOTP or backup codes, replays, lockout, disabling."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service, totp
from studyhall.core.security import encode_jwt
from studyhall.core.settings import Settings
from tests.accounts.conftest import (
    API,
    SecurityLog,
    bearer,
    code_for_step,
    current_step,
    enable_two_factor,
    login,
    login_challenge,
    rewind_totp,
    second_step,
    settle_mail,
    wrong_code,
)
from tests.backends import Mailbox
from tests.conftest import PASSWORD, SignedInUser, sign_in


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(f"{API}/me", headers=bearer(token))


async def test_enabling_needs_a_valid_code_from_the_pending_secret(
    client: httpx.AsyncClient, student: SignedInUser, security_log: SecurityLog
) -> None:
    other_device = await sign_in(client, student.email)
    enable = f"{API}/me/2fa/enable"
    missing = await client.post(enable, headers=student.headers, json={"code": "123456"})
    assert missing.status_code == 400 and missing.json()["code"] == "totp_setup_missing"

    first = (await client.post(f"{API}/me/2fa/setup", headers=student.headers)).json()
    setup = await client.post(f"{API}/me/2fa/setup", headers=student.headers)
    assert setup.status_code == 200
    secret = setup.json()["secret"]
    assert secret != first["secret"]
    assert f"secret={secret}" in setup.json()["otpauth_uri"]
    assert setup.json()["qr_svg"].startswith("<svg")

    step = current_step()
    for refused in (
        wrong_code(secret),
        code_for_step(first["secret"], step),  # the replaced pending secret
        code_for_step(totp.new_secret(), step),  # another secret altogether
        code_for_step(secret, step + 3),  # outside the window
    ):
        answer = await client.post(enable, headers=student.headers, json={"code": refused})
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_code", refused
    assert (await me(client, student.access_token)).json()["totp_enabled"] is False

    enabled = await client.post(
        enable, headers=student.headers, json={"code": code_for_step(secret, step)}
    )
    assert enabled.status_code == 200
    codes = enabled.json()["backup_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await me(client, student.access_token)).json()["totp_enabled"] is True
    assert security_log.events("2fa_enabled")
    # Turning 2FA on signs out every other device.
    assert (await me(client, other_device.access_token)).status_code == 401
    again = await client.post(f"{API}/me/2fa/setup", headers=student.headers)
    assert again.status_code == 409 and again.json()["code"] == "totp_already_enabled"


async def test_sign_in_with_a_code_and_no_code_is_accepted_twice(
    client: httpx.AsyncClient,
    student: SignedInUser,
    db: AsyncSession,
    security_log: SecurityLog,
) -> None:
    two_factor = await enable_two_factor(client, student)

    first_challenge = await login_challenge(client, student.email)
    # The code that turned 2FA on has been used.
    enabling_code = code_for_step(two_factor.secret, two_factor.enabled_step)
    replayed = await second_step(client, first_challenge, enabling_code)
    assert replayed.status_code == 401 and replayed.json()["code"] == "invalid_code"
    assert len(security_log.events("totp_replay")) == 1

    signed_in = await second_step(client, first_challenge, two_factor.next_code)
    assert signed_in.status_code == 200, signed_in.text
    assert (await me(client, signed_in.json()["access_token"])).status_code == 200

    second_challenge = await login_challenge(client, student.email)
    twice = await second_step(client, second_challenge, two_factor.next_code)
    assert twice.status_code == 401 and twice.json()["code"] == "invalid_code"
    replays = security_log.events("totp_replay")
    assert len(replays) == 2 and replays[-1]["user_id"] == student.id

    # One challenge, one session: even with a code that is valid again, it is spent.
    await rewind_totp(db, student.id, two_factor.enabled_step)
    spent = await second_step(client, first_challenge, two_factor.next_code)
    assert spent.status_code == 401 and spent.json()["code"] == "invalid_challenge"


async def test_one_code_sent_twice_at_once_signs_in_once(
    client: httpx.AsyncClient, student: SignedInUser
) -> None:
    two_factor = await enable_two_factor(client, student)
    challenges = [await login_challenge(client, student.email) for _ in range(2)]
    answers = await asyncio.gather(
        *(second_step(client, challenge, two_factor.next_code) for challenge in challenges)
    )
    assert sorted(answer.status_code for answer in answers) == [200, 401]


async def test_expired_or_forged_challenges_are_refused(
    client: httpx.AsyncClient, student: SignedInUser, settings: Settings
) -> None:
    two_factor = await enable_two_factor(client, student)
    expired = encode_jwt(
        settings.effective_secret_key, student.id, service.MFA_CHALLENGE, timedelta(seconds=-1)
    )
    forged = encode_jwt(
        "some other secret key, forty-eight bytes long!!!",
        student.id,
        service.MFA_CHALLENGE,
        timedelta(minutes=5),
    )
    for challenge in (expired, forged):
        answer = await second_step(client, challenge, two_factor.next_code)
        assert answer.status_code == 401 and answer.json()["code"] == "invalid_challenge"
    # The code was not spent by those attempts.
    challenge = await login_challenge(client, student.email)
    assert (await second_step(client, challenge, two_factor.next_code)).status_code == 200


async def test_backup_codes_work_once_each(
    client: httpx.AsyncClient,
    student: SignedInUser,
    db: AsyncSession,
    security_log: SecurityLog,
) -> None:
    two_factor = await enable_two_factor(client, student)
    first, second = two_factor.backup_codes[:2]

    used = await second_step(client, await login_challenge(client, student.email), first)
    assert used.status_code == 200, used.text
    again = await second_step(client, await login_challenge(client, student.email), first)
    assert again.status_code == 401 and again.json()["code"] == "invalid_code"
    # Case and separators do not matter.
    sloppy = second.lower().replace("-", " ")
    assert (
        await second_step(client, await login_challenge(client, student.email), sloppy)
    ).status_code == 200

    assert await service.remaining_backup_codes(db, uuid.UUID(student.id)) == 8
    assert len(security_log.events("backup_code_used")) == 2


async def test_regenerating_backup_codes_replaces_them(
    client: httpx.AsyncClient, student: SignedInUser
) -> None:
    two_factor = await enable_two_factor(client, student)
    url = f"{API}/me/2fa/backup-codes"
    refused = await client.post(url, headers=student.headers, json={"code": wrong_code("A" * 32)})
    assert refused.status_code == 400
    fresh = await client.post(url, headers=student.headers, json={"code": two_factor.next_code})
    assert fresh.status_code == 200
    new_codes = fresh.json()["backup_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(two_factor.backup_codes)

    old = await second_step(
        client, await login_challenge(client, student.email), two_factor.backup_codes[0]
    )
    assert old.status_code == 401
    new = await second_step(client, await login_challenge(client, student.email), new_codes[0])
    assert new.status_code == 200


async def test_disabling_needs_the_password_and_a_valid_code(
    client: httpx.AsyncClient, student: SignedInUser, security_log: SecurityLog
) -> None:
    two_factor = await enable_two_factor(client, student)
    url = f"{API}/me/2fa/disable"
    attempts = [
        {"password": "not the password", "code": two_factor.next_code},
        {"password": PASSWORD, "code": wrong_code(two_factor.secret)},
        {"password": PASSWORD, "code": "ZZZZ-ZZZZ-ZZZZ"},
    ]
    for body in attempts:
        refused = await client.post(url, headers=student.headers, json=body)
        assert refused.status_code == 400, body
        assert refused.json()["code"] == "invalid_credentials"
    assert len(security_log.events("2fa_disable_failed")) == 3
    assert "challenge" in (await login(client, student.email)).json()

    done = await client.post(
        url, headers=student.headers, json={"password": PASSWORD, "code": two_factor.next_code}
    )
    assert done.status_code == 204
    assert (await me(client, student.access_token)).json()["totp_enabled"] is False
    direct = await login(client, student.email)
    assert direct.status_code == 200 and "access_token" in direct.json()
    off = await client.post(url, headers=student.headers, json={"password": PASSWORD, "code": "1"})
    assert off.status_code == 422  # too short a code to even be considered


async def test_a_backup_code_can_disable_two_factor(
    client: httpx.AsyncClient, student: SignedInUser
) -> None:
    two_factor = await enable_two_factor(client, student)
    done = await client.post(
        f"{API}/me/2fa/disable",
        headers=student.headers,
        json={"password": PASSWORD, "code": two_factor.backup_codes[-1]},
    )
    assert done.status_code == 204


async def test_wrong_codes_lock_the_second_step(
    client: httpx.AsyncClient,
    student: SignedInUser,
    settings: Settings,
    mailbox: Mailbox,
    security_log: SecurityLog,
) -> None:
    two_factor = await enable_two_factor(client, student)
    challenge = await login_challenge(client, student.email)
    bad = wrong_code(two_factor.secret)
    for _ in range(settings.lockout_threshold):
        failed = await second_step(client, challenge, bad)
        assert failed.status_code == 401 and failed.json()["code"] == "invalid_code"
    locked = await second_step(client, challenge, two_factor.next_code)
    assert locked.status_code == 423
    assert locked.json()["code"] == "locked_out"
    retry_after = int(locked.headers["Retry-After"])
    assert settings.lockout_base_seconds - 5 <= retry_after <= settings.lockout_base_seconds + 1
    assert security_log.events("2fa_locked")

    await mailbox.wait_for(student.email, "was locked")
    await settle_mail(mailbox)
    assert len(mailbox.sent_to(student.email)) == 1


async def test_a_second_step_success_clears_the_code_counter(
    client_from: Callable[[str], httpx.AsyncClient],
    student: SignedInUser,
    settings: Settings,
) -> None:
    home = client_from("10.5.0.1")
    two_factor = await enable_two_factor(home, student)
    almost = settings.lockout_threshold - 1

    challenge = await login_challenge(home, student.email)
    for _ in range(almost):
        assert (
            await second_step(home, challenge, wrong_code(two_factor.secret))
        ).status_code == 401
    assert (await second_step(home, challenge, two_factor.next_code)).status_code == 200

    # From another address (the per-IP counter is not what this test is about).
    away = client_from("10.5.0.2")
    challenge = await login_challenge(away, student.email)
    for _ in range(almost):
        assert (
            await second_step(away, challenge, wrong_code(two_factor.secret))
        ).status_code == 401
    backup = two_factor.backup_codes[0]
    assert (await second_step(away, challenge, backup)).status_code == 200


async def test_a_pending_set_up_can_be_shown_again(
    client: httpx.AsyncClient, student: SignedInUser, db: AsyncSession, settings: Settings
) -> None:
    principal = await service.principal_from_access_token(db, settings, student.access_token)
    assert await service.pending_totp_setup(db, principal) is None
    started = (await client.post(f"{API}/me/2fa/setup", headers=student.headers)).json()
    await db.commit()  # a fresh transaction, and reload what the API changed
    db.expire_all()
    pending = await service.pending_totp_setup(db, principal)
    assert pending is not None and pending.secret == started["secret"]
    assert pending.otpauth_uri == started["otpauth_uri"]
    step = current_step()
    enabled = await client.post(
        f"{API}/me/2fa/enable",
        headers=student.headers,
        json={"code": code_for_step(started["secret"], step)},
    )
    assert enabled.status_code == 200
    await db.commit()  # a fresh transaction, and reload what the API changed
    db.expire_all()
    assert await service.pending_totp_setup(db, principal) is None
