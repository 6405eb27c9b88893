"""/health (liveness) and /health/ready (database, cache, queue; 503 with details)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.backends import free_port
from tests.core.conftest import AppFactory


async def test_liveness(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_every_backend_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": {"status": "ok"},
            "cache": {"status": "ok"},
            "queue": {"status": "ok"},
        },
    }


def _unreachable_databases(tmp_path: Path) -> dict[str, str]:
    return {
        "postgresql": f"postgresql+asyncpg://studyhall@127.0.0.1:{free_port()}/studyhall",
        "sqlite": f"sqlite+aiosqlite:///{tmp_path / 'no-such-directory' / 'studyhall.db'}",
    }


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
async def test_not_ready_when_the_database_is_down(
    make_app: AppFactory, tmp_path: Path, kind: str
) -> None:
    database_url = _unreachable_databases(tmp_path)[kind]
    async with make_app(database_url=database_url) as (_, client):
        response = await client.get("/health/ready")
        liveness = await client.get("/health")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["database"]["error"]  # what went wrong, for the operator
    assert body["checks"]["cache"] == {"status": "ok"}
    assert body["checks"]["queue"] == {"status": "ok"}
    assert liveness.status_code == 200  # the process itself is alive
