"""Running Alembic from code: the bot upgrades its database on start."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import migrations

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["database_url"] = database_url
    config.attributes["skip_logging"] = True
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "heads") -> None:
    """From inside a running event loop (Alembic's env.py runs its own loop, so use a thread)."""
    await asyncio.to_thread(upgrade, database_url, revision)


def _script_heads() -> set[str]:
    """The newest revisions in migrations/versions, remembered in a file keyed by the folder's listing (names,
    sizes, times): reading every migration costs about half a second on each start otherwise."""
    import hashlib
    import json
    import tempfile

    versions = Path(migrations.__file__).parent / "versions"
    listing = sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in versions.glob("*.py") if p.is_file()
    )
    key = hashlib.sha256(json.dumps([str(versions), listing]).encode()).hexdigest()[:20]
    cache = Path(tempfile.gettempdir()) / f"redbutler-heads-{key}.json"
    try:
        return set(json.loads(cache.read_text()))
    except (OSError, ValueError):
        pass
    from alembic.script import ScriptDirectory  # only when the listing is new: importing Alembic costs 0.2 s

    heads = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    with contextlib.suppress(OSError):
        cache.write_text(json.dumps(sorted(heads)))
    return heads


async def _database_revisions(database_url: str) -> set[str] | None:
    from sqlalchemy import text

    from bot.db.engine import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return {str(row[0]) for row in rows}
    except Exception:
        return None  # no table yet (a new database) or unreadable: let Alembic decide
    finally:
        await engine.dispose()


def upgrade_if_behind(database_url: str) -> bool:
    """Upgrade only when the database's revisions differ from the newest scripts (the bot's start: the full
    Alembic check costs seconds). Returns whether Alembic ran."""
    if asyncio.run(_database_revisions(database_url)) == _script_heads():
        return False
    upgrade(database_url)
    return True
