"""The example plan files in examples/ parse and say what the seeds say."""

from __future__ import annotations

from domain.hierarchy import Basis
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.plan_type import PlanType
from domain.roles import Role
from domain.rules import content_problems, roles_needed


def test_bodo_example_loads_with_expected_plan_id(bodo: PlanDefinition) -> None:
    assert bodo.plan_id == "1804-boligplan-2026"
    assert bodo.municipality.number == "1804"
    assert bodo.plan_type is PlanType.KOMMUNEDELPLAN
    assert (bodo.period.from_year, bodo.period.to_year) == (2026, 2029)


def test_larvik_example_loads_as_temaplan(larvik: PlanDefinition) -> None:
    assert larvik.plan_id.startswith("3805-")
    assert larvik.plan_type is PlanType.TEMAPLAN
    assert (larvik.period.from_year, larvik.period.to_year) == (2026, 2030)
    assert larvik.settings.reference_round_measures is False
    assert larvik.settings.anchor_measures is False


def test_bodo_has_the_three_target_areas(bodo: PlanDefinition) -> None:
    assert bodo.target_areas == (
        "Generell boligutvikling",
        "Boligsosialt arbeid",
        "Organisering og boligforvaltning",
    )


def test_bodo_lists_every_participant_role_the_brief_asks_for(
    bodo: PlanDefinition,
) -> None:
    sizes = {role: len(bodo.members(role)) for role in Role}
    assert sizes[Role.PROJECT_LEADER] == 1
    assert sizes[Role.PROJECT_GROUP] == 2
    assert sizes[Role.STEERING_GROUP] == 3
    assert sizes[Role.REFERENCE_GROUP] == 2
    assert sizes[Role.POLITICAL_LEADERSHIP] == 2
    assert sizes[Role.ADMINISTRATIVE_LEADERSHIP] == 1
    assert sizes[Role.FINANCE_OFFICE] == 1
    assert sizes[Role.MUNICIPAL_COUNCIL] == 3
    assert sizes[Role.AUDITOR] == 1
    assert sizes[Role.SCHEDULER] == 1
    assert all(p.email.endswith("@bodo.kommune.no") for p in bodo.participants)


def test_examples_cover_every_role_their_process_needs(
    bodo: PlanDefinition, larvik: PlanDefinition
) -> None:
    for plan in (bodo, larvik):
        present = {role for person in plan.participants for role in person.roles}
        assert roles_needed(plan.settings) <= present


def test_bodo_proposals_follow_seed_000(bodo: PlanDefinition) -> None:
    proposals = bodo.proposals
    assert proposals is not None
    general = [g for g in proposals.goals if g.target_area == "Generell boligutvikling"]
    assert len(general) == 1
    assert general[0].title.startswith("Boligutviklingen i Bodø følger befolkningens boligbehov")
    strategy_titles = [s.title for s in proposals.strategies]
    assert "Kommunal eiendomsutvikling og kommunal tomtepolitikk" in strategy_titles
    assert any(
        m.title.startswith(
            "Utvikle en langsiktig strategi for utnyttelse og erverv av kommunale eiendommer"
        )
        for m in proposals.measures
    )


def test_bodo_has_one_goal_per_area_and_two_strategies_per_goal(
    bodo: PlanDefinition,
) -> None:
    proposals = bodo.proposals
    assert proposals is not None
    assert sorted(g.target_area for g in proposals.goals) == sorted(bodo.target_areas)
    for goal in proposals.goals:
        strategies = [s for s in proposals.strategies if s.goal_id == goal.id]
        assert len(strategies) == 2, goal.id
        for strategy in strategies:
            count = sum(1 for m in proposals.measures if m.strategy_id == strategy.id)
            assert 1 <= count <= 2, strategy.id


def test_larvik_proposals_follow_seed_000(larvik: PlanDefinition) -> None:
    proposals = larvik.proposals
    assert proposals is not None
    assert proposals.goals[0].title == (
        "Boliger for alle i gode bomiljø. Trygg etablering i eiet eller leiet bolig. "
        "Boforhold som fremmer velferd og deltakelse."
    )
    assert proposals.strategies[0].title.startswith(
        "Larvik kommune har til enhver tid oversikt over virksomhetsområdenes boligbehov"
    )
    assert proposals.measures[0].title.startswith(
        "En årlig ramme for anskaffelser av kommunalt disponerte utleieboliger er vedtatt"
    )


def test_example_measures_are_complete_and_answerable_yes_or_no(
    bodo: PlanDefinition, larvik: PlanDefinition
) -> None:
    for plan in (bodo, larvik):
        assert plan.proposals is not None
        for measure in plan.proposals.measures:
            assert measure.completion_criterion.startswith("Er "), measure.id
            assert measure.completion_criterion.endswith("?"), measure.id
            assert plan.period.contains(measure.due_year), measure.id


def test_bodo_uses_every_basis_and_has_indicators(bodo: PlanDefinition) -> None:
    assert bodo.proposals is not None
    measures = bodo.proposals.measures
    assert {m.basis for m in measures} == set(Basis)
    assert any(m.indicator is not None for m in measures)
    assert any("flyktninger" in m.target_groups for m in measures)
    assert bodo.proposals.analysis.strip() != ""


def test_example_proposals_are_complete_for_every_phase(
    bodo: PlanDefinition, larvik: PlanDefinition
) -> None:
    for plan in (bodo, larvik):
        assert plan.proposals is not None
        for phase in Phase:
            assert content_problems(plan.proposals, plan, phase) == [], (plan, phase)


def test_gratangen_revises_an_earlier_plan_has_a_vision_and_unknown_costs() -> None:
    from pathlib import Path

    from domain.planfile import parse_plan_text

    examples = Path(__file__).resolve().parents[2] / "examples"
    yaml_plan = parse_plan_text(
        (examples / "gratangen.yaml").read_text(encoding="utf-8"), "gratangen.yaml"
    )
    json_plan = parse_plan_text(
        (examples / "gratangen.json").read_text(encoding="utf-8"), "gratangen.json"
    )
    assert json_plan == yaml_plan  # the JSON the API takes is the same plan
    assert yaml_plan.revises is not None
    assert (
        yaml_plan.revises.describe() == "Boligsosial handlingsplan for Gratangen 2016–2020 (2016)"
    )
    assert yaml_plan.vision is not None
    assert yaml_plan.vision.startswith("Alle som vil bo")
    proposals = yaml_plan.proposals
    assert proposals is not None
    assert proposals.measures_with_unknown_costs() == ("tiltak-2", "tiltak-4")
    # The formannskap is the steering group, written once in the file.
    formannskap = [p.id for p in yaml_plan.members(Role.POLITICAL_LEADERSHIP)]
    assert formannskap == ["ole.pedersen", "anne.larsen", "kare.solberg"]
    assert [p.id for p in yaml_plan.members(Role.STEERING_GROUP)] == formannskap
    zero = next(m for m in proposals.measures if m.id == "tiltak-3")
    assert (zero.costs.investment_nok, zero.costs.running_nok_per_year) == (0, 0)
    totals = proposals.cost_totals()
    assert (totals.investment_nok, totals.running_nok_per_year) == (0, 150_000)
    assert totals.excludes() == (
        "excluding unknown costs: the investment of tiltak-2, tiltak-4; "
        "the running costs of tiltak-2"
    )
