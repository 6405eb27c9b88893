"""Run Alembic from code: `studyhall migrate`, `serve` on the embedded default, and the tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

# Shipped inside the package, so an installed wheel migrates without the source tree.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
FILE_TEMPLATE = "%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s_%(slug)s"


def alembic_config(database_url: str) -> Config:
    """The configuration alembic.ini gives the `alembic` command, built without the file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", FILE_TEMPLATE.replace("%", "%%"))
    config.set_main_option("timezone", "UTC")
    config.set_main_option("path_separator", "os")
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
