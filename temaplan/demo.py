"""The main job on embedded defaults: record the example plan's opening and show the trail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from domain.events import PhaseStarted, PlanCreated
from domain.ids import event_id
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.roles import Role
from eventstore import EventStore, NewEvent, StoredEvent
from temaplan.database import migrated_pool
from temaplan.planfile import load_plan_file
from temaplan.settings import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bodo.yaml"


def opening_events(definition: PlanDefinition, administrator: str, at: datetime) -> list[NewEvent]:
    plan_id = definition.plan_id
    created = PlanCreated(
        event_id=event_id(plan_id, "plan_created"),
        occurred_at=at,
        actor_id=administrator,
        actor_role=Role.SYSTEM,
        plan_id=plan_id,
        definition=definition,
    )
    started = PhaseStarted(
        event_id=event_id(plan_id, "phase_started", Phase.GOALS.value, 1),
        occurred_at=at,
        actor_id="temaplan",
        actor_role=Role.SYSTEM,
        phase=Phase.GOALS,
    )
    return [NewEvent.from_domain(created), NewEvent.from_domain(started)]


def render_stream(events: list[StoredEvent]) -> str:
    lines = [f"{'ver':>3}  {'type':<20} {'actor':<14} {'role':<16} {'recorded (UTC)':<32} hash"]
    for e in events:
        lines.append(
            f"{e.version:>3}  {e.type:<20} {e.actor_id:<14} {e.actor_role:<16} "
            f"{e.recorded_at.astimezone(UTC).isoformat():<32} {e.hash[:16]}…"
        )
    return "\n".join(lines)


async def run_demo(settings: Settings, plan_file: Path = EXAMPLE) -> int:
    definition = load_plan_file(plan_file)
    plan_id = definition.plan_id
    print(f"Plan file {plan_file.name}: '{definition.title}' ({definition.municipality.name})")
    print(f"  plan id {plan_id}, {len(definition.participants)} participants")
    async with migrated_pool(settings) as pool:
        store = EventStore(pool)
        version, _ = await store.head(plan_id)
        if version == 0:
            events = opening_events(definition, "administrator", datetime.now(UTC))
            for receipt in await store.append(plan_id, 0, events):
                print(f"  recorded version {receipt.version}, hash {receipt.hash[:16]}…")
        else:
            # A plan is opened once; its record is never rewritten by running again.
            print(f"  already recorded: the stream holds {version} events")
        result = await store.verify(plan_id)
        print()
        print(render_stream(await store.read(plan_id)))
        print()
        status = (
            "OK" if result.ok else f"BROKEN at version {result.broken_version}: {result.problem}"
        )
        print(f"Hash chain of '{plan_id}': {status} ({result.events_checked} events checked)")
        return 0 if result.ok else 1
