"""Request body limits per route: JSON and forms keep the general one, upload routes their own."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request

from studyhall.core.deps import AppStorage
from studyhall.core.middleware import UploadBodyLimit, accepts_uploads
from studyhall.core.settings import Settings
from studyhall.core.storage import LocalStorage
from tests.core.conftest import AppFactory
from tests.core.test_http_headers import assert_too_large

JSON_LIMIT = 1024
UPLOAD_LIMIT = 8192
SMALL_UPLOAD_CAP = 2048
NAMESPACE = "test-uploads"


def _routes(app: FastAPI) -> None:
    async def store_body(request: Request, storage: AppStorage) -> dict[str, int]:
        stored = await storage.write(NAMESPACE, request.stream())
        return {"stored": stored.size}

    app.post("/api/v1/test/upload", dependencies=[accepts_uploads()])(store_body)
    app.post("/api/v1/test/small-upload", dependencies=[accepts_uploads(cap=SMALL_UPLOAD_CAP)])(
        store_body
    )

    @app.post("/api/v1/test/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}


async def _chunks(total: int, size: int = 500) -> AsyncIterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


@pytest.fixture
def uploads_root(settings: Settings) -> Iterator[Path]:
    root = settings.var_dir / "uploads"
    yield root
    shutil.rmtree(root / NAMESPACE, ignore_errors=True)


def stored_files(root: Path) -> list[Path]:
    """Finished and unfinished files of these tests."""
    folders = [root / NAMESPACE, root / ".incoming"]
    return [path for folder in folders for path in folder.rglob("*") if path.is_file()]


async def test_upload_routes_take_more_than_the_json_limit(
    make_app: AppFactory, uploads_root: Path
) -> None:
    limits = {"max_request_bytes": JSON_LIMIT, "max_upload_bytes": UPLOAD_LIMIT}
    async with make_app(setup=_routes, **limits) as (app, client):
        assert isinstance(app.state.storage, LocalStorage)
        assert app.state.storage.root == uploads_root
        body = b"x" * (JSON_LIMIT * 4)
        accepted = await client.post("/api/v1/test/upload", content=body)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json() == {"stored": len(body)}
        streamed = await client.post("/api/v1/test/upload", content=_chunks(UPLOAD_LIMIT))
        assert streamed.request.headers["transfer-encoding"] == "chunked"
        assert streamed.json() == {"stored": UPLOAD_LIMIT}
        assert len(stored_files(uploads_root)) == 2

        # The same body anywhere else is over the general limit.
        assert_too_large(await client.post("/api/v1/test/echo", content=body), JSON_LIMIT)
        assert_too_large(
            await client.post("/api/v1/test/echo", content=_chunks(len(body))), JSON_LIMIT
        )
        assert_too_large(
            await client.post("/api/v1/auth/login", content=body), JSON_LIMIT
        )  # a real JSON route


async def test_upload_limits_cut_off_declared_and_chunked_bodies(
    make_app: AppFactory, uploads_root: Path
) -> None:
    limits = {"max_request_bytes": JSON_LIMIT, "max_upload_bytes": UPLOAD_LIMIT}
    async with make_app(setup=_routes, **limits) as (_, client):
        # By Content-Length, before anything is read ...
        declared = await client.post("/api/v1/test/upload", content=b"x" * (UPLOAD_LIMIT + 1))
        assert_too_large(declared, UPLOAD_LIMIT)
        # ... and while a chunked body streams into storage: the partial file goes.
        chunked = await client.post("/api/v1/test/upload", content=_chunks(UPLOAD_LIMIT * 3))
        assert chunked.request.headers["transfer-encoding"] == "chunked"
        assert_too_large(chunked, UPLOAD_LIMIT)
        # A route's own cap, when lower than the setting.
        capped = await client.post(
            "/api/v1/test/small-upload", content=_chunks(SMALL_UPLOAD_CAP + 1)
        )
        assert_too_large(capped, SMALL_UPLOAD_CAP)
        assert stored_files(uploads_root) == []


async def test_the_setting_lowers_every_upload_route(
    make_app: AppFactory, uploads_root: Path
) -> None:
    limits = {"max_request_bytes": JSON_LIMIT, "max_upload_bytes": SMALL_UPLOAD_CAP // 2}
    async with make_app(setup=_routes, **limits) as (_, client):
        refused = await client.post("/api/v1/test/small-upload", content=_chunks(SMALL_UPLOAD_CAP))
        assert_too_large(refused, SMALL_UPLOAD_CAP // 2)
        assert stored_files(uploads_root) == []


@pytest.mark.parametrize("setting", ["max_upload_byte", "storage_url", "env"])
def test_a_limit_names_a_byte_count_setting(setting: str) -> None:
    with pytest.raises(ValueError, match="not a byte-count setting"):
        UploadBodyLimit(setting)
