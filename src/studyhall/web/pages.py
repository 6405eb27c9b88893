"""Page routes: the home page and dashboard here, accounts pages in their own modules.

`router` is what the app mounts; every page route is a `PageRoute` (CSRF on writes,
redirect to sign-in, full-page errors).
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from studyhall.accounts import service
from studyhall.web import account_pages, auth_pages
from studyhall.web.deps import PageDb, SignedIn, Viewer
from studyhall.web.rendering import render
from studyhall.web.routing import page_router

router = page_router()


@router.get("/")
async def home(request: Request, viewer: Viewer) -> Response:
    return render(request, "home.html", {"active": "home"})


@router.get("/dashboard")
async def dashboard(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    context = {
        "active": "dashboard",
        "backup_codes_left": await service.remaining_backup_codes(db, viewer.id)
        if viewer.user.totp_enabled
        else None,
    }
    return render(request, "dashboard.html", context)


router.include_router(auth_pages.router)
router.include_router(account_pages.router)
