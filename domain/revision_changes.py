"""The yearly revision's changes for next year: the project leader proposes changes to the
measures after the scorecard, the steering group signs them off or rejects them, and the
revision is concluded. Pure; time and new ids are passed in."""

from __future__ import annotations

from datetime import datetime

from domain import revision_commands as rc
from domain.events import (
    ContentRevised,
    Event,
    MeasureChangesProposed,
    MeasureChangesRejected,
    MeasureChangesSignedOff,
    RevisionConcluded,
)
from domain.hierarchy import PlanContent
from domain.phases import Phase
from domain.plan_state import PlanState, RevisionRound
from domain.refusals import (
    ENGINE,
    NewId,
    Refusal,
    RefusalCode,
    _by,
    _by_engine,
    _participant_as,
)
from domain.revision_decisions import _adopted, _in_force, _round
from domain.revision_models import ChangeKind
from domain.roles import Role
from domain.rules import content_problems


def _proposals_open(revision: RevisionRound) -> None:
    if revision.outcome is not None:
        raise Refusal(RefusalCode.GATE_NOT_OPEN, f"the revision for {revision.year} is concluded")
    if revision.scorecard is None:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"changes for next year are proposed after the {revision.year} scorecard",
        )


def apply_changes(content: PlanContent, command: rc.ProposeChanges) -> PlanContent:
    measures = list(content.measures)
    index = {m.id: i for i, m in enumerate(measures)}
    retired: set[str] = set()
    for number, change in enumerate(command.changes):
        target = change.target_id
        where = f"changes[{number}]"
        if change.kind is ChangeKind.ADD:
            if target in index:
                raise Refusal(
                    RefusalCode.INVALID_CONTENT,
                    f"{where}: measure '{target}' exists already; use 'change' to alter it",
                )
            assert change.measure is not None
            index[target] = len(measures)
            measures.append(change.measure)
        elif target not in index or target in retired:
            raise Refusal(
                RefusalCode.UNKNOWN_ITEM,
                f"{where}: measure '{target}' is not in the plan in force "
                f"(known: {', '.join(sorted(set(index) - retired))})",
            )
        elif change.kind is ChangeKind.CHANGE:
            assert change.measure is not None
            measures[index[target]] = change.measure
        else:
            retired.add(target)
    return content.model_copy(
        update={"measures": tuple(m for m in measures if m.id not in retired)}
    )


def propose_changes(
    state: PlanState, command: rc.ProposeChanges, at: datetime, new_id: NewId
) -> list[Event]:
    definition = _adopted(state)
    person = _participant_as(
        state, command.actor_id, Role.PROJECT_LEADER, "propose changes to the measures"
    )
    revision = _round(state, command.year)
    _proposals_open(revision)
    if revision.pending_proposal() is not None:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            "a proposal is waiting for the steering group; it must be decided first",
        )
    content = apply_changes(_in_force(state), command)
    problems = content_problems(content, definition, Phase.ADOPTION)
    if problems:
        raise Refusal(
            RefusalCode.INVALID_CONTENT,
            "the changed plan breaks the hierarchy rules: "
            + "; ".join(p.render() for p in problems),
        )
    version = max(v.version for v in state.content_versions) + 1
    return [
        MeasureChangesProposed(
            **_by(person.id, Role.PROJECT_LEADER, at, new_id),
            year=command.year,
            content_version=version,
            content_hash=content.content_hash(),
            changes=command.changes,
            content=content,
        )
    ]


def review_changes(
    state: PlanState, command: rc.ReviewChanges, at: datetime, new_id: NewId
) -> list[Event]:
    """The steering group's quality assurance of next year's changes, with the plan's
    quorum rule for the steering group, as at the phase gates."""
    definition = _adopted(state)
    person = _participant_as(
        state, command.actor_id, Role.STEERING_GROUP, "review changes to the measures"
    )
    revision = _round(state, command.year)
    proposal = revision.pending_proposal()
    if proposal is None:
        raise Refusal(RefusalCode.GATE_NOT_OPEN, "no proposed changes wait for review")
    if (command.content_version, command.content_hash) != (
        proposal.content_version,
        proposal.content_hash,
    ):
        raise Refusal(
            RefusalCode.STALE_CONTENT,
            f"content version {command.content_version} is not the one under review; "
            f"version {proposal.content_version} with hash {proposal.content_hash} is",
        )
    signed = [s for s in revision.sign_offs if s.content_version == proposal.content_version]
    if any(s.actor_id == person.id for s in signed):
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            f"'{person.id}' has already signed version {proposal.content_version}",
        )
    if not command.approve:
        if not command.comment.strip():
            raise Refusal(RefusalCode.INVALID_DECISION, "requesting changes needs a reason")
        return [
            MeasureChangesRejected(
                **_by(person.id, Role.STEERING_GROUP, at, new_id),
                year=command.year,
                content_version=proposal.content_version,
                content_hash=proposal.content_hash,
                reason=command.comment.strip(),
            )
        ]
    events: list[Event] = [
        MeasureChangesSignedOff(
            **_by(person.id, Role.STEERING_GROUP, at, new_id),
            year=command.year,
            content_version=proposal.content_version,
            content_hash=proposal.content_hash,
            comment=command.comment.strip(),
        )
    ]
    members = len(definition.members(Role.STEERING_GROUP))
    needed = definition.settings.quorum_for(Role.STEERING_GROUP).required(members)
    if len(signed) + 1 >= needed:
        events += [
            ContentRevised(
                **_by_engine(at, new_id),
                year=command.year,
                content_version=proposal.content_version,
                content_hash=proposal.content_hash,
            ),
            RevisionConcluded(
                **_by_engine(at, new_id),
                year=command.year,
                outcome="revised",
                content_version=proposal.content_version,
            ),
        ]
    return events


def conclude_revision(
    state: PlanState, actor_id: str | None, year: int, at: datetime, new_id: NewId
) -> list[Event]:
    """No changes this year: by the project leader, or by the engine when the time for
    proposals has run out with none pending."""
    revision = _round(state, year)
    _proposals_open(revision)
    if revision.pending_proposal() is not None:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            "a proposal is waiting for the steering group; it must be decided first",
        )
    if actor_id is not None:
        _participant_as(state, actor_id, Role.PROJECT_LEADER, "conclude the revision")
    assert state.in_force_version is not None
    return [
        RevisionConcluded(
            **_by(actor_id or ENGINE, Role.PROJECT_LEADER if actor_id else Role.SYSTEM, at, new_id),
            year=year,
            outcome="unchanged",
            content_version=state.in_force_version,
        )
    ]
