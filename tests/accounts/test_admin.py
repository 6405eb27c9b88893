"""User administration: only admins get in; list, filter, paginate, roles, deactivation."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from studyhall.accounts.models import Role
from tests.accounts.conftest import API, MakeUser, SecurityLog, login
from tests.conftest import SignedInUser

USERS = f"{API}/admin/users"


def admin_requests(target: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", USERS, None),
        ("GET", f"{USERS}?role=student", None),
        ("PUT", f"{USERS}/{target}/roles", {"roles": ["admin"]}),
        ("PATCH", f"{USERS}/{target}", {"is_active": False}),
    ]


async def test_only_admins_reach_admin_endpoints(
    client: httpx.AsyncClient,
    student: SignedInUser,
    signed_in: Callable[..., Awaitable[SignedInUser]],
) -> None:
    teacher = await signed_in("teacher@example.com", "Tess Teacher", (Role.TEACHER,))
    for method, url, body in admin_requests(student.id):
        anonymous = await client.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, url)
        for who in (student, teacher):
            denied = await client.request(method, url, json=body, headers=who.headers)
            assert denied.status_code == 403, (method, url, who.email)
            assert denied.json()["code"] == "insufficient_role"
    # Nothing changed: the student did not make themselves an admin or deactivate anyone.
    me = (await client.get(f"{API}/me", headers=student.headers)).json()
    assert me["roles"] == ["student"] and me["is_active"] is True


async def test_admin_lists_filters_and_paginates_users(
    client: httpx.AsyncClient, admin: SignedInUser, make_user: MakeUser
) -> None:
    await make_user("alice@school.test", "Alice Anders")
    await make_user("bob@school.test", "Bob Brown", (Role.TEACHER,))
    await make_user("carol@elsewhere.test", "Carol Anderson")
    await make_user("dan@school.test", "Dan Dorsey", (Role.TEACHER, Role.STUDENT))

    everyone = (await client.get(USERS, headers=admin.headers)).json()
    assert everyone["total"] == 5 and everyone["page"] == 1 and len(everyone["items"]) == 5
    first = everyone["items"][0]
    assert set(first) >= {"id", "email", "name", "roles", "is_active", "email_verified"}
    assert "password_hash" not in first and "totp_secret" not in first

    pages = [
        (await client.get(USERS, params={"page": page, "per_page": 2}, headers=admin.headers))
        for page in (1, 2, 3)
    ]
    bodies = [page.json() for page in pages]
    assert [len(b["items"]) for b in bodies] == [2, 2, 1]
    assert all(b["total"] == 5 and b["per_page"] == 2 for b in bodies)
    paged_ids = [item["id"] for b in bodies for item in b["items"]]
    assert paged_ids == [item["id"] for item in everyone["items"]]
    beyond = await client.get(USERS, params={"page": 4, "per_page": 2}, headers=admin.headers)
    assert beyond.json()["items"] == [] and beyond.json()["total"] == 5
    too_big = await client.get(USERS, params={"per_page": 1000}, headers=admin.headers)
    assert too_big.status_code == 422

    async def emails(**params: str) -> set[str]:
        listed = await client.get(USERS, params=params, headers=admin.headers)
        assert listed.status_code == 200, listed.text
        return {item["email"] for item in listed.json()["items"]}

    assert await emails(q="school.test") == {
        "alice@school.test",
        "bob@school.test",
        "dan@school.test",
    }
    assert await emails(q="ANDER") == {"alice@school.test", "carol@elsewhere.test"}
    assert await emails(role="teacher") == {"bob@school.test", "dan@school.test", admin.email}
    assert await emails(role="teacher", q="school") == {"bob@school.test", "dan@school.test"}
    assert await emails(role="admin") == {admin.email}
    # Search text is literal: LIKE wildcards match only themselves.
    assert await emails(q="%") == set()
    assert await emails(q="_") == set()
    bad_role = await client.get(USERS, params={"role": "wizard"}, headers=admin.headers)
    assert bad_role.status_code == 422


async def test_admin_changes_roles(
    client: httpx.AsyncClient,
    admin: SignedInUser,
    student: SignedInUser,
    security_log: SecurityLog,
) -> None:
    url = f"{USERS}/{student.id}/roles"
    promoted = await client.put(url, json={"roles": ["teacher", "student"]}, headers=admin.headers)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["roles"] == ["student", "teacher"]
    # Takes effect at once, on the user's existing session.
    me = await client.get(f"{API}/me", headers=student.headers)
    assert me.json()["roles"] == ["student", "teacher"]

    demoted = await client.put(url, json={"roles": ["student"]}, headers=admin.headers)
    assert demoted.json()["roles"] == ["student"]
    empty = await client.put(url, json={"roles": []}, headers=admin.headers)
    assert empty.status_code == 422
    unknown = await client.put(
        f"{USERS}/{uuid.uuid4()}/roles", json={"roles": ["student"]}, headers=admin.headers
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "user_not_found"

    events = security_log.events("roles_changed")
    assert [e["roles"] for e in events] == [["student", "teacher"], ["student"]]
    assert events[0]["by"] == admin.id and events[0]["user_id"] == student.id


async def test_admin_cannot_demote_or_deactivate_themselves(
    client: httpx.AsyncClient, admin: SignedInUser
) -> None:
    demote = await client.put(
        f"{USERS}/{admin.id}/roles", json={"roles": ["teacher"]}, headers=admin.headers
    )
    assert demote.status_code == 409 and demote.json()["code"] == "self_demotion"
    deactivate = await client.patch(
        f"{USERS}/{admin.id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivate.status_code == 409 and deactivate.json()["code"] == "self_deactivation"
    me = (await client.get(f"{API}/me", headers=admin.headers)).json()
    assert me["roles"] == ["admin", "teacher"] and me["is_active"] is True
    # Changing one's own roles while keeping admin is fine.
    kept = await client.put(
        f"{USERS}/{admin.id}/roles", json={"roles": ["admin"]}, headers=admin.headers
    )
    assert kept.status_code == 200 and kept.json()["roles"] == ["admin"]


async def test_deactivation_ends_sessions_and_blocks_sign_in(
    client: httpx.AsyncClient,
    admin: SignedInUser,
    student: SignedInUser,
    security_log: SecurityLog,
) -> None:
    url = f"{USERS}/{student.id}"
    deactivated = await client.patch(url, json={"is_active": False}, headers=admin.headers)
    assert deactivated.status_code == 200 and deactivated.json()["is_active"] is False

    me = await client.get(f"{API}/me", headers=student.headers)
    assert me.status_code == 401
    refreshed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": student.refresh_token}
    )
    assert refreshed.status_code == 401
    refused = await login(client, student.email)
    assert refused.status_code == 403 and refused.json()["code"] == "account_inactive"
    assert security_log.events("user_activation_changed")

    reactivated = await client.patch(url, json={"is_active": True}, headers=admin.headers)
    assert reactivated.json()["is_active"] is True
    assert (await login(client, student.email)).status_code == 200


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STUDENT])
async def test_require_roles_lets_admins_through_everything(role: Role) -> None:
    # Admins pass every role rule (AdminUser, TeacherUser, require_roles(...)).
    from studyhall.accounts.dependencies import require_roles
    from studyhall.accounts.schemas import UserRead
    from studyhall.accounts.service import Principal
    from studyhall.core.db import utcnow
    from studyhall.core.errors import Forbidden

    def principal(*roles: Role) -> Principal:
        user = UserRead(
            id=uuid.uuid4(),
            email="x@example.com",
            name="X",
            roles=list(roles),
            is_active=True,
            email_verified=True,
            totp_enabled=False,
            created_at=utcnow(),
            last_login_at=None,
        )
        return Principal(user=user, session_id=uuid.uuid4())

    check = require_roles(role)
    admin = principal(Role.ADMIN)
    assert await check(admin) is admin
    holder = principal(role)
    assert await check(holder) is holder
    other = Role.STUDENT if role is Role.TEACHER else Role.TEACHER
    with pytest.raises(Forbidden):
        await check(principal(other))
