"""The load driver: virtual users on asyncio, one HTTP connection each, timing every request.

Three phases share it:
- `mixed`: study sessions (browse quizzes, start a quiz or a custom test, read a question,
  answer, auto-save, submit, review, look at the dashboard and the leaderboards);
- `reads`: the read mix alone (quiz list/detail, question, dashboard, leaderboards);
- `answers`: answering as fast as possible on open attempts, for the throughput compared
  with the bare baseline (which the same code drives with `answer_phase(..., baseline=True)`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.content import SUBJECTS
from bench.http import Http, HttpError, Reply
from bench.stats import CacheDelta, PhaseResult, Recorder, parse_cache_counters

API = "/api/v1"
Json = dict[str, Any]
# A new client (connection) for one virtual user.
HttpFactory = Callable[[], Http]


@dataclass(frozen=True)
class Account:
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class LoadOptions:
    vus: int = 50
    seconds: float = 60.0
    # Mean pause between a user's requests (uniform in [0, 2x]); 0: back to back.
    think_seconds: float = 0.0
    answers_per_session: int = 10
    autosave_every: int = 5
    custom_share: float = 0.25
    custom_count: int = 20
    # Each user completes at least this many sessions (smoke tests), up to `hard_seconds`.
    min_sessions: int = 0
    hard_seconds: float | None = None
    seed: int = 1


class _Stop(Exception):
    """The phase is over: unwind the virtual user."""


@dataclass
class _Clock:
    soft: float
    hard: float
    min_sessions: int

    def over(self, sessions_done: int) -> bool:
        now = time.perf_counter()
        return now >= self.hard or (now >= self.soft and sessions_done >= self.min_sessions)


@dataclass
class SharedState:
    """What the virtual users learn as they go (ids to read in the read phase)."""

    quiz_ids: list[str] = field(default_factory=list)
    question_ids: list[str] = field(default_factory=list)


class Api:
    """Studyhall's API as the load sees it; every call is timed into the recorder."""

    def __init__(self, http: Http, recorder: Recorder) -> None:
        self.http = http
        self.recorder = recorder

    async def call(
        self,
        endpoint: str,
        method: str,
        url: str,
        account: Account | None,
        expect: Sequence[int] = (200,),
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Reply | None:
        headers = account.headers if account else None
        started = time.perf_counter()
        try:
            reply = await self.http.request(method, url, headers, json, params)
        except HttpError as error:
            self.recorder.add(endpoint, time.perf_counter() - started, 0, False, str(error))
            return None
        elapsed = time.perf_counter() - started
        ok = reply.status in expect
        self.recorder.add(endpoint, elapsed, reply.status, ok, "" if ok else reply.text)
        return reply if ok else None


async def sign_in(
    connect: HttpFactory, emails: Sequence[str], password: str, concurrency: int = 4
) -> list[Account]:
    """Bearer tokens through /auth/login (Argon2 on the server: a few at a time)."""
    pending = list(enumerate(emails))
    tokens: dict[int, Account] = {}

    async def worker() -> None:
        http = connect()
        try:
            while pending:
                index, email = pending.pop()
                reply = await http.request(
                    "POST", f"{API}/auth/login", json_body={"email": email, "password": password}
                )
                if reply.status != 200:
                    raise RuntimeError(f"sign-in of {email} failed: {reply.status} {reply.text}")
                tokens[index] = Account(email=email, token=reply.json()["access_token"])
        finally:
            await http.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [tokens[i] for i in range(len(emails))]


async def scrape_cache(http: Http) -> dict[tuple[str, str], float]:
    reply = await http.request("GET", "/metrics")
    if reply.status != 200:
        raise RuntimeError(f"/metrics answered {reply.status}")
    return parse_cache_counters(reply.text)


# ---------------------------------------------------------------- answers


def response_for(item: Json, rng: random.Random, variant: int | None = None) -> Json:
    """A response fitting the item's type; `variant` 0/1 gives two fixed, different ones."""
    options = [option["id"] for option in item.get("options", [])]
    kind = item["type"]
    if kind in ("single_choice", "true_false"):
        return {
            "choice": options[variant % len(options)]
            if variant is not None
            else rng.choice(options)
        }
    if kind == "multiple_response":
        if variant is not None:
            return {"choices": options[: 1 + variant % 2]}
        return {"choices": rng.sample(options, rng.randint(1, min(3, len(options))))}
    if kind == "short_answer":
        words = ("aspirin", "heparin", "insulin")
        return {"text": words[variant % 2] if variant is not None else rng.choice(words)}
    return {
        "text": f"{(variant or 0) + 1}.0" if variant is not None else f"{rng.uniform(1, 150):.1f}"
    }


# ---------------------------------------------------------------- sessions


class _VirtualUser:
    def __init__(
        self,
        index: int,
        api: Api,
        accounts: Sequence[Account],
        options: LoadOptions,
        clock: _Clock,
        shared: SharedState,
    ) -> None:
        self.index = index
        self.api = api
        # Each virtual user has accounts of its own (when there are enough), so no two sit
        # the same test at once.
        self.accounts = accounts[index :: options.vus] or [accounts[index % len(accounts)]]
        self.options = options
        self.clock = clock
        self.shared = shared
        self.rng = random.Random(options.seed * 1000 + index)  # noqa: S311 (load shape)
        self.sessions = 0

    async def pause(self) -> None:
        if self.clock.over(self.sessions):
            raise _Stop
        if self.options.think_seconds > 0:
            await asyncio.sleep(self.rng.uniform(0, 2 * self.options.think_seconds))

    async def call(self, *args: Any, **kwargs: Any) -> Reply | None:
        await self.pause()
        return await self.api.call(*args, **kwargs)

    def account(self) -> Account:
        # Its accounts in turn: one user's per-minute auto-save limit is then never the
        # bottleneck.
        return self.accounts[self.sessions % len(self.accounts)]

    async def run(self, session: Callable[[Account], Awaitable[None]]) -> None:
        try:
            while not self.clock.over(self.sessions):
                await session(self.account())
                self.sessions += 1
        except _Stop:
            return

    # ------------------------------------------------------------ the mixed session

    async def browse(self, who: Account) -> str | None:
        page = self.rng.choice((1, 1, 1, 2, 2, 3, 4, 5))
        listed = await self.call(
            "quiz_list", "GET", f"{API}/quizzes", who, params={"page": page, "per_page": 20}
        )
        items = listed.json()["items"] if listed is not None else []
        if not items and page != 1:
            listed = await self.call("quiz_list", "GET", f"{API}/quizzes", who)
            items = listed.json()["items"] if listed is not None else []
        if not items:
            return None
        quiz_id = str(self.rng.choice(items)["id"])
        if len(self.shared.quiz_ids) < 1000:
            self.shared.quiz_ids.append(quiz_id)
        await self.call("quiz_detail", "GET", f"{API}/quizzes/{quiz_id}", who)
        return quiz_id

    async def start(self, who: Account, quiz_id: str | None) -> Json | None:
        custom = quiz_id is None or (self.index + self.sessions) % 4 == 1
        if not custom and self.rng.random() < self.options.custom_share:
            custom = True
        if not custom:
            started = await self.call(
                "attempt_start", "POST", f"{API}/quizzes/{quiz_id}/attempts", who, expect=(200, 201)
            )
            return started.json() if started is not None else None
        body = {
            "count": self.options.custom_count,
            "subjects": [self.rng.choice(SUBJECTS)],
            "pool": self.rng.choice(("all", "unused")),
            "mode": self.rng.choice(("timed", "timed", "tutor")),
        }
        # 422 `no_questions_available`: the student has seen every question of the subject;
        # like a student, ask again for all of them.
        started = await self.call(
            "custom_test_start", "POST", f"{API}/custom-tests", who, expect=(201, 422), json=body
        )
        if started is not None and started.status == 422:
            body["pool"] = "all"
            started = await self.call(
                "custom_test_start", "POST", f"{API}/custom-tests", who, expect=(201,), json=body
            )
        return started.json() if started is not None else None

    async def answer(self, who: Account, attempt: Json) -> None:
        attempt_id, version = attempt["id"], attempt["version"]
        open_items = [i for i in attempt["items"] if not i["answered"] and not i["locked"]]
        spent: dict[int, int] = {}
        for n, item in enumerate(open_items[: self.options.answers_per_session], start=1):
            position = item["position"]
            spent[position] = self.rng.randint(10, 120)
            answered = await self.call(
                "answer",
                "PUT",
                f"{API}/attempts/{attempt_id}/items/{position}/answer",
                who,
                json={
                    "response": response_for(item, self.rng),
                    "time_spent_seconds": spent[position],
                },
            )
            if answered is None:
                return
            version = answered.json()["version"]
            if n % self.options.autosave_every == 0:
                save: Json = {"version": version, "position": position, "time_spent": spent}
                if self.rng.random() < 0.3:
                    save["marks"] = {str(position): True}
                saved = await self.call(
                    "autosave", "PATCH", f"{API}/attempts/{attempt_id}/progress", who, json=save
                )
                if saved is None:
                    return
                version = saved.json()["version"]

    async def dashboard(self, who: Account, quiz_id: str | None) -> None:
        await self.call("performance", "GET", f"{API}/analytics/me/performance", who)
        await self.call("percentile", "GET", f"{API}/analytics/me/percentile", who)
        period = self.rng.choice(("day", "week", "week", "month", "all"))
        await self.call(
            "leaderboard_global",
            "GET",
            f"{API}/analytics/leaderboards/global",
            who,
            params={"period": period},
        )
        if quiz_id is not None:
            await self.call(
                "leaderboard_quiz", "GET", f"{API}/analytics/leaderboards/quizzes/{quiz_id}", who
            )

    async def study_session(self, who: Account) -> None:
        """A student's visit: browse, sit (part of) a test, submit, review, dashboard."""
        quiz_id = await self.browse(who)
        attempt = await self.start(who, quiz_id)
        if attempt is None:
            return
        if attempt.get("quiz_id") is None:
            quiz_id = None
        items = attempt["items"]
        if items:
            question_id = str(self.rng.choice(items)["question_id"])
            if len(self.shared.question_ids) < 5000:
                self.shared.question_ids.append(question_id)
            await self.call("question", "GET", f"{API}/questions/{question_id}", who)
        await self.answer(who, attempt)
        submitted = await self.call("submit", "POST", f"{API}/attempts/{attempt['id']}/submit", who)
        if submitted is not None:
            await self.call("review", "GET", f"{API}/attempts/{attempt['id']}/review", who)
        await self.dashboard(who, quiz_id)

    async def read_session(self, who: Account) -> None:
        """Only reads: what students do most between tests. A reader stays one student (its
        first account), coming back to the same dashboard as students do."""
        who = self.accounts[0]
        quiz_id = await self.browse(who)
        if self.shared.quiz_ids:
            other = self.rng.choice(self.shared.quiz_ids)
            await self.call("quiz_detail", "GET", f"{API}/quizzes/{other}", who)
        for _ in range(2):
            if self.shared.question_ids:
                question_id = self.rng.choice(self.shared.question_ids)
                await self.call("question", "GET", f"{API}/questions/{question_id}", who)
        if quiz_id is None and self.shared.quiz_ids:
            quiz_id = self.shared.quiz_ids[0]
        await self.dashboard(who, quiz_id)


async def _phase(
    name: str,
    connect: HttpFactory,
    accounts: Sequence[Account],
    options: LoadOptions,
    shared: SharedState,
    pick: Callable[[_VirtualUser], Callable[[Account], Awaitable[None]]],
    scrape_metrics: bool,
) -> PhaseResult:
    if not accounts:
        raise ValueError("no signed-in accounts to drive")
    probe = connect()
    try:
        before = await scrape_cache(probe) if scrape_metrics else None
        recorder = Recorder(name)
        start = time.perf_counter()
        hard = start + max(options.hard_seconds or 0.0, options.seconds)
        clock = _Clock(soft=start + options.seconds, hard=hard, min_sessions=options.min_sessions)
        users = [
            _VirtualUser(i, Api(connect(), recorder), accounts, options, clock, shared)
            for i in range(options.vus)
        ]
        try:
            await asyncio.gather(*(user.run(pick(user)) for user in users))
        finally:
            recorder.finish()
            for user in users:
                await user.api.http.close()
        cache = None
        if before is not None:
            cache = CacheDelta.between(before, await scrape_cache(probe))
    finally:
        await probe.close()
    return PhaseResult(name, recorder.seconds, options.vus, recorder.endpoints, cache)


async def mixed_phase(
    connect: HttpFactory,
    accounts: Sequence[Account],
    options: LoadOptions,
    shared: SharedState | None = None,
    scrape_metrics: bool = True,
) -> PhaseResult:
    state = shared if shared is not None else SharedState()
    return await _phase(
        "mixed", connect, accounts, options, state, lambda u: u.study_session, scrape_metrics
    )


async def read_phase(
    connect: HttpFactory,
    accounts: Sequence[Account],
    options: LoadOptions,
    shared: SharedState,
    scrape_metrics: bool = True,
) -> PhaseResult:
    return await _phase(
        "reads", connect, accounts, options, shared, lambda u: u.read_session, scrape_metrics
    )


# ---------------------------------------------------------------- answer throughput


@dataclass(frozen=True)
class AnswerTarget:
    """An open attempt one virtual user answers over and over."""

    attempt_id: str
    account: Account
    items: list[Json]


async def open_answer_targets(
    http: Http, accounts: Sequence[Account], count: int, questions: int = 40
) -> list[AnswerTarget]:
    """One open timed custom test per virtual user, with a deadline far beyond the phase."""
    targets: list[AnswerTarget] = []
    for i in range(count):
        account = accounts[i % len(accounts)]
        reply = await http.request(
            "POST",
            f"{API}/custom-tests",
            account.headers,
            {"count": questions, "pool": "all", "mode": "timed", "seconds_per_question": 3600},
        )
        if reply.status != 201:
            raise RuntimeError(f"could not open an attempt: {reply.status} {reply.text}")
        body = reply.json()
        targets.append(AnswerTarget(body["id"], account, body["items"]))
    return targets


async def close_answer_targets(http: Http, targets: Sequence[AnswerTarget]) -> None:
    """Submit the phase's attempts (not measured), so no open attempt is left behind."""
    for target in targets:
        await http.request(
            "POST", f"{API}/attempts/{target.attempt_id}/submit", target.account.headers
        )


async def answer_phase(
    connect: HttpFactory,
    targets: Sequence[AnswerTarget],
    seconds: float,
    baseline: bool = False,
) -> PhaseResult:
    """Each virtual user changes the answers of its attempt in turn, back to back. The same
    requests go to the baseline app (`baseline`): same path, same body, no token needed."""
    name = "baseline" if baseline else "answers"
    endpoint = "baseline_answer" if baseline else "answer"
    recorder = Recorder(name)
    deadline = time.perf_counter() + seconds
    rng = random.Random(0)  # noqa: S311 (unused: answers come in fixed variants)

    async def drive(target: AnswerTarget) -> None:
        api = Api(connect(), recorder)
        who = None if baseline else target.account
        n = 0
        try:
            while time.perf_counter() < deadline:
                item = target.items[n % len(target.items)]
                rounds = n // len(target.items)
                await api.call(
                    endpoint,
                    "PUT",
                    f"{API}/attempts/{target.attempt_id}/items/{item['position']}/answer",
                    who,
                    json={
                        "response": response_for(item, rng, variant=rounds),
                        "time_spent_seconds": rounds + 1,
                    },
                )
                n += 1
        finally:
            await api.http.close()

    await asyncio.gather(*(drive(target) for target in targets))
    recorder.finish()
    return PhaseResult(name, recorder.seconds, len(targets), recorder.endpoints)
