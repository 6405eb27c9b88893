"""Progressive lockout: how long a lock lasts, and its state in the real cache."""

from __future__ import annotations

from fastapi import FastAPI

from studyhall.accounts import lockout
from studyhall.core.settings import Settings


def test_lock_seconds_doubles_from_the_threshold_up_to_the_maximum(settings: Settings) -> None:
    custom = settings.model_copy(
        update={"lockout_threshold": 5, "lockout_base_seconds": 60, "lockout_max_seconds": 3600}
    )
    expected = {0: 0, 1: 0, 4: 0, 5: 60, 6: 120, 7: 240, 8: 480, 9: 960, 10: 1920, 11: 3600}
    for failures, seconds in expected.items():
        assert lockout.lock_seconds(custom, failures) == seconds, failures
    assert lockout.lock_seconds(custom, 10_000) == 3600


async def test_lockout_state_in_the_cache(app: FastAPI, settings: Settings) -> None:
    custom = settings.model_copy(update={"lockout_threshold": 2, "lockout_base_seconds": 30})
    assert not (await lockout.record_failure(custom, "unit", "subject")).locked
    assert not (await lockout.check("unit", "subject")).locked
    state = await lockout.record_failure(custom, "unit", "subject")
    assert state.locked and state.retry_after == 30
    checked = await lockout.check("unit", "subject")
    assert checked.locked and 25 <= checked.retry_after <= 31
    assert not (await lockout.check("unit", "other subject")).locked
    await lockout.clear("unit", "subject")
    assert not (await lockout.check("unit", "subject")).locked
