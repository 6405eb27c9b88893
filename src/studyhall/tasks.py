"""Imports every module's background tasks and event subscribers, so both `serve` and
`worker` register them."""

from __future__ import annotations

from studyhall.accounts import tasks as accounts_tasks
from studyhall.analytics import subscribers as analytics_subscribers
from studyhall.attempts import tasks as attempts_tasks
from studyhall.core import events as core_events

__all__ = ["accounts_tasks", "analytics_subscribers", "attempts_tasks", "core_events"]
