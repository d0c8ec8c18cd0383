"""Apply the SQL files in ``sql/`` in order, once each, under an advisory lock.

Migrations are append-only: each applied file's SHA-256 is recorded, and a file
changed after it was applied is a loud error, not a silently different schema.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import asyncpg

_LOCK_KEY = 7_204_311  # any constant: serialises concurrent migrators (several workers starting)


class MigrationChanged(RuntimeError):
    """An applied migration's file no longer matches what was applied."""


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("streams.store") / "sql"
    files = sorted(p for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(p.name.removesuffix(".sql"), p.read_text()) for p in files]


async def apply_migrations(database_url: str) -> list[str]:
    """Apply pending migrations; returns the versions applied now."""
    conn = await asyncpg.connect(database_url)
    applied_now = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now(), sha256 text)"
        )
        done = {r["version"]: r["sha256"] for r in await conn.fetch("SELECT version, sha256 FROM schema_migrations")}
        for version, sql in migration_files():
            digest = hashlib.sha256(sql.encode()).hexdigest()
            if version in done:
                if done[version] not in (None, digest):
                    raise MigrationChanged(
                        f"migration {version} changed after it was applied to this database; migrations are "
                        f"append-only: add a new file instead (an embedded dev database can be removed with "
                        f"the state dir, e.g. `rm -r .claims-dispatch`)")
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version, sha256) VALUES ($1, $2)", version, digest)
            applied_now.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
        await conn.close()
    return applied_now
