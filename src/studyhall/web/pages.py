"""Page routes. (Filled in by the web shell work.)"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home() -> str:
    return "<!doctype html><title>Studyhall</title><h1>Studyhall</h1>"
