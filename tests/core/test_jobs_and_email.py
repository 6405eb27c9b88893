"""The job queue (huey, consumed in-process by the app fixture) retries with backoff, and email
goes through it: to the SMTP sink when configured, to .eml files in var/mail/ otherwise."""

from __future__ import annotations

import asyncio
import email
import threading
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from huey.exceptions import TaskException

from studyhall.accounts.tasks import send_verification_email
from studyhall.core import jobs
from studyhall.core.email import deliver
from studyhall.core.metrics import registry
from studyhall.core.settings import Settings
from tests.backends import Mailbox, message_text
from tests.conftest import deliver_test_mail
from tests.core.conftest import capture_logs, eventually, metric, scrape

_runs: Counter[str] = Counter()
_runs_lock = threading.Lock()


def _count_run(token: str) -> int:
    with _runs_lock:
        _runs[token] += 1
        return _runs[token]


@jobs.task(retries=2, retry_delay=0)  # type: ignore[untyped-decorator]
def flaky_twice(token: str) -> str:
    run = _count_run(token)
    if run < 3:
        raise RuntimeError(f"transient failure {run}")
    return f"done on run {run}"


@jobs.task(retries=1, retry_delay=0)  # type: ignore[untyped-decorator]
def always_fails(token: str) -> None:
    _count_run(token)
    raise RuntimeError("permanent failure")


def _runs_of(token: str) -> int:
    with _runs_lock:
        return _runs[token]


async def test_task_retries_until_it_succeeds(app: FastAPI, client: httpx.AsyncClient) -> None:
    task = {"task": "flaky_twice"}
    before = await scrape(client)
    token = uuid.uuid4().hex
    result = flaky_twice(token)

    async def completed() -> bool:
        text = await scrape(client)
        return (
            metric(text, "studyhall_jobs_total", state="complete", **task)
            >= metric(before, "studyhall_jobs_total", state="complete", **task) + 1
        )

    await eventually(completed, message="flaky_twice never completed")
    assert _runs_of(token) == 3
    # Each failure stored an error result; the success replaced it with the value.
    value = await asyncio.to_thread(jobs.huey.result, result.id, blocking=True, timeout=10)
    assert value == "done on run 3"
    after = await scrape(client)

    def delta(state: str) -> float:
        return metric(after, "studyhall_jobs_total", state=state, **task) - metric(
            before, "studyhall_jobs_total", state=state, **task
        )

    assert delta("executing") == 3
    assert delta("error") == 2
    assert delta("retrying") == 2
    assert delta("complete") == 1


def _job_count(task: str, state: str) -> float:
    return registry.get_sample_value("studyhall_jobs_total", {"task": task, "state": state}) or 0


async def test_task_gives_up_after_its_retries(app: FastAPI) -> None:
    errors_before = _job_count("always_fails", "error")
    retries_before = _job_count("always_fails", "retrying")
    token = uuid.uuid4().hex
    result = always_fails(token)

    async def failed_twice() -> bool:
        return _job_count("always_fails", "error") >= errors_before + 2

    await eventually(failed_twice, message="always_fails did not fail twice")
    with pytest.raises(TaskException, match="permanent failure"):
        await asyncio.to_thread(jobs.huey.result, result.id, blocking=True, timeout=10)
    assert _runs_of(token) == 2  # the first run and one retry, then it gives up
    assert _job_count("always_fails", "retrying") == retries_before + 1


def test_tasks_back_off_exponentially() -> None:
    email_task = send_verification_email.task_class
    assert email_task.default_retries == jobs.DEFAULT_RETRIES
    assert email_task.default_retry_delay == jobs.DEFAULT_RETRY_DELAY
    assert email_task.default_retry_backoff == 2  # each retry waits twice as long
    assert (flaky_twice.retries, flaky_twice.retry_delay) == (2, 0)


async def test_email_goes_through_the_queue_to_smtp(app: FastAPI, mailbox: Mailbox) -> None:
    to = f"queued-{uuid.uuid4().hex[:8]}@example.com"
    deliver_test_mail(to, "Welcome to Studyhall")
    message = await mailbox.wait_for(to, "Welcome")
    assert message["From"] == "Studyhall <no-reply@studyhall.local>"
    assert message["Subject"] == "Welcome to Studyhall"
    assert message["Message-ID"]
    assert "Welcome to Studyhall" in message_text(message)
    assert len(mailbox.sent_to(to)) == 1


def _file_settings(settings: Settings, var_dir: Path, env: str = "development") -> Settings:
    return settings.model_copy(update={"smtp_host": "", "var_dir": var_dir, "env": env})


async def test_without_smtp_mail_is_written_to_files(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    link = "http://127.0.0.1:8000/verify-email?token=tok123"
    with capture_logs() as logs:
        deliver(
            "file@example.com",
            "Verify your address",
            f"Open {link} to verify.",
            settings=_file_settings(settings, tmp_path),
        )
    [path] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes())
    assert message["To"] == "file@example.com"
    assert message["Subject"] == "Verify your address"
    assert link in message_text(message)

    [logged] = logs.events("mail_written")
    assert logged["path"] == str(path)
    assert logged["links"] == [link]  # how a developer without SMTP verifies an account


async def test_file_mail_keeps_every_message_and_links_stay_out_of_production_logs(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    production = _file_settings(settings, tmp_path, env="production")
    with capture_logs() as logs:
        for _ in range(5):
            deliver(
                "p@example.com", "Reset", "https://x.example/r?token=secret1", settings=production
            )
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 5
    assert "secret1" not in logs.text
    assert len(logs.events("mail_written")) == 5
