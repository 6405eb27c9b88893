"""Every background job is registered wherever the app (serve) or the worker imports it."""

from __future__ import annotations

import studyhall.app  # noqa: F401
from studyhall.core.jobs import huey


def test_every_module_task_is_registered() -> None:
    registered = set(huey._registry._registry)
    assert {
        "studyhall.accounts.tasks.send_verification_email",
        "studyhall.accounts.tasks.send_password_reset_email",
        "studyhall.accounts.tasks.send_already_registered_email",
        "studyhall.accounts.tasks.send_password_changed_email",
        "studyhall.accounts.tasks.send_account_locked_email",
        "studyhall.attempts.tasks.submit_overdue_attempts_job",
    } <= registered
