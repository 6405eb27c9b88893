"""Security headers on every response, HSTS only behind TLS, API-Version, CORS from settings,
and the request-size limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request

from tests.core.conftest import PING, AppFactory

ALLOWED_ORIGIN = "https://app.example.org"


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp or response.request.url.path.startswith("/api/docs")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["permissions-policy"]


async def test_headers_on_api_page_404_and_health(client: httpx.AsyncClient) -> None:
    responses = {
        "api": await client.get("/api/v1/openapi.json"),
        "page": await client.get("/", follow_redirects=False),
        "api 404": await client.get("/api/v1/nothing-here"),
        "page 404": await client.get("/nothing-here", headers={"Accept": "text/html"}),
        "health": await client.get("/health"),
        "docs": await client.get("/api/docs"),
    }
    for name, response in responses.items():
        assert_security_headers(response)
        assert "strict-transport-security" not in response.headers, name  # plain HTTP
        assert response.headers["x-request-id"], name
    assert responses["api"].status_code == 200
    assert responses["api 404"].status_code == responses["page 404"].status_code == 404

    assert responses["api"].headers["api-version"] == "1"
    assert responses["api 404"].headers["api-version"] == "1"
    assert "api-version" not in responses["page"].headers
    assert "api-version" not in responses["health"].headers


async def test_headers_on_429(make_app: AppFactory) -> None:
    async with make_app(rate_limit_global="1/minute", client_ip="10.20.0.1") as (_, client):
        assert (await client.get(PING)).status_code == 200
        refused_api = await client.get(PING)
        refused_page = await client.get("/", headers={"Accept": "text/html"})
    assert refused_api.status_code == refused_page.status_code == 429
    for response in (refused_api, refused_page):
        assert_security_headers(response)
        assert response.headers["x-request-id"]
    assert refused_api.headers["api-version"] == "1"
    assert refused_page.headers["content-type"].startswith("text/html")


async def test_hsts_only_over_tls(make_app: AppFactory) -> None:
    hsts = "strict-transport-security"
    async with make_app(base_url="https://studyhall.example") as (_, client):
        response = await client.get(PING)
        assert "max-age=31536000" in response.headers[hsts]
        assert_security_headers(response)

    forwarded = {"X-Forwarded-Proto": "https"}
    async with make_app(trusted_proxy=True) as (_, client):
        assert "max-age" in (await client.get("/health", headers=forwarded)).headers[hsts]
        chained = {"X-Forwarded-Proto": "https, http"}
        assert hsts in (await client.get("/health", headers=chained)).headers
        assert hsts not in (await client.get("/health")).headers
        plain = {"X-Forwarded-Proto": "http"}
        assert hsts not in (await client.get("/health", headers=plain)).headers

    # Without a trusted proxy the header is the client's word and proves nothing.
    async with make_app(trusted_proxy=False) as (_, client):
        assert hsts not in (await client.get("/health", headers=forwarded)).headers


@pytest.fixture
async def cors_client(make_app: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app(cors_origins=[ALLOWED_ORIGIN]) as (_, client):
        yield client


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }


async def test_cors_preflight_for_a_configured_origin(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.options("/api/v1/auth/login", headers=_preflight(ALLOWED_ORIGIN))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()

    simple = await cors_client.get(PING, headers={"Origin": ALLOWED_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    exposed = simple.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert "retry-after" in exposed


async def test_cors_refuses_other_origins(cors_client: httpx.AsyncClient) -> None:
    for origin in ("https://evil.example", "http://app.example.org", "null"):
        preflight = await cors_client.options("/api/v1/auth/login", headers=_preflight(origin))
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers

        simple = await cors_client.get(PING, headers={"Origin": origin})
        assert "access-control-allow-origin" not in simple.headers


async def test_never_wildcard_with_credentials(
    cors_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    cookie = {"Cookie": "session=abc"}
    for http in (cors_client, client):
        for origin in (ALLOWED_ORIGIN, "https://evil.example"):
            response = await http.get("/health", headers={"Origin": origin, **cookie})
            assert response.headers.get("access-control-allow-origin") != "*"
    # No origins configured (the default): no CORS headers at all.
    response = await client.get("/health", headers={"Origin": ALLOWED_ORIGIN})
    assert "access-control-allow-origin" not in response.headers


def _echo_route(app: FastAPI) -> None:
    @app.post("/api/v1/test/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}


async def _chunks(total: int, size: int = 256) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b"x" * min(size, total - sent)
        sent += len(chunk)
        yield chunk


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "payload_too_large"
    assert body["status"] == 413
    assert body["detail"] == f"Request bodies are limited to {limit} bytes."
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    assert_security_headers(response)


async def test_body_size_limit(make_app: AppFactory) -> None:
    limit = 1024
    async with make_app(max_request_bytes=limit, setup=_echo_route) as (_, client):
        # Within the limit, by Content-Length and streamed.
        ok = await client.post("/api/v1/test/echo", content=b"x" * limit)
        assert ok.json() == {"received": limit}
        streamed_ok = await client.post("/api/v1/test/echo", content=_chunks(limit))
        assert streamed_ok.json() == {"received": limit}

        # Over it: refused up front by Content-Length ...
        too_big = await client.post("/api/v1/test/echo", content=b"x" * (limit + 1))
        assert "content-length" in too_big.request.headers
        assert_too_large(too_big, limit)

        # ... and while streaming a chunked body, read by the handler itself ...
        chunked = await client.post("/api/v1/test/echo", content=_chunks(limit + 1))
        assert chunked.request.headers["transfer-encoding"] == "chunked"
        assert_too_large(chunked, limit)

        # ... or parsed by FastAPI into a model (a real endpoint).
        parsed = await client.post(
            "/api/v1/auth/login",
            content=_chunks(limit * 4),
            headers={"Content-Type": "application/json"},
        )
        assert_too_large(parsed, limit)
        assert_too_large(
            await client.post("/api/v1/auth/login", json={"email": "x" * limit, "password": "p"}),
            limit,
        )
