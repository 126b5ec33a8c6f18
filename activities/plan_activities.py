"""Everything the plan workflow does to the world, as methods of one class holding the pool."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

import catalogue
from activities.models import (
    AppendEventsInput,
    AppendEventsOutput,
    CompileContentInput,
    CompileContentOutput,
    EventsAfterInput,
    EventsAfterOutput,
    LoadPlanInput,
    LoadPlanOutput,
    NotifyInput,
    NotifyOutput,
    ReceiptAtInput,
    RenderDraftInput,
    RenderDraftOutput,
    RenderScorecardInput,
    RenderScorecardOutput,
    SealHearingInput,
    SealHearingOutput,
)
from activities.rendering import render_html, render_markdown
from activities.scorecard_rendering import render_scorecard_html, render_scorecard_markdown
from catalogue import formats
from domain.alike import alike
from domain.canonical import CanonicalFormError
from domain.commands import Receipt
from domain.events import Event
from domain.rules import content_problems
from domain.state import fold
from eventstore import (
    ConcurrencyConflict,
    DataRefused,
    EventIdConflict,
    EventStore,
    NewEvent,
    documents,
)
from eventstore import Receipt as StoreReceipt
from eventstore.documents import Rendering
from eventstore.hearing_inbox import HearingInbox
from eventstore.log import MerkleLog
from eventstore.outbox import NewNotification, Outbox

log = structlog.get_logger(__name__)

# events_after's pages stay well under Temporal's 2 MB limit on a payload.
PAGE_BYTES = 1_000_000


class PlanActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._store = EventStore(pool)
        self._log = MerkleLog(pool)
        self._inbox = HearingInbox(pool)
        self._outbox = Outbox(pool)

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendEventsInput) -> AppendEventsOutput:
        """Append the workflow's decided events. Their ids are deterministic, so a retry
        after a commit whose answer was lost returns the original receipts."""
        new_events = [NewEvent.from_domain(event) for event in request.events]
        try:
            if request.at_end:
                receipts = await self._store.append_at_end(request.stream_id, new_events)
            else:
                receipts = await self._store.append(
                    request.stream_id, request.expected_version, new_events
                )
        except ConcurrencyConflict as exc:
            raise ApplicationError(
                str(exc), type="ConcurrencyConflict", non_retryable=True
            ) from exc
        except (EventIdConflict, CanonicalFormError, DataRefused) as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
        log.info(
            "events recorded",
            plan_id=request.stream_id,
            types=[e.type for e in request.events],
            version=receipts[-1].version,
        )
        # Given by the log's sequencer, which this look-up runs (migration 0070).
        leaves = await self._log.leaf_indexes([r.position for r in receipts])
        stored_times = [r.stored_occurred_at for r in receipts]
        return AppendEventsOutput(
            occurred_at=[datetime.fromisoformat(t) for t in stored_times if t is not None]
            if all(stored_times)
            else None,
            receipts=[
                _receipt(r, event.type, leaves)
                for r, event in zip(receipts, request.events, strict=True)
            ],
        )

    @activity.defn(name="events_after")
    async def events_after(self, request: EventsAfterInput) -> EventsAfterOutput:
        """The stream's events after the version a workflow has folded: a workflow whose
        record got ahead of it (an append it never saw the end of) catches up with them."""
        if request.limit is None:
            stored = await self._store.read(
                request.stream_id, from_version=request.after_version + 1
            )
            return EventsAfterOutput(events=[e.to_domain() for e in stored])
        stored = await self._store.read(
            request.stream_id,
            from_version=request.after_version + 1,
            up_to_version=request.after_version + request.limit,
        )
        page: list[Event] = []
        size = 0
        for event in stored:
            size += len(orjson.dumps(event.data))
            if page and size > PAGE_BYTES:
                break
            page.append(event.to_domain())
        return EventsAfterOutput(events=page)

    @activity.defn(name="seal_hearing")
    async def seal_hearing(self, request: SealHearingInput) -> SealHearingOutput:
        """The public's responses to this hearing stop here (hearing_fences): after it the
        workflow reads them all from the record and closes the hearing."""
        sealed = await self._inbox.seal(request.stream_id, request.hearing_version)
        return SealHearingOutput(sealed=sealed)

    @activity.defn(name="receipt_at")
    async def receipt_at(self, request: ReceiptAtInput) -> Receipt:
        """The receipt of an event already recorded, for a request that is repeated."""
        [stored] = await self._store.read(
            request.stream_id, up_to_version=request.version, from_version=request.version
        )
        leaves = await self._log.leaf_indexes([stored.position])
        return _receipt(stored.receipt(), stored.type, leaves)

    @activity.defn(name="compile_content")
    async def compile_content(self, request: CompileContentInput) -> CompileContentOutput:
        """Check a submission against the hierarchy rules and total its costs."""
        problems = content_problems(request.content, request.definition, request.phase)
        if problems:
            raise ApplicationError(
                "; ".join(p.render() for p in problems), type="InvalidContent", non_retryable=True
            )
        content = request.content
        totals = content.cost_totals()
        return CompileContentOutput(
            content_hash=content.content_hash(),
            goals=len(content.goals),
            strategies=len(content.strategies),
            measures=len(content.measures),
            investment_nok=totals.investment_nok,
            running_nok_per_year=totals.running_nok_per_year,
            unknown_costs=list(content.measures_with_unknown_costs()),
        )

    @activity.defn(name="render_draft")
    async def render_draft(self, request: RenderDraftInput) -> RenderDraftOutput:
        args = (request.definition, request.content, request.content_version, request.content_hash)
        markdown, html = render_markdown(*args), render_html(*args)
        await documents.store_draft(
            self._pool,
            request.definition.plan_id,
            request.content_version,
            request.content_hash,
            _formats(markdown, html),
        )
        return RenderDraftOutput.of(markdown, html)

    @activity.defn(name="notify")
    async def notify(self, request: NotifyInput) -> NotifyOutput:
        subject, body = notice_text(request.notice, request.values) if request.notice else ("", "")
        queued = await self._outbox.enqueue(
            [
                NewNotification(
                    dedupe_key=f"{request.dedupe_prefix}/{n.recipient_id}",
                    plan_id=request.plan_id,
                    recipient_id=n.recipient_id,
                    recipient_email=n.recipient_email,
                    subject=subject or n.subject,
                    body=body or n.body,
                )
                for n in request.notifications
            ]
        )
        return NotifyOutput(queued=queued)

    @activity.defn(name="load_plan")
    async def load_plan(self, request: LoadPlanInput) -> LoadPlanOutput:
        """The plan's state folded from its stream, for the workflows that begin after
        adoption: the store, not another workflow, is the plan's record."""
        events = await self._store.read_domain(request.plan_id)
        if not events:
            raise ApplicationError(
                f"plan {request.plan_id} has no events; is the plan id right?",
                type="UnknownPlan",
                non_retryable=True,
            )
        return LoadPlanOutput(state=fold(events), version=len(events))

    @activity.defn(name="render_scorecard")
    async def render_scorecard(self, request: RenderScorecardInput) -> RenderScorecardOutput:
        card = request.scorecard
        markdown = render_scorecard_markdown(request.definition, card)
        html = render_scorecard_html(request.definition, card)
        await documents.store_scorecard(
            self._pool,
            request.definition.plan_id,
            card.year,
            card.content_hash,
            _formats(markdown, html),
        )
        return RenderScorecardOutput.of(markdown, html)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.load_plan,
            self.render_scorecard,
            self.append_events,
            self.events_after,
            self.seal_hearing,
            self.receipt_at,
            self.compile_content,
            self.render_draft,
            self.notify,
        ]


def notice_text(
    notice: str, values: dict[str, str], language: catalogue.Language = "nb"
) -> tuple[str, str]:
    """A notification's subject and body in the catalogue's words (bokmål: the e-mails go
    to the plan's own people); a deadline written out in Oslo time, or a dash; a step
    given by its key (``step_key``) named by its title. A workflow scheduled before steps
    were named by key passes the title itself (``step``)."""
    shown = {
        name: (formats.moment(datetime.fromisoformat(value), language) if value else "–")
        if name.endswith("deadline")
        else value
        for name, value in values.items()
    }
    if "step_key" in values:
        shown["step"] = catalogue.step_title(values["step_key"], language)
    return (
        catalogue.t(f"notice.{notice}_subject", language, **shown),
        catalogue.t(f"notice.{notice}_body", language, **shown),
    )


def _formats(markdown: str, html: str) -> list[Rendering]:
    """A document as the store keeps it: its Markdown and its HTML."""
    return [Rendering("markdown", markdown), Rendering("html", html)]


def _receipt(stored: StoreReceipt, event_type: str, leaves: dict[int, int]) -> Receipt:
    """The receipt of an event the store recorded, with its leaf in the log if it has one."""
    return alike(
        Receipt,
        stored,
        plan_id=stored.stream_id,
        event_type=event_type,
        leaf_index=leaves.get(stored.position),
    )
