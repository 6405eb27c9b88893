"""`studyhall create-admin`: a verified admin, or a helpful refusal with exit code 1."""

from __future__ import annotations

import asyncio

import httpx
from click.testing import Result
from typer.testing import CliRunner

from studyhall.cli import app as cli
from tests.accounts.conftest import API, MakeUser
from tests.conftest import PASSWORD, sign_in


async def create_admin(email: str, password: str, name: str = "Root Admin") -> Result:
    """Run the command as a user would (it calls asyncio.run, so on a thread of its own)."""
    args = ["create-admin", "--email", email, "--name", name, "--password", password]
    return await asyncio.to_thread(CliRunner().invoke, cli, args)


async def test_create_admin_makes_a_verified_admin(client: httpx.AsyncClient) -> None:
    result = await create_admin("root@example.com", PASSWORD)
    assert result.exit_code == 0, result.output
    assert "root@example.com" in result.output and "created" in result.output

    admin = await sign_in(client, "root@example.com")  # no verification email needed
    me = (await client.get(f"{API}/me", headers=admin.headers)).json()
    assert me["email_verified"] is True
    assert "admin" in me["roles"]
    assert (await client.get(f"{API}/admin/users", headers=admin.headers)).status_code == 200


async def test_create_admin_refuses_a_weak_password_helpfully(client: httpx.AsyncClient) -> None:
    common = await create_admin("root@example.com", "password123")
    assert common.exit_code == 1
    assert "Could not create the admin" in common.output
    assert "too common" in " ".join(common.output.split())
    short = await create_admin("root@example.com", "short")
    assert short.exit_code == 1
    assert "at least 10 characters" in " ".join(short.output.split())
    # Nothing was created.
    refused = await client.post(
        f"{API}/auth/login", json={"email": "root@example.com", "password": "password123"}
    )
    assert refused.status_code == 401


async def test_create_admin_refuses_a_taken_or_invalid_email(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user("taken@example.com")
    taken = await create_admin("taken@example.com", PASSWORD)
    assert taken.exit_code == 1
    assert "already exists" in " ".join(taken.output.split())
    invalid = await create_admin("not-an-email", PASSWORD)
    assert invalid.exit_code == 1
    assert "not a valid email address" in " ".join(invalid.output.split())
