"""The rendered documents tables: drafts (``documents``, migration 0002) and scorecards
(``scorecards``, migration 0005).

A rendering is written once per version and format: a retried activity renders the same
text again, and the first stored copy stays (ON CONFLICT DO NOTHING), so what a person
read is what stays on record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import asyncpg


@dataclass(frozen=True)
class Rendering:
    format: str
    body: str


@dataclass(frozen=True)
class ScorecardRendering:
    year: int
    format: str
    body: str


async def _store(
    pool: asyncpg.Pool,
    table: Literal["documents", "scorecards"],
    key: Literal["content_version", "year"],
    *,
    plan_id: str,
    key_value: int,
    content_hash: str,
    renderings: Iterable[Rendering],
) -> None:
    """Each rendering once per (plan, ``key``, format): the first stored copy stays."""
    await pool.executemany(
        f"""INSERT INTO {table} (plan_id, {key}, format, content_hash, body)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (plan_id, {key}, format) DO NOTHING""",
        [(plan_id, key_value, r.format, content_hash, r.body) for r in renderings],
    )


async def store_draft(
    pool: asyncpg.Pool,
    plan_id: str,
    content_version: int,
    content_hash: str,
    renderings: Iterable[Rendering],
) -> None:
    await _store(
        pool,
        "documents",
        "content_version",
        plan_id=plan_id,
        key_value=content_version,
        content_hash=content_hash,
        renderings=renderings,
    )


async def latest_draft(pool: asyncpg.Pool, plan_id: str) -> list[Rendering]:
    """Every format of the plan's draft at its last rendered content version."""
    rows = await pool.fetch(
        """SELECT format, body FROM documents WHERE plan_id = $1
            AND content_version = (SELECT max(content_version) FROM documents WHERE plan_id = $1)""",
        plan_id,
    )
    return [Rendering(format=r["format"], body=r["body"]) for r in rows]


async def store_scorecard(
    pool: asyncpg.Pool,
    plan_id: str,
    year: int,
    content_hash: str,
    renderings: Iterable[Rendering],
) -> None:
    await _store(
        pool,
        "scorecards",
        "year",
        plan_id=plan_id,
        key_value=year,
        content_hash=content_hash,
        renderings=renderings,
    )


async def scorecard(pool: asyncpg.Pool, plan_id: str, year: int, format: str) -> str | None:
    """The year's scorecard in ``format``, or None when it is not made yet."""
    body: str | None = await pool.fetchval(
        "SELECT body FROM scorecards WHERE plan_id = $1 AND year = $2 AND format = $3",
        plan_id,
        year,
        format,
    )
    return body


async def scorecards(pool: asyncpg.Pool, plan_id: str) -> list[ScorecardRendering]:
    """Every stored scorecard of the plan, by year."""
    rows = await pool.fetch(
        "SELECT year, format, body FROM scorecards WHERE plan_id = $1 ORDER BY year", plan_id
    )
    return [ScorecardRendering(year=r["year"], format=r["format"], body=r["body"]) for r in rows]
