"""Migrations: upgrade head -> downgrade base -> upgrade head on SQLite and PostgreSQL, and the
migrated schema matches the models exactly (what autogenerate would find is nothing).

PostgreSQL is a fresh database from the `fresh_postgres_url` fixture (tests/conftest.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from studyhall.migrate import MIGRATIONS_DIR, alembic_config, downgrade, upgrade
from studyhall.models import metadata

# alembic.ini's file_template renders e.g. 2026_11_22_1050-2884444d8c2b_accounts_users.py
DATED_NAME = re.compile(
    r"^(?P<year>\d{4})_(?P<month>\d{2})_(?P<day>\d{2})_(?P<hour>\d{2})(?P<minute>\d{2})"
    r"-(?P<rev>[0-9a-f]+)_(?P<slug>\w+)\.py$"
)


def _schema_differences(connection: Connection) -> list[Any]:
    """What autogenerate would emit, with the comparison options env.py uses."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _round_trip_and_compare(url: str) -> None:
    upgrade(url)
    downgrade(url, "base")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            left = await conn.run_sync(_table_names)
        assert left <= {"alembic_version"}, f"downgrade to base left tables behind: {left}"
        await engine.dispose()

        upgrade(url)
        async with engine.connect() as conn:
            tables = await conn.run_sync(_table_names)
            differences = await conn.run_sync(_schema_differences)
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await engine.dispose()

    assert set(metadata.tables) <= tables
    assert differences == [], "models and migrations disagree:\n" + "\n".join(map(str, differences))
    assert [row[0] for row in version] == [_script_directory().get_current_head()]


def _script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


async def test_sqlite_round_trip_matches_models(tmp_path: Path) -> None:
    await _round_trip_and_compare(f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}")


async def test_postgres_round_trip_matches_models(fresh_postgres_url: str) -> None:
    await _round_trip_and_compare(fresh_postgres_url)


def test_single_head() -> None:
    heads = _script_directory().get_heads()
    assert len(heads) == 1, f"migration branches must be merged; heads: {heads}"


def test_revision_files_are_dated() -> None:
    config = alembic_config("sqlite://")
    assert config.get_main_option("file_template") == (
        "%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s_%(slug)s"
    )
    revisions = list(_script_directory().walk_revisions())
    assert revisions, "no migrations found"
    for revision in revisions:
        assert revision.path is not None
        name = Path(revision.path).name
        match = DATED_NAME.match(name)
        assert match, f"{name} does not follow alembic.ini's dated file_template"
        assert match["rev"] == revision.revision, f"{name} is named for another revision"
        datetime(*(int(match[part]) for part in ("year", "month", "day", "hour", "minute")))
    on_disk = {p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py")}
    assert on_disk == {Path(str(r.path)).name for r in revisions}


BEFORE_ITEM_RESPONSES = "ccda571e20cf"


async def _backfill_of_item_responses(url: str) -> None:
    """Attempts submitted before analytics kept its own item_responses keep their item
    analysis: the revision copies their items; open attempts are left out."""
    upgrade(url, BEFORE_ITEM_RESPONSES)
    tables = metadata.tables
    user, question, version = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    submitted, still_open = uuid.uuid4(), uuid.uuid4()
    moment = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                tables["users"].insert(),
                {"id": user, "email": "old@example.com", "name": "Old", "password_hash": "x"},
            )
            await conn.execute(
                tables["questions"].insert(), {"id": question, "type": "single_choice"}
            )
            await conn.execute(
                tables["question_versions"].insert(),
                {
                    "id": version,
                    "question_id": question,
                    "number": 1,
                    "type": "single_choice",
                    "stem_md": "?",
                    "stem_html": "<p>?</p>",
                },
            )
            for attempt, status, percent in (
                (submitted, "submitted", 50.0),
                (still_open, "in_progress", None),
            ):
                await conn.execute(
                    tables["attempts"].insert(),
                    {
                        "id": attempt,
                        "user_id": user,
                        "kind": "quiz",
                        "mode": "standard",
                        "title": "Old quiz",
                        "feedback_mode": "end",
                        "status": status,
                        "percent": percent,
                        "submitted_at": moment if status == "submitted" else None,
                    },
                )
                await conn.execute(
                    tables["attempt_items"].insert(),
                    {
                        "attempt_id": attempt,
                        "position": 0,
                        "question_id": question,
                        "question_version_id": version,
                        "response": {"choice": "b"},
                        "is_correct": True if status == "submitted" else None,
                    },
                )
        upgrade(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(tables["item_responses"].select())).mappings().all()
    finally:
        await engine.dispose()
    assert len(rows) == 1
    (row,) = rows
    assert (row["attempt_id"], row["question_id"], row["question_version_id"]) == (
        submitted,
        question,
        version,
    )
    assert (row["user_id"], row["response"], row["is_correct"]) == (user, {"choice": "b"}, True)
    assert row["attempt_percent"] == 50.0
    stored = row["submitted_at"]  # SQLite's is naive (UTC), PostgreSQL's aware
    assert (stored if stored.tzinfo else stored.replace(tzinfo=UTC)) == moment


async def test_sqlite_backfills_item_responses(tmp_path: Path) -> None:
    await _backfill_of_item_responses(f"sqlite+aiosqlite:///{tmp_path / 'backfill.db'}")


async def test_postgres_backfills_item_responses(fresh_postgres_url: str) -> None:
    await _backfill_of_item_responses(fresh_postgres_url)
