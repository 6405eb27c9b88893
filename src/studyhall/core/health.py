"""Liveness and readiness: the database, the cache and the job queue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from studyhall.core import cache
from studyhall.core.jobs import queue_ping

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 2.0


async def _check(name: str, probe: Callable[[], Awaitable[Any]]) -> tuple[str, dict[str, str]]:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
        return name, {"status": "ok"}
    except Exception as exc:
        return name, {"status": "down", "error": type(exc).__name__ + ": " + str(exc)[:200]}


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    responses={
        503: {
            "description": "A backend is down; `checks` says which",
            "content": {"application/json": {}},
        }
    },
)
async def ready(request: Request) -> JSONResponse:
    engine: AsyncEngine = request.app.state.engine

    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def cache_probe() -> None:
        if not await cache.ping():
            raise RuntimeError("cache read-back failed")

    async def queue() -> None:
        await asyncio.to_thread(queue_ping)

    results = dict(
        await asyncio.gather(
            _check("database", database), _check("cache", cache_probe), _check("queue", queue)
        )
    )
    healthy = all(result["status"] == "ok" for result in results.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": results},
        status_code=200 if healthy else 503,
    )
