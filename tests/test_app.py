"""Process-level behaviour of the running app."""

from __future__ import annotations

import gc

from fastapi import FastAPI


async def test_startup_objects_are_kept_out_of_full_garbage_collections(app: FastAPI) -> None:
    """A full collection walks every tracked object and stalls every request in flight; the
    objects that exist once the app has started (most of the heap) are frozen out of it."""
    assert gc.get_freeze_count() > 50_000
