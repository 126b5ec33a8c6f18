"""The event store against the Temporal history: every decision the workflow recorded
has exactly one event in the store, with the version, hash and recorded time its receipt
in the history names, and every event in the store traces back to it.

The workflow records events only through the ``append_events`` local activity, whose
marker in the history carries the receipts of the events appended (event id, type,
version, hash, recorded time), and it answers people's updates with the same receipts.
(Older histories appended through a regular activity, whose input carries the events
and whose result the receipts: both are read.) Both are read straight from the history,
so the check needs nothing but the history and the store.

Caught-up events: a worker that died during an append leaves events in the store whose
receipt never reached the history. The workflow later finds the record ahead of it and
folds them through the ``events_after`` activity (patch ``catch-up-with-record``), whose
result in the history names each of them. Such an event traces back to the history
through that result (id, type and version are compared with the store; it has no
receipt, so no hash or recorded time of its own to compare); the next receipt in the
history, whose hash chains over it, vouches for its content. They are counted apart.

Public hearing responses: the API appends them itself (eventstore/hearing_inbox.py), so
no workflow history names them before the workflow reads them back when it closes the
hearing. Such an event traces back to the API's request instead: it says so in its data
(``received``), its event id is the one derived from the plan, the hearing and the
request key (and a content key is the digest of the response's own words), and it lies
within the hearing it names, between its opening and its close. They are counted apart
too (docs/audit-format.md, "Public hearing responses").
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import MarkerRecordedEventAttributes
from temporalio.client import WorkflowHistory

from catalogue import Language, t
from eventstore.hearing_inbox import request_key, response_event_id

APPEND_ACTIVITY = "append_events"
LOCAL_ACTIVITY_MARKER = "core_local_activity"


CATCH_UP_ACTIVITY = "events_after"


@dataclass(frozen=True)
class StoredFacts:
    """What the store holds of one event, to hold against a receipt."""

    version: int
    type: str
    hash: str
    recorded_at: datetime
    # A public hearing response appended by the API: "" when it traces back to its
    # request, else why not. None for every other event.
    public: str | None = None


@dataclass(frozen=True)
class HistoryDecision:
    event_id: str
    type: str
    run_id: str
    # "append" (an append's receipts or input), "receipt" (an update's answer) or
    # "caught-up" (events_after's result: stored by an append whose result was lost)
    source: str
    version: int | None = None
    hash: str | None = None
    recorded_at: datetime | None = None


@dataclass
class CrossCheck:
    plan_id: str
    store_events: int
    history_decisions: int
    runs: int
    problems: list[str] = field(default_factory=list)
    caught_up: int = 0
    public_responses: int = 0
    receipts_compared: int = 0
    last_receipted_version: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _from_receipt(item: Mapping[str, Any], run_id: str, source: str) -> HistoryDecision:
    recorded = item.get("recorded_at")
    return HistoryDecision(
        str(item["event_id"]),
        str(item.get("event_type") or ""),
        run_id,
        source,
        version=int(item["version"]) if item.get("version") is not None else None,
        hash=str(item["hash"]) if item.get("hash") is not None else None,
        recorded_at=datetime.fromisoformat(recorded) if isinstance(recorded, str) else None,
    )


def decisions_in_history(histories: Iterable[WorkflowHistory]) -> list[HistoryDecision]:
    """Events whose append completed (with their receipts where the history has them),
    receipts returned to people, and events a workflow caught up with."""
    found: list[HistoryDecision] = []
    for history in histories:
        scheduled: dict[int, tuple[str, Any]] = {}
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attributes = event.activity_task_scheduled_event_attributes
                name = attributes.activity_type.name
                if name == APPEND_ACTIVITY:
                    [payload] = attributes.input.payloads
                    scheduled[event.event_id] = (name, json.loads(payload.data)["events"])
                elif name == CATCH_UP_ACTIVITY:
                    [payload] = attributes.input.payloads
                    scheduled[event.event_id] = (name, json.loads(payload.data))
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                attributes_done = event.activity_task_completed_event_attributes
                name, given = scheduled.get(attributes_done.scheduled_event_id, ("", None))
                payloads = attributes_done.result.payloads
                result = json.loads(payloads[0].data) if payloads else {}
                if name == APPEND_ACTIVITY:
                    found.extend(_regular_append(given, result, history.run_id))
                elif name == CATCH_UP_ACTIVITY:
                    after = int(given["after_version"])
                    found.extend(
                        HistoryDecision(
                            str(item["event_id"]),
                            str(item["type"]),
                            history.run_id,
                            "caught-up",
                            version=after + offset,
                        )
                        for offset, item in enumerate(result.get("events", ()), start=1)
                    )
            elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                found.extend(_local_append(event.marker_recorded_event_attributes, history.run_id))
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                outcome = event.workflow_execution_update_completed_event_attributes.outcome
                if outcome.HasField("success") and outcome.success.payloads:
                    receipt = json.loads(outcome.success.payloads[0].data)
                    if isinstance(receipt, dict) and "event_id" in receipt:
                        found.append(_from_receipt(receipt, history.run_id, "receipt"))
    return found


def _regular_append(
    events: list[dict[str, Any]], result: dict[str, Any], run_id: str
) -> list[HistoryDecision]:
    """An append through a regular activity: its receipts when the result has them, else
    the ids and types of the events it was given."""
    receipts = result.get("receipts") if isinstance(result, dict) else None
    if receipts and len(receipts) == len(events):
        return [_from_receipt(r, run_id, "append") for r in receipts]
    return [
        HistoryDecision(str(item["event_id"]), str(item["type"]), run_id, "append")
        for item in events
    ]


def _local_append(marker: MarkerRecordedEventAttributes, run_id: str) -> list[HistoryDecision]:
    """The workflow appends through a local activity: its marker records the receipts
    of every event appended once the append has completed."""
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in marker.details:
        return []
    meta = json.loads(marker.details["data"].payloads[0].data)
    if meta.get("activity_type") != APPEND_ACTIVITY or "result" not in marker.details:
        return []  # another activity, or an attempt that failed
    output = json.loads(marker.details["result"].payloads[0].data)
    return [_from_receipt(r, run_id, "append") for r in output["receipts"]]


def _differences(decision: HistoryDecision, stored: StoredFacts, language: Language) -> list[str]:
    """Each value of the history's receipt that the store does not hold, both named (the
    recorded times in full, to the microsecond, in either language)."""
    found = []

    def differs(what: str, history: object, store: object) -> None:
        found.append(t(f"crosscheck.differs_{what}", language, history=history, store=store))

    if decision.type and decision.type != stored.type:
        differs("type", decision.type, stored.type)
    if decision.version is not None and decision.version != stored.version:
        differs("version", decision.version, stored.version)
    if decision.hash is not None and decision.hash != stored.hash:
        differs("hash", decision.hash, stored.hash)
    if decision.recorded_at is not None and decision.recorded_at != stored.recorded_at:
        differs("recorded_at", decision.recorded_at.isoformat(), stored.recorded_at.isoformat())
    return found


async def stored_facts(
    events: AsyncIterable[Any], language: Language = "en"
) -> dict[str, StoredFacts]:
    """Event id -> facts, from the store's ``iter_stream`` (in version order); why a
    public response does not trace back in ``language``."""
    facts: dict[str, StoredFacts] = {}
    hearing: int | None = None  # the version of the open hearing's hearing_opened
    async for e in events:
        public = None
        if e.type == "hearing_opened":
            hearing = e.version
        elif e.type == "hearing_closed":
            hearing = None
        elif e.type == "hearing_response_received" and "received" in e.data:
            public = public_trace(
                e.stream_id, e.event_id, e.actor_id, e.data, hearing, language=language
            )
        facts[str(e.event_id)] = StoredFacts(e.version, e.type, e.hash, e.recorded_at, public)
    return facts


def public_trace(
    stream_id: str,
    event_id: Any,
    actor_id: str,
    data: Mapping[str, Any],
    hearing: int | None,
    *,
    language: Language = "en",
) -> str:
    """Why a public response does not trace back to the API's request ("" when it does),
    in ``language``."""
    received = data.get("received")
    if not isinstance(received, dict) or received.get("via") != "public-api":
        return t("crosscheck.public_not_api", language)
    key = str(received.get("request_key", ""))
    version = received.get("hearing_version")
    if hearing is None or version != hearing:
        return t("crosscheck.public_hearing_not_open", language, version=version)
    why = _derived(stream_id, str(event_id), actor_id, data, key=key, hearing=int(version))
    return t(f"crosscheck.public_{why}", language, key=repr(key[:40])) if why else ""


def _derived(
    stream_id: str, event_id: str, actor_id: str, data: Mapping[str, Any], *, key: str, hearing: int
) -> str:
    """The first of the request's traces that does not hold, by its catalogue name."""
    words = request_key(
        None, str(data.get("name", "")), data.get("organisation"), str(data.get("text", ""))
    )
    problems = (
        (not key.startswith(("key:", "content:")), "key_kind"),
        (event_id != str(response_event_id(stream_id, hearing, key)), "event_id"),
        (key.startswith("content:") and key != words, "content_key"),
        (
            data.get("response_id") != f"api-{event_id}" or actor_id != f"public:api-{event_id}",
            "response_id",
        ),
    )
    return next((why for failed, why in problems if failed), "")


def cross_check(
    plan_id: str,
    stored: Mapping[str, StoredFacts],
    histories: list[WorkflowHistory],
    *,
    complete: bool = True,
    language: Language = "en",
) -> CrossCheck:
    """``stored``: event id -> what the plan's stream holds of it. ``complete``: the
    histories of every writer are present, so every stored event must trace back to
    one; otherwise only the histories' decisions are checked against the store. The
    problems in ``language`` (English, the API's, unless asked)."""
    decisions = decisions_in_history(histories)
    appended = [d for d in decisions if d.source == "append"]
    result = CrossCheck(plan_id, len(stored), len(appended), len(histories))
    seen: dict[str, int] = {}
    for decision in appended:
        seen[decision.event_id] = seen.get(decision.event_id, 0) + 1
    for event_id, count in sorted(seen.items()):
        if count > 1:
            twice = t("crosscheck.appended_twice", language, event_id=event_id, count=count)
            result.problems.append(twice)
    public = {i for i, f in stored.items() if f.public == ""}
    caught_up = {d.event_id for d in decisions if d.source == "caught-up"} - set(seen)
    result.caught_up = len(caught_up - public)
    result.public_responses = len(public - set(seen))
    compared: set[tuple[str, str]] = set()
    for decision in decisions:
        facts = stored.get(decision.event_id)
        if decision.version is not None and decision.source != "caught-up":
            result.last_receipted_version = max(result.last_receipted_version, decision.version)
        if facts is None:
            result.problems.append(_missing(decision, language))
            continue
        differences = _differences(decision, facts, language)
        for difference in differences:
            if (decision.event_id, difference) not in compared:
                compared.add((decision.event_id, difference))
                source = t(f"crosscheck.source_{decision.source.replace('-', '_')}", language)
                differs = t(
                    "crosscheck.differs",
                    language,
                    event_id=decision.event_id,
                    type=facts.type,
                    version=facts.version,
                    source=source,
                    run_id=decision.run_id,
                    difference=difference,
                )
                result.problems.append(differs)
        if decision.hash is not None:
            result.receipts_compared += 1
    for event_id, facts in sorted(stored.items(), key=lambda item: item[1].version):
        which = {"version": facts.version, "type": facts.type, "event_id": event_id}
        if facts.public and event_id not in seen:
            why = facts.public
            result.problems.append(t("crosscheck.public_untraced", language, **which, why=why))
        elif complete and event_id not in set(seen) | caught_up | public:
            result.problems.append(t("crosscheck.untraced", language, **which))
    return result


def _missing(decision: HistoryDecision, language: Language) -> str:
    at = (
        t("crosscheck.at_version", language, version=decision.version)
        if decision.version is not None
        else ""
    )
    key = {"receipt": "missing_receipt", "caught-up": "missing_caught_up"}.get(
        decision.source, "missing"
    )
    return t(
        f"crosscheck.{key}",
        language,
        event_id=decision.event_id,
        type=decision.type,
        at=at,
        run_id=decision.run_id,
    )
