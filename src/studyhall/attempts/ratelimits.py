"""The attempts rate limits of the QuizMaster seed, shared by the API and the pages."""

from __future__ import annotations

import uuid

from studyhall.core.ratelimit import RateLimitResult, get_limiter

# Rules come from settings (rate_limit_attempt_submit / _autosave). Only real submissions
# count: submitting a submitted attempt answers its result, so a repeat never hits the limit.
AUTOSAVE_NAME = "attempt_autosave"
SUBMIT_NAME = "attempt_submit"


async def hit_submit_limit(rule: str, user_id: uuid.UUID, attempt_id: uuid.UUID) -> RateLimitResult:
    return await get_limiter().hit(SUBMIT_NAME, rule, f"{user_id}:{attempt_id}")
