"""The one-transaction-per-request scope: commit, roll back, or commit a refusal's writes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from studyhall.accounts.models import AccountToken, User
from studyhall.core.db import after_commit, read_autocommit, session_scope, utcnow
from studyhall.core.errors import BadRequest, Conflict
from studyhall.quizzes.models import Category


class _RefusedButRecorded(BadRequest):
    commit_anyway = True


def _user(email: str) -> User:
    return User(email=email, name="Scope Test", password_hash="x")


def _token_of(user: User) -> dict[str, Any]:
    return {"user_id": user.id, "purpose": "reset_password", "expires_at": utcnow()}


async def _exists(app: FastAPI, email: str) -> bool:
    async with app.state.sessionmaker() as db:
        return await db.scalar(select(User.id).where(User.email == email)) is not None


async def test_scope_commits_and_runs_hooks(app: FastAPI) -> None:
    ran: list[str] = []

    async def hook() -> None:
        ran.append("async")

    async with session_scope(app.state.sessionmaker) as db:
        db.add(_user("kept@example.com"))
        after_commit(db, lambda: ran.append("sync"))
        after_commit(db, hook)
    assert await _exists(app, "kept@example.com")
    assert ran == ["sync", "async"]


async def test_scope_rolls_back_on_error_without_running_hooks(app: FastAPI) -> None:
    ran: list[str] = []
    with pytest.raises(BadRequest):
        async with session_scope(app.state.sessionmaker) as db:
            db.add(_user("dropped@example.com"))
            await db.flush()
            after_commit(db, lambda: ran.append("hook"))
            raise BadRequest("refused")
    assert not await _exists(app, "dropped@example.com")
    assert ran == []


async def test_scope_commits_flushed_writes_of_a_commit_anyway_error(app: FastAPI) -> None:
    with pytest.raises(_RefusedButRecorded):
        async with session_scope(app.state.sessionmaker) as db:
            db.add(_user("recorded@example.com"))
            await db.flush()
            raise _RefusedButRecorded("refused, but the revocation stands")
    assert await _exists(app, "recorded@example.com")


async def test_read_autocommit_reads_committed_rows_outside_the_session(app: FastAPI) -> None:
    async with session_scope(app.state.sessionmaker) as db:
        db.add(_user("committed@example.com"))
    async with app.state.sessionmaker() as db:
        db.add(_user("pending@example.com"))
        await db.flush()
        emails = select(User.email).where(User.email.like("%@example.com"))
        seen = {row.email for row in await read_autocommit(db, emails)}
        assert "committed@example.com" in seen
        assert "pending@example.com" not in seen  # the session's own uncommitted write
        await db.rollback()


async def test_scope_turns_a_unique_violation_into_a_409_with_the_columns_code(
    app: FastAPI,
) -> None:
    twin = _user("twin@example.com")
    async with session_scope(app.state.sessionmaker) as db:
        db.add(twin)
        db.add(Category(name="Twins", slug="twins"))
    # At flush, inside the handler.
    with pytest.raises(Conflict) as at_flush:
        async with session_scope(app.state.sessionmaker) as db:
            db.add(_user("twin@example.com"))
            await db.flush()
    assert (at_flush.value.status, at_flush.value.code) == (409, "email_taken")
    assert isinstance(at_flush.value.__cause__, IntegrityError)
    # At commit, after the handler; the row is not written.
    with pytest.raises(Conflict) as at_commit:
        async with session_scope(app.state.sessionmaker) as db:
            db.add(Category(name="Twins", slug="twins-2"))
    assert at_commit.value.code == "category_name_taken"
    # A unique column that names no code of its own gets the generic one.
    with pytest.raises(Conflict) as generic:
        async with session_scope(app.state.sessionmaker) as db:
            db.add(AccountToken(**_token_of(twin), token_hash="same"))
            db.add(AccountToken(**_token_of(twin), token_hash="same"))
    assert (generic.value.status, generic.value.code) == (409, "already_exists")
    async with app.state.sessionmaker() as db:
        names = set(await db.scalars(select(Category.name)))
    assert names == {"Twins"}


async def test_scope_leaves_other_integrity_errors_as_they_are(app: FastAPI) -> None:
    with pytest.raises(IntegrityError):
        async with session_scope(app.state.sessionmaker) as db:
            db.add(User(email="nameless@example.com", name=None, password_hash="x"))
