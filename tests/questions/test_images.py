"""Images on questions: upload by the author, serving with access checks, removal."""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

from studyhall.core.middleware import route_body_limit
from studyhall.core.settings import Settings
from studyhall.core.storage import INCOMING_DIR
from studyhall.questions import api as questions_api
from studyhall.questions.images import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_REQUEST_BYTES,
    clean_filename,
    sniff_image_type,
)
from studyhall.web import questions_pages
from tests.conftest import SignedInUser
from tests.core.conftest import AppFactory
from tests.questions.conftest import (
    API,
    create,
    create_published,
    image_folder,
    publish,
    single_choice,
    stored_image_files,
)


def png_bytes(width: int = 1, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
WEBP = (
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"
    b"\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
)
PNG = png_bytes()


async def upload(
    client: httpx.AsyncClient,
    user: SignedInUser,
    question_id: str,
    data: bytes = PNG,
    filename: str = "ecg.png",
    content_type: str = "image/png",
) -> httpx.Response:
    return await client.post(
        f"{API}/{question_id}/images",
        headers=user.headers,
        files={"file": (filename, data, content_type)},
    )


async def uploaded(
    client: httpx.AsyncClient, user: SignedInUser, question_id: str, **kwargs: Any
) -> dict[str, Any]:
    response = await upload(client, user, question_id, **kwargs)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------- unit


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, ("image/png", "png")),
        (JPEG, ("image/jpeg", "jpg")),
        (GIF, ("image/gif", "gif")),
        (b"GIF87a" + GIF[6:], ("image/gif", "gif")),
        (WEBP, ("image/webp", "webp")),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", None),
        (b"<html><script>alert(1)</script></html>", None),
        (b"%PDF-1.7", None),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"\x89PN", None),
        (b"", None),
    ],
)
def test_sniff_image_type(data: bytes, expected: tuple[str, str] | None) -> None:
    assert sniff_image_type(data) == expected


@pytest.mark.parametrize(
    ("name", "extension", "expected"),
    [
        ("ecg.png", "png", "ecg.png"),
        ("../../etc/passwd", "png", "passwd.png"),
        ("C:\\Users\\x\\scan.final.JPG", "jpg", "scan.final.jpg"),
        ('a"b<c>.gif', "gif", "a_b_c.gif"),
        ("payload.html", "png", "payload.png"),
        ("", "webp", "image.webp"),
        ("\x00\r\n.png", "png", "image.png"),
    ],
)
def test_clean_filename(name: str, extension: str, expected: str) -> None:
    assert clean_filename(name, extension) == expected


# ---------------------------------------------------------------- through the API


@pytest.mark.usefixtures("app")
async def test_author_uploads_and_uses_an_image(
    client: httpx.AsyncClient, teacher: SignedInUser, settings: Settings
) -> None:
    question = await create(client, teacher)
    image = await uploaded(client, teacher, question["id"])
    assert image["content_type"] == "image/png"
    assert image["size"] == len(PNG)
    assert image["filename"] == "ecg.png"
    assert image["url"] == f"{API}/{question['id']}/images/{image['id']}"
    assert image["markdown"] == f"![ecg]({image['url']})"

    served = await client.get(image["url"], headers=teacher.headers)
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"].startswith("private")
    assert "sandbox" in served.headers["content-security-policy"]
    etag = served.headers["etag"]
    not_modified = await client.get(
        image["url"], headers={**teacher.headers, "If-None-Match": etag}
    )
    assert not_modified.status_code == 304
    assert not_modified.content == b""

    # The URL works in the question's Markdown and survives sanitizing.
    body = single_choice(stem=f"Look at this trace:\n\n{image['markdown']}")
    edited = await client.put(f"{API}/{question['id']}", json=body, headers=teacher.headers)
    assert f'<img src="{image["url"]}" alt="ecg">' in edited.json()["current"]["stem_html"]

    listed = await client.get(f"{API}/{question['id']}/images", headers=teacher.headers)
    assert listed.json()["total"] == 1
    assert listed.json()["items"][0]["id"] == image["id"]


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(
    ("data", "content_type"),
    [(JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
async def test_each_accepted_format(
    client: httpx.AsyncClient, teacher: SignedInUser, data: bytes, content_type: str
) -> None:
    question = await create(client, teacher)
    # The client's name and type are not trusted: the bytes decide.
    image = await uploaded(
        client,
        teacher,
        question["id"],
        data=data,
        filename="upload.exe",
        content_type="application/octet-stream",
    )
    assert image["content_type"] == content_type
    assert image["filename"] == "upload." + content_type.split("/")[1].replace("jpeg", "jpg")
    served = await client.get(image["url"], headers=teacher.headers)
    assert served.headers["content-type"] == content_type
    assert served.content == data


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(
    ("data", "filename", "content_type", "status", "code"),
    [
        (b"<html><script>alert(1)</script></html>", "x.png", "image/png", 415, None),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            "x.svg",
            "image/svg+xml",
            415,
            None,
        ),
        (b"MZ\x90\x00" + b"\x00" * 100, "x.gif", "image/gif", 415, None),
        (b"", "x.png", "image/png", 415, "empty_file"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES, "big.png", "image/png", 413, None),
    ],
)
async def test_refused_uploads_say_why(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    settings: Settings,
    data: bytes,
    filename: str,
    content_type: str,
    status: int,
    code: str | None,
) -> None:
    question = await create(client, teacher)
    response = await upload(client, teacher, question["id"], data, filename, content_type)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    expected = code or {415: "unsupported_image_type", 413: "image_too_large"}[status]
    assert response.json()["code"] == expected
    listed = await client.get(f"{API}/{question['id']}/images", headers=teacher.headers)
    assert listed.json()["total"] == 0
    assert stored_image_files(settings) == set()


@pytest.mark.usefixtures("app")
async def test_missing_file_field(client: httpx.AsyncClient, teacher: SignedInUser) -> None:
    question = await create(client, teacher)
    response = await client.post(f"{API}/{question['id']}/images", headers=teacher.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.usefixtures("app")
async def test_who_may_see_and_upload_images(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    other_teacher: SignedInUser,
    student: SignedInUser,
    admin: SignedInUser,
) -> None:
    draft = await create(client, teacher)
    image = await uploaded(client, teacher, draft["id"])

    # A draft's image: its author and admins only; everyone else is told it does not exist.
    assert (await client.get(image["url"], headers=admin.headers)).status_code == 200
    for user in (student, other_teacher):
        refused = await client.get(image["url"], headers=user.headers)
        assert refused.status_code == 404
        assert refused.json()["code"] == "question_not_found"
        assert refused.headers["content-type"] == "application/problem+json"
        assert PNG not in refused.content
        listed = await client.get(f"{API}/{draft['id']}/images", headers=user.headers)
        assert listed.status_code == 404
    assert (await client.get(image["url"])).status_code == 401  # not signed in

    # Uploading: the author or an admin; others 403 (published) or 404 (draft).
    assert (await upload(client, student, draft["id"])).status_code == 404
    assert (await upload(client, other_teacher, draft["id"])).status_code == 404
    assert (await upload(client, admin, draft["id"])).status_code == 201

    await publish(client, teacher, draft["id"])
    for user in (student, other_teacher):
        served = await client.get(image["url"], headers=user.headers)
        assert served.status_code == 200
        assert served.content == PNG
    student_upload = await upload(client, student, draft["id"])
    assert student_upload.status_code == 403
    assert student_upload.json()["code"] == "insufficient_role"
    teacher_upload = await upload(client, other_teacher, draft["id"])
    assert teacher_upload.status_code == 403
    assert teacher_upload.json()["code"] == "not_question_author"

    # Archived questions still show their images (past attempts' reviews use them).
    await client.post(f"{API}/{draft['id']}/archive", headers=teacher.headers)
    assert (await client.get(image["url"], headers=student.headers)).status_code == 200

    # An image id under another question's URL is not found.
    other = await create_published(client, teacher)
    wrong = await client.get(f"{API}/{other['id']}/images/{image['id']}", headers=teacher.headers)
    assert wrong.status_code == 404
    assert wrong.json()["code"] == "image_not_found"


@pytest.mark.usefixtures("app")
async def test_delete_an_unused_image_and_keep_used_ones(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    other_teacher: SignedInUser,
    settings: Settings,
) -> None:
    question = await create(client, teacher)
    unused = await uploaded(client, teacher, question["id"])
    used = await uploaded(client, teacher, question["id"], data=GIF, filename="used.gif")
    assert len(stored_image_files(settings)) == 2

    body = single_choice(
        options=[
            {"text": f"See {used['markdown']}", "correct": True},
            {"text": "Nothing"},
        ]
    )
    assert (
        await client.put(f"{API}/{question['id']}", json=body, headers=teacher.headers)
    ).status_code == 200

    not_mine = await client.delete(unused["url"], headers=other_teacher.headers)
    assert not_mine.status_code == 404  # a draft of someone else

    deleted = await client.delete(unused["url"], headers=teacher.headers)
    assert deleted.status_code == 204
    assert (await client.get(unused["url"], headers=teacher.headers)).status_code == 404
    remaining = stored_image_files(settings)
    assert [path.suffix for path in remaining] == [".gif"]

    in_use = await client.delete(used["url"], headers=teacher.headers)
    assert in_use.status_code == 409
    assert in_use.json()["code"] == "image_in_use"

    # Once published and edited, the old version still shows it: still kept.
    await publish(client, teacher, question["id"])
    assert (
        await client.put(f"{API}/{question['id']}", json=single_choice(), headers=teacher.headers)
    ).status_code == 200
    still = await client.delete(used["url"], headers=teacher.headers)
    assert still.status_code == 409
    assert "Version 1" in still.json()["detail"]


# ---------------------------------------------------------------- ranges and streaming


@pytest.mark.usefixtures("app")
async def test_byte_ranges_of_an_image(
    client: httpx.AsyncClient, teacher: SignedInUser, student: SignedInUser
) -> None:
    data = png_bytes(40, 40)
    size = len(data)
    question = await create(client, teacher)
    image = await uploaded(client, teacher, question["id"], data=data)

    async def get(headers: dict[str, str], user: SignedInUser = teacher) -> httpx.Response:
        return await client.get(image["url"], headers={**user.headers, **headers})

    whole = await get({})
    assert whole.status_code == 200
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-length"] == str(size)
    etag = whole.headers["etag"]

    first = await get({"Range": "bytes=0-9"})
    assert first.status_code == 206
    assert first.content == data[:10]
    assert first.headers["content-range"] == f"bytes 0-9/{size}"
    assert first.headers["content-length"] == "10"
    assert first.headers["content-type"] == "image/png"
    assert first.headers["etag"] == etag
    assert first.headers["cache-control"].startswith("private")

    suffix = await get({"Range": "bytes=-16"})
    assert suffix.status_code == 206
    assert suffix.content == data[-16:]
    assert suffix.headers["content-range"] == f"bytes {size - 16}-{size - 1}/{size}"

    rest = await get({"Range": "bytes=100-"})
    assert rest.status_code == 206
    assert rest.content == data[100:]
    clamped = await get({"Range": f"bytes=0-{size * 10}"})
    assert (clamped.status_code, clamped.content) == (206, data)

    for unsatisfiable in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}", "bytes=-0"):
        refused = await get({"Range": unsatisfiable})
        assert refused.status_code == 416, unsatisfiable
        assert refused.headers["content-range"] == f"bytes */{size}"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "range_not_satisfiable"

    # Ignored: ranges of another unit, malformed or several; If-Range naming another version.
    for ignored in (
        {"Range": "pages=1-2"},
        {"Range": "bytes=9-1"},
        {"Range": "bytes=0-1,4-5"},
        {"Range": "bytes=0-9", "If-Range": '"not-this-one"'},
    ):
        full = await get(ignored)
        assert (full.status_code, full.content) == (200, data), ignored
    matching = await get({"Range": "bytes=0-9", "If-Range": etag})
    assert (matching.status_code, matching.content) == (206, data[:10])
    # A cached copy still wins over a range.
    assert (await get({"Range": "bytes=0-9", "If-None-Match": etag})).status_code == 304

    # Ranges change nothing about who may read: a student cannot read a draft's bytes.
    hidden = await get({"Range": "bytes=0-9"}, user=student)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "question_not_found"


@pytest.mark.usefixtures("app")
async def test_a_missing_file_is_a_clean_404(
    client: httpx.AsyncClient, teacher: SignedInUser, settings: Settings
) -> None:
    question = await create(client, teacher)
    image = await uploaded(client, teacher, question["id"])
    for path in stored_image_files(settings):
        path.unlink()
    missing = await client.get(image["url"], headers=teacher.headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "image_not_found"


def multipart_body(data: bytes, filename: str = "big.png") -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x/", files={"file": (filename, data, "image/png")})
    return request.read(), request.headers["content-type"]


async def in_pieces(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body as a server hands it over: in pieces, with no Content-Length (chunked)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.usefixtures("app")
async def test_the_upload_route_has_its_own_body_limit(
    make_app: AppFactory, client: httpx.AsyncClient, teacher: SignedInUser, settings: Settings
) -> None:
    json_limit, upload_limit = 2048, 32 * 1024
    question = await create(client, teacher)
    url = f"{API}/{question['id']}/images"
    limits = {"max_request_bytes": json_limit, "max_upload_bytes": upload_limit}
    async with make_app(**limits) as (_, small_limits):
        # An image several times the JSON limit is taken, whole or streamed ...
        image = PNG + b"\x00" * (json_limit * 4)
        accepted = await small_limits.post(
            url, headers=teacher.headers, files={"file": ("big.png", image, "image/png")}
        )
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["size"] == len(image)
        body, content_type = multipart_body(image)
        streamed = await small_limits.post(
            url, headers={**teacher.headers, "Content-Type": content_type}, content=in_pieces(body)
        )
        assert streamed.status_code == 201, streamed.text
        assert len(stored_image_files(settings)) == 2

        # ... while the same body, or JSON as large, is refused by a JSON route.
        edit = f"{API}/{question['id']}"
        elsewhere = await small_limits.put(
            edit, headers={**teacher.headers, "Content-Type": content_type}, content=body
        )
        assert elsewhere.status_code == 413
        assert elsewhere.json()["code"] == "payload_too_large"
        large_json = single_choice(explanation="x" * len(image))
        elsewhere = await small_limits.put(edit, headers=teacher.headers, json=large_json)
        assert elsewhere.status_code == 413
        assert elsewhere.json()["detail"] == f"Request bodies are limited to {json_limit} bytes."

        # Past the upload limit: refused by Content-Length, or cut off while streaming,
        # and nothing of it is stored.
        too_big, content_type = multipart_body(PNG + b"\x00" * upload_limit)
        for content in (too_big, in_pieces(too_big)):
            refused = await small_limits.post(
                url, headers={**teacher.headers, "Content-Type": content_type}, content=content
            )
            assert refused.status_code == 413
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "payload_too_large"
            assert (
                refused.json()["detail"] == f"Request bodies are limited to {upload_limit} bytes."
            )
    listed = await client.get(url, headers=teacher.headers)
    assert listed.json()["total"] == 2
    assert len(stored_image_files(settings)) == 2
    assert not any((image_folder(settings).parent / INCOMING_DIR).glob("*"))


@pytest.mark.parametrize("router", [questions_api.router, questions_pages.router])
def test_every_image_upload_route_declares_its_limit(router: APIRouter, settings: Settings) -> None:
    uploads = [
        route
        for route in router.routes
        if isinstance(route, APIRoute)
        and route.path.endswith("/images")
        and "POST" in route.methods
    ]
    assert uploads
    for route in uploads:
        assert route_body_limit(route, settings) == MAX_IMAGE_REQUEST_BYTES


@pytest.mark.usefixtures("app")
async def test_an_upload_never_sits_in_memory_whole(
    client: httpx.AsyncClient, teacher: SignedInUser, settings: Settings
) -> None:
    question = await create(client, teacher)
    image = PNG + b"\x00" * (MAX_IMAGE_BYTES - len(PNG))
    body, content_type = multipart_body(image)
    headers = {**teacher.headers, "Content-Type": content_type}
    url = f"{API}/{question['id']}/images"
    tracemalloc.start()
    try:
        response = await client.post(url, headers=headers, content=in_pieces(body))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(image)
    # The multipart parser keeps at most 1 MiB of a file in memory before spooling it to
    # disk, and storage takes it in chunks: nowhere near the 5 MiB file.
    assert peak < len(image) // 2, peak
    (stored,) = stored_image_files(settings)
    assert stored.stat().st_size == len(image)
