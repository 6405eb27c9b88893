"""Imports every module's background tasks, so both `serve` and `worker` register them."""

from __future__ import annotations

from studyhall.attempts import tasks as attempts_tasks
from studyhall.core import email as core_email

__all__ = ["attempts_tasks", "core_email"]
