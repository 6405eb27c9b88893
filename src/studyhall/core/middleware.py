"""Pure ASGI middleware: access log + metrics + security headers, global rate limit, body size."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import Depends
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studyhall.core.errors import internal_error_response, problem_response
from studyhall.core.metrics import ERRORS, LATENCY, REQUESTS
from studyhall.core.ratelimit import STATE_KEY, RateLimitResult, get_limiter, scope_client_ip
from studyhall.core.settings import Settings

access_log = structlog.get_logger("studyhall.access")

UNMETERED_PREFIXES = ("/health", "/metrics", "/static/")


def is_metered(path: str) -> bool:
    """Whether requests to `path` count against the per-IP limit and the request metrics."""
    return not path.startswith(UNMETERED_PREFIXES)


def _content_security_policy(path: str) -> str:
    if path.startswith("/api/docs"):
        # Swagger UI needs its CDN script and inline bootstrap; only this page gets them.
        return (
            "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
            "https://fastapi.tiangolo.com; frame-ancestors 'none'"
        )
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _route_template(scope: Scope) -> str:
    """The matched route's full template, e.g. /api/v1/users/{user_id} (bounded label values).

    Routes of included routers carry only their own part of the path, so the prefix is
    recovered by rendering that part with the request's path parameters.
    """
    raw = str(scope.get("path", ""))
    route_path = getattr(scope.get("route"), "path", None)
    if not isinstance(route_path, str):
        return "/static/*" if raw.startswith("/static/") else "<unmatched>"
    params = scope.get("path_params") or {}
    rendered = _PARAM.sub(lambda m: str(params.get(m.group(1), m.group(0))), route_path)
    if rendered and raw.endswith(rendered):
        return raw[: len(raw) - len(rendered)] + route_path
    return route_path


def _state(scope: Scope) -> dict[str, Any]:
    state: dict[str, Any] = scope.setdefault("state", {})
    return state


def _is_tls(scope: Scope, settings: Settings) -> bool:
    if scope.get("scheme") == "https":
        return True
    if settings.trusted_proxy:
        for name, value in scope.get("headers", []):
            # A chain of proxies may send "https, http": the first hop is the client's.
            if name == b"x-forwarded-proto":
                return bool(value.split(b",")[0].strip().lower() == b"https")
    return False


class RequestLogMiddleware:
    """One log line and one metrics sample per request; security and rate-limit headers.

    It also answers unhandled exceptions with a 500 problem itself: Starlette's own handler
    sits outside every user middleware, so its response would miss these headers and the
    request id.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False
        path = str(scope.get("path", ""))
        tls = _is_tls(scope, self.settings)

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                headers.setdefault("Content-Security-Policy", _content_security_policy(path))
                if tls:
                    headers.setdefault(
                        "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
                    )
                if path.startswith("/api/"):
                    headers.setdefault("API-Version", "1")
                result = _state(scope).get(STATE_KEY)
                if isinstance(result, RateLimitResult):
                    for name, value in result.headers().items():
                        headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            status = 500
            if response_started:
                raise  # too late for a problem response; the server drops the connection
            response = internal_error_response(Request(scope, receive), exc)
            await response(scope, receive, send_with_headers)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        route = _route_template(scope)
        method = str(scope.get("method", ""))
        if is_metered(str(scope.get("path", ""))):
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
        if status >= 500:
            ERRORS.labels(route).inc()
        state = _state(scope)
        access_log.info(
            "request",
            method=method,
            route=route,
            path=scope.get("path"),
            status=status,
            duration_ms=round(elapsed * 1000, 2),
            user_id=state.get("user_id"),
        )


async def _send_problem(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str],
) -> None:
    """Answer from a middleware exactly as the app's error handlers would."""
    response = problem_response(Request(scope, receive), status, code, title, detail, headers)
    await response(scope, receive, send)


def _current_settings(scope: Scope, default: Settings) -> Settings:
    """The app's settings as the handlers see them (`app.state.settings`), so that replacing
    them (as tests do to raise the limits) applies to the middleware too."""
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    return settings if isinstance(settings, Settings) else default


class GlobalRateLimitMiddleware:
    """The per-IP rule every request counts against (health and metrics excepted)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_metered(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        settings = _current_settings(scope, self.settings)
        result = await get_limiter().hit_fixed_window(
            "global_ip",
            settings.rate_limit_global,
            scope_client_ip(scope, settings.trusted_proxy),
        )
        _state(scope)[STATE_KEY] = result
        if not result.allowed:
            await _send_problem(
                scope,
                receive,
                send,
                429,
                "rate_limited",
                "Too many requests",
                f"Too many requests; try again in {result.retry_after} seconds.",
                result.headers(),
            )
            return
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class UploadBodyLimit:
    """Marks a route whose request bodies may be larger than `STUDYHALL_MAX_REQUEST_BYTES`:
    up to the setting named `setting` (`max_upload_bytes` unless the kind of file has its
    own), or `cap` bytes when that is less. Declare it with `accepts_uploads()`.

    As a dependency it does nothing; BodySizeLimitMiddleware finds it on the matched route.
    """

    setting: str = "max_upload_bytes"
    cap: int | None = None

    def __post_init__(self) -> None:
        field = Settings.model_fields.get(self.setting)
        if field is None or field.annotation is not int:
            raise ValueError(f"{self.setting!r} is not a byte-count setting")

    def max_bytes(self, settings: Settings) -> int:
        allowed: int = getattr(settings, self.setting)
        return allowed if self.cap is None else min(allowed, self.cap)

    async def __call__(self) -> None:
        return None


def accepts_uploads(setting: str = "max_upload_bytes", cap: int | None = None) -> Any:
    """`dependencies=[accepts_uploads()]` on an upload route: see UploadBodyLimit."""
    return Depends(UploadBodyLimit(setting, cap))


def route_body_limit(route: object, settings: Settings) -> int:
    """The body limit `route` declares, else the general one (also for None: not routed)."""
    for dependency in getattr(route, "dependencies", ()):
        marker = getattr(dependency, "dependency", None)
        if isinstance(marker, UploadBodyLimit):
            return marker.max_bytes(settings)
    return settings.max_request_bytes


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit, by Content-Length or while streaming (chunked bodies).

    The limit is the matched route's (`route_body_limit`), looked up when the app first reads
    the body: routing has happened by then (FastAPI reads a body before it runs dependencies),
    and nothing of the body has been read, so a Content-Length over the limit is refused
    without reading a byte. A route that never reads its body ignores it, whatever its size.

    The refusal is raised from `receive` as an HTTPException (413): FastAPI lets
    HTTPExceptions from body parsing through (any other error would become a 400), and the
    app's handler renders it like every other problem. A handler streaming the body into
    storage sees the error too, and its partial file is removed.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0
        limit: int | None = None
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, limit
            if limit is None:
                limit = route_body_limit(scope.get("route"), self.settings)
                if declared is not None and declared > limit:
                    raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if response_started:
                raise
            await _send_problem(
                scope, receive, send, 413, "payload_too_large", "Payload too large", exc.detail, {}
            )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request bodies are limited to {max_bytes} bytes.")
        self.max_bytes = max_bytes
