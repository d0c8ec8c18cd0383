"""The do-not-call list: hashes of normalised phone numbers (models/callbacks/phones.py), never the numbers."""

from __future__ import annotations

import asyncpg


async def add(pool: asyncpg.Pool, phone_sha256: str, reason: str) -> bool:
    """Put a hash on the list (or give it the new reason); True when it was not there yet."""
    return await pool.fetchval(
        "INSERT INTO do_not_call (phone_sha256, reason) VALUES ($1, $2)"
        " ON CONFLICT (phone_sha256) DO UPDATE SET reason = EXCLUDED.reason RETURNING xmax = 0",
        phone_sha256, reason)


async def remove(pool: asyncpg.Pool, hashes: list[str]) -> int:
    """Take a number off the list under any of its hashes; how many entries went."""
    return len(await pool.fetch("DELETE FROM do_not_call WHERE phone_sha256 = ANY($1::text[]) RETURNING 1", hashes))


async def count(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM do_not_call")
