"""Percentile ranking on a small hand-checked data set (see the expected values below)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import service
from studyhall.analytics.service.percentiles import overall_percentile, percentile
from tests.analytics.conftest import API, add_users, as_uuid, items, record
from tests.conftest import MakeVerifiedUser

# name: (answered, correct, seconds per answer) -> accuracy, average time
DATA = {
    "U1": (10, 9, 30),  # 0.90, 30 s
    "U2": (20, 18, 20),  # 0.90, 20 s  (accuracy tie with U1)
    "U3": (10, 5, 60),  # 0.50, 60 s  (volume tie with U1)
    "U4": (5, 4, 30),  # 0.80, 30 s  (speed tie with U1)
    "U5": (40, 10, 20),  # 0.25, 20 s  (speed tie with U2)
}
# Share of the 4 OTHER users strictly worse, x100; ties are neither worse nor better.
# accuracy: U1/U2 beat U3, U4, U5 (3/4); U3 beats U5; U4 beats U3, U5; U5 nobody.
# speed (slower is worse): U1 beats U3 only (U4 ties); U2 beats U1, U3, U4 (U5 ties); ...
# volume: U1 beats U4 (U3 ties); U2 beats U1, U3, U4; U5 beats all four.
# overall = 0.5 accuracy + 0.25 speed + 0.25 volume
EXPECTED = {
    "U1": (75.0, 25.0, 25.0, 50.0),
    "U2": (75.0, 75.0, 75.0, 75.0),
    "U3": (25.0, 0.0, 25.0, 18.75),
    "U4": (50.0, 25.0, 0.0, 31.25),
    "U5": (0.0, 75.0, 100.0, 43.75),
}


async def test_percentiles_on_a_hand_checked_data_set(db: AsyncSession) -> None:
    ids = dict(zip(DATA, await add_users(db, *DATA), strict=True))
    for name, (answered, correct, seconds) in DATA.items():
        await record(db, ids[name], items(answered, correct, seconds_each=seconds))
    (newcomer,) = await add_users(db, "Newcomer")  # no answers: not ranked, not counted

    for name, expected in EXPECTED.items():
        ranking = await service.compute_percentile_ranking(db, ids[name])
        assert ranking.ranked and ranking.total_users == 5
        got = (
            ranking.accuracy_percentile,
            ranking.speed_percentile,
            ranking.volume_percentile,
            ranking.overall_percentile,
        )
        assert got == expected, name

    unranked = await service.compute_percentile_ranking(db, newcomer)
    assert unranked.ranked is False and unranked.total_users == 5
    assert unranked.accuracy_percentile is None and unranked.overall_percentile is None


async def test_a_single_user_has_no_one_to_beat(db: AsyncSession) -> None:
    (only,) = await add_users(db, "Solo")
    await record(db, only, items(10, 10, seconds_each=5))
    ranking = await service.compute_percentile_ranking(db, only)
    assert ranking.ranked and ranking.total_users == 1
    assert ranking.accuracy_percentile == ranking.speed_percentile == 0.0
    assert ranking.volume_percentile == ranking.overall_percentile == 0.0


async def test_everyone_tied_is_zero_for_everyone(db: AsyncSession) -> None:
    ids = await add_users(db, "Tia", "Tom", "Tao")
    for user in ids:
        await record(db, user, items(4, 3, seconds_each=12))
    for user in ids:
        ranking = await service.compute_percentile_ranking(db, user)
        assert ranking.overall_percentile == 0.0 and ranking.total_users == 3


@pytest.mark.parametrize(
    ("worse", "total", "expected"), [(0, 1, 0.0), (1, 2, 100.0), (1, 4, 33.33), (2, 3, 100.0)]
)
def test_percentile_formula(worse: int, total: int, expected: float) -> None:
    assert percentile(worse, total) == expected


def test_overall_weights() -> None:
    assert overall_percentile(100, 0, 0) == 50.0
    assert overall_percentile(0, 100, 100) == 50.0
    assert overall_percentile(80, 40, 20) == 55.0


async def test_api_shows_my_own_ranking(
    client: httpx.AsyncClient, db: AsyncSession, verified_user: MakeVerifiedUser
) -> None:
    me = await verified_user("me@example.com")
    (rival,) = await add_users(db, "Rival")
    unranked = await client.get(f"{API}/me/percentile", headers=me.headers)
    assert unranked.status_code == 200, unranked.text
    assert unranked.json()["ranked"] is False

    await record(db, as_uuid(me), items(10, 8, seconds_each=20))
    await record(db, rival, items(10, 5, seconds_each=40))
    body = (await client.get(f"{API}/me/percentile", headers=me.headers)).json()
    assert body["user_id"] == me.id and body["ranked"] is True and body["total_users"] == 2
    assert body["accuracy_percentile"] == 100.0 and body["speed_percentile"] == 100.0
    assert body["volume_percentile"] == 0.0 and body["overall_percentile"] == 75.0


async def test_api_needs_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/me/percentile")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
