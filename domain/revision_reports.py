"""The yearly revision's reporting round: each responsible unit reports its measures and the
goals' indicators, and the project leader may close the round before its deadline. Pure;
time and new ids are passed in."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from domain import revision_commands as rc
from domain.events import Event, GoalIndicatorReported, MeasureReported, ReportingRoundClosed
from domain.hierarchy import MAX_INDICATOR_DIGITS, plain_digits
from domain.plan import Participant
from domain.plan_state import PlanState, RevisionRound
from domain.refusals import NewId, Refusal, RefusalCode, _by, _participant, _participant_as
from domain.revision_decisions import _adopted, _round, reporters_for, round_content
from domain.revision_models import ReportStatus
from domain.roles import Role


def _open_round(state: PlanState, year: int) -> RevisionRound:
    """The year's reporting round, which must be open to take reports."""
    revision = _round(state, year)
    if not revision.round_open:
        closed = "has not opened" if revision.deadline is None else "is closed"
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"the reporting round for {revision.year} {closed}; reports are not accepted",
        )
    return revision


def _leader_in_open_round(
    state: PlanState, command: rc.YearCommand, doing: str
) -> tuple[Participant, RevisionRound]:
    """The project leader ``doing`` something in the year's round, which must be open."""
    person = _participant_as(state, command.actor_id, Role.PROJECT_LEADER, doing)
    return person, _open_round(state, command.year)


def _decimal(text: str, what: str) -> Decimal:
    """A person's decimal, as recorded: in plain form (``1E+2`` is 100) and without a
    negative zero, with at most MAX_INDICATOR_DIGITS digits written out (so ``1e-50``,
    fifty of them, is refused rather than kept as a tiny number nobody meant)."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        raise Refusal(
            RefusalCode.INVALID_VALUE,
            f"{what} '{text}' is not a number; write a decimal number such as 12.5",
        ) from None
    if not value.is_finite() or plain_digits(value) > MAX_INDICATOR_DIGITS:
        raise Refusal(
            RefusalCode.INVALID_VALUE,
            f"{what} '{text}' is not a finite decimal of at most {MAX_INDICATOR_DIGITS} digits",
        )
    plain = Decimal(format(value, "f"))
    return plain.copy_abs() if plain.is_zero() else plain


def report_measure(
    state: PlanState, command: rc.ReportMeasure, at: datetime, new_id: NewId
) -> list[Event]:
    definition = _adopted(state)
    person = _participant(state, command.actor_id)
    revision = _open_round(state, command.year)
    content = round_content(state, revision)
    measure = next((m for m in content.measures if m.id == command.measure_id), None)
    if measure is None or measure.id not in revision.measure_ids:
        raise Refusal(
            RefusalCode.UNKNOWN_ITEM,
            f"measure '{command.measure_id}' is not in the plan in force "
            f"(known: {', '.join(revision.measure_ids)})",
        )
    reporters = reporters_for(definition, measure)
    if person not in reporters:
        names = ", ".join(p.id for p in reporters)
        raise Refusal(
            RefusalCode.WRONG_ROLE,
            f"'{person.id}' is not responsible for measure '{measure.id}' "
            f"({measure.responsible_unit}); it is reported by {names}",
        )
    try:
        status = ReportStatus(command.status)
    except ValueError:
        raise Refusal(
            RefusalCode.INVALID_VALUE,
            f"status '{command.status}' is not allowed; allowed: done, not_done",
        ) from None
    value: Decimal | None = None
    if measure.indicator is None:
        if command.indicator_value is not None:
            raise Refusal(
                RefusalCode.INVALID_VALUE,
                f"measure '{measure.id}' has no indicator; leave indicator_value out",
            )
    else:
        if command.indicator_value is None or not command.indicator_value.strip():
            unit = f" ({measure.indicator.unit})" if measure.indicator.unit else ""
            raise Refusal(
                RefusalCode.INVALID_VALUE,
                f"measure '{measure.id}' has the indicator '{measure.indicator.name}'"
                f"{unit}; report its current value as indicator_value",
            )
        value = _decimal(command.indicator_value, "indicator_value")
    return [
        MeasureReported(
            **_by(person.id, person.roles[0], at, new_id),
            year=command.year,
            measure_id=measure.id,
            status=status,
            comment=command.comment.strip(),
            indicator_value=value,
        )
    ]


def report_goal_indicator(
    state: PlanState, command: rc.ReportGoalIndicator, at: datetime, new_id: NewId
) -> list[Event]:
    person, revision = _leader_in_open_round(state, command, "report a goal's indicator")
    content = round_content(state, revision)
    goal = next((g for g in content.goals if g.id == command.goal_id), None)
    if goal is None or goal.indicator is None:
        with_indicator = [g.id for g in content.goals if g.indicator is not None]
        raise Refusal(
            RefusalCode.UNKNOWN_ITEM,
            f"goal '{command.goal_id}' has no indicator in the plan in force "
            f"(goals with one: {', '.join(with_indicator) or 'none'})",
        )
    return [
        GoalIndicatorReported(
            **_by(person.id, Role.PROJECT_LEADER, at, new_id),
            year=command.year,
            goal_id=goal.id,
            value=_decimal(command.value, "value"),
        )
    ]


def close_round_early(
    state: PlanState, command: rc.CloseReportingRound, at: datetime, new_id: NewId
) -> list[Event]:
    person, revision = _leader_in_open_round(state, command, "close the reporting round")
    missing = [m for m in revision.measure_ids if m not in revision.latest_reports()]
    if missing:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"the round can close early only when every measure is reported; missing: "
            f"{', '.join(missing)}",
        )
    return [
        ReportingRoundClosed(
            **_by(person.id, Role.PROJECT_LEADER, at, new_id),
            year=command.year,
            early=True,
            unreported=(),
        )
    ]
