"""How a body decides by vote: each member's vote is recorded as it comes, and the body
has decided when one proposal reaches the body's quorum (plan setting ``any``, ``all``,
``majority``), exactly as sign-offs count.

A proposal is an outcome with its particulars: "returned to goals" and "returned to
the draft" are two proposals, as are two different amended texts. When no proposal can
reach the quorum any more, however the members still to vote cast their votes, the
vote is deadlocked: the status says so and the project leader withdraws the item.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from domain.phases import Phase
from domain.roles import Role
from domain.text import check_text

CaseNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60),
    AfterValidator(check_text),
]


class MeetingReference(BaseModel):
    """Where a body decided: its case number (e.g. 'PS 28/14') and the meeting's date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_number: CaseNumber
    meeting_date: date

    def render(self) -> str:
        return f"{self.case_number}, {self.meeting_date.isoformat()}"


class Vote(BaseModel):
    """One member's vote at a decision step, in one body."""

    model_config = ConfigDict(frozen=True)

    step_key: str
    content_version: int
    actor_id: str
    body: Role
    outcome: str
    return_to: Phase | None = None
    postponed_to: date | None = None
    amended_hash: str | None = None
    reason: str = ""
    meeting: MeetingReference | None = None
    at: datetime
    version: int = 0  # the event's version in the plan's stream: the receipt's number

    @property
    def proposal(self) -> str:
        """What the vote is for, with everything that makes two proposals different."""
        parts = [self.outcome]
        if self.return_to is not None:
            parts.append(f"to {self.return_to.value}")
        if self.postponed_to is not None:
            parts.append(f"to {self.postponed_to.isoformat()}")
        if self.amended_hash is not None:
            parts.append(f"text {self.amended_hash[:12]}")
        return " ".join(parts)


class ProposalCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposal: str
    outcome: str
    voters: tuple[str, ...]
    return_to: Phase | None = None
    postponed_to: date | None = None


class Tally(BaseModel):
    """Where one body's vote stands."""

    model_config = ConfigDict(frozen=True)

    body: Role
    needed: int
    members: int
    counts: tuple[ProposalCount, ...]
    awaited: tuple[str, ...]  # members who have not voted
    decided: str | None  # the proposal that reached the quorum
    deadlocked: bool


def tally(votes: tuple[Vote, ...], body: Role, members: tuple[str, ...], needed: int) -> Tally:
    """Count ``votes`` (one body's, current round) in the order they were cast. The first
    proposal to reach ``needed`` decides; later votes cannot undo it."""
    counted: dict[str, list[str]] = {}
    outcomes: dict[str, Vote] = {}
    decided: str | None = None
    voted: set[str] = set()
    for vote in votes:
        if vote.body is not body or vote.actor_id in voted:
            continue
        voted.add(vote.actor_id)
        counted.setdefault(vote.proposal, []).append(vote.actor_id)
        outcomes.setdefault(vote.proposal, vote)
        if decided is None and len(counted[vote.proposal]) >= needed:
            decided = vote.proposal
    awaited = tuple(m for m in members if m not in voted)
    best = max((len(v) for v in counted.values()), default=0)
    # A proposal not yet made needs all of its votes from those still to vote.
    deadlocked = decided is None and best + len(awaited) < needed
    return Tally(
        body=body,
        needed=needed,
        members=len(members),
        counts=tuple(
            ProposalCount(
                proposal=p,
                outcome=outcomes[p].outcome,
                voters=tuple(v),
                return_to=outcomes[p].return_to,
                postponed_to=outcomes[p].postponed_to,
            )
            for p, v in counted.items()
        ),
        awaited=awaited,
        decided=decided,
        deadlocked=deadlocked,
    )
