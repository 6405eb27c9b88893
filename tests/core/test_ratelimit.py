"""Rate limits with `limits`: the global per-IP rule, per-rule enforcement with X-RateLimit-*
and Retry-After, and the settings (all from STUDYHALL_* environment variables)."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.requests import Request

from studyhall.core.deps import get_request_context
from studyhall.core.errors import TooManyRequests
from studyhall.core.ratelimit import (
    STATE_KEY,
    RateLimitResult,
    client_ip,
    get_limiter,
    remember_headers,
)
from studyhall.core.requests import LimitRule, RequestContext
from studyhall.core.settings import Settings
from tests.core.conftest import PING, AppFactory, clear_of_window_edge


def _request(headers: dict[str, str] | None = None, client: str = "192.0.2.10") -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": (client, 1234),
    }
    return Request(scope)


async def test_global_per_ip_rule(make_app: AppFactory) -> None:
    async with make_app(rate_limit_global="3/minute", client_ip="10.40.0.1") as (app, client):
        started = time.time()
        allowed = [await client.get(PING) for _ in range(3)]
        refused = await client.get(PING)
        # Health and metrics are never limited (probes must keep working).
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200

        other_transport = httpx.ASGITransport(app=app, client=("10.40.0.2", 1))
        async with httpx.AsyncClient(transport=other_transport, base_url="http://t") as other:
            assert (await other.get(PING)).status_code == 200  # another IP has its own budget

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r.headers["x-ratelimit-limit"] for r in allowed] == ["3", "3", "3"]
    assert [r.headers["x-ratelimit-remaining"] for r in allowed] == ["2", "1", "0"]
    for response in allowed:
        reset = int(response.headers["x-ratelimit-reset"])
        assert started <= reset <= started + 61
        assert "retry-after" not in response.headers

    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "rate_limited"
    assert body["status"] == 429
    assert body["instance"] == PING
    assert body["request_id"] == refused.headers["x-request-id"]
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert f"{retry_after} seconds" in body["detail"]


async def test_global_rule_keys_on_the_proxy_supplied_address(make_app: AppFactory) -> None:
    """Behind a trusted proxy the client is the last X-Forwarded-For entry: what the proxy saw.
    Entries before it are whatever the client wrote, so varying them must not buy requests."""
    async with make_app(rate_limit_global="2/minute", trusted_proxy=True, client_ip="10.0.0.1") as (
        _,
        client,
    ):
        statuses = []
        for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
            response = await client.get(PING, headers={"X-Forwarded-For": f"{forged}, 203.0.113.7"})
            statuses.append(response.status_code)
        other = await client.get(PING, headers={"X-Forwarded-For": "203.0.113.8"})
    assert statuses == [200, 200, 429]
    assert other.status_code == 200


def test_client_ip() -> None:
    forwarded = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert client_ip(_request(forwarded), trust_proxy=True) == "203.0.113.7"
    assert client_ip(_request(forwarded), trust_proxy=False) == "192.0.2.10"
    assert client_ip(_request(), trust_proxy=True) == "192.0.2.10"
    assert client_ip(_request({"X-Forwarded-For": " , "}), trust_proxy=True) == "192.0.2.10"


async def _context(request: Request, **limits: str) -> RequestContext:
    """The request as the shared actions see it, built by the dependency both doors use."""
    return await get_request_context(request, Settings(**limits))


async def test_spending_a_rule_counts_and_refuses_with_headers(app: FastAPI) -> None:
    key = uuid.uuid4().hex
    request = _request()
    ctx = await _context(request, rate_limit_2fa="2/minute")
    rule = LimitRule("test_rule", "rate_limit_2fa")
    first = await ctx.spend(rule, key)
    assert (first.allowed, first.limit, first.remaining) == (True, 2, 1)
    await ctx.spend(rule, key)
    with pytest.raises(TooManyRequests) as refused:
        await ctx.spend(rule, key)
    assert refused.value.status == 429
    assert refused.value.code == "rate_limited"
    headers = refused.value.headers
    assert headers["X-RateLimit-Limit"] == "2"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert refused.value.extra["retry_after"] == int(headers["Retry-After"])
    remembered = getattr(request.state, STATE_KEY)
    assert remembered.allowed is False

    # Another key under the same rule is unaffected.
    assert (await get_limiter().hit("test_rule", "2/minute", uuid.uuid4().hex)).allowed


async def test_fixed_window_counts_in_clock_aligned_windows(app: FastAPI) -> None:
    await clear_of_window_edge(60)
    limiter, key = get_limiter(), uuid.uuid4().hex
    window_end = (int(time.time() // 60) + 1) * 60
    results = [await limiter.hit_fixed_window("test_fixed", "2/minute", key) for _ in range(3)]
    assert [(r.allowed, r.limit, r.remaining) for r in results] == [
        (True, 2, 1),
        (True, 2, 0),
        (False, 2, 0),
    ]
    assert {r.reset_at for r in results} == {window_end}
    assert 1 <= results[-1].retry_after <= 60
    # Its own counters: the exact rule of the same name and key is untouched.
    assert (await limiter.hit("test_fixed", "2/minute", key)).remaining == 1
    assert (await limiter.hit_fixed_window("test_fixed", "2/minute", uuid.uuid4().hex)).allowed


async def test_fixed_window_starts_afresh_in_the_next_window(app: FastAPI) -> None:
    limiter = get_limiter()
    for _ in range(10):  # two hits in one window (a loaded machine may straddle its end)
        key = uuid.uuid4().hex
        first = await limiter.hit_fixed_window("test_fixed", "1/second", key)
        second = await limiter.hit_fixed_window("test_fixed", "1/second", key)
        if first.reset_at == second.reset_at:
            break
    else:
        pytest.fail("no two hits landed in the same one-second window")
    assert first.allowed
    assert not second.allowed
    await asyncio.sleep(first.reset_at - time.time() + 0.01)  # the window it reported is over
    assert (await limiter.hit_fixed_window("test_fixed", "1/second", key)).allowed


async def test_an_inexact_rule_uses_the_fixed_window(app: FastAPI) -> None:
    key = uuid.uuid4().hex
    ctx = await _context(_request(), rate_limit_2fa="1/minute")
    rule = LimitRule("test_inexact", "rate_limit_2fa", exact=False)
    await clear_of_window_edge(60)
    await ctx.spend(rule, key)
    with pytest.raises(TooManyRequests):
        await ctx.spend(rule, key)
    # Counted in the fixed window: the exact rule of the same name and key is untouched.
    assert (await get_limiter().hit("test_inexact", "1/minute", key)).allowed


def test_remember_headers_keeps_the_most_restrictive_rule() -> None:
    now = time.time()
    roomy = RateLimitResult(True, 300, 299, now + 60)
    tight = RateLimitResult(True, 10, 3, now + 60)
    tight_later = RateLimitResult(True, 10, 3, now + 3600)
    refused = RateLimitResult(False, 5, 0, now + 30)
    last_slot = RateLimitResult(True, 20, 0, now + 10)

    request = _request()
    remember_headers(request, roomy)
    assert getattr(request.state, STATE_KEY) is roomy
    remember_headers(request, tight)
    assert getattr(request.state, STATE_KEY) is tight
    remember_headers(request, roomy)  # a roomier rule later does not replace it
    assert getattr(request.state, STATE_KEY) is tight
    remember_headers(request, tight_later)  # same budget, later reset: that is the binding one
    assert getattr(request.state, STATE_KEY) is tight_later
    remember_headers(request, refused)
    assert getattr(request.state, STATE_KEY) is refused
    # An allowed hit with nothing left must not hide a refusal (and its Retry-After).
    remember_headers(request, last_slot)
    assert getattr(request.state, STATE_KEY) is refused
    assert "Retry-After" in getattr(request.state, STATE_KEY).headers()


def test_result_headers() -> None:
    reset = time.time() + 42.2
    allowed = RateLimitResult(True, 10, 4, reset).headers()
    assert allowed == {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "4",
        "X-RateLimit-Reset": str(math.ceil(reset)),
    }
    refused = RateLimitResult(False, 10, 0, reset).headers()
    assert 40 <= int(refused["Retry-After"]) <= 43  # seconds until reset, rounded up


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYHALL_RATE_LIMIT_GLOBAL", "7/second")
    monkeypatch.setenv("STUDYHALL_RATE_LIMIT_LOGIN_IP", "3/minute")
    monkeypatch.setenv("STUDYHALL_MAX_REQUEST_BYTES", "1234")
    monkeypatch.setenv("STUDYHALL_TRUSTED_PROXY", "true")
    monkeypatch.setenv("STUDYHALL_CORS_ORIGINS", "https://a.example, https://b.example/")
    monkeypatch.setenv("STUDYHALL_LOG_JSON", "false")
    settings = Settings()
    assert settings.rate_limit_global == "7/second"
    assert settings.rate_limit_login_ip == "3/minute"
    assert settings.max_request_bytes == 1234
    assert settings.trusted_proxy is True
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.log_json is False

    monkeypatch.setenv("STUDYHALL_CORS_ORIGINS", '["https://c.example"]')
    assert Settings().cors_origins == ["https://c.example"]
    monkeypatch.setenv("STUDYHALL_CORS_ORIGINS", "")
    assert Settings().cors_origins == []


@pytest.mark.parametrize("origins", ["*", "https://a.example,*", '["*"]'])
def test_wildcard_cors_origin_is_refused(monkeypatch: pytest.MonkeyPatch, origins: str) -> None:
    monkeypatch.setenv("STUDYHALL_CORS_ORIGINS", origins)
    with pytest.raises(ValidationError, match="not allowed in cors_origins"):
        Settings()
