"""Every API route and its page twin apply the same rules.

The test walks the app's routes under /api/v1. Each one is either listed in TWINS with the
page route(s) doing the same thing, or in NO_TWIN with the reason it has none; a new API route
in neither list fails `test_every_api_route_has_a_twin_or_a_reason`. For every twin, both
doors are then tried by the same actors (anonymous, a student, a teacher, an admin and another
owner of the resource's kind), each time on a fresh world, and must answer alike: allowed, or
refused with the same status. Then RULES exceeds each rate limit and lockout through one door
and checks that the other door refuses too (they share the rule and its key).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from studyhall.accounts import service as accounts
from studyhall.accounts.dependencies import SESSION_COOKIE
from studyhall.accounts.models import Role, User, UserRole
from studyhall.attempts.actions import SUBMIT
from studyhall.core.db import utcnow
from studyhall.core.ratelimit import get_limiter
from studyhall.core.settings import Settings
from tests.accounts.conftest import code_for_step, current_step, wrong_code
from tests.conftest import PASSWORD, shared_password_hash
from tests.questions.test_images import PNG
from tests.web.support import HTML, csrf_token

API = "/api/v1"
NEW_PASSWORD = "another long and unusual passphrase"
ACTORS = ("anonymous", "student", "teacher", "admin", "other")
Params = dict[str, Any]


# ---------------------------------------------------------------- the world each case acts in


_worlds = itertools.count()


@dataclass
class World:
    """Fresh users (and what `arrange` makes) for one request through one door."""

    app: FastAPI
    users: dict[str, User]
    tag: str
    _bearers: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def create(cls, app: FastAPI) -> World:
        tag = f"w{next(_worlds)}"
        roles = {
            "student": (Role.STUDENT,),
            "other_student": (Role.STUDENT,),
            "teacher": (Role.TEACHER,),
            "other_teacher": (Role.TEACHER,),
            "admin": (Role.ADMIN, Role.TEACHER),
        }
        users = {
            name: User(
                email=f"{name}.{tag}@example.com",
                name=f"{name} {tag}",
                password_hash=shared_password_hash(),
                email_verified_at=utcnow(),
                roles=[UserRole(role=role.value) for role in held],
            )
            for name, held in roles.items()
        }
        async with app.state.sessionmaker() as db:
            db.add_all(users.values())
            await db.commit()
        return cls(app, users, tag)

    @property
    def settings(self) -> Settings:
        settings: Settings = self.app.state.settings
        return settings

    async def _session(self, name: str, web: bool) -> str:
        async with self.app.state.sessionmaker() as db:
            user = await accounts.get_user(db, self.users[name].id)
            if web:
                secret = await accounts.start_web_session(
                    db, self.settings, user, "twin-test", "127.0.0.1"
                )
            else:
                pair = await accounts.start_api_session(
                    db, self.settings, user, "twin-test", "127.0.0.1"
                )
                secret = pair.access_token
            await db.commit()
        return secret

    async def bearer(self, name: str) -> dict[str, str]:
        """A fresh API session of `name` (each call its own)."""
        return {"Authorization": f"Bearer {await self._session(name, web=False)}"}

    async def api(self, name: str, method: str, path: str, **kwargs: Any) -> Any:
        """Arrange something through the API as `name`; it must work."""
        if name not in self._bearers:
            self._bearers[name] = (await self.bearer(name))["Authorization"]
        async with api_client(self.app) as http:
            response = await http.request(
                method, API + path, headers={"Authorization": self._bearers[name]}, **kwargs
            )
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    @asynccontextmanager
    async def browser(self, name: str | None) -> AsyncIterator[httpx.AsyncClient]:
        """A browser of `name` (None: signed out), holding a CSRF cookie."""
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            if name is not None:
                http.cookies.set(SESSION_COOKIE, await self._session(name, web=True))
            yield http


def api_client(app: FastAPI) -> httpx.AsyncClient:
    """A client without cookies: API requests authenticate with their bearer token only."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def who(owner: str, actor: str) -> str | None:
    """The user acting: "other" is another owner of the resource's kind."""
    if actor == "anonymous":
        return None
    if actor == "other":
        return "other_teacher" if owner == "teacher" else "other_student"
    return actor


# ---------------------------------------------------------------- arranging resources


def question_body(tag: str, stem: str = "Which valve closes first?") -> dict[str, Any]:
    return {
        "type": "single_choice",
        "stem": f"{stem} ({tag})",
        "subject": "Physiology",
        "options": [{"text": "Mitral", "correct": True}, {"text": "Aortic"}],
    }


async def new_question(world: World, published: bool = False, stem: str = "") -> str:
    body = question_body(world.tag, stem or "Which valve closes first?")
    created = await world.api("teacher", "POST", "/questions", json=body)
    if published:
        await world.api("teacher", "POST", f"/questions/{created['id']}/publish")
    return str(created["id"])


async def new_quiz(world: World, published: bool = False, questions: int = 1) -> Params:
    ids = [await new_question(world, True, f"Q{n}") for n in range(questions)]
    body = {"title": f"Cardiology {world.tag}", "question_ids": ids}
    quiz = await world.api("teacher", "POST", "/quizzes", json=body)
    if published:
        await world.api("teacher", "POST", f"/quizzes/{quiz['id']}/publish")
    return {"quiz_id": quiz["id"], "question_id": ids[0] if ids else "", "question_ids": ids}


async def new_attempt(world: World, state: str = "in_progress") -> Params:
    quiz = await new_quiz(world, published=True)
    attempt = await world.api("student", "POST", f"/quizzes/{quiz['quiz_id']}/attempts")
    attempt_id = attempt["id"]
    if state == "paused":
        attempt = await world.api("student", "POST", f"/attempts/{attempt_id}/pause")
    elif state == "submitted":
        await world.api("student", "POST", f"/attempts/{attempt_id}/submit")
    return {"attempt_id": attempt_id, "version": attempt["version"], "position": 0, **quiz}


async def two_factor_on(world: World, name: str) -> Params:
    """Turn on 2FA for `name`; returns a backup code (the TOTP steps are used up)."""
    setup = await world.api(name, "POST", "/me/2fa/setup")
    code = code_for_step(setup["secret"], current_step() - 1)
    enabled = await world.api(name, "POST", "/me/2fa/enable", json={"code": code})
    return {"backup_code": enabled["backup_codes"][0], "secret": setup["secret"]}


Arrange = Callable[[World, str | None], Awaitable[Params]]


async def nothing(world: World, name: str | None) -> Params:
    return {"email": f"new.{uuid.uuid4().hex[:8]}@example.com", "tag": world.tag}


async def a_draft_question(world: World, name: str | None) -> Params:
    return {"question_id": await new_question(world)}


async def a_published_question(world: World, name: str | None) -> Params:
    return {"question_id": await new_question(world, published=True)}


async def a_question_with_image(world: World, name: str | None) -> Params:
    question_id = await new_question(world)
    image = await world.api(
        "teacher",
        "POST",
        f"/questions/{question_id}/images",
        files={"file": ("ecg.png", PNG, "image/png")},
    )
    return {"question_id": question_id, "image_id": image["id"]}


async def a_draft_quiz(world: World, name: str | None) -> Params:
    return await new_quiz(world)


async def a_published_quiz(world: World, name: str | None) -> Params:
    return await new_quiz(world, published=True)


async def a_quiz_and_another_question(world: World, name: str | None) -> Params:
    quiz = await new_quiz(world)
    return {**quiz, "new_question_id": await new_question(world, True, "Another")}


async def a_quiz_of_two(world: World, name: str | None) -> Params:
    return await new_quiz(world, questions=2)


async def a_category(world: World, name: str | None) -> Params:
    category = await world.api("teacher", "POST", "/categories", json={"name": world.tag})
    return {"category_id": category["id"]}


async def published_questions(world: World, name: str | None) -> Params:
    return {"question_id": await new_question(world, published=True)}


async def an_attempt(world: World, name: str | None) -> Params:
    return await new_attempt(world)


async def a_paused_attempt(world: World, name: str | None) -> Params:
    return await new_attempt(world, "paused")


async def a_submitted_attempt(world: World, name: str | None) -> Params:
    return await new_attempt(world, "submitted")


async def another_session(world: World, name: str | None) -> Params:
    """A second session of the acting user (of the student when signed out)."""
    owner = name or "student"
    async with api_client(world.app) as http:
        sessions = await http.get(f"{API}/me/sessions", headers=await world.bearer(owner))
    return {"session_id": sessions.json()["items"][0]["id"]}


async def a_pending_two_factor_setup(world: World, name: str | None) -> Params:
    if name is None:
        return {"code": "123456"}
    setup = await world.api(name, "POST", "/me/2fa/setup")
    return {"code": pyotp.TOTP(setup["secret"]).now()}


async def a_sign_in_challenge(world: World, name: str | None) -> Params:
    """The second step of the student's sign-in (2FA on), and a code that is wrong now."""
    secret = (await two_factor_on(world, "student"))["secret"]
    async with api_client(world.app) as http:
        email = world.users["student"].email
        step = await http.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    return {"challenge": step.json()["challenge"], "code": wrong_code(secret)}


async def two_factor_enabled(world: World, name: str | None) -> Params:
    return await two_factor_on(world, name) if name else {"backup_code": "AAAA-BBBB-CCCC"}


# ---------------------------------------------------------------- the twins


Body = Callable[[Params], dict[str, Any]]


def no_body(_params: Params) -> dict[str, Any]:
    return {}


def page_form(**fields: Any) -> Body:
    """A form body; values may be callables of the arranged parameters."""

    def body(params: Params) -> dict[str, Any]:
        return {"data": {k: v(params) if callable(v) else v for k, v in fields.items()}}

    return body


def api_json(**fields: Any) -> Body:
    def body(params: Params) -> dict[str, Any]:
        return {"json": {k: v(params) if callable(v) else v for k, v in fields.items()}}

    return body


@dataclass(frozen=True)
class Twin:
    pages: tuple[str, ...]  # "METHOD /path" of the page routes doing the same
    owner: str = "self"  # whose resource: "teacher", "student", "self" (the actor's own)
    arrange: Arrange = nothing
    api_body: Body = no_body
    page_body: Body = no_body
    api_query: Params = field(default_factory=dict)


def editor_form(params: Params) -> dict[str, Any]:
    return {
        "data": {
            "type": "single_choice",
            "stem": "Which valve closes last?",
            "option_text": ["Mitral", "Aortic"],
            "option_explanation": ["", ""],
            "option_correct": ["0"],
        }
    }


QUIZ_SETTINGS = {"title": "Renamed", "pass_mark_percent": "50", "feedback_mode": "after_submit"}

TWINS: dict[str, Twin] = {
    # ------------------------------------------------------------ accounts (anyone)
    "POST /api/v1/auth/register": Twin(
        ("POST /signup",),
        arrange=nothing,
        api_body=api_json(email=lambda p: p["email"], name="New", password=PASSWORD),
        page_body=page_form(email=lambda p: p["email"], name="New", password=PASSWORD),
    ),
    "POST /api/v1/auth/verify-email": Twin(
        ("POST /verify",),
        api_body=api_json(token="not-a-real-token"),
        page_body=page_form(token="not-a-real-token"),
    ),
    "POST /api/v1/auth/resend-verification": Twin(
        ("POST /verify/resend",),
        api_body=api_json(email=lambda p: p["email"]),
        page_body=page_form(email=lambda p: p["email"]),
    ),
    "POST /api/v1/auth/login": Twin(
        ("POST /login",),
        api_body=api_json(email=lambda p: f"student.{p['tag']}@example.com", password=PASSWORD),
        page_body=page_form(email=lambda p: f"student.{p['tag']}@example.com", password=PASSWORD),
    ),
    "POST /api/v1/auth/login/2fa": Twin(
        ("POST /login/2fa",),
        api_body=api_json(challenge="expired", code="123456"),
        page_body=page_form(challenge="expired", code="123456"),
    ),
    "POST /api/v1/auth/password-reset/request": Twin(
        ("POST /forgot-password",),
        api_body=api_json(email=lambda p: p["email"]),
        page_body=page_form(email=lambda p: p["email"]),
    ),
    "POST /api/v1/auth/password-reset/confirm": Twin(
        ("POST /reset-password",),
        api_body=api_json(token="not-a-real-token", password=NEW_PASSWORD),
        page_body=page_form(
            token="not-a-real-token", password=NEW_PASSWORD, password_confirm=NEW_PASSWORD
        ),
    ),
    # ------------------------------------------------------------ accounts (the actor's own)
    "POST /api/v1/auth/logout": Twin(("POST /logout",)),
    "GET /api/v1/me": Twin(("GET /account/security", "GET /dashboard")),
    "POST /api/v1/me/password": Twin(
        ("POST /account/security/password",),
        api_body=api_json(current_password=PASSWORD, new_password=NEW_PASSWORD),
        page_body=page_form(
            current_password=PASSWORD, new_password=NEW_PASSWORD, password_confirm=NEW_PASSWORD
        ),
    ),
    "GET /api/v1/me/sessions": Twin(("GET /account/security",)),
    "DELETE /api/v1/me/sessions/{session_id}": Twin(
        ("POST /account/security/sessions/{session_id}/revoke",), arrange=another_session
    ),
    "DELETE /api/v1/me/sessions": Twin(
        ("POST /account/security/sessions/revoke-others",), api_query={"keep_current": "true"}
    ),
    "POST /api/v1/me/2fa/setup": Twin(("POST /account/security/2fa/setup",)),
    "POST /api/v1/me/2fa/enable": Twin(
        ("POST /account/security/2fa/enable",),
        arrange=a_pending_two_factor_setup,
        api_body=api_json(code=lambda p: p["code"]),
        page_body=page_form(code=lambda p: p["code"]),
    ),
    "POST /api/v1/me/2fa/disable": Twin(
        ("POST /account/security/2fa/disable",),
        arrange=two_factor_enabled,
        api_body=api_json(password=PASSWORD, code=lambda p: p["backup_code"]),
        page_body=page_form(password=PASSWORD, code=lambda p: p["backup_code"]),
    ),
    "POST /api/v1/me/2fa/backup-codes": Twin(
        ("POST /account/security/2fa/backup-codes",),
        api_body=api_json(code="123456"),
        page_body=page_form(code="123456"),
    ),
    # ------------------------------------------------------------ the question bank
    "GET /api/v1/questions": Twin(("GET /questions",), owner="teacher"),
    "GET /api/v1/questions/subjects": Twin(("GET /tests/new", "GET /questions"), owner="teacher"),
    "POST /api/v1/questions": Twin(
        ("POST /questions/new",),
        owner="teacher",
        api_body=lambda p: {"json": question_body("new")},
        page_body=editor_form,
    ),
    "GET /api/v1/questions/{question_id}": Twin(
        ("GET /questions/{question_id}",), owner="teacher", arrange=a_draft_question
    ),
    "PUT /api/v1/questions/{question_id}": Twin(
        ("POST /questions/{question_id}/edit",),
        owner="teacher",
        arrange=a_published_question,
        api_body=lambda p: {"json": question_body("edited")},
        page_body=editor_form,
    ),
    "POST /api/v1/questions/{question_id}/publish": Twin(
        ("POST /questions/{question_id}/publish",), owner="teacher", arrange=a_draft_question
    ),
    "POST /api/v1/questions/{question_id}/archive": Twin(
        ("POST /questions/{question_id}/archive",),
        owner="teacher",
        arrange=a_published_question,
    ),
    "POST /api/v1/questions/{question_id}/images": Twin(
        ("POST /questions/{question_id}/images",),
        owner="teacher",
        arrange=a_draft_question,
        api_body=lambda p: {"files": {"file": ("ecg.png", PNG, "image/png")}},
        page_body=lambda p: {"files": {"image": ("ecg.png", PNG, "image/png")}},
    ),
    "DELETE /api/v1/questions/{question_id}/images/{image_id}": Twin(
        ("POST /questions/{question_id}/images/{image_id}/delete",),
        owner="teacher",
        arrange=a_question_with_image,
    ),
    # ------------------------------------------------------------ quizzes and categories
    "GET /api/v1/quizzes": Twin(("GET /quizzes",), owner="teacher", arrange=a_draft_quiz),
    "POST /api/v1/quizzes": Twin(
        ("POST /quizzes/new",),
        owner="teacher",
        api_body=api_json(title="New quiz"),
        page_body=page_form(**QUIZ_SETTINGS),
    ),
    "GET /api/v1/quizzes/{quiz_id}": Twin(
        ("GET /quizzes/{quiz_id}",), owner="teacher", arrange=a_draft_quiz
    ),
    "PATCH /api/v1/quizzes/{quiz_id}": Twin(
        ("POST /quizzes/{quiz_id}/edit",),
        owner="teacher",
        arrange=a_published_quiz,
        api_body=api_json(title="Renamed"),
        page_body=page_form(**QUIZ_SETTINGS),
    ),
    "DELETE /api/v1/quizzes/{quiz_id}": Twin(
        ("POST /quizzes/{quiz_id}/delete",), owner="teacher", arrange=a_published_quiz
    ),
    "POST /api/v1/quizzes/{quiz_id}/publish": Twin(
        ("POST /quizzes/{quiz_id}/publish",), owner="teacher", arrange=a_draft_quiz
    ),
    "POST /api/v1/quizzes/{quiz_id}/unpublish": Twin(
        ("POST /quizzes/{quiz_id}/unpublish",), owner="teacher", arrange=a_published_quiz
    ),
    "GET /api/v1/quizzes/{quiz_id}/questions": Twin(
        ("GET /quizzes/{quiz_id}/edit",), owner="teacher", arrange=a_published_quiz
    ),
    "POST /api/v1/quizzes/{quiz_id}/questions": Twin(
        ("POST /quizzes/{quiz_id}/questions/add",),
        owner="teacher",
        arrange=a_quiz_and_another_question,
        api_body=api_json(question_id=lambda p: p["new_question_id"]),
        page_body=page_form(question_id=lambda p: p["new_question_id"]),
    ),
    "PATCH /api/v1/quizzes/{quiz_id}/questions/{question_id}": Twin(
        ("POST /quizzes/{quiz_id}/questions/{question_id}/move",),
        owner="teacher",
        arrange=a_quiz_of_two,
        api_body=api_json(position=1),
        page_body=page_form(direction="down"),
    ),
    "DELETE /api/v1/quizzes/{quiz_id}/questions/{question_id}": Twin(
        ("POST /quizzes/{quiz_id}/questions/{question_id}/remove",),
        owner="teacher",
        arrange=a_quiz_of_two,
    ),
    "GET /api/v1/categories": Twin(("GET /quizzes",), owner="teacher", arrange=a_category),
    "POST /api/v1/categories": Twin(
        ("POST /categories",),
        owner="teacher",
        api_body=api_json(name=lambda p: f"New {p['tag']}"),
        page_body=page_form(name=lambda p: f"New {p['tag']}"),
    ),
    "PATCH /api/v1/categories/{category_id}": Twin(
        ("POST /categories/{category_id}/edit",),
        owner="teacher",
        arrange=a_category,
        api_body=api_json(name=lambda p: f"Renamed {p['tag']}", description="Hearts"),
        page_body=page_form(name=lambda p: f"Renamed {p['tag']}", description="Hearts"),
    ),
    "DELETE /api/v1/categories/{category_id}": Twin(
        ("POST /categories/{category_id}/delete",), owner="teacher", arrange=a_category
    ),
    # ------------------------------------------------------------ attempts
    "POST /api/v1/quizzes/{quiz_id}/attempts": Twin(
        ("POST /quizzes/{quiz_id}/start",), owner="teacher", arrange=a_published_quiz
    ),
    "POST /api/v1/custom-tests": Twin(
        ("POST /tests/new",),
        owner="student",
        arrange=published_questions,
        api_body=api_json(count=1, pool="all", mode="tutor"),
        page_body=page_form(count="1", pool="all", mode="tutor", seconds_per_question="60"),
    ),
    "GET /api/v1/attempts": Twin(("GET /attempts",), owner="student", arrange=an_attempt),
    "GET /api/v1/attempts/{attempt_id}": Twin(
        ("GET /attempts/{attempt_id}", "GET /attempts/{attempt_id}/finish"),
        owner="student",
        arrange=an_attempt,
    ),
    "GET /api/v1/attempts/{attempt_id}/progress": Twin(
        ("GET /attempts/{attempt_id}",), owner="student", arrange=an_attempt
    ),
    "GET /api/v1/attempts/{attempt_id}/items/{position}": Twin(
        ("GET /attempts/{attempt_id}/questions/{position}",),
        owner="student",
        arrange=an_attempt,
    ),
    "GET /api/v1/attempts/{attempt_id}/result": Twin(
        ("GET /attempts/{attempt_id}/review",), owner="student", arrange=a_submitted_attempt
    ),
    "GET /api/v1/attempts/{attempt_id}/review": Twin(
        ("GET /attempts/{attempt_id}/review",), owner="student", arrange=a_submitted_attempt
    ),
    "PATCH /api/v1/attempts/{attempt_id}/progress": Twin(
        ("POST /attempts/{attempt_id}/save",),
        owner="student",
        arrange=an_attempt,
        api_body=api_json(version=lambda p: p["version"], position=0),
        page_body=page_form(position="0"),
    ),
    "POST /api/v1/attempts/{attempt_id}/pause": Twin(
        ("POST /attempts/{attempt_id}/pause",), owner="student", arrange=an_attempt
    ),
    "POST /api/v1/attempts/{attempt_id}/resume": Twin(
        ("POST /attempts/{attempt_id}/resume",), owner="student", arrange=a_paused_attempt
    ),
    "POST /api/v1/attempts/{attempt_id}/submit": Twin(
        ("POST /attempts/{attempt_id}/submit",), owner="student", arrange=an_attempt
    ),
    # ------------------------------------------------------------ analytics
    "GET /api/v1/analytics/me/performance": Twin(
        ("GET /dashboard/performance", "GET /dashboard/performance/panel")
    ),
    "GET /api/v1/analytics/me/percentile": Twin(("GET /dashboard/performance",)),
    "GET /api/v1/analytics/leaderboards/global": Twin(("GET /leaderboards",)),
    "GET /api/v1/analytics/leaderboards/quizzes/{quiz_id}": Twin(
        ("GET /leaderboards/quizzes/{quiz_id}",), owner="teacher", arrange=a_draft_quiz
    ),
    "GET /api/v1/analytics/questions/{question_id}": Twin(
        ("GET /questions/{question_id}/analysis",), owner="teacher", arrange=a_published_question
    ),
}

NO_TWIN: dict[str, str] = {
    "GET /api/v1/openapi.json": "the API's own description",
    "POST /api/v1/auth/refresh": "pages keep a cookie session; refresh tokens are the API's",
    "GET /api/v1/admin/users": "no admin pages yet (admins only, through AdminUser)",
    "PUT /api/v1/admin/users/{user_id}/roles": "no admin pages yet (admins only)",
    "PATCH /api/v1/admin/users/{user_id}": "no admin pages yet (admins only)",
    "GET /api/v1/questions/{question_id}/versions": "the question page lists the versions "
    "to its editors, as part of the question; no page of its own",
    "GET /api/v1/questions/{question_id}/images": "the question page lists the images to its "
    "editors, as part of the question; no page of its own",
    "GET /api/v1/questions/{question_id}/images/{image_id}": "pages show images through this "
    "very route (the <img> source)",
    "PUT /api/v1/quizzes/{quiz_id}/questions": "the editor changes one question at a time "
    "(add, move, remove: each the twin of its own API route)",
    "GET /api/v1/categories/{category_id}": "a category has no page of its own; "
    "/quizzes?category=<slug> lists its quizzes (GET /api/v1/categories' twin)",
    "PUT /api/v1/attempts/{attempt_id}/items/{position}/answer": "the player's script answers "
    "through this route itself; without JavaScript the form saves every answer at once "
    "(PATCH .../progress's twin)",
    "PATCH /api/v1/attempts/{attempt_id}/items/{position}": "marks and notes: the player's "
    "script uses this route itself; without JavaScript the form saves them with the answers "
    "(PATCH .../progress's twin)",
}


def routes_of(app: FastAPI, api: bool) -> set[str]:
    found = set()
    for route in iter_route_contexts(app.routes):
        path, methods = route.path, route.methods or set()
        if not path or route.endpoint is None:
            continue
        if path.startswith(API + "/") != api:
            continue
        found |= {f"{method} {path}" for method in methods if method != "HEAD"}
    return found


def test_every_api_route_has_a_twin_or_a_reason(app: FastAPI) -> None:
    api_routes = routes_of(app, api=True)
    assert not set(TWINS) & set(NO_TWIN)
    unlisted = api_routes - set(TWINS) - set(NO_TWIN)
    assert not unlisted, f"list these in TWINS (with their page twin) or NO_TWIN: {unlisted}"
    gone = (set(TWINS) | set(NO_TWIN)) - api_routes
    assert not gone, f"no such API routes any more: {gone}"
    pages = routes_of(app, api=False)
    missing = {page for twin in TWINS.values() for page in twin.pages} - pages
    assert not missing, f"no such page routes: {missing}"
    print(
        f"\n{len(api_routes)} API routes walked: {len(TWINS)} with page twins "
        f"({sum(len(t.pages) for t in TWINS.values())} page routes), "
        f"{len(NO_TWIN)} without (each with its reason)"
    )


# ---------------------------------------------------------------- sending through either door


def outcome_of_api(response: httpx.Response) -> str:
    return "allowed" if response.status_code < 400 else str(response.status_code)


def outcome_of_page(response: httpx.Response) -> str:
    """As the API would say it: a page asks for sign-in with a redirect to /login."""
    location = response.headers.get("location", "")
    if response.is_redirect and (location == "/login" or location.startswith("/login?next=")):
        return "401"
    return "allowed" if response.status_code < 400 else str(response.status_code)


async def through_api(
    world: World, twin_key: str, twin: Twin, name: str | None, params: Params
) -> httpx.Response:
    method, path = twin_key.split(" ", 1)
    headers = await world.bearer(name) if name else {}
    async with api_client(world.app) as http:
        return await http.request(
            method,
            path.format(**params),
            headers=headers,
            params=twin.api_query,
            **twin.api_body(params),
        )


async def through_page(
    world: World, page_key: str, twin: Twin, name: str | None, params: Params
) -> httpx.Response:
    method, path = page_key.split(" ", 1)
    async with world.browser(name) as http:
        if method == "GET":
            return await http.get(path.format(**params), headers=HTML)
        home = await http.get("/", headers=HTML)
        body = twin.page_body(params)
        data = {"csrf_token": csrf_token(home.text), **body.get("data", {})}
        return await http.post(
            path.format(**params), data=data, files=body.get("files"), headers=HTML
        )


async def fresh_case(app: FastAPI, twin: Twin, actor: str) -> tuple[World, str | None, Params]:
    """A new world, the acting user in it, and what the twin's requests need."""
    await get_limiter().reset()  # this test is about who; RULES below is about how often
    world = await World.create(app)
    name = who(twin.owner, actor)
    return world, name, {"tag": world.tag, **await twin.arrange(world, name)}


@pytest.mark.parametrize("api_route", sorted(TWINS))
async def test_twins_answer_every_actor_alike(app: FastAPI, api_route: str) -> None:
    twin = TWINS[api_route]
    seen: dict[str, dict[str, str]] = {}
    for actor in ACTORS:
        world, name, params = await fresh_case(app, twin, actor)
        response = await through_api(world, api_route, twin, name, params)
        answers = {api_route: outcome_of_api(response)}
        for page in twin.pages:
            world, name, params = await fresh_case(app, twin, actor)
            answers[page] = outcome_of_page(await through_page(world, page, twin, name, params))
        seen[actor] = answers
    differing = {
        actor: answers for actor, answers in seen.items() if len(set(answers.values())) > 1
    }
    assert not differing, f"the doors answer differently: {differing}"


# ---------------------------------------------------------------- rate limits and lockouts


@dataclass(frozen=True)
class Rule:
    """A limit or lockout spent by `api` and by `page` (an API route and one of its twins)."""

    api: str
    page: str
    settings: Params  # what makes it small enough to exceed
    times: int  # requests that spend it all
    refused: int  # the status once spent
    actor: str = "student"
    # Overrides of the twin's arrangement/bodies (e.g. wrong passwords for a lockout).
    arrange: Arrange | None = None
    api_body: Body | None = None
    page_body: Body | None = None


def wrong(**fields: Any) -> tuple[Body, Body]:
    return api_json(**fields), page_form(**fields)


WRONG_LOGIN = wrong(email=lambda p: f"student.{p['tag']}@example.com", password="wrong password!")
WRONG_CURRENT = (
    api_json(current_password="wrong password!", new_password=NEW_PASSWORD),
    page_form(
        current_password="wrong password!",
        new_password=NEW_PASSWORD,
        password_confirm=NEW_PASSWORD,
    ),
)
LOCKOUT = {"lockout_threshold": 2, "rate_limit_login_account": "100/minute"}

RULES: dict[str, Rule] = {
    "register": Rule(
        "POST /api/v1/auth/register", "POST /signup", {"rate_limit_register": "2/hour"}, 2, 429
    ),
    "register (resending)": Rule(
        "POST /api/v1/auth/resend-verification",
        "POST /verify/resend",
        {"rate_limit_register": "2/hour"},
        2,
        429,
    ),
    "login per IP": Rule(
        "POST /api/v1/auth/login",
        "POST /login",
        {"rate_limit_login_ip": "2/minute"},
        2,
        429,
    ),
    "login per account": Rule(
        "POST /api/v1/auth/login",
        "POST /login",
        {"rate_limit_login_account": "2/minute"},
        2,
        429,
        api_body=WRONG_LOGIN[0],
        page_body=WRONG_LOGIN[1],
    ),
    "login lockout": Rule(
        "POST /api/v1/auth/login",
        "POST /login",
        LOCKOUT,
        2,
        423,
        api_body=WRONG_LOGIN[0],
        page_body=WRONG_LOGIN[1],
    ),
    "2fa lockout at sign-in": Rule(
        "POST /api/v1/auth/login/2fa",
        "POST /login/2fa",
        {"lockout_threshold": 2},
        2,
        423,
        arrange=a_sign_in_challenge,
        api_body=api_json(challenge=lambda p: p["challenge"], code=lambda p: p["code"]),
        page_body=page_form(challenge=lambda p: p["challenge"], code=lambda p: p["code"]),
    ),
    "2fa at sign-in": Rule(
        "POST /api/v1/auth/login/2fa", "POST /login/2fa", {"rate_limit_2fa": "2/minute"}, 2, 429
    ),
    "password reset": Rule(
        "POST /api/v1/auth/password-reset/request",
        "POST /forgot-password",
        {"rate_limit_password_reset": "2/hour"},
        2,
        429,
    ),
    "password reset (confirming)": Rule(
        "POST /api/v1/auth/password-reset/confirm",
        "POST /reset-password",
        {"rate_limit_password_reset": "2/hour"},
        2,
        429,
    ),
    "password change": Rule(
        "POST /api/v1/me/password",
        "POST /account/security/password",
        {"rate_limit_login_account": "2/minute"},
        2,
        429,
        api_body=WRONG_CURRENT[0],
        page_body=WRONG_CURRENT[1],
    ),
    "password change lockout": Rule(
        "POST /api/v1/me/password",
        "POST /account/security/password",
        LOCKOUT,
        2,
        423,
        api_body=WRONG_CURRENT[0],
        page_body=WRONG_CURRENT[1],
    ),
    "2fa enable": Rule(
        "POST /api/v1/me/2fa/enable",
        "POST /account/security/2fa/enable",
        {"rate_limit_2fa": "2/minute"},
        2,
        429,
        api_body=api_json(code="123456"),
        page_body=page_form(code="123456"),
    ),
    "2fa disable": Rule(
        "POST /api/v1/me/2fa/disable",
        "POST /account/security/2fa/disable",
        {"rate_limit_2fa": "2/minute"},
        2,
        429,
        arrange=nothing,  # 2FA off: enabling it first would spend the same budget
        api_body=api_json(password=PASSWORD, code="123456"),
        page_body=page_form(password=PASSWORD, code="123456"),
    ),
    "2fa backup codes": Rule(
        "POST /api/v1/me/2fa/backup-codes",
        "POST /account/security/2fa/backup-codes",
        {"rate_limit_2fa": "2/minute"},
        2,
        429,
    ),
    "auto-save": Rule(
        "PATCH /api/v1/attempts/{attempt_id}/progress",
        "POST /attempts/{attempt_id}/save",
        {"rate_limit_attempt_autosave": "2/minute"},
        2,
        429,
    ),
    "requests per user": Rule(
        "GET /api/v1/me", "GET /account/security", {"rate_limit_user": "3/minute"}, 3, 429
    ),
}


async def spend_and_cross(
    app: FastAPI, rule: Rule, first: str, override: Callable[..., Settings]
) -> tuple[list[int], int]:
    """Spend `rule` through the `first` door ("api" or "page"), then try the other door.
    Returns the statuses of the spending requests and the other door's answer."""
    await get_limiter().reset()
    override(**rule.settings)
    base = TWINS[rule.api]
    twin = Twin(
        base.pages,
        base.owner,
        rule.arrange or base.arrange,
        rule.api_body or base.api_body,
        rule.page_body or base.page_body,
        base.api_query,
    )
    world = await World.create(app)
    name = who(twin.owner, rule.actor)
    params = await twin.arrange(world, name)

    async def send(door: str) -> int:
        if door == "api":
            return (await through_api(world, rule.api, twin, name, params)).status_code
        return (await through_page(world, rule.page, twin, name, params)).status_code

    spent = [await send(first) for _ in range(rule.times)]
    return spent, await send("page" if first == "api" else "api")


@pytest.fixture
def override(app: FastAPI) -> Iterator[Callable[..., Settings]]:
    original: Settings = app.state.settings

    def apply(**changes: Any) -> Settings:
        app.state.settings = original.model_copy(update=changes)
        return app.state.settings  # type: ignore[no-any-return]

    yield apply
    app.state.settings = original


@pytest.mark.parametrize("first", ["api", "page"])
@pytest.mark.parametrize("rule_name", sorted(RULES))
async def test_a_rule_spent_through_one_door_holds_at_the_other(
    app: FastAPI, override: Callable[..., Settings], rule_name: str, first: str
) -> None:
    rule = RULES[rule_name]
    spent, other = await spend_and_cross(app, rule, first, override)
    assert rule.refused not in spent, f"refused too early: {spent}"
    assert other == rule.refused, f"{rule_name}: spent through the {first} ({spent}), got {other}"


async def test_the_submission_limit_is_one_bucket(app: FastAPI) -> None:
    """A real submission spends the attempt's budget (repeats answer its result, so it cannot
    be exceeded through one door alone): spent in the shared bucket, both doors refuse."""
    for door in ("api", "page"):
        world = await World.create(app)
        params = await new_attempt(world)
        key = f"{world.users['student'].id}:{params['attempt_id']}"
        await get_limiter().hit(SUBMIT.name, SUBMIT.rule(world.settings), key)
        route = "POST /api/v1/attempts/{attempt_id}/submit"
        twin = TWINS[route]
        if door == "api":
            response = await through_api(world, route, twin, "student", params)
        else:
            response = await through_page(world, twin.pages[0], twin, "student", params)
        assert response.status_code == 429, (door, response.text)
        assert int(response.headers["Retry-After"]) > 0
