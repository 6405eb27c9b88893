"""Categories: who may write them, slugs, and what a rename or delete does to quizzes."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from studyhall.accounts.models import Role
from studyhall.quizzes.service import Actor, slugify
from tests.conftest import SignedInUser
from tests.quizzes.conftest import CATEGORIES, QUIZZES, assert_problem, new_quiz


def test_actor_roles_match_the_account_roles() -> None:
    user_id = uuid.uuid4()
    assert Actor.of(user_id, {Role.STUDENT}) == Actor(user_id)
    assert Actor.of(user_id, {Role.STUDENT, Role.TEACHER}) == Actor(user_id, can_author=True)
    assert Actor.of(user_id, {Role.ADMIN}) == Actor(user_id, is_admin=True, can_author=True)


def test_slugify_folds_accents_and_punctuation() -> None:
    assert slugify("Cardiology & Vascular") == "cardiology-vascular"
    assert slugify("  Pédiatrie — Néonatologie ") == "pediatrie-neonatologie"
    assert slugify("C++") == "c"
    assert slugify("!!!") == "category"
    assert len(slugify("x" * 300)) <= 80


async def test_teachers_write_categories_everyone_lists_them(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    refused = await client.post(CATEGORIES, json={"name": "Cardiology"}, headers=learner.headers)
    assert_problem(refused, 403, "insufficient_role")

    created = await client.post(
        CATEGORIES,
        json={"name": "  Cardiology ", "description": "Heart and vessels"},
        headers=teacher.headers,
    )
    assert created.status_code == 201, created.text
    category = created.json()
    assert category["name"] == "Cardiology"
    assert category["slug"] == "cardiology"

    listed = await client.get(CATEGORIES, headers=learner.headers)
    assert listed.status_code == 200
    assert [c["slug"] for c in listed.json()["items"]] == ["cardiology"]
    assert listed.json()["total"] == 1

    refused_edit = await client.patch(
        f"{CATEGORIES}/{category['id']}", json={"name": "Heart"}, headers=learner.headers
    )
    assert_problem(refused_edit, 403, "insufficient_role")
    anonymous = await client.get(CATEGORIES)
    assert_problem(anonymous, 401, "not_authenticated")


async def test_names_are_unique_and_slugs_never_clash(
    client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    first = await client.post(CATEGORIES, json={"name": "C"}, headers=teacher.headers)
    assert first.json()["slug"] == "c"
    same_name = await client.post(CATEGORIES, json={"name": "c"}, headers=teacher.headers)
    assert_problem(same_name, 409, "category_name_taken")
    same_slug = await client.post(CATEGORIES, json={"name": "C++"}, headers=teacher.headers)
    assert same_slug.json()["slug"] == "c-2"
    third = await client.post(CATEGORIES, json={"name": "C#"}, headers=teacher.headers)
    assert third.json()["slug"] == "c-3"
    blank = await client.post(CATEGORIES, json={"name": "   "}, headers=teacher.headers)
    assert_problem(blank, 422, "validation_error")


async def test_pagination_of_categories(client: httpx.AsyncClient, teacher: SignedInUser) -> None:
    for name in ("Delta", "Alpha", "Charlie", "Bravo", "Echo"):
        response = await client.post(CATEGORIES, json={"name": name}, headers=teacher.headers)
        assert response.status_code == 201
    first = await client.get(CATEGORIES, params={"per_page": 2}, headers=teacher.headers)
    last = await client.get(CATEGORIES, params={"per_page": 2, "page": 3}, headers=teacher.headers)
    assert [c["name"] for c in first.json()["items"]] == ["Alpha", "Bravo"]
    assert [c["name"] for c in last.json()["items"]] == ["Echo"]
    assert first.json()["total"] == last.json()["total"] == 5


async def test_rename_shows_in_cached_lists_and_quiz_details(
    client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    category = (
        await client.post(CATEGORIES, json={"name": "Cardio"}, headers=teacher.headers)
    ).json()
    quiz = await new_quiz(client, teacher, category_id=category["id"])
    # Warm every cache that shows the name.
    await client.get(CATEGORIES, headers=teacher.headers)
    await client.get(f"{QUIZZES}/{quiz['id']}", headers=teacher.headers)
    await client.get(QUIZZES, headers=teacher.headers)

    renamed = await client.patch(
        f"{CATEGORIES}/{category['id']}", json={"name": "Cardiology"}, headers=teacher.headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["slug"] == "cardiology"

    listed = await client.get(CATEGORIES, headers=teacher.headers)
    assert [c["name"] for c in listed.json()["items"]] == ["Cardiology"]
    detail = await client.get(f"{QUIZZES}/{quiz['id']}", headers=teacher.headers)
    assert detail.json()["category"]["name"] == "Cardiology"
    quizzes = await client.get(QUIZZES, headers=teacher.headers)
    assert quizzes.json()["items"][0]["category"]["slug"] == "cardiology"
    by_new_slug = await client.get(
        QUIZZES, params={"category": "cardiology"}, headers=teacher.headers
    )
    assert by_new_slug.json()["total"] == 1


async def test_only_admins_delete_and_quizzes_keep_going(
    client: httpx.AsyncClient, teacher: SignedInUser, admin: SignedInUser
) -> None:
    category = (
        await client.post(CATEGORIES, json={"name": "Renal"}, headers=teacher.headers)
    ).json()
    quiz = await new_quiz(client, teacher, category_id=category["id"])
    await client.get(f"{QUIZZES}/{quiz['id']}", headers=teacher.headers)

    refused = await client.delete(f"{CATEGORIES}/{category['id']}", headers=teacher.headers)
    assert_problem(refused, 403, "insufficient_role")
    deleted = await client.delete(f"{CATEGORIES}/{category['id']}", headers=admin.headers)
    assert deleted.status_code == 204

    assert (await client.get(CATEGORIES, headers=teacher.headers)).json()["total"] == 0
    detail = await client.get(f"{QUIZZES}/{quiz['id']}", headers=teacher.headers)
    assert detail.status_code == 200
    assert detail.json()["category"] is None
    missing = await client.get(f"{CATEGORIES}/{category['id']}", headers=teacher.headers)
    assert_problem(missing, 404, "category_not_found")


async def test_creating_the_same_category_at_once_answers_409(
    client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    # Both requests pass the name check before either inserts; the database's unique index
    # decides, and the loser gets the same 409 as a sequential duplicate (not a 500).
    for name in ("Nephrology", "Oncology", "Neurology", "Dermatology", "Hematology"):
        answers = await asyncio.gather(
            *(client.post(CATEGORIES, json={"name": name}, headers=teacher.headers) for _ in "ab")
        )
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        (refused,) = [a for a in answers if a.status_code == 409]
        assert_problem(refused, 409, "category_name_taken")
    listed = await client.get(CATEGORIES, headers=teacher.headers)
    assert listed.json()["total"] == 5
