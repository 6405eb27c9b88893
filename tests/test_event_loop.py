"""CPU-heavy work of a request (Argon2, Markdown, QR codes) runs on other threads: the event
loop goes on serving everything else meanwhile.

Each heavy function is wrapped so that, before doing its work, it waits until a ticker
coroutine on the event loop has run. Were the work done on the loop's own thread, the ticker
could not run and the wait would end unanswered; so the test fails on a regression without
depending on how long anything takes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from studyhall.accounts import totp
from studyhall.core import markdown, security
from studyhall.questions.service import common as question_rendering
from tests.conftest import PASSWORD, MakeVerifiedUser, SignedInUser
from tests.questions.conftest import single_choice

NO_TICK_WITHIN = 10  # seconds: only reached when the loop is blocked (the test then fails)


@dataclass
class Call:
    on_loop_thread: bool
    loop_ran_before: bool
    ticks_during: int


@dataclass
class LoopWatch:
    """Records, for every wrapped call, whether the event loop kept running around it."""

    loop_thread: int
    ticks: int = 0
    calls: list[Call] = field(default_factory=list)
    _waiting: list[threading.Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def tick(self) -> None:
        with self._lock:
            self.ticks += 1
            for event in self._waiting:
                event.set()
            self._waiting.clear()

    def wrap(self, work: Callable[..., Any]) -> Callable[..., Any]:
        def watched(*args: Any, **kwargs: Any) -> Any:
            ticked = threading.Event()
            with self._lock:
                self._waiting.append(ticked)
            loop_ran = ticked.wait(NO_TICK_WITHIN)
            before = self.ticks
            result = work(*args, **kwargs)
            self.calls.append(
                Call(threading.get_ident() == self.loop_thread, loop_ran, self.ticks - before)
            )
            return result

        return watched


@asynccontextmanager
async def ticking() -> AsyncIterator[LoopWatch]:
    watch = LoopWatch(loop_thread=threading.get_ident())
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            watch.tick()
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    try:
        yield watch
    finally:
        stop.set()
        await task


def assert_off_the_loop(watch: LoopWatch, expected_calls: int) -> None:
    assert len(watch.calls) >= expected_calls
    assert not [c for c in watch.calls if c.on_loop_thread], "heavy work ran on the loop"
    assert all(c.loop_ran_before for c in watch.calls), "the loop was blocked"


class WatchedHasher:
    def __init__(self, real: Any, watch: LoopWatch) -> None:
        self.hash = watch.wrap(real.hash)
        self.verify = watch.wrap(real.verify)


async def test_the_loop_keeps_ticking_during_concurrent_sign_ins(
    client: httpx.AsyncClient,
    verified_user: MakeVerifiedUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    users: list[SignedInUser] = [await verified_user(f"ticker{i}@example.com") for i in range(4)]
    async with ticking() as watch:
        monkeypatch.setattr(
            security, "_password_hash", WatchedHasher(security._password_hash, watch)
        )
        answers = await asyncio.gather(
            *(
                client.post("/api/v1/auth/login", json={"email": u.email, "password": PASSWORD})
                for u in users
            ),
            client.post(
                "/api/v1/auth/register",
                json={"email": "newcomer@example.com", "name": "New Comer", "password": PASSWORD},
            ),
        )
    assert_off_the_loop(watch, expected_calls=5)  # four verifications and one hash
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 202]
    # The ticker also ran while Argon2 itself was hashing.
    assert any(c.ticks_during > 0 for c in watch.calls)


async def test_question_and_quiz_markdown_is_rendered_off_the_loop(
    client: httpx.AsyncClient, teacher: SignedInUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ticking() as watch:
        # The question bank imported the function by name; quizzes call it through its module.
        for module in (question_rendering, markdown):
            monkeypatch.setattr(module, "render_markdown", watch.wrap(module.render_markdown))
        question = await client.post(
            "/api/v1/questions", json=single_choice(), headers=teacher.headers
        )
        quiz = await client.post(
            "/api/v1/quizzes",
            json={"title": "Cardiology", "description": "The *heart*, chamber by chamber."},
            headers=teacher.headers,
        )
    assert question.status_code == 201, question.text
    assert quiz.status_code == 201, quiz.text
    assert quiz.json()["description_html"] == "<p>The <em>heart</em>, chamber by chamber.</p>\n"
    # The question's stem, explanation, options and their explanations; the description.
    assert_off_the_loop(watch, expected_calls=8)


async def test_the_two_factor_qr_code_is_drawn_off_the_loop(
    client: httpx.AsyncClient, student: SignedInUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ticking() as watch:
        monkeypatch.setattr(totp, "qr_svg", watch.wrap(totp.qr_svg))
        setup = await client.post("/api/v1/me/2fa/setup", headers=student.headers)
    assert setup.status_code == 200, setup.text
    assert setup.json()["qr_svg"].startswith("<svg")
    assert_off_the_loop(watch, expected_calls=1)
