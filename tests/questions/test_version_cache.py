"""Versions looked up by id: final versions are kept in the process and the shared cache, a
draft's version (edited in place) is read fresh every time."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from studyhall.core import cache
from studyhall.core.metrics import registry
from studyhall.questions import service
from studyhall.questions.models import QuestionVersion
from studyhall.questions.schemas import QuestionType, QuestionVersionRead
from studyhall.questions.service.lookups import _LocalVersions, forget_local_versions
from tests.backends import recorded_statements
from tests.conftest import SignedInUser
from tests.questions.conftest import API, create, create_published, publish, single_choice

pytestmark = pytest.mark.usefixtures("app")


async def lookup(app: FastAPI, version_id: str) -> QuestionVersionRead:
    async with app.state.sessionmaker() as db:
        versions = await service.get_versions(db, [uuid.UUID(version_id)])
    return versions[uuid.UUID(version_id)]


async def rewrite_stem_directly(app: FastAPI, version_id: str, stem_html: str) -> None:
    """Change a version row behind this process's back, as another process's edit would
    (whose cache drops this process never hears of)."""
    async with app.state.sessionmaker() as db:
        await db.execute(
            update(QuestionVersion)
            .where(QuestionVersion.id == uuid.UUID(version_id))
            .values(stem_html=stem_html)
        )
        await db.commit()


def counter(name: str, namespace: str = "qversion") -> float:
    return (
        registry.get_sample_value(f"studyhall_cache_{name}_total", {"namespace": namespace}) or 0.0
    )


async def test_a_drafts_version_is_read_fresh_every_time(
    app: FastAPI, client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    draft = await create(client, teacher, single_choice(stem="Draft one"))
    version_id = draft["current"]["id"]
    assert (await lookup(app, version_id)).stem_html == "<p>Draft one</p>\n"

    edited = await client.put(
        f"{API}/{draft['id']}", json=single_choice(stem="Draft two"), headers=teacher.headers
    )
    assert edited.json()["current"]["id"] == version_id  # edited in place
    assert (await lookup(app, version_id)).stem_html == "<p>Draft two</p>\n"

    await rewrite_stem_directly(app, version_id, "<p>Draft three</p>\n")
    assert (await lookup(app, version_id)).stem_html == "<p>Draft three</p>\n"


async def test_a_published_version_is_served_from_the_process(
    app: FastAPI, client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    created = await create_published(client, teacher, single_choice(stem="Final wording"))
    version_id = created["current"]["id"]
    first = await lookup(app, version_id)
    assert first.stem_html == "<p>Final wording</p>\n"

    await cache.clear_namespace()  # not even the shared cache is needed now
    hits = counter("hits")
    with recorded_statements(app.state.engine) as statements:
        again = await lookup(app, version_id)
    assert again == first
    assert statements == []
    assert counter("hits") == hits + 1

    # Another process finds it in the shared cache, or loads and shares it.
    forget_local_versions()
    misses = counter("misses")
    assert await lookup(app, version_id) == first
    assert counter("misses") == misses + 1
    forget_local_versions()
    with recorded_statements(app.state.engine) as statements:
        assert await lookup(app, version_id) == first
    assert statements == []


async def test_a_published_edit_makes_a_new_version_and_keeps_the_old(
    app: FastAPI, client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    created = await create(client, teacher, single_choice(stem="Draft wording"))
    await lookup(app, created["current"]["id"])  # while a draft: not kept
    await publish(client, teacher, created["id"])
    old_id = created["current"]["id"]
    assert (await lookup(app, old_id)).stem_html == "<p>Draft wording</p>\n"

    edited = await client.put(
        f"{API}/{created['id']}", json=single_choice(stem="Second wording"), headers=teacher.headers
    )
    new_id = edited.json()["current"]["id"]
    assert new_id != old_id
    async with app.state.sessionmaker() as db:
        current = await service.get_current_versions(db, [uuid.UUID(created["id"])])
    assert current[uuid.UUID(created["id"])].stem_html == "<p>Second wording</p>\n"
    assert (await lookup(app, old_id)).stem_html == "<p>Draft wording</p>\n"
    assert (await lookup(app, new_id)).stem_html == "<p>Second wording</p>\n"


async def test_unknown_versions_are_left_out(app: FastAPI) -> None:
    async with app.state.sessionmaker() as db:
        assert await service.get_versions(db, [uuid.uuid4()]) == {}
        assert await service.get_versions(db, []) == {}


# ---------------------------------------------------------------- the in-process LRU


def version(number: int = 1) -> QuestionVersionRead:
    return QuestionVersionRead(
        id=uuid.uuid4(),
        question_id=uuid.uuid4(),
        number=number,
        type=QuestionType.TRUE_FALSE,
        stem_html="<p>Stem</p>",
        explanation_html="",
        options=[],
        answer={},
    )


def test_the_least_recently_used_version_goes_first() -> None:
    local = _LocalVersions(max_entries=2, ttl_seconds=60)
    first, second, third = version(1), version(2), version(3)
    local.put(first, now=0)
    local.put(second, now=0)
    assert local.get(first.id, now=1) is first  # now second is the least recently used
    local.put(third, now=2)
    assert len(local) == 2
    assert local.get(second.id, now=3) is None
    assert local.get(first.id, now=3) is first
    assert local.get(third.id, now=3) is third


def test_a_version_expires_after_its_time() -> None:
    local = _LocalVersions(max_entries=10, ttl_seconds=60)
    kept = version()
    local.put(kept, now=100)
    assert local.get(kept.id, now=159) is kept
    assert local.get(kept.id, now=160) is None
    assert len(local) == 0
