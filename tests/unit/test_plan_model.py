"""Small pieces of domain.plan: quorum arithmetic, slugs and plan ids."""

from __future__ import annotations

from typing import Any

import pytest

from domain.plan import PlanDefinition, QuorumRule, slugify
from domain.planfile import parse_plan_data
from domain.roles import Role


@pytest.mark.parametrize(
    ("members", "any_", "all_", "majority"),
    [
        (1, 1, 1, 1),
        (2, 1, 2, 2),
        (3, 1, 3, 2),
        (4, 1, 4, 3),
        (5, 1, 5, 3),
    ],
)
def test_quorum_required_sign_offs(members: int, any_: int, all_: int, majority: int) -> None:
    assert QuorumRule.ANY.required(members) == any_
    assert QuorumRule.ALL.required(members) == all_
    assert QuorumRule.MAJORITY.required(members) == majority


def test_quorum_settings_from_the_bodo_example(bodo: PlanDefinition) -> None:
    settings = bodo.settings
    assert settings.quorum_for(Role.STEERING_GROUP) is QuorumRule.MAJORITY
    assert settings.quorum_for(Role.MUNICIPAL_COUNCIL) is QuorumRule.MAJORITY
    steering = len(bodo.members(Role.STEERING_GROUP))
    assert settings.quorum_for(Role.STEERING_GROUP).required(steering) == 2


def test_quorum_defaults_to_any_for_every_deciding_body(
    bodo_data: dict[str, Any],
) -> None:
    del bodo_data["settings"]["quorum"]
    settings = parse_plan_data(bodo_data).settings
    assert settings.quorum_for(Role.POLITICAL_LEADERSHIP) is QuorumRule.ANY
    assert settings.quorum_for(Role.MUNICIPAL_COUNCIL) is QuorumRule.ANY


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Temaplan for bolig – Bodø 2026", "temaplan-for-bolig-bodo-2026"),
        ("Blåbærsyltetøy", "blabaersyltetoy"),
        ("ÆØÅ æøå", "aeoa-aeoa"),
        ("Tromsø/Hammerfest, Sør-Varanger", "tromso-hammerfest-sor-varanger"),
        ("Café Åsgårdstrand", "cafe-asgardstrand"),
        ("  --  ", "plan"),
    ],
)
def test_slugify_transliterates_norwegian_letters(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_slugify_cuts_at_max_length_without_a_trailing_dash() -> None:
    # The 40th character of the full slug is a dash: it must not be kept.
    slug = slugify("Temaplan for bolig og velferd 2026 Bodø kommune")
    assert slug == "temaplan-for-bolig-og-velferd-2026-bodo"


def test_plan_id_is_derived_from_the_title_when_slug_is_left_out(
    bodo_data: dict[str, Any],
) -> None:
    del bodo_data["slug"]
    bodo_data["title"] = "Boligplan for Bodø"
    assert parse_plan_data(bodo_data).plan_id == "1804-boligplan-for-bodo"
