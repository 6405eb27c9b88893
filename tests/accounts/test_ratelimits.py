"""Rate limits on the accounts endpoints answer 429 with X-RateLimit-* and Retry-After headers."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from studyhall.core.settings import Settings
from tests.accounts.conftest import API, MakeUser, login, second_step
from tests.conftest import SignedInUser


@pytest.fixture
def low_limits(override_settings: Callable[..., Settings]) -> Settings:
    return override_settings(
        rate_limit_login_ip="3/minute",
        rate_limit_login_account="2/minute",
        rate_limit_register="2/hour",
        rate_limit_password_reset="2/hour",
        rate_limit_2fa="2/minute",
    )


def assert_counted(response: httpx.Response, limit: int, remaining: int) -> None:
    assert response.headers["X-RateLimit-Limit"] == str(limit), response.headers
    assert response.headers["X-RateLimit-Remaining"] == str(remaining)
    assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert "Retry-After" not in response.headers


def assert_limited(response: httpx.Response, limit: int, window_seconds: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    reset = int(response.headers["X-RateLimit-Reset"])
    assert time.time() <= reset <= time.time() + window_seconds + 1
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= window_seconds
    assert response.json()["retry_after"] == retry_after


async def test_login_per_ip(
    client: httpx.AsyncClient, override_settings: Callable[..., Settings], make_user: MakeUser
) -> None:
    # The account rule keeps its default (10/minute), so the headers show the IP rule.
    override_settings(rate_limit_login_ip="3/minute")
    await make_user("ok@example.com")
    signed_in = await login(client, "ok@example.com")
    assert signed_in.status_code == 200
    assert_counted(signed_in, 3, 2)
    failed = await login(client, "first@example.com", "wrong password!")
    assert failed.status_code == 401
    assert_counted(failed, 3, 1)
    assert (await login(client, "second@example.com", "wrong password!")).status_code == 401
    assert_limited(await login(client, "ok@example.com"), 3, 60)


async def test_login_per_account(
    client_from: Callable[[str], httpx.AsyncClient], low_limits: Settings
) -> None:
    for n in range(2):
        answer = await login(client_from(f"10.6.0.{n}"), "target@example.com", "wrong password!")
        assert answer.status_code == 401
    # From a fresh address, but the same account: the account's rule answers.
    assert_limited(await login(client_from("10.6.1.0"), "TARGET@example.com", "x"), 2, 60)
    other = await login(client_from("10.6.1.0"), "someone-else@example.com", "wrong password!")
    assert other.status_code == 401


async def test_register(client: httpx.AsyncClient, low_limits: Settings) -> None:
    weak = {"email": "reg@example.com", "name": "Reg", "password": "password123"}
    first = await client.post(f"{API}/auth/register", json=weak)
    assert first.status_code == 422
    assert_counted(first, 2, 1)
    assert (await client.post(f"{API}/auth/register", json=weak)).status_code == 422
    strong = {**weak, "password": "a long and unusual passphrase"}
    assert_limited(await client.post(f"{API}/auth/register", json=strong), 2, 3600)


async def test_password_reset(client: httpx.AsyncClient, low_limits: Settings) -> None:
    url = f"{API}/auth/password-reset/request"
    first = await client.post(url, json={"email": "a@example.com"})
    assert first.status_code == 202
    assert_counted(first, 2, 1)
    assert (await client.post(url, json={"email": "b@example.com"})).status_code == 202
    assert_limited(await client.post(url, json={"email": "a@example.com"}), 2, 3600)
    confirm = await client.post(
        f"{API}/auth/password-reset/confirm",
        json={"token": "x" * 43, "password": "a long and unusual passphrase"},
    )
    assert_limited(confirm, 2, 3600)


async def test_two_factor_step(client: httpx.AsyncClient, low_limits: Settings) -> None:
    first = await second_step(client, "not-a-challenge", "123456")
    assert first.status_code == 401
    assert_counted(first, 2, 1)
    assert (await second_step(client, "not-a-challenge", "123456")).status_code == 401
    assert_limited(await second_step(client, "not-a-challenge", "123456"), 2, 60)


async def test_two_factor_settings_per_user(
    client: httpx.AsyncClient, low_limits: Settings, student: SignedInUser
) -> None:
    url = f"{API}/me/2fa/enable"
    for _ in range(2):
        answer = await client.post(url, headers=student.headers, json={"code": "123456"})
        assert answer.status_code == 400
    assert_limited(await client.post(url, headers=student.headers, json={"code": "123456"}), 2, 60)


async def test_every_api_answer_carries_rate_limit_headers(
    client: httpx.AsyncClient, student: SignedInUser, settings: Settings
) -> None:
    me = await client.get(f"{API}/me", headers=student.headers)
    assert me.status_code == 200
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert header in me.headers
    assert int(me.headers["X-RateLimit-Remaining"]) < int(me.headers["X-RateLimit-Limit"])
