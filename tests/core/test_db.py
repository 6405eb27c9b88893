"""The one-transaction-per-request scope: commit, roll back, or commit a refusal's writes."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from studyhall.accounts.models import User
from studyhall.core.db import after_commit, before_commit, read_autocommit, session_scope
from studyhall.core.errors import BadRequest
from tests.backends import recorded_statements


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


async def test_before_commit_work_runs_last_after_the_pending_writes(app: FastAPI) -> None:
    def rename(session: Session) -> None:
        session.execute(
            update(User).where(User.email == "late@example.com").values(name="Written last")
        )

    with recorded_statements(app.state.engine) as statements:
        async with session_scope(app.state.sessionmaker) as db:
            db.add(_user("late@example.com"))  # not flushed: the commit flushes it first
            before_commit(db, "rename", rename)
            await db.execute(select(User.id).where(User.email == "other@example.com"))
    assert statements[-1].startswith("UPDATE users"), statements
    assert any(s.startswith("INSERT INTO users") for s in statements[:-1]), statements
    async with app.state.sessionmaker() as db:
        name = await db.scalar(select(User.name).where(User.email == "late@example.com"))
    assert name == "Written last"


class _Collect:
    """Before-commit work that callers add to; records what it saw at the commit."""

    def __init__(self, seen: list[list[int]]) -> None:
        self.values: list[int] = []
        self.seen = seen

    def __call__(self, session: Session) -> None:
        self.seen.append(list(self.values))


async def test_before_commit_work_is_shared_by_key_and_forgotten_on_rollback(
    app: FastAPI,
) -> None:
    seen: list[list[int]] = []
    with pytest.raises(BadRequest):
        async with session_scope(app.state.sessionmaker) as db:
            before_commit(db, "collect", _Collect(seen)).values.append(1)
            raise BadRequest("refused")
    assert seen == []

    async with app.state.sessionmaker() as db:  # committed directly, not through the scope
        await db.execute(select(User.id).limit(1))
        first = before_commit(db, "collect", _Collect(seen))
        assert before_commit(db, "collect", _Collect(seen)) is first
        first.values += [2, 3]
        await db.rollback()
        before_commit(db, "collect", _Collect(seen)).values.append(4)  # before any statement
        await db.rollback()
        before_commit(db, "collect", _Collect(seen)).values.append(5)
        await db.commit()
        await db.commit()  # a later commit has nothing left to run
    assert seen == [[5]]


async def test_failing_before_commit_work_rolls_everything_back(app: FastAPI) -> None:
    ran: list[str] = []

    def fail(session: Session) -> None:
        raise RuntimeError("the last write failed")

    with pytest.raises(RuntimeError):
        async with session_scope(app.state.sessionmaker) as db:
            db.add(_user("failed@example.com"))
            after_commit(db, lambda: ran.append("after"))
            before_commit(db, "fail", fail)
    assert not await _exists(app, "failed@example.com")
    assert ran == []
