"""Run Alembic from code: `studyhall migrate`, `serve` on the embedded default, and the tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _in_fresh_thread(fn: object, *args: object) -> None:
    """env.py calls asyncio.run(), which needs a thread with no running loop."""
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    config = alembic_config(database_url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(config, revision)
    else:
        _in_fresh_thread(command.upgrade, config, revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    _in_fresh_thread(command.downgrade, alembic_config(database_url), revision)
