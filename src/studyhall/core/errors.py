"""Domain errors carrying an HTTP status and a stable code.

Rendered once: RFC 9457 problem+json for the API, an HTML fragment for pages and HTMX.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from http import HTTPStatus
from typing import Annotated, Any

import sentry_sdk
import structlog
from asgi_correlation_id.context import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("studyhall.errors")


class StudyhallError(Exception):
    """Base of every error a service raises on purpose."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    # True when what the service flushed before raising must still be committed (e.g. a
    # revocation made while refusing a request); the transaction otherwise rolls back.
    commit_anyway: bool = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class BadRequest(StudyhallError):
    pass


class ValidationFailed(StudyhallError):
    status, code, title = 422, "validation_error", "The request is not valid"


class Unauthorized(StudyhallError):
    status, code, title = 401, "unauthorized", "Sign-in required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(StudyhallError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(StudyhallError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(StudyhallError):
    status, code, title = 409, "conflict", "Conflict"


class TooManyRequests(StudyhallError):
    status, code, title = 429, "rate_limited", "Too many requests"


class Locked(StudyhallError):
    status, code, title = 423, "locked", "Temporarily locked"


class ServiceUnavailable(StudyhallError):
    status, code, title = 503, "unavailable", "Service unavailable"


class ValidationIssue(BaseModel):
    """One invalid field of a 422 `validation_error` (or `weak_password`) problem."""

    loc: list[str] = Field(description='where: e.g. ["body", "title"] or ["query", "page"]')
    msg: str = Field(description="what is wrong, for people")
    type: str = Field(description="what is wrong, for programs: e.g. `missing`, `int_parsing`")


def _absent_unless_set(schema: dict[str, Any]) -> None:
    """Optional members are left out when unset, never null: no `default: null` for them."""
    for member in schema.get("properties", {}).values():
        if member.get("default", ...) is None:
            del member["default"]


class Problem(BaseModel):
    """RFC 9457 problem details, as every API error is answered (`application/problem+json`).

    Members other than these are the details of a given `code` (e.g. `current` for
    `stale_version`, `question_ids` for `question_not_published`).
    """

    model_config = ConfigDict(extra="allow", json_schema_extra=_absent_unless_set)

    type: str = Field(
        description="https://studyhall.dev/problems/{code}", json_schema_extra={"format": "uri"}
    )
    title: str = Field(description="the same for every problem of this status and code")
    status: int = Field(ge=400, le=599, description="the response's status code")
    detail: str = Field(description="this occurrence, for people")
    code: str = Field(description="stable, for programs: e.g. `quiz_not_found`, `rate_limited`")
    instance: str = Field(description="the request's path")
    request_id: str | SkipJsonSchema[None] = Field(
        None, description="the X-Request-ID of the request, for support and logs"
    )
    errors: list[ValidationIssue] | SkipJsonSchema[None] = Field(
        None, description="422 `validation_error` and `weak_password`: each invalid field"
    )
    retry_after: Annotated[int, Field(ge=1)] | SkipJsonSchema[None] = Field(
        None, description="429 and 423: seconds to wait, as in the Retry-After header"
    )


def problem_body(
    status: int, code: str, title: str, detail: str, request: Request, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://studyhall.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    # The middleware's id (validated or generated) rather than whatever the client sent.
    request_id = correlation_id.get() or request.headers.get("x-request-id")
    if request_id:
        body["request_id"] = request_id
    for key, value in extra.items():
        body.setdefault(key, value)  # extras never overwrite the standard members
    return body


def problem_response(
    request: Request,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    if _wants_html(request):
        return _html_problem(status, title, detail, headers)
    return JSONResponse(
        problem_body(status, code, title, detail, request, **extra),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def _wants_html(request: Request) -> bool:
    """HTMX requests and page routes get an HTML fragment; the API always gets JSON."""
    if request.url.path.startswith("/api/"):
        return False
    return request.headers.get("hx-request") == "true" or "text/html" in request.headers.get(
        "accept", ""
    )


def _html_problem(
    status: int, title: str, detail: str, headers: Mapping[str, str] | None
) -> Response:
    body = (
        f'<div class="alert alert-error" role="alert"><strong>{escape(title)}</strong>'
        f"<p>{escape(detail)}</p></div>"
    )
    return Response(body, status_code=status, media_type="text/html", headers=dict(headers or {}))


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]


def internal_error_response(request: Request, exc: BaseException) -> Response:
    """Log an unexpected exception (with its traceback) and answer a generic 500 problem."""
    log.error("unhandled_exception", path=request.url.path, exc_info=exc)
    sentry_sdk.capture_exception(exc)  # a no-op unless a DSN was configured
    return problem_response(
        request,
        500,
        "internal_error",
        "Internal server error",
        "Something went wrong on our side; the error was logged.",
    )


# Codes and titles for the statuses the framework raises itself (routing, body limits).
_HTTP_PROBLEMS = {
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
}


def _http_problem(status: int) -> tuple[str, str]:
    if status in _HTTP_PROBLEMS:
        return _HTTP_PROBLEMS[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return phrase.lower().replace(" ", "_").replace("-", "_"), phrase


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StudyhallError)
    async def _domain(request: Request, exc: StudyhallError) -> Response:
        return problem_response(
            request, exc.status, exc.code, exc.title, exc.detail, exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(
            request,
            422,
            "validation_error",
            "The request is not valid",
            "One or more fields are invalid.",
            errors=_validation_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code, title = _http_problem(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail else title
        return problem_response(
            request, exc.status_code, code, title, detail, getattr(exc, "headers", None)
        )

    # Normally RequestLogMiddleware answers unhandled exceptions (inside the middleware, so
    # the 500 gets the security headers and request id); this is the last resort.
    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> Response:
        return internal_error_response(request, exc)
