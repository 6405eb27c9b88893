"""Events the attempts module announces (see `core.events`)."""

from __future__ import annotations

from studyhall.analytics.schemas import ItemRecord, SubmissionRecord


class SubmittedItem(ItemRecord):
    position: int


class AttemptSubmitted(SubmissionRecord):
    """An attempt was graded and closed (by its student, or automatically at its deadline).
    Ordered per user.

    Built on analytics' `SubmissionRecord` (analytics, a lower layer, subscribes without
    importing attempts): what the subscriber reads is what the emitter must fill. It adds
    what later subscribers (gradebooks, notifications) need.
    """

    auto_submitted: bool
    passed: bool | None
    items: list[SubmittedItem]
