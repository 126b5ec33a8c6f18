"""The Bodø example's council grown to five members, so that a vote can end in a
majority, a tie or a postponement; shared by the domain's and the servers' vote tests."""

from __future__ import annotations

from typing import Any

from domain.hierarchy import PlanContent
from domain.plan import PlanDefinition

COUNCIL = ("siri.andreassen", "bjorn.eriksen", "lise.mikkelsen", "nils.dahl", "eva.strand")


def five_member_council_data(plan: PlanDefinition) -> dict[str, Any]:
    """The plan as decoded data, with the members of COUNCIL it lacks added to the council."""
    data = plan.model_dump(mode="json")
    for person_id in COUNCIL[3:]:
        data["participants"].append(
            {
                "id": person_id,
                "name": person_id.replace(".", " ").title(),
                "email": f"{person_id}@bodo.kommune.no",
                "roles": ["municipal_council"],
            }
        )
    return data


def amended_by_the_council(content: PlanContent) -> PlanContent:
    """``content`` as a council that adopts it with changes words it: its first measure
    starts a year later."""
    first, *others = content.measures
    return content.model_copy(
        update={
            "measures": (
                first.model_copy(update={"title": first.title + " (fra 2027)"}),
                *others,
            )
        }
    )
