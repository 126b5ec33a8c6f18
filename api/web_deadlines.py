"""The adoption phase's own deadline, for the plan list, the plan page and the inbox (the
council's item and the project leader's, api/views.py ``pending_for``).

The plan file has no date for the council's meeting, so the page derives it as the domain
does (domain/rules.py, ``period_problems``): a plan adopted on a day whose first yearly
revision falls after the end of its planning period is refused. Adoption therefore has
to happen before the revision date (``settings.revision_date``, else the deployment's
default) in the period's last year; the day before that is the adoption deadline. When
the council has postponed the item, the meeting it was postponed to comes first.
"""

from __future__ import annotations

from datetime import date, timedelta

from domain.phases import Phase
from domain.plan import RevisionDate
from domain.plan_state import PlanState


def adoption_deadline(state: PlanState, default_revision_date: RevisionDate) -> date | None:
    """The day by which the council must decide; None outside the adoption phase."""
    definition = state.definition
    if definition is None or state.phase is not Phase.ADOPTION or state.status == "adopted":
        return None
    if state.postponed_to is not None:
        return state.postponed_to
    revision = definition.settings.revision_date or default_revision_date
    # RevisionDate refuses 29 February, so the date exists in every year.
    return date(definition.period.to_year, revision.month, revision.day) - timedelta(days=1)
