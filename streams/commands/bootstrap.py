"""What every command starts from: the addresses of Kafka and PostgreSQL (configured, or a running `run`'s),
the command's database (the embedded one started for it when nothing runs), a small pool, the roster file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from streams.settings import Settings

if TYPE_CHECKING:
    import asyncpg

T = TypeVar("T")


def stack_file(settings: Settings) -> Path:
    return settings.state_dir / "stack.json"


def stack_info(settings: Settings) -> dict:
    """What a running `claims-dispatch run` wrote about itself (empty when none runs here)."""
    path = stack_file(settings)
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return {}


def kafka_address(settings: Settings, required: bool = True) -> str | None:
    """The Kafka bootstrap: configured, else a running `run`'s; required or None."""
    kafka = settings.kafka_bootstrap or stack_info(settings).get("kafka_bootstrap")
    if kafka is None and required:
        sys.exit("no Kafka broker: set CLAIMS_KAFKA_BOOTSTRAP, or start `claims-dispatch run` in this folder")
    return kafka


def addresses(settings: Settings) -> tuple[str, str]:
    """Kafka and database addresses, for a command that needs both: from the environment, else from a running
    `claims-dispatch run`."""
    kafka, db = settings.kafka_bootstrap, settings.database_url
    if kafka and db:
        return kafka, db
    info = stack_info(settings)
    if info:
        return kafka or info["kafka_bootstrap"], db or info["database_url"]
    sys.exit("no running stack: start `claims-dispatch run` in this folder, or set CLAIMS_KAFKA_BOOTSTRAP and "
             "CLAIMS_DATABASE_URL")


@contextlib.contextmanager
def database(settings: Settings, migrate: bool = True) -> Iterator[str]:
    """The database for a command that needs nothing else: configured; else the one `run` uses, the embedded
    PostgreSQL in the state folder, started for the command when it is not running (and stopped after)."""
    info = stack_info(settings)
    if settings.database_url or (info and not info.get("embedded_postgres", True)):
        yield settings.database_url or info["database_url"]
        return
    from streams.embedded_stack import start_postgres
    from streams.store.migrations import apply_migrations

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    server, url = start_postgres(settings.state_dir)  # the running one when `run` is up: pgserver shares it
    try:
        if migrate:
            asyncio.run(apply_migrations(url))
        yield url
    finally:
        server.cleanup()  # stops it only if this command was the one that started it


def demo_roster_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("streams.data") / "demo_roster.json"))


def read_roster(path: Path, settings: Settings | None = None):
    """A roster file, checked; refused with every problem named by its entry (surveyor, vehicle, region)."""
    import tomllib

    from pydantic import ValidationError

    from models.dispatch.roster import Roster, entry_errors, roster_problems

    try:
        text = path.read_bytes()
        data = tomllib.loads(text.decode()) if path.suffix == ".toml" else json.loads(text)
    except (FileNotFoundError, IsADirectoryError):
        sys.exit(f"roster file not found: {path}")
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        sys.exit(f"roster file {path} is not valid JSON or TOML: {exc}")
    try:
        roster = Roster.model_validate(data)
    except ValidationError as exc:
        problems = entry_errors(data, exc.errors(include_input=False, include_url=False))
        sys.exit(f"roster file {path} refused:\n" + "\n".join(f"  {p}" for p in problems))
    problems = roster_problems(roster, (settings or Settings()).dispatch.known_equipment())
    if problems:
        sys.exit(f"roster file {path} refused:\n" + "\n".join(f"  {p}" for p in problems))
    return roster


async def load_roster(database_url: str, roster, deactivate_missing: bool = False, dry_run: bool = False):
    """Compare a roster with what is stored and (unless ``dry_run``) load it: (changes, counts)."""
    from models.dispatch.roster import roster_change
    from streams.store import roster_store

    async with pool(database_url) as p:
        changes = roster_change(await roster_store.stored_entries(p), roster, deactivate_missing)
        counts = None if dry_run else await roster_store.load_roster(p, roster, deactivate_missing)
        return changes, counts


@contextlib.asynccontextmanager
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A small pool for a one-off command."""
    import asyncpg

    p = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        yield p
    finally:
        await p.close()


def on_database(settings: Settings, act: Callable[[asyncpg.Pool], Awaitable[T]], migrate: bool = True) -> T:
    """``act(pool)`` on the command's database (``database``), run to completion."""
    async def go(url: str) -> T:
        async with pool(url) as p:
            return await act(p)

    with database(settings, migrate) as url:
        return asyncio.run(go(url))
