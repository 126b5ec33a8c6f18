"""The event store against the Temporal history: every decision the workflow recorded
has exactly one event in the store, and every event in the store traces back to it.

The workflow records events only through the ``append_events`` local activity, whose
marker in the history carries the receipts of the events appended (their deterministic
ids and types), and it answers people's updates with receipts naming the event. (Older
histories appended through a regular activity, whose input carries the events: both are
read.) Both are read straight from the history, so the check needs
nothing but the history and the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import MarkerRecordedEventAttributes
from temporalio.client import WorkflowHistory

APPEND_ACTIVITY = "append_events"
LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass(frozen=True)
class HistoryDecision:
    event_id: str
    type: str
    run_id: str
    source: str  # "append" (activity input) or "receipt" (an update's answer)


@dataclass
class CrossCheck:
    plan_id: str
    store_events: int
    history_decisions: int
    runs: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def decisions_in_history(histories: Iterable[WorkflowHistory]) -> list[HistoryDecision]:
    """Events whose append completed, and event ids of receipts returned to people."""
    found: list[HistoryDecision] = []
    for history in histories:
        scheduled: dict[int, list[dict[str, str]]] = {}
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attributes = event.activity_task_scheduled_event_attributes
                if attributes.activity_type.name == APPEND_ACTIVITY:
                    [payload] = attributes.input.payloads
                    scheduled[event.event_id] = json.loads(payload.data)["events"]
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                appended = scheduled.get(
                    event.activity_task_completed_event_attributes.scheduled_event_id
                )
                for item in appended or ():
                    found.append(
                        HistoryDecision(
                            str(item["event_id"]), str(item["type"]), history.run_id, "append"
                        )
                    )
            elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                found.extend(_local_append(event.marker_recorded_event_attributes, history.run_id))
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                outcome = event.workflow_execution_update_completed_event_attributes.outcome
                if outcome.HasField("success") and outcome.success.payloads:
                    receipt = json.loads(outcome.success.payloads[0].data)
                    if isinstance(receipt, dict) and "event_id" in receipt:
                        found.append(
                            HistoryDecision(
                                str(receipt["event_id"]),
                                str(receipt.get("event_type")),
                                history.run_id,
                                "receipt",
                            )
                        )
    return found


def _local_append(marker: MarkerRecordedEventAttributes, run_id: str) -> list[HistoryDecision]:
    """The workflow appends through a local activity: its marker records the receipts
    (event id and type of every event appended) once the append has completed."""
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in marker.details:
        return []
    meta = json.loads(marker.details["data"].payloads[0].data)
    if meta.get("activity_type") != APPEND_ACTIVITY or "result" not in marker.details:
        return []  # another activity, or an attempt that failed
    output = json.loads(marker.details["result"].payloads[0].data)
    return [
        HistoryDecision(str(r["event_id"]), str(r["event_type"]), run_id, "append")
        for r in output["receipts"]
    ]


def cross_check(
    plan_id: str,
    store_ids: dict[str, tuple[int, str]],
    histories: list[WorkflowHistory],
    *,
    complete: bool = True,
) -> CrossCheck:
    """``store_ids``: event id -> (version, type) for the plan's stream. ``complete``:
    the histories of every writer are present, so every stored event must trace back to
    one; otherwise only the histories' decisions are checked against the store."""
    decisions = decisions_in_history(histories)
    appended = [d for d in decisions if d.source == "append"]
    result = CrossCheck(plan_id, len(store_ids), len(appended), len(histories))
    seen: dict[str, int] = {}
    for decision in appended:
        seen[decision.event_id] = seen.get(decision.event_id, 0) + 1
    for event_id, count in sorted(seen.items()):
        if count > 1:
            result.problems.append(
                f"event {event_id} was appended {count} times in the Temporal history"
            )
    for decision in appended:
        if decision.event_id not in store_ids:
            result.problems.append(
                f"decision {decision.type} (event {decision.event_id}, run {decision.run_id}) is in "
                "the Temporal history but not in the event store"
            )
    for decision in decisions:
        if decision.source == "receipt" and decision.event_id not in store_ids:
            result.problems.append(
                f"a receipt for event {decision.event_id} ({decision.type}) was given to a person "
                "but the event is not in the store"
            )
    for event_id, (version, event_type) in sorted(store_ids.items(), key=lambda item: item[1][0]):
        if complete and event_id not in seen:
            result.problems.append(
                f"version {version} ({event_type}, event {event_id}) is in the store but does not "
                "trace back to the Temporal history"
            )
    return result
