"""JSON API of the questions module, under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["questions"])
