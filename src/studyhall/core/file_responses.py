"""Serving stored files over HTTP: streamed, with validators and single byte ranges.

Range requests (RFC 9110 §14) let players seek in videos and downloads resume: one range is
answered with 206 Partial Content, an unsatisfiable one with 416. A request for several
ranges gets the whole file (a server may ignore Range; players ask for one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from studyhall.core.errors import StudyhallError
from studyhall.core.storage import Storage

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(StudyhallError):
    status, code, title = 416, "range_not_satisfiable", "Range not satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__(
            f"The file has {size} bytes; the requested range is outside it.",
            headers={"Content-Range": f"bytes */{size}"},
        )


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str, size: int) -> ByteRange | None:
    """The one range `header` asks for within a file of `size` bytes; None to send the whole
    file (no header, a malformed one, another unit, or several ranges). Raises
    RangeNotSatisfiable when the range lies wholly outside the file."""
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignored, as RFC 9110 says
    if start >= size:
        raise RangeNotSatisfiable(size)
    return ByteRange(start, min(int(last), size - 1) if last else size - 1)


def _matches(header: str | None, etag: str) -> bool:
    return header is not None and etag in {tag.strip() for tag in header.split(",")}


async def stored_file_response(
    request: Request,
    storage: Storage,
    key: str,
    *,
    media_type: str,
    etag: str,
    headers: Mapping[str, str],
) -> Response:
    """A response for GET of a stored file whose content never changes under `etag` (a
    quoted strong validator): 304 when If-None-Match has it, 206 for one satisfiable byte
    range (unless If-Range names another validator), 416 (RangeNotSatisfiable) for an
    unsatisfiable one, else 200 with the whole file. Bodies are streamed from storage with
    their Content-Length. A missing file raises NotFound before anything is sent."""
    common = {**headers, "ETag": etag, "Accept-Ranges": "bytes"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=common)
    size = (await storage.stat(key)).size
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    byte_range = None
    if wanted is not None and (if_range is None or if_range.strip() == etag):
        byte_range = parse_range(wanted, size)
    if byte_range is None:
        return StreamingResponse(
            storage.read(key),
            media_type=media_type,
            headers={**common, "Content-Length": str(size)},
        )
    return StreamingResponse(
        storage.read(key, offset=byte_range.start, length=byte_range.length),
        status_code=206,
        media_type=media_type,
        headers={
            **common,
            "Content-Length": str(byte_range.length),
            "Content-Range": f"bytes {byte_range.start}-{byte_range.end}/{size}",
        },
    )
