"""Background work of attempts: every minute, submit the attempts whose time ran out (the
lazy check on access covers attempts someone opens; this covers the abandoned ones)."""

from __future__ import annotations

import structlog
from huey import crontab

from studyhall.attempts.service import submit_overdue_attempts
from studyhall.attempts.service.submission import OVERDUE_BATCH
from studyhall.core.db import session_scope
from studyhall.core.jobs import huey, job_context, run_async

log = structlog.get_logger("studyhall.attempts")


async def submit_overdue_now() -> int:
    """Submit every overdue attempt, a batch per transaction. Returns how many were
    submitted."""
    total = 0
    async with job_context() as job:
        while True:
            async with session_scope(job.sessionmaker) as db:
                submitted = await submit_overdue_attempts(db, limit=OVERDUE_BATCH)
            total += submitted
            if submitted < OVERDUE_BATCH:
                break
    if total:
        log.info("overdue_attempts_submitted", count=total)
    return total


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def submit_overdue_attempts_job() -> int:
    return run_async(submit_overdue_now)
