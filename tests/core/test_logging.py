"""Request ids and JSON logs: one `request` line per request with the route template, the user
and the request id; passwords, tokens and codes never reach the log."""

from __future__ import annotations

import uuid

import httpx
import structlog

from studyhall.core.logging import REDACTED, _redact
from tests.backends import Mailbox, message_text
from tests.conftest import PASSWORD, TOKEN_IN_LINK, SignedInUser, register_and_verify, sign_in
from tests.core.conftest import capture_logs

REQUEST_FIELDS = {"method", "route", "status", "duration_ms", "user_id", "request_id"}


async def test_one_request_line_with_the_given_request_id(
    client: httpx.AsyncClient, student: SignedInUser
) -> None:
    request_id = str(uuid.uuid4())
    with capture_logs() as logs:
        response = await client.get(
            "/api/v1/me", headers={**student.headers, "X-Request-ID": request_id}
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == request_id

    [line] = logs.events("request")
    assert set(line) >= REQUEST_FIELDS
    assert line["request_id"] == request_id
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/me"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
    assert line["user_id"] == student.id
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")
    # Every line logged while serving the request carries its id (job workers log on their
    # own threads, outside any request).
    background = ("huey", "studyhall.jobs", "studyhall.email")
    served = [entry for entry in logs.lines() if not entry["logger"].startswith(background)]
    assert served and all(entry.get("request_id") == request_id for entry in served)


async def test_route_is_the_template_not_the_path(
    client: httpx.AsyncClient, admin: SignedInUser
) -> None:
    user_id = uuid.uuid4()
    with capture_logs() as logs:
        await client.patch(
            f"/api/v1/admin/users/{user_id}", json={"is_active": False}, headers=admin.headers
        )
        await client.get("/api/v1/no/such/path")
    routed, unmatched = logs.events("request")
    assert routed["route"] == "/api/v1/admin/users/{user_id}"
    assert routed["path"] == f"/api/v1/admin/users/{user_id}"
    assert routed["method"] == "PATCH"
    assert routed["user_id"] == admin.id
    assert unmatched["route"] == "<unmatched>"
    assert unmatched["status"] == 404
    assert unmatched["user_id"] is None


async def test_request_id_is_generated_when_absent_or_invalid(client: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        first = await client.get("/health")
        second = await client.get("/health")
        forged = await client.get("/health", headers={"X-Request-ID": "x' OR 1=1 --"})
    ids = [r.headers["x-request-id"] for r in (first, second, forged)]
    assert all(len(value) == 32 and uuid.UUID(value) for value in ids)
    assert len(set(ids)) == 3
    assert "OR 1=1" not in ids[2]
    lines = logs.events("request")
    assert [line["request_id"] for line in lines] == ids
    assert all(line["route"] == "/health" for line in lines)


async def test_passwords_and_tokens_never_logged(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = "logged@example.com"
    with capture_logs() as logs:
        await register_and_verify(client, mailbox, email, "Log Person")
        user = await sign_in(client, email)
        wrong = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": "wrong " + PASSWORD}
        )
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
        )
        structlog.get_logger("test").warning(
            "carelessly_logged", password=PASSWORD, body={"password": PASSWORD}
        )
    assert wrong.status_code == 401
    assert refreshed.status_code == 200
    [verification] = mailbox.sent_to(email)
    match = TOKEN_IN_LINK.search(message_text(verification))
    assert match

    output = logs.text
    assert len(logs.events("request")) >= 5
    assert PASSWORD not in output
    assert match.group(1) not in output  # the verification token
    assert user.access_token not in output
    assert user.refresh_token not in output
    assert refreshed.json()["refresh_token"] not in output
    [careless] = logs.events("carelessly_logged")
    assert careless["password"] == REDACTED
    assert careless["body"] == {"password": REDACTED}


def test_redaction_processor() -> None:
    event = {
        "event": "login",
        "password": "p1",
        "new_password": "p2",
        "passcode": "p3",
        "access_token": "t1",
        "refresh_token": "t2",
        "code": "123456",
        "backup_code": "abcd-efgh",
        "totp": "654321",
        "client_secret": "s1",
        "Authorization": "Bearer x",
        "cookie": "session=1",
        "csrf_token": "c",
        "api_key": "k",
        "status_code": 401,
        "error_code": "invalid_credentials",
        "user_id": "u1",
        "nested": {"otp": "1", "safe": 2, "deeper": [{"token": "t3", "n": 3}]},
        "pairs": ({"secret": "s2"},),
    }
    result = _redact(None, "info", dict(event))
    for key in (
        "password",
        "new_password",
        "passcode",
        "access_token",
        "refresh_token",
        "code",
        "backup_code",
        "totp",
        "client_secret",
        "Authorization",
        "cookie",
        "csrf_token",
        "api_key",
    ):
        assert result[key] == REDACTED, key
    assert result["event"] == "login"
    assert result["status_code"] == 401
    assert result["error_code"] == "invalid_credentials"
    assert result["user_id"] == "u1"
    assert result["nested"] == {"otp": REDACTED, "safe": 2, "deeper": [{"token": REDACTED, "n": 3}]}
    assert result["pairs"] == ({"secret": REDACTED},)
