"""LocalStorage through the Storage interface: streaming, atomic writes and ranged reads."""

from __future__ import annotations

import asyncio
import hashlib
import io
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studyhall.core.errors import NotFound
from studyhall.core.file_responses import ByteRange, RangeNotSatisfiable, parse_range
from studyhall.core.settings import Settings
from studyhall.core.storage import (
    CHUNK_SIZE,
    INCOMING_DIR,
    FileTooLarge,
    LocalStorage,
    Storage,
    chunks_of,
    file_chunks,
    peek,
    storage_from_url,
)

NAMESPACE = "test-files"
DATA = bytes(range(256)) * 1000  # 256,000 bytes: several chunks of a small chunk size


async def chunked(data: bytes, size: int = 10_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(storage: Storage, key: str, **kwargs: int | None) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, **kwargs)])


def left_behind(root: Path) -> list[Path]:
    """Every file under the storage root, finished or not."""
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "uploads")


async def test_write_streams_and_reports_size_and_digest(storage: LocalStorage) -> None:
    stored = await storage.write(NAMESPACE, chunked(DATA), extension="BIN")
    assert stored.size == len(DATA)
    assert stored.sha256 == hashlib.sha256(DATA).hexdigest()
    assert stored.key.startswith(f"{NAMESPACE}/") and stored.key.endswith(".bin")
    assert (storage.root / stored.key).read_bytes() == DATA
    assert not any((storage.root / INCOMING_DIR).iterdir())

    assert await read_all(storage, stored.key) == DATA
    assert (await storage.stat(stored.key)).size == len(DATA)
    assert await storage.exists(stored.key)
    # Keys are never reused: the same bytes again get a new key.
    again = await storage.write(NAMESPACE, chunked(DATA))
    assert again.key != stored.key and again.sha256 == stored.sha256


async def test_reads_come_in_bounded_chunks(storage: LocalStorage) -> None:
    big = b"y" * (CHUNK_SIZE * 3 + 5)
    stored = await storage.write(NAMESPACE, chunked(big, CHUNK_SIZE))
    sizes = [len(chunk) async for chunk in storage.read(stored.key)]
    assert sizes == [CHUNK_SIZE, CHUNK_SIZE, CHUNK_SIZE, 5]


@pytest.mark.parametrize(
    ("offset", "length"),
    [
        (0, 10),
        (0, None),
        (1000, None),
        (12_345, 100_000),
        (len(DATA) - 1, 1),
        (len(DATA) - 10, 1000),  # past the end: what is there
        (len(DATA), None),
        (len(DATA) + 50, 10),
        (500, 0),
    ],
)
async def test_ranged_reads(storage: LocalStorage, offset: int, length: int | None) -> None:
    stored = await storage.write(NAMESPACE, chunked(DATA))
    expected = DATA[offset:] if length is None else DATA[offset : offset + length]
    assert await read_all(storage, stored.key, offset=offset, length=length) == expected


async def test_negative_ranges_are_refused(storage: LocalStorage) -> None:
    stored = await storage.write(NAMESPACE, chunked(b"abc"))
    with pytest.raises(ValueError, match="negative"):
        await read_all(storage, stored.key, offset=-1)
    with pytest.raises(ValueError, match="negative"):
        await read_all(storage, stored.key, length=-1)


async def test_delete_and_missing_files(storage: LocalStorage) -> None:
    stored = await storage.write(NAMESPACE, chunked(DATA))
    await storage.delete(stored.key)
    assert not await storage.exists(stored.key)
    await storage.delete(stored.key)  # deleting twice is fine
    for attempt in (storage.stat(stored.key), read_all(storage, stored.key)):
        with pytest.raises(NotFound) as missing:
            await attempt
        assert missing.value.code == "file_not_found"
    assert left_behind(storage.root) == []


@pytest.mark.parametrize(
    "key", ["../secret.key", "/etc/passwd", "test-files/00/../../x", ".incoming/a.part", ""]
)
async def test_keys_cannot_leave_the_root(storage: LocalStorage, key: str) -> None:
    assert not await storage.exists(key)
    with pytest.raises(NotFound):
        await storage.stat(key)
    with pytest.raises(NotFound):
        await read_all(storage, key)
    with pytest.raises(NotFound):
        await storage.delete(key)


async def test_bad_namespace_or_extension(storage: LocalStorage) -> None:
    for namespace, extension in (("../up", ""), ("A", ""), ("ok", "p/ng"), ("ok", "x" * 9)):
        with pytest.raises(ValueError, match="invalid"):
            await storage.write(namespace, chunked(b"x"), extension=extension)
    assert left_behind(storage.root) == []


async def test_a_failing_source_leaves_nothing(storage: LocalStorage) -> None:
    async def breaks_midway() -> AsyncIterator[bytes]:
        yield b"a" * 50_000
        yield b"b" * 50_000
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.write(NAMESPACE, breaks_midway())
    assert left_behind(storage.root) == []


async def test_past_the_limit_nothing_is_kept(storage: LocalStorage) -> None:
    limit = len(DATA) - 1
    with pytest.raises(FileTooLarge) as refused:
        await storage.write(NAMESPACE, chunked(DATA), max_bytes=limit)
    assert refused.value.status == 413
    assert refused.value.code == "file_too_large"
    assert left_behind(storage.root) == []

    exact = await storage.write(NAMESPACE, chunked(DATA), max_bytes=len(DATA))
    assert exact.size == len(DATA)


async def test_a_cancelled_write_leaves_nothing(storage: LocalStorage) -> None:
    first_chunk_written = asyncio.Event()

    async def stalls_after_one_chunk() -> AsyncIterator[bytes]:
        yield b"z" * 10_000
        first_chunk_written.set()  # asked for more: the first chunk is on disk
        await asyncio.Event().wait()
        yield b"never"

    writing = asyncio.create_task(storage.write(NAMESPACE, stalls_after_one_chunk()))
    await first_chunk_written.wait()
    partial = left_behind(storage.root)
    assert [path.parent.name for path in partial] == [INCOMING_DIR]
    assert partial[0].stat().st_size == 10_000
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    assert left_behind(storage.root) == []


async def test_large_files_stream_through_bounded_memory(storage: LocalStorage) -> None:
    size = 32 * 1024 * 1024
    piece = 256 * 1024

    async def generated() -> AsyncIterator[bytes]:
        for _ in range(size // piece):
            yield bytes(piece)  # a new object each time, as a network read would be

    tracemalloc.start()
    try:
        stored = await storage.write(NAMESPACE, generated())
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        async for chunk in storage.read(stored.key):
            digest.update(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == size
    assert digest.hexdigest() == stored.sha256 == hashlib.sha256(bytes(size)).hexdigest()
    # A few chunks (2 MiB) at most, where a whole-file read or write would take 32 MiB.
    assert write_peak < size // 16, write_peak
    assert read_peak < size // 16, read_peak


async def test_chunk_sources() -> None:
    class Upload:  # what Starlette's UploadFile offers
        def __init__(self, data: bytes) -> None:
            self.file = io.BytesIO(data)

        async def read(self, size: int = -1) -> bytes:
            return self.file.read(size)

    assert [len(c) async for c in chunks_of(Upload(b"x" * 25), chunk_size=10)] == [10, 10, 5]
    assert [len(c) async for c in file_chunks(io.BytesIO(b"x" * 25), chunk_size=10)] == [
        10,
        10,
        5,
    ]

    head, stream = await peek(chunked(b"0123456789abcdef", size=3), 8)
    assert head == b"01234567"
    assert b"".join([chunk async for chunk in stream]) == b"0123456789abcdef"
    head, stream = await peek(chunked(b"abc"), 8)
    assert head == b"abc"
    assert b"".join([chunk async for chunk in stream]) == b"abc"
    head, stream = await peek(chunked(b""), 8)
    assert head == b""
    assert [chunk async for chunk in stream] == []


def test_storage_is_chosen_by_settings(tmp_path: Path) -> None:
    default = storage_from_url("", tmp_path)
    assert isinstance(default, LocalStorage) and default.root == tmp_path / "uploads"
    shared = storage_from_url("file:///srv/shared%20files", tmp_path)
    assert isinstance(shared, LocalStorage) and shared.root == Path("/srv/shared files")
    for url in ("s3://bucket/prefix", "file://otherhost/x", "relative/folder"):
        with pytest.raises(ValueError, match="storage"):
            storage_from_url(url, tmp_path)
        with pytest.raises(ValueError, match="storage_url"):
            Settings(storage_url=url)


# ---------------------------------------------------------------- Range headers


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", ByteRange(0, 9)),
        ("bytes=10-", ByteRange(10, 99)),
        ("bytes=-5", ByteRange(95, 99)),
        ("bytes=-500", ByteRange(0, 99)),
        ("bytes=90-1000", ByteRange(90, 99)),
        ("bytes=99-99", ByteRange(99, 99)),
        ("bytes = 0-0", ByteRange(0, 0)),
        ("bytes=5-4", None),  # invalid: ignored
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-9", None),
        ("bytes=-", None),
        ("bytes=abc", None),
        ("", None),
    ],
)
def test_parse_range(header: str, expected: ByteRange | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=-1", 0)]
)
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as refused:
        parse_range(header, size)
    assert refused.value.status == 416
    assert refused.value.headers == {"Content-Range": f"bytes */{size}"}


@given(st.integers(0, 10_000), st.integers(0, 20_000), st.integers(0, 20_000))
def test_ranges_stay_inside_the_file(size: int, first: int, last: int) -> None:
    for header in (f"bytes={first}-{last}", f"bytes={first}-", f"bytes=-{last}"):
        try:
            byte_range = parse_range(header, size)
        except RangeNotSatisfiable:
            continue
        if byte_range is not None:
            assert 0 <= byte_range.start <= byte_range.end < size
