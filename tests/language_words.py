"""Words that must not appear in a document of the other language.

A bokmål document names events, statuses, phases and roles in bokmål: none of the
record's English type names (``plan_created``, ``sign_off_given``, …, added from the
event types themselves) and none of these English words. An English document has none of
the Norwegian labels below. Text that comes from the record itself (titles, names,
comments) is taken out before the check: only what the documents say in their own
words counts.
"""

from __future__ import annotations

from domain.events import EVENT_TYPES

ENGLISH_IN_BOKMAL: tuple[str, ...] = (
    *EVENT_TYPES,
    # statuses, outcomes and schedule actions as the record spells them
    "done",
    "not_done",
    "not done",
    "unchanged",
    "revised",
    "trigger",
    "unpause",
    "backfill",
    "approved",
    "rejected",
    "pending",
    "adopted",
    "adopted_with_changes",
    "to_council",
    "postponed",
    "returned",
    "ongoing",
    "deadline",
    "withdrawn",
    "votes",
    "attested",
    "unattested",
    # phases and bodies in English
    "Goals",
    "Strategies",
    "Measures",
    "Draft",
    "Hearing",
    "Adoption",
    "steering group",
    "finance office",
    "project leader",
    "municipal council",
    "Approved",
    "Phase started",
    "Plan created",
)

NORWEGIAN_IN_ENGLISH: tuple[str, ...] = (
    "Planopplysninger",
    "Tidslinje",
    "Beslutninger",
    "Beslutning",
    "Høringsuttalelser",
    "Høring",
    "Handlingsdel",
    "Analysedel",
    "Innsatsområde",
    "Målekort",
    "Utgangspunkt",
    "Oppnådd",
    "planperiode",
    "utkast",
    "vedtatt",
    "Vedtatt",
    "Godkjent",
    "Fase",
    "fase",
    "styringsgruppen",
    "prosjektleder",
    "økonomiavdelingen",
    "kommunestyret",
    "Kommunestyret",
    "revisor",
    "allmennheten",
    "utført",
    "Utført",
    "rapportert",
    "Innholdets",
    "hendelse",
    "registrert",
    "aktør",
    "beslutning",
    "kl.",
    "desember",
    "januar",
)
