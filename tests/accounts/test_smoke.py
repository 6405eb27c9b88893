"""A user's first path through the API: register, verify by email, sign in, read their profile."""

from __future__ import annotations

import httpx

from tests.backends import Mailbox
from tests.conftest import SignedInUser, register_and_verify, sign_in


async def test_register_verify_sign_in(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    await register_and_verify(client, mailbox, "new@example.com", "New Person")
    user = await sign_in(client, "new@example.com")
    me = await client.get("/api/v1/me", headers=user.headers)
    assert me.status_code == 200
    assert me.json()["email"] == "new@example.com"
    assert me.json()["roles"] == ["student"]


async def test_student_cannot_reach_admin_endpoint(
    client: httpx.AsyncClient, student: SignedInUser, admin: SignedInUser
) -> None:
    denied = await client.get("/api/v1/admin/users", headers=student.headers)
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["code"] == "insufficient_role"
    allowed = await client.get("/api/v1/admin/users", headers=admin.headers)
    assert allowed.status_code == 200
    assert allowed.json()["total"] == 2
