"""The store's small repositories on a real database: what each promises its callers
(the first rendering stays, a queued key queues nothing twice, a revoked token closes its
sessions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from eventstore import documents, tokens
from eventstore.documents import Rendering
from eventstore.outbox import NewNotification, Outbox

pytestmark = pytest.mark.servers

HASH_A = "a" * 64
HASH_B = "b" * 64


def _sha(n: int) -> str:
    return f"{n:064x}"


async def test_a_draft_keeps_its_first_rendering_and_the_latest_version_is_read(
    pool: asyncpg.Pool,
) -> None:
    await documents.store_draft(pool, "p", 1, HASH_A, [Rendering("markdown", "v1")])
    # A retried activity renders again: the stored text stays what was first written.
    await documents.store_draft(pool, "p", 1, HASH_A, [Rendering("markdown", "again")])
    assert await documents.latest_draft(pool, "p") == [Rendering("markdown", "v1")]
    await documents.store_draft(
        pool, "p", 2, HASH_B, [Rendering("markdown", "v2"), Rendering("html", "<p>v2</p>")]
    )
    assert sorted(await documents.latest_draft(pool, "p"), key=lambda r: r.format) == [
        Rendering("html", "<p>v2</p>"),
        Rendering("markdown", "v2"),
    ]
    assert await documents.latest_draft(pool, "other") == []


async def test_scorecards_are_read_by_year_and_format(pool: asyncpg.Pool) -> None:
    assert await documents.scorecard(pool, "p", 2027, "html") is None
    await documents.store_scorecard(pool, "p", 2028, HASH_B, [Rendering("html", "<p>28</p>")])
    await documents.store_scorecard(
        pool, "p", 2027, HASH_A, [Rendering("html", "<p>27</p>"), Rendering("markdown", "27")]
    )
    await documents.store_scorecard(pool, "p", 2027, HASH_A, [Rendering("html", "changed")])
    assert await documents.scorecard(pool, "p", 2027, "html") == "<p>27</p>"
    assert await documents.scorecard(pool, "p", 2027, "markdown") == "27"
    assert sorted((c.year, c.format) for c in await documents.scorecards(pool, "p")) == [
        (2027, "html"),
        (2027, "markdown"),
        (2028, "html"),
    ]


async def test_the_outbox_queues_each_key_once(pool: asyncpg.Pool) -> None:
    outbox = Outbox(pool)

    def note(person: str) -> NewNotification:
        return NewNotification(f"step/{person}", "p", person, f"{person}@x.no", "s", "b")

    assert await outbox.enqueue([]) == 0
    assert await outbox.enqueue([note("kari"), note("ola")]) == 2
    assert await outbox.enqueue([note("ola"), note("per")]) == 1
    rows = await outbox.rows(plan_id="p")
    assert [(r.recipient_id, r.status) for r in rows] == [
        ("kari", "pending"),
        ("ola", "pending"),
        ("per", "pending"),
    ]


async def _token(pool: asyncpg.Pool, n: int, person: str, kind: tokens.Kind) -> tokens.TokenRow:
    return await tokens.insert_token(
        pool,
        token_id=f"{n:012x}",
        person_id=person,
        kind=kind,
        municipalities=("1804",) if kind == "person" else None,
        token_sha256=_sha(n),
        label="",
        issued_by="test",
    )


async def test_tokens_are_found_by_hash_until_revoked_and_take_their_sessions_along(
    pool: asyncpg.Pool,
) -> None:
    issued = await _token(pool, 1, "kari", "person")
    assert issued.municipalities == ("1804",)
    assert issued.last_used_at is None
    assert not await tokens.any_live_admin(pool)
    await _token(pool, 2, "root", "admin")
    assert await tokens.any_live_admin(pool)

    holder = await tokens.use_token(pool, _sha(1))
    assert holder == tokens.TokenHolder(issued.token_id, "kari", "person", ("1804",))
    assert (await tokens.list_tokens(pool, "kari"))[0].last_used_at is not None
    assert await tokens.use_token(pool, _sha(99)) is None

    later = datetime.now(UTC) + timedelta(hours=1)
    await tokens.insert_session(pool, _sha(100), issued.token_id, later)
    await tokens.insert_session(pool, _sha(101), issued.token_id, datetime.now(UTC))
    assert await tokens.session_holder(pool, _sha(100)) == holder
    assert await tokens.session_holder(pool, _sha(101)) is None  # expired

    assert await tokens.revoke_token(pool, issued.token_id)
    assert not await tokens.revoke_token(pool, issued.token_id)
    assert await tokens.use_token(pool, _sha(1)) is None
    assert await tokens.session_holder(pool, _sha(100)) is None
    left = "SELECT count(*) FROM web_sessions WHERE token_id = $1"
    assert await pool.fetchval(left, issued.token_id) == 0


async def test_a_persons_tokens_are_revoked_together_and_listed_in_issue_order(
    pool: asyncpg.Pool,
) -> None:
    for n in (3, 4, 5):
        await _token(pool, n, "ola", "person")
    await _token(pool, 6, "per", "auditor")
    await tokens.insert_session(
        pool, _sha(200), f"{4:012x}", datetime.now(UTC) + timedelta(hours=1)
    )
    assert [t.token_id for t in await tokens.list_tokens(pool, "ola")] == [
        f"{n:012x}" for n in (3, 4, 5)
    ]
    assert len(await tokens.list_tokens(pool)) == 4
    assert await tokens.revoke_person_tokens(pool, "ola") == 3
    assert await tokens.revoke_person_tokens(pool, "ola") == 0
    assert await tokens.session_holder(pool, _sha(200)) is None
    assert all(t.revoked_at is not None for t in await tokens.list_tokens(pool, "ola"))
    assert (await tokens.list_tokens(pool, "per"))[0].revoked_at is None


async def test_a_closed_session_is_gone(pool: asyncpg.Pool) -> None:
    token = await _token(pool, 7, "kari", "person")
    later = datetime.now(UTC) + timedelta(hours=1)
    await tokens.insert_session(pool, _sha(300), token.token_id, later)
    await tokens.insert_session(pool, _sha(301), token.token_id, later)
    await tokens.delete_session(pool, _sha(300))
    assert await tokens.session_holder(pool, _sha(300)) is None
    assert await tokens.session_holder(pool, _sha(301)) is not None
