"""The baseline: a bare Starlette + asyncpg app doing the database work of answering.

`PUT /api/v1/attempts/{id}/items/{position}/answer` runs, in one transaction, the statements
Studyhall's `attempts.service.answer_item` sends (read with SQLAlchemy's echo):

    SELECT … FROM attempts JOIN attempt_items … WHERE id, position FOR UPDATE OF both
    UPDATE attempts SET position, version, answered_count, updated_at WHERE id = $1
    UPDATE attempt_items SET response, answered_at, time_spent_seconds WHERE id = $3

and nothing else: no authentication (Studyhall also reads the session, the user and their
roles, in one query), no rate limits, no validation of the answer against the question, no
ORM. Run as `uvicorn bench.baseline:create_app --factory` with BENCH_BASELINE_DSN set.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

DSN_VARIABLE = "BENCH_BASELINE_DSN"
# Studyhall's engine defaults: pool_size 20 + max_overflow 10.
POOL_MIN, POOL_MAX = 20, 30

# The statements Studyhall's `answer_item` sends: one read locking the attempt and the item,
# then an UPDATE of each.
LOCK_ATTEMPT_AND_ITEM = (
    "SELECT a.status, a.deadline_at, a.version, a.answered_count, "
    "i.id AS item_id, i.response, i.locked, i.time_spent_seconds "
    "FROM attempts AS a JOIN attempt_items AS i ON i.attempt_id = a.id "
    "WHERE a.id = $1 AND i.position = $2 FOR UPDATE OF a, i"
)
UPDATE_ATTEMPT = (
    "UPDATE attempts SET position = $2, version = version + 1, "
    "answered_count = answered_count + $3, updated_at = $4 WHERE id = $1 "
    "RETURNING version, answered_count"
)
UPDATE_ITEM = (
    "UPDATE attempt_items SET response = $2::json, answered_at = $3, time_spent_seconds = $4 "
    "WHERE id = $1"
)


def _problem(status: int, code: str) -> JSONResponse:
    return JSONResponse({"status": status, "code": code}, status_code=status)


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


async def answer(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    try:
        attempt_id = uuid.UUID(request.path_params["attempt_id"])
        position = int(request.path_params["position"])
        body = await request.json()
        sent = body.get("response")
        seconds = body.get("time_spent_seconds")
    except (ValueError, AttributeError):
        return _problem(422, "invalid_request")
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(LOCK_ATTEMPT_AND_ITEM, attempt_id, position)
        if row is None:
            return _problem(404, "item_not_found")
        if row["status"] != "in_progress":
            return _problem(409, "attempt_closed")
        if row["locked"]:
            return _problem(409, "item_locked")
        was_answered = row["response"] is not None and row["response"] != "null"
        delta = int(sent is not None) - int(was_answered)
        spent = max(row["time_spent_seconds"], int(seconds or 0))
        updated = await conn.fetchrow(UPDATE_ATTEMPT, attempt_id, position, delta, now)
        await conn.execute(
            UPDATE_ITEM,
            row["item_id"],
            json.dumps(sent) if sent is not None else None,
            now if sent is not None else None,
            spent,
        )
    return JSONResponse(
        {"version": updated["version"], "answered_count": updated["answered_count"]}
    )


def create_app(dsn: str | None = None) -> Starlette:
    """The app; `dsn` (a plain postgresql:// DSN) defaults to $BENCH_BASELINE_DSN."""
    database = dsn or os.environ[DSN_VARIABLE]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(database, min_size=POOL_MIN, max_size=POOL_MAX)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(
        routes=[
            Route("/health", health),
            Route(
                "/api/v1/attempts/{attempt_id}/items/{position:int}/answer",
                answer,
                methods=["PUT"],
            ),
        ],
        lifespan=lifespan,
    )
