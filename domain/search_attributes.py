"""Custom search attributes: plans can be listed by phase, municipality and awaited roles."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.common import SearchAttributeKey

PHASE = SearchAttributeKey.for_keyword("TemaplanPhase")
MUNICIPALITY = SearchAttributeKey.for_keyword("TemaplanMunicipality")
AWAITED_ROLES = SearchAttributeKey.for_keyword_list("TemaplanAwaitedRoles")

ALL_KEYS: tuple[SearchAttributeKey[str] | SearchAttributeKey[Sequence[str]], ...] = (
    PHASE,
    MUNICIPALITY,
    AWAITED_ROLES,
)
