"""Jinja2 templates and the one function that turns a template into a page response."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from studyhall import __version__
from studyhall.web.forms import FormState
from studyhall.web.security import csrf_token_for, store_issued_csrf_token

TEMPLATE_DIR = Path(__file__).parent / "templates"

# Messages a redirect may ask the next page to show (`?notice=key`); never free text.
NOTICES = {
    "signed-out": "You are signed out.",
    "signed-in-elsewhere-out": "Every other session was signed out.",
    "session-revoked": "That session was signed out.",
    "password-changed": "Your password was changed and your other sessions were signed out.",
    "password-reset": "Your password was changed. Sign in with your new password.",
    "2fa-disabled": "Two-factor authentication is off.",
    "session-ended": "Your session has ended; sign in again.",
}


def time_ago(moment: datetime, now: datetime | None = None) -> str:
    """A rough, readable age such as "5 minutes ago"."""
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def utc_label(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def group_secret(secret: str, size: int = 4) -> str:
    """`ABCDEFGH…` as `ABCD EFGH …`, easier to type into an authenticator app."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.Undefined,
    )
)
templates.env.globals["version"] = __version__
templates.env.filters["time_ago"] = time_ago
templates.env.filters["utc_label"] = utc_label
templates.env.filters["group_secret"] = group_secret


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render `template` with the viewer, CSRF token and notice every page uses."""
    values: dict[str, Any] = {
        "viewer": getattr(request.state, "viewer", None),
        "csrf_token": csrf_token_for(request),
        "notice": NOTICES.get(request.query_params.get("notice", "")),
    }
    values.update(context or {})
    response = templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=dict(headers or {})
    )
    # Pages can show secrets (backup codes, a 2FA key): keep them out of every cache.
    response.headers["Cache-Control"] = "no-store"
    store_issued_csrf_token(request, response)
    return response


def render_form(
    request: Request,
    template: str,
    form: FormState,
    context: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    """Show a form again with its errors, the user's input and the error's status."""
    return render(
        request,
        template,
        {**(context or {}), "form": form},
        status_code=form.status,
        headers=form.headers,
    )
