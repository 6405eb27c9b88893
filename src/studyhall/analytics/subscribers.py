"""What analytics does when other modules announce something (see `core.events`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.schemas import SubmissionRecord
from studyhall.analytics.service import record_submission
from studyhall.core.events import subscribe


@subscribe(SubmissionRecord, "analytics.record_submission")
async def on_attempt_submitted(db: AsyncSession, event: SubmissionRecord) -> None:
    """Aggregates, rank buckets, quiz results and item analysis facts of the attempt."""
    await record_submission(db, event)
