"""The route class every page uses: CSRF on writes, sign-in redirects and full-page errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from studyhall.accounts.dependencies import SAFE_METHODS
from studyhall.core.errors import StudyhallError, ValidationFailed
from studyhall.web.deps import LoginRequired, abandon_request_changes, get_viewer
from studyhall.web.rendering import is_htmx, render
from studyhall.web.security import require_csrf

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def redirect(url: str) -> RedirectResponse:
    """See Other: after a form post the browser fetches `url` with GET."""
    return RedirectResponse(url, status_code=303)


def login_url(request: Request) -> str:
    if request.method in SAFE_METHODS:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return "/login?" + urlencode({"next": target})
    return "/login"


def _login_redirect(request: Request) -> Response:
    url = login_url(request)
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": url})
    return redirect(url)


def _invalid_request(request: Request) -> Response:
    """Malformed path or query values (a hand-edited URL): a page, not a JSON problem."""
    error = ValidationFailed("Part of this address or form is not valid. Go back and try again.")
    return _error_page(request, error)


def _error_page(request: Request, error: StudyhallError) -> Response:
    template = "_alert.html" if is_htmx(request) else "error.html"
    return render(
        request,
        template,
        {"title": error.title, "detail": error.detail},
        status_code=error.status,
        headers=error.headers,
    )


class PageRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                if request.method not in SAFE_METHODS:
                    await require_csrf(request)
                return await handler(request)
            except LoginRequired:
                return _login_redirect(request)
            except StudyhallError as error:
                # As in the API: an error that must keep what was flushed (commit_anyway)
                # commits with the request's session; any other undoes the request's writes.
                if not error.commit_anyway:
                    await abandon_request_changes(request)
                return _error_page(request, error)
            except RequestValidationError:
                return _invalid_request(request)
            finally:
                # The CSRF check parsed the form: close its spooled uploads even when the
                # handler never got to them (a refused upload).
                await request.close()

        return handle


def page_router() -> APIRouter:
    """A router of pages: no OpenAPI entries, the viewer loaded for the layout."""
    return APIRouter(
        route_class=PageRoute, include_in_schema=False, dependencies=[Depends(get_viewer)]
    )
