"""Background work of attempts: every minute, submit the attempts whose time ran out (the
lazy check on access covers attempts someone opens; this covers the abandoned ones)."""

from __future__ import annotations

import structlog
from huey import crontab

from studyhall.attempts.service import submit_overdue_attempts
from studyhall.attempts.service.submission import OVERDUE_BATCH
from studyhall.core.cache import setup_cache
from studyhall.core.db import make_engine, make_sessionmaker, session_scope
from studyhall.core.jobs import huey, run_async
from studyhall.core.settings import Settings, get_settings

log = structlog.get_logger("studyhall.attempts")


async def submit_overdue_now(settings: Settings | None = None) -> int:
    """Submit every overdue attempt, a batch per transaction, through an engine of its own.
    Returns how many were submitted."""
    settings = settings or get_settings()
    setup_cache(settings.redis_url, settings.redis_namespace)
    engine = make_engine(settings)
    total = 0
    try:
        factory = make_sessionmaker(engine)
        while True:
            async with session_scope(factory) as db:
                submitted = await submit_overdue_attempts(db, limit=OVERDUE_BATCH)
            total += submitted
            if submitted < OVERDUE_BATCH:
                break
    finally:
        await engine.dispose()
    if total:
        log.info("overdue_attempts_submitted", count=total)
    return total


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def submit_overdue_attempts_job() -> int:
    return run_async(submit_overdue_now)
