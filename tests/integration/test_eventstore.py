"""The event store against a real PostgreSQL: concurrency, idempotency, append-only,
tamper detection, reads, migrations."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from domain.canonical import GENESIS_HASH, CanonicalFormError, canonical_json, chain_hash
from domain.events import PhaseStarted
from domain.phases import Phase
from domain.roles import Role
from eventstore import (
    AppendOnlyViolation,
    ConcurrencyConflict,
    EventIdConflict,
    EventStore,
    NewEvent,
    StoredEvent,
    VerifyResult,
)
from eventstore import store as store_module
from eventstore.errors import MigrationError
from eventstore.migrate import Migration, bundled_migrations, migrate
from eventstore.pool import create_pool, with_database
from tests.conftest import scratch_database

pytestmark = pytest.mark.servers


def new_event(n: int, **data: object) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        type="comment_recorded",
        data={"n": n, "text": f"merknad {n} – ø", **data},
        actor_id="kari.nilsen",
        actor_role="steering_group",
    )


async def count(pool: asyncpg.Pool, stream: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", stream))


async def test_append_returns_receipts_that_chain(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    first = await store.append("1804-plan", 0, [new_event(1), new_event(2)])
    second = await store.append("1804-plan", 2, [new_event(3)])
    receipts = first + second
    assert [r.version for r in receipts] == [1, 2, 3]
    stored = await store.read("1804-plan")
    assert [e.hash for e in stored] == [r.hash for r in receipts]
    assert stored[0].prev_hash == GENESIS_HASH
    assert stored[1].prev_hash == stored[0].hash
    assert stored[2].prev_hash == stored[1].hash
    assert stored[0].data == {"n": 1, "text": "merknad 1 – ø"}
    assert (await store.verify("1804-plan")).ok


async def test_stale_expected_version_is_a_conflict_and_writes_nothing(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append("s", 0, [new_event(1)])
    with pytest.raises(ConcurrencyConflict) as caught:
        await store.append("s", 0, [new_event(2), new_event(3)])
    assert caught.value.actual_version == 1
    assert caught.value.expected_version == 0
    assert await count(pool, "s") == 1


async def test_two_concurrent_appenders_exactly_one_wins(database_url: str) -> None:
    # Two pools: the appenders really use two connections and race on the same head.
    pool_a = await create_pool(database_url, min_size=1, max_size=1)
    pool_b = await create_pool(database_url, min_size=1, max_size=1)
    try:
        store_a, store_b = EventStore(pool_a), EventStore(pool_b)
        for round_number in range(25):
            stream = f"race-{round_number}"
            await store_a.append(stream, 0, [new_event(0)])
            results = await asyncio.gather(
                store_a.append(stream, 1, [new_event(1), new_event(2)]),
                store_b.append(stream, 1, [new_event(3)]),
                return_exceptions=True,
            )
            winners = [r for r in results if isinstance(r, list)]
            losers = [r for r in results if isinstance(r, ConcurrencyConflict)]
            assert len(winners) == 1, results
            assert len(losers) == 1, results
            versions = [e.version for e in await store_a.read(stream)]
            assert versions == list(range(1, len(versions) + 1))
            assert len(versions) == 1 + len(winners[0])
            assert (await store_a.verify(stream)).ok
    finally:
        await pool_a.close()
        await pool_b.close()


async def test_retry_with_same_event_ids_returns_original_receipts(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    batch = [new_event(1), new_event(2)]
    original = await store.append("retry", 0, batch)
    again = await store.append("retry", 0, batch)  # a retried activity sends the same
    assert again == original
    assert await count(pool, "retry") == 2


async def test_same_event_id_with_other_content_is_refused(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    event = new_event(1)
    await store.append("idem", 0, [event])
    changed = NewEvent(event.event_id, event.type, {"n": 99}, event.actor_id, event.actor_role)
    with pytest.raises(EventIdConflict, match="different content"):
        await store.append("idem", 1, [changed])
    assert await count(pool, "idem") == 1


async def test_float_in_data_is_refused_before_writing(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    with pytest.raises(CanonicalFormError, match="floats are not allowed"):
        await store.append("floaty", 0, [new_event(1, share=0.5)])
    assert await count(pool, "floaty") == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET data = '{}'::jsonb",
        "DELETE FROM events",
        "TRUNCATE events",
        "UPDATE events SET actor_id = 'someone' WHERE version = 1",
    ],
)
async def test_database_refuses_changes_to_events(pool: asyncpg.Pool, statement: str) -> None:
    await EventStore(pool).append("locked", 0, [new_event(1)])
    with pytest.raises(asyncpg.PostgresError, match="append-only") as caught:
        await pool.execute(statement)
    assert caught.value.sqlstate == "TP001"
    assert await count(pool, "locked") == 1


async def test_store_translates_append_only_refusal(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append("locked", 0, [new_event(1)])
    with pytest.raises(AppendOnlyViolation):
        async with store._connection() as conn:
            await conn.execute("DELETE FROM events")


async def test_database_refuses_a_gap_even_from_raw_sql(pool: asyncpg.Pool) -> None:
    await EventStore(pool).append("gapless", 0, [new_event(1)])
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await pool.execute(
            """INSERT INTO events (stream_id, version, event_id, type, schema_version, data,
                   actor_id, actor_role, recorded_at, prev_hash, hash)
               VALUES ('gapless', 3, gen_random_uuid(), 'x', 1, '{}', 'a', 'b', now(),
                       repeat('0', 64), repeat('0', 64))"""
        )


async def tamper(pool: asyncpg.Pool, sql: str, *args: object) -> None:
    """What an intruder with superuser rights would do: switch the guard off, change, hide."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        await conn.execute("SET LOCAL session_replication_role = replica")  # skip the FK
        await conn.execute(sql, *args)
        await conn.execute("SET LOCAL session_replication_role = origin")
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")


async def tampered(
    pool: asyncpg.Pool, stream: str, count: int, sql: str, *args: object
) -> EventStore:
    """The store with ``count`` events recorded in ``stream``, then changed by ``sql``
    behind its back."""
    store = EventStore(pool)
    await store.append(stream, 0, [new_event(n) for n in range(1, count + 1)])
    await tamper(pool, sql, *args)
    return store


async def verdicts(store: EventStore, stream: str) -> tuple[VerifyResult, VerifyResult]:
    """The stream verified on its own and among others: both must say the same."""
    return await store.verify(stream), (await store.verify_streams([stream]))[0]


async def test_verify_names_the_tampered_version(pool: asyncpg.Pool) -> None:
    store = await tampered(
        pool,
        "tamper",
        5,
        "UPDATE events SET data = jsonb_set(data, '{text}', '\"endret\"') "
        "WHERE stream_id = 'tamper' AND version = 3",
    )
    result = await store.verify("tamper")
    assert not result.ok
    assert result.broken_version == 3
    assert "changed after recording" in (result.problem or "")
    assert result.last_version == 2


async def test_verify_reports_a_deleted_event_as_a_gap(pool: asyncpg.Pool) -> None:
    store = await tampered(
        pool, "hole", 5, "DELETE FROM events WHERE stream_id = 'hole' AND version = 4"
    )
    result = await store.verify("hole")
    assert result.broken_version == 4
    assert "gap" in (result.problem or "")


async def test_verify_detects_a_rewritten_chain_link(pool: asyncpg.Pool) -> None:
    store = await tampered(
        pool,
        "link",
        3,
        "UPDATE events SET prev_hash = repeat('a', 64) WHERE stream_id = 'link' AND version = 2",
    )
    result = await store.verify("link")
    assert result.broken_version == 2
    assert "prev_hash" in (result.problem or "")


def documented_record(stored: StoredEvent, stream_id: str, version: int) -> dict[str, Any]:
    """A recorded comment as docs/audit-format.md says its hash is taken, the stream and
    version as the test expects them."""
    return {
        "actor_id": stored.actor_id,
        "actor_role": stored.actor_role,
        "data": stored.data,
        "event_id": str(stored.event_id),
        "recorded_at": stored.recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "schema_version": 1,
        "stream_id": stream_id,
        "type": "comment_recorded",
        "version": version,
    }


async def test_stored_hash_matches_the_documented_rule(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    [receipt] = await store.append("rule", 0, [new_event(1)])
    [stored] = await store.read("rule")
    assert receipt.hash == chain_hash(GENESIS_HASH, documented_record(stored, "rule", 1))


async def test_a_batch_after_a_head_hashes_every_event_by_the_documented_rule(
    pool: asyncpg.Pool,
) -> None:
    """The batch's hashes are assembled inline; events the fast path does not take
    (here an int subclass in the data) go the reference way, in the same batch."""

    class Count(int):
        pass

    store = EventStore(pool)
    first = await store.append("mixed-ø", 0, [new_event(1)])
    batch = [
        new_event(2, note="Ørsta \u2028 «sitat»"),
        new_event(3, count=Count(7), nested={"b": [1, (2, "å")], "a": None}),
        new_event(4, big=2**70),
    ]
    receipts = await store.append("mixed-ø", 1, batch)
    prev_hash = first[0].hash
    for receipt, stored in zip(receipts, await store.read("mixed-ø", from_version=2), strict=True):
        record = documented_record(stored, "mixed-ø", stored.version)
        assert receipt.hash == stored.hash == chain_hash(prev_hash, record)
        prev_hash = receipt.hash
    assert (await store.verify("mixed-ø")).ok


async def test_read_up_to_version_and_as_of_time(pool: asyncpg.Pool) -> None:
    moments = iter(datetime(2026, 3, d, 12, tzinfo=UTC) for d in (1, 2, 3, 4))
    store = EventStore(pool, clock=lambda: next(moments))
    for n in range(4):
        await store.append("timeline", n, [new_event(n)])
    assert [e.version for e in await store.read("timeline", up_to_version=2)] == [1, 2]
    as_of = datetime(2026, 3, 3, 0, tzinfo=UTC)
    assert [e.version for e in await store.read("timeline", as_of=as_of)] == [1, 2]
    assert await store.read("timeline", as_of=as_of - timedelta(days=30)) == []


async def test_recorded_at_never_goes_backwards_within_a_stream(pool: asyncpg.Pool) -> None:
    moments = iter([datetime(2026, 5, 2, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)])
    store = EventStore(pool, clock=lambda: next(moments))
    await store.append("clock", 0, [new_event(1)])
    [second] = await store.append("clock", 1, [new_event(2)])
    assert second.recorded_at == datetime(2026, 5, 2, tzinfo=UTC)


async def test_read_all_in_global_order_from_a_position(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append("a", 0, [new_event(1)])
    await store.append("b", 0, [new_event(2)])
    await store.append("a", 1, [new_event(3)])
    everything = await store.read_all()
    assert [(e.stream_id, e.version) for e in everything] == [("a", 1), ("b", 1), ("a", 2)]
    rest = await store.read_all(after_position=everything[0].position, limit=1)
    assert [(e.stream_id, e.version) for e in rest] == [("b", 1)]
    assert await store.stream_ids() == ["a", "b"]


async def test_domain_events_round_trip_through_the_store(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    event = PhaseStarted(
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        actor_id="temaplan",
        actor_role=Role.SYSTEM,
        phase=Phase.STRATEGIES,
        reason="mål godkjent",
    )
    await store.append("domain", 0, [NewEvent.from_domain(event)])
    assert await store.read_domain("domain") == [event]


async def schema_snapshot(conn: asyncpg.Connection) -> list[tuple[str, ...]]:
    rows = await conn.fetch(
        """SELECT 'column', table_name, column_name, data_type FROM information_schema.columns
            WHERE table_schema = 'public'
           UNION ALL
           SELECT 'trigger', event_object_table, trigger_name, event_manipulation
             FROM information_schema.triggers
           UNION ALL
           SELECT 'migration', version::text, name, checksum FROM schema_migrations
           ORDER BY 1, 2, 3, 4"""
    )
    return [tuple(r) for r in rows]


async def test_migrations_run_twice_without_change(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        before = await schema_snapshot(conn)
        assert await migrate(conn) == []  # the template was migrated already
        assert await migrate(conn) == []
        assert await schema_snapshot(conn) == before
    assert any(row[0] == "trigger" for row in before)


async def test_migrations_apply_on_an_empty_database_then_do_nothing(
    postgres_server_url: str,
) -> None:
    name = f"temaplan_empty_{uuid.uuid4().hex[:8]}"
    async with scratch_database(postgres_server_url, name):
        conn = await asyncpg.connect(with_database(postgres_server_url, name))
        try:
            expected = [m.version for m in bundled_migrations()]
            assert await migrate(conn) == expected
            snapshot = await schema_snapshot(conn)
            assert await migrate(conn) == []
            assert await schema_snapshot(conn) == snapshot
        finally:
            await conn.close()


async def test_an_edited_migration_is_refused(pool: asyncpg.Pool) -> None:
    first = bundled_migrations()[0]
    edited = Migration(first.version, first.name, first.sql + "\n-- edited later\n")
    async with pool.acquire() as conn:
        with pytest.raises(MigrationError, match="was changed after it was applied"):
            await migrate(conn, [edited])


async def test_verify_streams_checks_many_streams_in_order_and_names_each_break(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool)
    for name in ("p1", "p2", "p3"):
        await store.append(name, 0, [new_event(n) for n in range(1, 4)])
    await tamper(
        pool,
        "UPDATE events SET data = '{\"n\": 0}'::jsonb WHERE stream_id = 'p2' AND version = 2",
    )
    results = await store.verify_streams(["p3", "p2", "missing", "p1"])
    assert [r.stream_id for r in results] == ["p3", "p2", "missing", "p1"]
    assert [r.ok for r in results] == [True, False, True, True]
    assert results[1].broken_version == 2
    assert [r.events_checked for r in results] == [3, 2, 0, 3]
    assert results[0].last_hash == (await store.verify("p3")).last_hash


async def test_verify_streams_pages_through_more_events_than_one_page(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    for name in ("long-a", "long-b"):
        for start in range(0, 2400, 400):
            await store.append(name, start, [new_event(n) for n in range(400)])
    results = await store.verify_streams(["long-a", "long-b"])
    assert [(r.ok, r.events_checked) for r in results] == [(True, 2400), (True, 2400)]


async def test_iter_stream_pages_through_a_stream_in_order(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append("paged", 0, [new_event(n) for n in range(25)])
    seen = [e.version async for e in store.iter_stream("paged", page=10)]
    assert seen == list(range(1, 26))
    assert [e.version async for e in store.iter_stream("paged", up_to_version=12, page=5)] == list(
        range(1, 13)
    )
    assert [e async for e in store.iter_stream("none")] == []


async def test_canonical_data_is_the_hashed_text_and_the_server_confirms_it(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool)
    receipts = await store.append("canon", 0, [new_event(n, extra=["å", 2]) for n in (1, 2)])
    rows = await pool.fetch(
        "SELECT canonical_data, data::text AS data, hash,"
        " ROW(data)::record *= ROW(canonical_data::jsonb)::record AS same"
        " FROM events WHERE stream_id = 'canon' ORDER BY version"
    )
    for row, receipt in zip(rows, receipts, strict=True):
        assert row["canonical_data"] == canonical_json(json.loads(row["data"])).decode()
        assert row["same"] is True  # verify takes the fast path for these
        assert row["hash"] == receipt.hash
    assert (await store.verify("canon")).ok


@pytest.mark.parametrize(
    ("canonical_data", "why"),
    [
        ('{"n":2,"text":"merknad 2 – ø"}', "another content, valid JSON"),
        ('{"n": 3, "text": "merknad 3 – ø"}', "the same content, not canonical"),
        ('{"n":3,"text":', "not JSON at all: the server cannot parse it"),
    ],
)
async def test_verify_names_an_event_whose_canonical_data_was_changed(
    pool: asyncpg.Pool, canonical_data: str, why: str
) -> None:
    store = await tampered(
        pool,
        "text",
        5,
        "UPDATE events SET canonical_data = $1 WHERE stream_id = 'text' AND version = 3",
        canonical_data,
    )
    for result in await verdicts(store, "text"):
        assert not result.ok, why
        assert result.broken_version == 3, why
        assert "changed after recording" in (result.problem or ""), why
        assert result.last_version == 2


async def test_verify_names_changed_data_when_the_text_was_changed_to_match(
    pool: asyncpg.Pool,
) -> None:
    store = await tampered(
        pool,
        "both",
        3,
        "UPDATE events SET data = '{\"n\": 0}'::jsonb, canonical_data = '{\"n\":0}'"
        " WHERE stream_id = 'both' AND version = 2",
    )
    for result in await verdicts(store, "both"):
        assert result.broken_version == 2
        assert "hash does not match" in (result.problem or "")


async def test_data_changed_to_an_equal_number_of_another_form_is_not_accepted(
    pool: asyncpg.Pool,
) -> None:
    # jsonb's = holds 1 and 1.0 equal; the server's check compares the bits.
    store = await tampered(
        pool,
        "scale",
        2,
        "UPDATE events SET data = jsonb_set(data, '{n}', '2.0') "
        "WHERE stream_id = 'scale' AND version = 2",
    )
    # The reference path refuses the float outright, as it always has.
    with pytest.raises(CanonicalFormError):
        await store.verify_streams(["scale"])


async def test_events_without_canonical_data_verify_from_their_jsonb(pool: asyncpg.Pool) -> None:
    # Events recorded before migration 0003 have no canonical_data.
    store = await tampered(
        pool, "old", 5, "UPDATE events SET canonical_data = NULL WHERE stream_id = 'old'"
    )
    assert (await store.verify("old")).ok
    assert (await store.verify_streams(["old"]))[0].ok
    await tamper(
        pool,
        "UPDATE events SET data = jsonb_set(data, '{text}', '\"endret\"') "
        "WHERE stream_id = 'old' AND version = 4",
    )
    for result in await verdicts(store, "old"):
        assert result.broken_version == 4
        assert "changed after recording" in (result.problem or "")


async def head_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Streams whose head the store reads from now on (its one fetchrow on append)."""
    streams: list[str] = []
    fetchrow = asyncpg.connection.Connection.fetchrow

    async def counted(self: asyncpg.Connection, query: str, *args: object, **kw: object) -> object:
        if query == store_module._HEAD:
            streams.append(str(args[0]))
        return await fetchrow(self, query, *args, **kw)

    monkeypatch.setattr(asyncpg.connection.Connection, "fetchrow", counted)
    return streams


async def test_an_append_after_its_own_skips_the_head_read_and_chains(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore(pool)
    reads = await head_reads(monkeypatch)
    await store.append("own", 0, [new_event(1), new_event(2)])
    await store.append("own", 2, [new_event(3)])
    await store.append("own", 3, [new_event(4)])
    assert reads == []
    assert (await store.verify("own")).ok
    # Another store in the same database knows nothing of these appends: it reads.
    await EventStore(pool).append("own", 4, [new_event(5)])
    assert reads == ["own"]
    assert (await store.verify("own")).last_version == 5


async def test_a_remembered_head_that_another_writer_passed_is_a_conflict(
    pool: asyncpg.Pool,
) -> None:
    store, other = EventStore(pool), EventStore(pool)
    await store.append("shared", 0, [new_event(1)])
    await other.append("shared", 1, [new_event(2)])
    # This store remembers version 1 as the head; the insert of version 2 is refused.
    with pytest.raises(ConcurrencyConflict) as conflict:
        await store.append("shared", 1, [new_event(3)])
    assert conflict.value.actual_version == 2
    [receipt] = await store.append("shared", 2, [new_event(3)])
    assert receipt.version == 3
    assert (await store.verify("shared")).ok


async def test_a_retry_after_a_remembered_append_gets_the_original_receipts(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool)
    await store.append("again", 0, [new_event(1)])
    events = [new_event(2), new_event(3)]
    first = await store.append("again", 1, events)
    assert await store.append("again", 1, events) == first
    assert await count(pool, "again") == 3


async def test_a_stream_cut_behind_the_store_is_read_as_it_is(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append("cut", 0, [new_event(1), new_event(2), new_event(3)])
    await tamper(pool, "DELETE FROM events WHERE stream_id = 'cut' AND version = 3")
    # The store remembers version 3, which is gone: the insert of 4 has no version 3
    # to follow, and the store then reads the head as it is.
    with pytest.raises(ConcurrencyConflict) as conflict:
        await store.append("cut", 3, [new_event(4)])
    assert conflict.value.actual_version == 2
