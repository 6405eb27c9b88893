"""Imports every module's background tasks, so both `serve` and `worker` register them."""

from __future__ import annotations

from studyhall.accounts import tasks as accounts_tasks
from studyhall.attempts import tasks as attempts_tasks

__all__ = ["accounts_tasks", "attempts_tasks"]
