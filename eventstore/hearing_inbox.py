"""Public hearing responses, appended to the plan's stream by the API itself.

One workflow per plan cannot take a flood of Updates (Temporal admits a few in flight per
workflow), so a response from the public is not a workflow Update: the API appends it,
and the workflow reads the responses from the record when it closes the hearing.

- **Exactly once.** The event id is derived from the plan, the hearing (the version of
  its ``hearing_opened`` event) and the request: the SHA-256 of its Idempotency-Key, or
  of the response's canonical content when it has none. A request sent again finds its
  event by that id and gets the original receipt; the same key with other content is
  refused.
- **Never after the close.** Each batch locks the plan's row in ``hearing_fences``
  (migration 0060), which the ``hearing_opened`` and ``hearing_closed`` events write in
  their own insert, and which the workflow seals before it reads the responses to close
  the hearing. A response is therefore committed before the seal (and read by the
  workflow) or refused.
- **Group commit.** Responses to one plan that arrive while a batch is being written wait
  for the next one: one transaction (fence, duplicates, head, one INSERT) per batch of up
  to ``max_batch`` responses. At most ``max_waiting`` wait per plan; beyond that the
  caller is told to send it again (nothing was recorded).
- **Paced.** With ``per_second``, one plan's responses are written at most that many a
  second (a token bucket holding one second's worth), the rest waiting their turn. A
  flood of responses to one plan would otherwise take every core the machine has, and the
  people deciding in other plans would wait behind it: the public is answered a little
  later instead. Whoever waits longer than ``max_wait`` seconds' worth of the pace is told
  to send it again (nothing was recorded).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid5

import asyncpg

from domain.alike import alike
from domain.canonical import GENESIS_HASH, canonical_json
from domain.events import HearingResponseReceived, PublicRequest
from domain.hearing_decisions import response_received
from eventstore.errors import StoreUnavailable
from eventstore.log import leaf_indexes
from eventstore.pace import Pace
from eventstore.records import (
    NewEvent,
    Receipt,
    StoredEvent,
    _same_content,
    _stored,
    _without_clock,
)
from eventstore.store import _COLUMNS, _INSERT, EventStore

# Event ids of public responses: uuid5 in this namespace of
# "<plan id>/hearing/<hearing_opened version>/<request key>" (docs/audit-format.md).
RESPONSE_NAMESPACE = UUID("5b7f3d52-2f0c-4c1e-9a57-6a1d1c0e4f11")

_FENCE = (
    "SELECT opened_version, deadline, sealed_at, closed_version, closed_at, closed_by, "
    "closed_early, reason FROM hearing_fences WHERE stream_id = $1 FOR UPDATE"
)
_HEAD = (
    "SELECT version, hash, recorded_at, (data->>'occurred_at')::timestamptz AS occurred_at "
    "FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1"
)
_COUNT = (
    "UPDATE hearing_fences SET responses = responses + $2 WHERE stream_id = $1 "
    "RETURNING opened_version, responses"
)
_SEAL = (
    "UPDATE hearing_fences SET sealed_at = coalesce(sealed_at, now()) "
    "WHERE stream_id = $1 AND opened_version = $2 AND closed_version IS NULL"
)
# How often a batch is tried again when the workflow appended to the stream between our
# head read and our insert (the fence does not hold the workflow's own appends back).
_ATTEMPTS = 20


def request_key(idempotency_key: str | None, name: str, organisation: str | None, text: str) -> str:
    if idempotency_key:
        return "key:" + hashlib.sha256(idempotency_key.encode()).hexdigest()
    content = canonical_json({"name": name, "organisation": organisation, "text": text})
    return "content:" + hashlib.sha256(content).hexdigest()


def response_event_id(plan_id: str, hearing_version: int, key: str) -> UUID:
    return uuid5(RESPONSE_NAMESPACE, f"{plan_id}/hearing/{hearing_version}/{key}")


@dataclass(frozen=True)
class PublicResponse:
    name: str
    organisation: str | None
    text: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class InboxReceipt:
    version: int
    event_id: UUID
    hash: str
    recorded_at: datetime
    position: int
    response_id: str
    duplicate: bool = False
    leaf_index: int | None = None  # in the Merkle log

    @classmethod
    def of(cls, stored: Receipt, response_id: str) -> InboxReceipt:
        """The receipt of a response the store recorded, fresh or earlier."""
        return alike(cls, stored, response_id=response_id)


class InboxRefusal(Exception):
    """The response was not recorded: ``code`` is a refusal code the API maps to HTTP."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Waiting:
    response: PublicResponse
    answer: asyncio.Future[InboxReceipt]


class HearingInbox:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_batch: int = 250,
        max_waiting: int = 5000,
        per_second: float | None = None,
        max_wait: float = 5.0,
        clock: Callable[[], datetime] = _utc_now,
        on_recorded: Callable[[str, int, int], None] | None = None,
    ) -> None:
        """``on_recorded(plan_id, hearing_version, count)``: called after each batch that
        recorded responses, with how many the API has recorded for that hearing."""
        self._pool = pool
        self._max_batch = max_batch
        self._max_waiting = max_waiting
        if per_second is not None:
            self._max_waiting = min(max_waiting, max(1, int(per_second * max_wait)))
        self._pace = Pace(per_second) if per_second else None
        self._clock = clock
        self._on_recorded = on_recorded
        self._queues: dict[str, list[_Waiting]] = {}
        self._writers: dict[str, asyncio.Task[None]] = {}

    async def respond(self, plan_id: str, response: PublicResponse) -> InboxReceipt:
        queue = self._queues.setdefault(plan_id, [])
        if len(queue) >= self._max_waiting:
            raise InboxRefusal(
                "PlanBusy",
                f"plan '{plan_id}' has too many hearing responses waiting; nothing was "
                "recorded; send it again in a moment",
            )
        answer: asyncio.Future[InboxReceipt] = asyncio.get_running_loop().create_future()
        queue.append(_Waiting(response, answer))
        if plan_id not in self._writers:
            self._writers[plan_id] = asyncio.create_task(self._write(plan_id))
        return await answer

    async def _write(self, plan_id: str) -> None:
        """Writes the plan's waiting responses, a batch at a time, until none wait."""
        queue = self._queues[plan_id]
        batch: list[_Waiting] = []
        try:
            while queue:
                size = self._max_batch
                if self._pace is not None:
                    size = await self._pace.take(plan_id, min(size, len(queue)))
                batch = queue[:size]
                del queue[: len(batch)]
                answers: list[InboxReceipt | BaseException]
                try:
                    answers = list(await self._commit(plan_id, [w.response for w in batch]))
                except Exception as exc:  # the callers get it; the writer goes on
                    answers = [exc] * len(batch)
                for waiting, answer in zip(batch, answers, strict=True):
                    if waiting.answer.done():
                        continue  # the caller went away
                    if isinstance(answer, BaseException):
                        waiting.answer.set_exception(answer)
                    else:
                        waiting.answer.set_result(answer)
                batch = []
        finally:
            # Normally nothing waits here (no await since the loop saw the queue empty).
            # If the writer was cancelled, no caller is left waiting for ever: whether
            # its batch was committed is unknown, and sending it again is safe.
            for waiting in (*batch, *queue):
                if not waiting.answer.done():
                    waiting.answer.set_exception(
                        StoreUnavailable("the writer stopped; send the same response again")
                    )
            del self._queues[plan_id]
            del self._writers[plan_id]

    async def _commit(
        self, plan_id: str, responses: list[PublicResponse]
    ) -> list[InboxReceipt | InboxRefusal]:
        for _ in range(_ATTEMPTS):
            try:
                async with self._pool.acquire() as conn:
                    async with conn.transaction():
                        answers, counted = await self._commit_in(conn, plan_id, responses)
                    answers = await _with_leaves(conn, answers)
                if counted is not None and self._on_recorded is not None:
                    # Only once committed: nothing is told of a batch rolled back.
                    self._on_recorded(plan_id, *counted)
                return answers
            except asyncpg.UniqueViolationError:
                continue  # the workflow appended meanwhile: read the new head
            except (OSError, asyncpg.PostgresConnectionError) as exc:
                raise StoreUnavailable(str(exc)) from exc
        raise InboxRefusal(
            "PlanBusy",
            f"plan '{plan_id}' is busy recording; nothing was recorded; send it again",
        )

    async def _commit_in(
        self, conn: asyncpg.Connection, plan_id: str, responses: list[PublicResponse]
    ) -> tuple[list[InboxReceipt | InboxRefusal], tuple[int, int] | None]:
        """The answers, and (hearing version, how many responses the API has recorded
        for that hearing) when this batch recorded any."""
        fence = await conn.fetchrow(_FENCE, plan_id)
        if fence is None:
            refusal = InboxRefusal("NotOpenYet", "the plan has not been on public hearing yet")
            return [refusal] * len(responses), None
        hearing = fence["opened_version"]
        now = self._clock()
        head = await conn.fetchrow(_HEAD, plan_id)
        # The decision time never goes back within a stream (a workflow's clock may run
        # ahead of this machine's, e.g. in a test server that skips time).
        at = max(now, head["occurred_at"]) if head is not None and head["occurred_at"] else now
        events = [self._event(plan_id, hearing, r, at) for r in responses]
        stored = {
            s.event_id: s
            for s in map(
                _stored,
                await conn.fetch(
                    f"SELECT {_COLUMNS} FROM events WHERE event_id = ANY($1::uuid[])",
                    list({e.event_id for e in events}),
                ),
            )
        }
        closed = _closed(fence, now)
        answers: list[InboxReceipt | InboxRefusal | None] = []
        new: dict[UUID, tuple[NewEvent, list[int]]] = {}
        for index, event in enumerate(events):
            record = NewEvent.from_domain(event)
            earlier = stored.get(event.event_id)
            if (
                earlier is not None
                and closed is not None
                and responses[index].idempotency_key is None
            ):
                # Without a key there is no request to recognise, only the same words
                # again: after the close that is a late response like any other.
                answers.append(closed)
            elif earlier is not None:
                answers.append(_replay(earlier, plan_id, record, event.response_id))
            elif event.event_id in new:
                first, indexes = new[event.event_id]
                answers.append(_conflict(record) if not _same(first, record) else None)
                indexes.append(index)
            elif closed is not None:
                answers.append(closed)
            else:
                new[event.event_id] = (record, [index])
                answers.append(None)
        if new:
            version = head["version"] if head is not None else 0
            prev_hash = head["hash"] if head is not None else GENESIS_HASH
            recorded_at = max(now, head["recorded_at"]) if head is not None else now
            records = [r for r, _ in new.values()]
            batch, hashes = EventStore._chain(plan_id, version, prev_hash, recorded_at, records)
            counted = await conn.fetchrow(_COUNT, plan_id, len(new))
            rows = sorted(
                await conn.fetch(_INSERT, plan_id, recorded_at, batch), key=lambda r: r["version"]
            )
            for (record, indexes), row, event_hash in zip(new.values(), rows, hashes, strict=True):
                recorded = Receipt(
                    plan_id,
                    row["version"],
                    record.event_id,
                    event_hash,
                    recorded_at,
                    row["position"],
                )
                receipt = InboxReceipt.of(recorded, str(record.data["response_id"]))
                for at, index in enumerate(indexes):
                    if answers[index] is None:
                        answers[index] = receipt if at == 0 else _duplicate(receipt)
            return [a for a in answers if a is not None], (
                counted["opened_version"],
                counted["responses"],
            )
        return [a for a in answers if a is not None], None

    def _event(
        self, plan_id: str, hearing: int, response: PublicResponse, now: datetime
    ) -> HearingResponseReceived:
        key = request_key(
            response.idempotency_key, response.name, response.organisation, response.text
        )
        event_id = response_event_id(plan_id, hearing, key)
        return response_received(
            event_id,
            now,
            f"api-{event_id}",
            response,
            received=PublicRequest(request_key=key, hearing_version=hearing),
        )

    async def seal(self, plan_id: str, hearing_version: int) -> bool:
        """No response is taken for this hearing after this returns: the workflow calls it
        before it reads the responses and closes the hearing. It waits for a batch being
        written (the fence's lock). Idempotent; False when the hearing is not open."""
        result = await self._pool.execute(_SEAL, plan_id, hearing_version)
        return bool(result.endswith(" 1"))


def _closed(fence: asyncpg.Record, now: datetime) -> InboxRefusal | None:
    if fence["closed_version"] is not None and fence["closed_early"]:
        at = fence["closed_at"]
        return InboxRefusal(
            "LateResponse",
            f"the hearing was closed early on {at:%Y-%m-%d %H:%M} UTC by "
            f"{fence['closed_by']}: {fence['reason'] or 'no reason given'}; responses "
            "after the close are not accepted",
        )
    if fence["closed_version"] is not None or fence["sealed_at"] is not None:
        return InboxRefusal(
            "LateResponse",
            f"the hearing is closed (its deadline was {fence['deadline'].isoformat()}); "
            "responses after the close are not accepted",
        )
    if now > fence["deadline"]:
        return InboxRefusal(
            "LateResponse",
            f"the hearing's deadline {fence['deadline'].isoformat()} has passed; responses "
            "after the close are not accepted",
        )
    return None


async def _with_leaves(
    conn: asyncpg.Connection, answers: list[InboxReceipt | InboxRefusal]
) -> list[InboxReceipt | InboxRefusal]:
    """The receipts with their leaves in the Merkle log: one query for the batch."""
    positions = [a.position for a in answers if isinstance(a, InboxReceipt)]
    if not positions:
        return answers
    leaves = await leaf_indexes(conn, positions)
    return [
        dataclasses.replace(a, leaf_index=leaves.get(a.position))
        if isinstance(a, InboxReceipt)
        else a
        for a in answers
    ]


def _same(a: NewEvent, b: NewEvent) -> bool:
    return canonical_json(_without_clock(a.data)) == canonical_json(_without_clock(b.data))


def _conflict(record: NewEvent) -> InboxRefusal:
    return InboxRefusal(
        "IdempotencyKeyReused",
        f"this Idempotency-Key was used for another response (event {record.event_id}); "
        "nothing was recorded",
    )


def _replay(
    earlier: StoredEvent, plan_id: str, record: NewEvent, response_id: str
) -> InboxReceipt | InboxRefusal:
    if not _same_content(earlier, plan_id, record):
        return _conflict(record)
    return _duplicate(InboxReceipt.of(earlier.receipt(), response_id))


def _duplicate(receipt: InboxReceipt) -> InboxReceipt:
    return dataclasses.replace(receipt, duplicate=True)
