"""PostgreSQL, the system of record: asyncpg, SQL migrations and the repositories."""
