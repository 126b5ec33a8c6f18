"""A plan's type (temaplan or kommunedelplan) and what planning law asks of it."""

from __future__ import annotations

from enum import StrEnum

MIN_KOMMUNEDELPLAN_HEARING_DAYS = 42  # planning law practice: at least six weeks


class PlanType(StrEnum):
    TEMAPLAN = "temaplan"
    KOMMUNEDELPLAN = "kommunedelplan"
