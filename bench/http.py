"""The load's HTTP clients: a minimal keep-alive HTTP/1.1 client on asyncio streams (one
connection per virtual user), and an adapter over httpx (for in-process ASGI apps in tests).

Why not httpx for the load: on this 2-core machine a shared httpx.AsyncClient drove the
baseline's /health at 70 requests/s with 50 concurrent users, one httpx client per user at
~500/s, this client at ~8,500/s. The load generator must not be what is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import httpx

REQUEST_TIMEOUT = 60.0


class HttpError(Exception):
    """The request got no response (connection refused, reset, timed out)."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Http(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Reply: ...

    async def close(self) -> None: ...


def _target(path: str, params: Mapping[str, Any] | None) -> str:
    return f"{path}?{urlencode(params)}" if params else path


class RawHttp:
    """One persistent HTTP/1.1 connection, one request at a time (a virtual user)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"need http://host:port, not {base_url}")
        self.host, self.port = parts.hostname, parts.port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Reply:
        target = _target(path, params)
        for attempt in (1, 2):
            reused = self._writer is not None
            try:
                return await asyncio.wait_for(
                    self._exchange(method, target, headers, json_body), REQUEST_TIMEOUT
                )
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
                await self.close()
                # The server closes idle keep-alive connections (uvicorn: after 5 s); a
                # request sent on one got no byte back and was never handled: send it again.
                unanswered = isinstance(error, ConnectionError) or (
                    isinstance(error, asyncio.IncompleteReadError) and not error.partial
                )
                if attempt == 1 and reused and unanswered:
                    continue
                raise HttpError(repr(error)) from error
            except TimeoutError as error:
                await self.close()
                raise HttpError("timed out") from error
        raise AssertionError("unreachable")

    async def _exchange(
        self, method: str, target: str, headers: Mapping[str, str] | None, json_body: Any
    ) -> Reply:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        body = b"" if json_body is None else json.dumps(json_body).encode()
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if json_body is not None or method in ("POST", "PUT", "PATCH"):
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        received: dict[bytes, bytes] = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            received[name.strip().lower()] = value.strip()
        if b"content-length" in received:
            content = await self._reader.readexactly(int(received[b"content-length"]))
        elif received.get(b"transfer-encoding", b"").lower() == b"chunked":
            content = await self._chunks()
        elif status in (204, 304) or 100 <= status < 200:
            content = b""
        else:
            content = await self._reader.read()
            await self.close()
        if received.get(b"connection", b"").lower() == b"close":
            await self.close()
        return Reply(status, content)

    async def _chunks(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class HttpxHttp:
    """The same interface over an httpx client (e.g. with an ASGI transport in tests)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Reply:
        try:
            response = await self.client.request(
                method, path, headers=dict(headers or {}), json=json_body, params=params
            )
        except httpx.HTTPError as error:
            raise HttpError(repr(error)) from error
        return Reply(response.status_code, response.content)

    async def close(self) -> None:
        """The client belongs to the caller."""
