"""The one-transaction-per-request scope: commit, roll back, or commit a refusal's writes."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.accounts.models import User
from studyhall.core.db import after_commit, read_autocommit, session_scope
from studyhall.core.errors import BadRequest


class _RefusedButRecorded(BadRequest):
    commit_anyway = True


def _user(email: str) -> User:
    return User(email=email, name="Scope Test", password_hash="x")


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
