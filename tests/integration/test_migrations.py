"""Migrations upgrade from empty and downgrade to base, and match the models."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db.base import Base
from bot.db.engine import make_engine
from bot.db.migrate import alembic_config, downgrade, upgrade
from tests.conftest import PG_URL, _pg_exec


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        name = f"rbt_mig_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_exec(PG_URL, f'CREATE DATABASE "{name}"'))
        yield PG_URL.rpartition("/")[0] + "/" + name
        asyncio.run(_pg_exec(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"


async def _tables_and_diff(url: str) -> tuple[set[str], list[object]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:

            def inspect_sync(sync_connection: object) -> tuple[set[str], list[object]]:
                tables = set(inspect(sync_connection).get_table_names())  # type: ignore[arg-type]
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})  # type: ignore[arg-type]
                return tables, list(compare_metadata(context, Base.metadata))

            return await connection.run_sync(inspect_sync)
    finally:
        await engine.dispose()


def test_upgrade_matches_models_and_downgrade_reaches_base(empty_database: str) -> None:
    upgrade(empty_database)
    tables, diff = asyncio.run(_tables_and_diff(empty_database))
    assert set(Base.metadata.tables) <= tables
    assert diff == []
    downgrade(empty_database, "base")
    tables, _ = asyncio.run(_tables_and_diff(empty_database))
    assert tables <= {"alembic_version"}
    upgrade(empty_database)  # and up again from base


def test_every_revision_has_a_downgrade() -> None:
    config = alembic_config("sqlite+aiosqlite:///:memory:")
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(config)
    for revision in scripts.walk_revisions():
        source = Path(revision.path).read_text(encoding="utf-8")
        assert "def downgrade() -> None:\n    pass" not in source, revision.revision
    assert command is not None and os.sep
