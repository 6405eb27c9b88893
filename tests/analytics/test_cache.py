"""Analytics caching: per-user keys, and a submission drops what it changes."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.models import UserStats
from tests.analytics.conftest import API, add_quiz, as_uuid, items, record
from tests.conftest import MakeVerifiedUser


async def _performance(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, object]:
    response = await client.get(f"{API}/me/performance", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_a_user_never_sees_another_users_cached_analytics(
    client: httpx.AsyncClient, db: AsyncSession, verified_user: MakeVerifiedUser
) -> None:
    ana = await verified_user("ana@example.com")
    ben = await verified_user("ben@example.com")
    await record(db, as_uuid(ana), items(4, 3))

    first = await _performance(client, ana.headers)  # now cached for Ana
    assert first["user_id"] == ana.id
    assert first["overall"] == {
        "answered": 4,
        "correct": 3,
        "time_seconds": 120,
        "accuracy": 0.75,
        "avg_time_seconds": 30.0,
    }
    theirs = await _performance(client, ben.headers)
    assert theirs["user_id"] == ben.id and theirs["overall"]["answered"] == 0  # type: ignore[index]

    ana_rank = (await client.get(f"{API}/me/percentile", headers=ana.headers)).json()
    ben_rank = (await client.get(f"{API}/me/percentile", headers=ben.headers)).json()
    assert (ana_rank["user_id"], ana_rank["ranked"]) == (ana.id, True)
    assert (ben_rank["user_id"], ben_rank["ranked"]) == (ben.id, False)


async def test_a_submission_invalidates_the_users_analytics_and_the_leaderboards(
    client: httpx.AsyncClient, db: AsyncSession, verified_user: MakeVerifiedUser
) -> None:
    ana = await verified_user("ana@example.com", name="Ana")
    ben = await verified_user("ben@example.com", name="Ben")
    quiz = await add_quiz(db)
    await record(db, as_uuid(ana), items(2, 1), quiz_id=quiz, percent=50)
    await record(db, as_uuid(ben), items(2, 2))

    async def boards() -> tuple[list[tuple[str, int]], list[tuple[str, float]]]:
        global_board = await client.get(
            f"{API}/leaderboards/global", params={"period": "all"}, headers=ben.headers
        )
        quiz_board = await client.get(f"{API}/leaderboards/quizzes/{quiz}", headers=ben.headers)
        return (
            [(e["name"], e["correct"]) for e in global_board.json()["items"]],
            [(e["name"], e["percent"]) for e in quiz_board.json()["items"]],
        )

    before = await _performance(client, ana.headers)
    assert before["overall"]["answered"] == 2  # type: ignore[index]
    assert (await boards()) == ([("Ben", 2), ("Ana", 1)], [("Ana", 50.0)])

    # Changed behind the service's back: the cached answers do not move, which shows they are
    # served from the cache.
    await db.execute(update(UserStats).where(UserStats.user_id == as_uuid(ana)).values(correct=9))
    await db.commit()
    assert (await _performance(client, ana.headers))["overall"]["correct"] == 1  # type: ignore[index]
    assert (await boards())[0] == [("Ben", 2), ("Ana", 1)]

    # A submission drops Ana's performance and percentile and every board it touches.
    await record(db, as_uuid(ana), items(4, 4), quiz_id=quiz, percent=100)
    after = await _performance(client, ana.headers)
    assert after["overall"]["answered"] == 6 and after["overall"]["correct"] == 13  # type: ignore[index]
    assert (await boards()) == ([("Ana", 13), ("Ben", 2)], [("Ana", 100.0)])


async def test_cache_hits_are_counted_in_metrics(
    client: httpx.AsyncClient, db: AsyncSession, verified_user: MakeVerifiedUser
) -> None:
    ana = await verified_user("ana@example.com")

    async def hits() -> float:
        text = (await client.get("/metrics")).text
        for line in text.splitlines():
            if line.startswith('studyhall_cache_hits_total{namespace="analytics"}'):
                return float(line.split()[-1])
        return 0.0

    start = await hits()
    await _performance(client, ana.headers)
    await _performance(client, ana.headers)
    assert await hits() == start + 1
