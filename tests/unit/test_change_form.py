"""The change-proposal form's fields as the API's MeasureChange: a change starts from
the measure in force, a new measure has only what was typed (so the API's own model
refuses what it lacks), a retirement names the measure alone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.errors import ApiError
from api.requests import ChangesRequest
from api.web_actions import change_from_form
from domain.plan import PlanDefinition


def _request(change: dict[str, object]) -> ChangesRequest:
    return ChangesRequest.model_validate({"changes": [change]})


def test_a_change_keeps_what_is_left_empty(bodo: PlanDefinition) -> None:
    assert bodo.proposals is not None
    measure = bodo.proposals.measures[0]
    fields = {
        "change_kind": "change",
        "measure_id": measure.id,
        "m_title": "Ny tittel",
        "m_running_nok_per_year": "ukjent",
        "m_target_groups": "flyktninger, unge",
        "reason": "Endret behov.",
    }
    (change,) = _request(change_from_form(fields, {measure.id: measure})).changes
    assert change.measure is not None
    assert change.measure.title == "Ny tittel"
    assert change.measure.costs.running_nok_per_year is None
    assert change.measure.target_groups == ("flyktninger", "unge")
    assert (
        change.measure.model_copy(
            update={
                "title": measure.title,
                "costs": measure.costs,
                "target_groups": measure.target_groups,
            }
        )
        == measure
    )


def test_a_new_measure_lacking_fields_is_refused_by_the_apis_model(bodo: PlanDefinition) -> None:
    fields = {"change_kind": "add", "m_id": "tiltak-9.9.9", "m_title": "Nytt", "reason": "x"}
    with pytest.raises(ValidationError, match="completion_criterion"):
        _request(change_from_form(fields, {}))


def test_a_change_needs_a_measure_in_force(bodo: PlanDefinition) -> None:
    with pytest.raises(ApiError) as refused:
        change_from_form({"change_kind": "change", "measure_id": "nope", "reason": "x"}, {})
    assert refused.value.code == "UnknownItem"


def test_a_retirement_names_the_measure_alone() -> None:
    fields = {"change_kind": "retire", "measure_id": "tiltak-1.1.1", "m_title": "x", "reason": "y"}
    (change,) = _request(change_from_form(fields, {})).changes
    assert (change.measure_id, change.measure) == ("tiltak-1.1.1", None)
