"""The question bank through its API: authoring, versions, permissions, search, caching."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall.questions import service
from studyhall.questions.schemas import QuestionVersionRead
from tests.conftest import SignedInUser
from tests.questions.conftest import (
    API,
    create,
    create_published,
    multiple_response,
    numerical,
    publish,
    short_answer,
    single_choice,
    true_false,
)

pytestmark = pytest.mark.usefixtures("app")


async def get(client: httpx.AsyncClient, user: SignedInUser, question_id: str) -> httpx.Response:
    return await client.get(f"{API}/{question_id}", headers=user.headers)


# ---------------------------------------------------------------- authoring


@pytest.mark.parametrize(
    "body", [single_choice(), multiple_response(), true_false(), short_answer(), numerical()]
)
async def test_teacher_creates_each_type_as_a_draft(
    client: httpx.AsyncClient, teacher: SignedInUser, body: dict[str, Any]
) -> None:
    created = await create(client, teacher, body)
    assert created["status"] == "draft"
    assert created["type"] == body["type"]
    assert created["version_count"] == 1
    assert created["author_id"] == teacher.id
    # The author gets the source back for editing, and the answers.
    assert created["content"]["stem"] == body["stem"]
    current = created["current"]
    assert current["number"] == 1
    if body["type"] == "short_answer":
        assert current["answer"] == {"accepted": ["Mitral valve", "bicuspid valve"]}
    if body["type"] == "numerical":
        assert current["answer"] == {"value": 100.0, "tolerance": 5.0}
    if body.get("options"):
        ids = [option["id"] for option in current["options"]]
        assert ids == list("abcd"[: len(ids)])
        flags = [option["correct"] for option in current["options"]]
        assert flags == [bool(option.get("correct")) for option in body["options"]]


async def test_stored_fields_are_rendered_and_normalized(
    client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    created = await create(client, teacher, single_choice(tags=[" Heart ", "heart", "ECG"]))
    assert created["tags"] == ["ecg", "heart"]
    assert created["subject"] == "Physiology"
    assert created["difficulty"] == 2
    assert created["source"] == "Guyton ch. 9"
    current = created["current"]
    assert current["stem_html"] == (
        "<p>Which chamber pumps blood into the <strong>aorta</strong>?</p>\n"
    )
    assert current["options"][0]["text_html"] == "Left ventricle"
    assert current["options"][0]["explanation_html"].startswith("<p>Yes.")
    assert current["explanation_html"].startswith("<p>The left ventricle")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (single_choice(options=[{"text": "a", "correct": True}]), "at least two options"),
        (
            single_choice(options=[{"text": "a", "correct": True}, {"text": "b", "correct": True}]),
            "exactly one correct",
        ),
        (multiple_response(options=[{"text": "a"}, {"text": "b"}]), "needs a correct option"),
        (true_false(options=[{"text": "True"}, {"text": "False"}]), "true/false"),
        (short_answer(accepted_answers=["  "]), "accepted answer"),
        (numerical(numeric_answer=None), "numeric_answer"),
        (numerical(numeric_answer={"value": 1, "tolerance": -1}), "greater than or equal"),
        (single_choice(stem=""), "at least 1 character"),
        (single_choice(stem=" \n\t "), "must not be blank"),
        (single_choice(options=[{"text": " ", "correct": True}, {"text": "b"}]), "not be blank"),
        (single_choice(difficulty=9), "less than or equal to 5"),
        (single_choice(type="essay"), "Input should be"),
    ],
)
async def test_invalid_questions_are_refused_with_a_clear_problem(
    client: httpx.AsyncClient, teacher: SignedInUser, body: dict[str, Any], message: str
) -> None:
    response = await client.post(API, json=body, headers=teacher.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert any(message in error["msg"] for error in problem["errors"]), problem


async def test_draft_edits_in_place_and_published_edits_make_versions(
    app: FastAPI, client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    created = await create(client, teacher)
    qid = created["id"]
    first_version = created["current"]["id"]

    edited = await client.put(
        f"{API}/{qid}", json=single_choice(stem="Draft wording 2"), headers=teacher.headers
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version_count"] == 1
    assert edited.json()["current"]["id"] == first_version  # the same row, changed in place
    assert edited.json()["current"]["stem_html"] == "<p>Draft wording 2</p>\n"

    await publish(client, teacher, qid)
    republished = await client.put(
        f"{API}/{qid}", json=single_choice(stem="Published wording 2"), headers=teacher.headers
    )
    assert republished.status_code == 200
    body = republished.json()
    assert body["status"] == "published"
    assert body["version_count"] == 2
    assert body["current"]["number"] == 2
    second_version = body["current"]["id"]
    assert second_version != first_version

    # Version 1, shown by earlier attempts, is still there and unchanged.
    async with app.state.sessionmaker() as db:
        versions = await service.get_versions(
            db, [uuid.UUID(first_version), uuid.UUID(second_version)]
        )
    assert isinstance(versions[uuid.UUID(first_version)], QuestionVersionRead)
    assert versions[uuid.UUID(first_version)].stem_html == "<p>Draft wording 2</p>\n"
    assert versions[uuid.UUID(first_version)].number == 1
    assert versions[uuid.UUID(second_version)].stem_html == "<p>Published wording 2</p>\n"

    history = await client.get(f"{API}/{qid}/versions", headers=teacher.headers)
    assert history.status_code == 200
    assert [v["number"] for v in history.json()["items"]] == [2, 1]
    assert history.json()["total"] == 2
    assert history.json()["items"][1]["options"][0]["correct"] is True
    assert history.json()["items"][0]["created_by"] == teacher.id


async def test_archive(
    client: httpx.AsyncClient, teacher: SignedInUser, student: SignedInUser
) -> None:
    draft = await create(client, teacher)
    refused = await client.post(f"{API}/{draft['id']}/archive", headers=teacher.headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_published"

    await publish(client, teacher, draft["id"])
    assert (await get(client, student, draft["id"])).status_code == 200
    archived = await client.post(f"{API}/{draft['id']}/archive", headers=teacher.headers)
    assert archived.status_code == 200
    assert archived.json()["status"] == "archived"
    # Withdrawn from students (and from the cache they read).
    assert (await get(client, student, draft["id"])).status_code == 404
    listed = await client.get(API, headers=student.headers)
    assert listed.json()["total"] == 0


# ---------------------------------------------------------------- permissions


async def test_students_see_published_questions_without_answers(
    client: httpx.AsyncClient, teacher: SignedInUser, student: SignedInUser
) -> None:
    created = await create_published(client, teacher, single_choice())
    response = await get(client, student, created["id"])
    assert response.status_code == 200
    body = response.json()
    assert body["content"] is None  # no source text (it has the answers)
    current = body["current"]
    assert current["explanation_html"] == ""
    assert current["answer"] == {}
    assert all(o["correct"] is False and o["explanation_html"] == "" for o in current["options"])
    assert "Left ventricle" in current["options"][0]["text_html"]
    raw = response.text
    assert "The left ventricle ejects" not in raw
    assert "feeds the pulmonary" not in raw

    for body_ in (short_answer(), numerical()):
        other = await create_published(client, teacher, body_)
        seen = (await get(client, student, other["id"])).json()
        assert seen["current"]["answer"] == {}
        assert "Mitral" not in str(seen) and "100" not in str(seen["current"])


async def test_students_cannot_see_drafts_or_write(
    client: httpx.AsyncClient, teacher: SignedInUser, student: SignedInUser
) -> None:
    draft = await create(client, teacher)
    published = await create_published(client, teacher)

    missing = await get(client, student, draft["id"])
    assert missing.status_code == 404
    assert missing.json()["code"] == "question_not_found"

    created = await client.post(API, json=single_choice(), headers=student.headers)
    assert created.status_code == 403
    assert created.json()["code"] == "insufficient_role"

    for qid, status in ((draft["id"], 404), (published["id"], 403)):
        put = await client.put(f"{API}/{qid}", json=single_choice(), headers=student.headers)
        assert put.status_code == status
        for action in ("publish", "archive"):
            response = await client.post(f"{API}/{qid}/{action}", headers=student.headers)
            assert response.status_code == status
        versions = await client.get(f"{API}/{qid}/versions", headers=student.headers)
        assert versions.status_code == status

    listed = await client.get(API, headers=student.headers, params={"status": "draft"})
    assert listed.json()["total"] == 0


async def test_teachers_change_only_their_own_questions_admins_any(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    other_teacher: SignedInUser,
    admin: SignedInUser,
) -> None:
    draft = await create(client, teacher)
    published = await create_published(client, teacher)

    # Another teacher cannot see the draft at all and cannot change the published question.
    assert (await get(client, other_teacher, draft["id"])).status_code == 404
    refused = await client.put(
        f"{API}/{published['id']}", json=single_choice(stem="Hijack"), headers=other_teacher.headers
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_question_author"
    archive = await client.post(f"{API}/{published['id']}/archive", headers=other_teacher.headers)
    assert archive.status_code == 403
    seen = (await get(client, other_teacher, published["id"])).json()
    assert seen["current"]["answer"] == {} and seen["content"] is None

    # An admin sees and edits both; the author stays the author.
    assert (await get(client, admin, draft["id"])).status_code == 200
    edited = await client.put(
        f"{API}/{draft['id']}", json=single_choice(stem="Fixed by admin"), headers=admin.headers
    )
    assert edited.status_code == 200
    assert edited.json()["author_id"] == teacher.id
    assert edited.json()["content"]["stem"] == "Fixed by admin"


async def test_client_cannot_choose_the_author(
    client: httpx.AsyncClient, teacher: SignedInUser, admin: SignedInUser
) -> None:
    body = single_choice(author_id=admin.id, status="published")
    created = await create(client, teacher, body)
    assert created["author_id"] == teacher.id
    assert created["status"] == "draft"


async def test_sign_in_required(client: httpx.AsyncClient) -> None:
    response = await client.get(API)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_unknown_and_malformed_ids(client: httpx.AsyncClient, teacher: SignedInUser) -> None:
    assert (await get(client, teacher, str(uuid.uuid4()))).status_code == 404
    malformed = await get(client, teacher, "not-a-uuid")
    assert malformed.status_code == 422


# ---------------------------------------------------------------- search and filters


async def _seed_bank(client: httpx.AsyncClient, teacher: SignedInUser) -> dict[str, str]:
    ids: dict[str, str] = {}
    ids["cardio"] = (
        await create_published(
            client,
            teacher,
            single_choice(stem="Murmur of aortic stenosis", tags=["valves", "exam"]),
        )
    )["id"]
    ids["pharm"] = (
        await create_published(
            client, teacher, multiple_response(stem="Beta blockers", topic="Antihypertensives")
        )
    )["id"]
    ids["renal"] = (
        await create_published(
            client,
            teacher,
            short_answer(
                stem="Main site of sodium reabsorption?",
                accepted_answers=["proximal tubule"],
                subject="Physiology",
                system="Renal",
                tags=["exam"],
            ),
        )
    )["id"]
    ids["draft"] = (await create(client, teacher, numerical(stem="Draft about 100% saturation")))[
        "id"
    ]
    return ids


async def search(client: httpx.AsyncClient, user: SignedInUser, **params: Any) -> dict[str, Any]:
    response = await client.get(API, headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids_of(page: dict[str, Any]) -> set[str]:
    return {item["id"] for item in page["items"]}


async def test_search_and_filters(
    client: httpx.AsyncClient, teacher: SignedInUser, student: SignedInUser
) -> None:
    ids = await _seed_bank(client, teacher)

    everything = await search(client, student)
    assert ids_of(everything) == {ids["cardio"], ids["pharm"], ids["renal"]}
    assert everything["total"] == 3
    assert all(item["status"] == "published" for item in everything["items"])
    assert (await search(client, teacher))["total"] == 4  # plus the teacher's own draft

    assert ids_of(await search(client, student, text="STENOSIS")) == {ids["cardio"]}
    assert ids_of(await search(client, student, text="  aortic   murmur ")) == {ids["cardio"]}
    # Option text, explanations and tags are searched too.
    assert ids_of(await search(client, student, text="amlodipine")) == {ids["pharm"]}
    assert ids_of(await search(client, student, text="valves")) == {ids["cardio"]}
    assert ids_of(await search(client, student, text="nothing-like-this")) == set()
    # LIKE wildcards are taken literally.
    assert ids_of(await search(client, teacher, text="100%")) == {ids["draft"]}
    assert ids_of(await search(client, teacher, text="%")) == {ids["draft"]}
    assert ids_of(await search(client, teacher, text="_")) == set()

    assert ids_of(await search(client, student, subject="Pharmacology")) == {ids["pharm"]}
    assert ids_of(await search(client, student, system="Renal")) == {ids["renal"]}
    assert ids_of(await search(client, student, topic="Antihypertensives")) == {ids["pharm"]}
    assert ids_of(await search(client, student, tag="EXAM")) == {ids["cardio"], ids["renal"]}
    assert ids_of(await search(client, student, type="short_answer")) == {ids["renal"]}
    assert ids_of(await search(client, teacher, status="draft")) == {ids["draft"]}
    combined = await search(client, student, system="Cardiovascular", tag="exam", text="murmur")
    assert ids_of(combined) == {ids["cardio"]}

    bad = await client.get(API, headers=student.headers, params={"type": "essay"})
    assert bad.status_code == 422
    too_long = await client.get(API, headers=student.headers, params={"text": "x" * 201})
    assert too_long.status_code == 422

    summary = next(i for i in everything["items"] if i["id"] == ids["cardio"])
    assert summary["stem_preview"] == "Murmur of aortic stenosis"
    assert summary["tags"] == ["exam", "valves"]
    assert summary["difficulty"] == 2


async def test_preview_is_plain_text(client: httpx.AsyncClient, teacher: SignedInUser) -> None:
    stem = "A **bold** [claim](https://x.org)\n\n" + "z" * 300
    await create(client, teacher, true_false(stem=stem))
    preview = (await search(client, teacher))["items"][0]["stem_preview"]
    assert preview.startswith("A bold claim zzz")
    assert len(preview) == 200 and preview.endswith("\u2026")


async def test_pagination(client: httpx.AsyncClient, teacher: SignedInUser) -> None:
    for n in range(7):
        await create(client, teacher, true_false(stem=f"Statement {n}"))
    pages = [await search(client, teacher, per_page=3, page=page) for page in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert all(p["total"] == 7 for p in pages)
    seen = [item["id"] for p in pages for item in p["items"]]
    assert len(set(seen)) == 7
    # Most recently changed first.
    assert pages[0]["items"][0]["stem_preview"] == "Statement 6"
    bad = await client.get(API, headers=teacher.headers, params={"per_page": 1000})
    assert bad.status_code == 422


async def test_subject_summary_for_test_builders(
    client: httpx.AsyncClient, teacher: SignedInUser, student: SignedInUser
) -> None:
    await _seed_bank(client, teacher)
    response = await client.get(f"{API}/subjects", headers=student.headers)
    assert response.status_code == 200
    rows = {(r["subject"], r["system"]): r["count"] for r in response.json()["items"]}
    assert rows == {
        ("Physiology", "Cardiovascular"): 1,
        ("Pharmacology", "Cardiovascular"): 1,
        ("Physiology", "Renal"): 1,
    }
    # Publishing another question shows up at once (the cached summary is dropped).
    extra = await create(client, teacher, true_false(subject="Physiology", system="Renal"))
    await publish(client, teacher, extra["id"])
    response = await client.get(f"{API}/subjects", headers=student.headers)
    rows = {(r["subject"], r["system"]): r["count"] for r in response.json()["items"]}
    assert rows[("Physiology", "Renal")] == 2


# ---------------------------------------------------------------- cache


async def test_a_students_cached_read_shows_the_next_edit(
    client: httpx.AsyncClient, teacher: SignedInUser, student: SignedInUser
) -> None:
    created = await create_published(client, teacher, single_choice(stem="Old wording"))
    qid = created["id"]
    first = await get(client, student, qid)
    again = await get(client, student, qid)  # served from the cache
    assert first.json() == again.json()
    assert "Old wording" in first.json()["current"]["stem_html"]

    edited = await client.put(
        f"{API}/{qid}", json=single_choice(stem="New wording"), headers=teacher.headers
    )
    assert edited.status_code == 200
    after = await get(client, student, qid)
    assert "New wording" in after.json()["current"]["stem_html"]
    assert after.json()["version_count"] == 2

    # Archiving drops the cached copy too.
    await client.post(f"{API}/{qid}/archive", headers=teacher.headers)
    assert (await get(client, student, qid)).status_code == 404


async def test_cache_hits_are_counted(
    client: httpx.AsyncClient, teacher: SignedInUser, student: SignedInUser
) -> None:
    created = await create_published(client, teacher)
    for _ in range(3):
        assert (await get(client, student, created["id"])).status_code == 200
    metrics = (await client.get("/metrics")).text
    hits = [
        line
        for line in metrics.splitlines()
        if line.startswith("studyhall_cache_hits_total") and 'namespace="question"' in line
    ]
    assert hits and float(hits[0].rsplit(" ", 1)[1]) >= 2
