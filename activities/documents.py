"""The draft and the adopted plan of a plan's state, as the pages (and PDFs) people keep."""

from __future__ import annotations

from datetime import datetime

from activities.rendering import render_html
from catalogue import Language
from domain.plan_state import ContentVersion, PlanState

_ADOPTING = frozenset({"adopted", "adopted_with_changes"})


class NoDocumentError(LookupError):
    """The plan has no such document (yet)."""


def _version(state: PlanState, version: int | None) -> ContentVersion:
    found = state.shown_content(version)
    if found is None:
        what = f"a content version {version}" if version is not None else "any content"
        raise NoDocumentError(f"plan '{state.plan_id}' has no {what} yet")
    return found


def draft_page(state: PlanState, version: int | None = None, language: Language = "nb") -> str:
    """The draft of ``version`` (by default the content under review, else the latest)."""
    if state.definition is None:
        raise NoDocumentError(f"plan '{state.plan_id}' is not started")
    found = _version(state, version)
    return render_html(
        state.definition, found.content, found.version, found.content_hash, language=language
    )


def adopted_at(state: PlanState) -> datetime | None:
    """When the council adopted the plan: its adopting decision's time."""
    times = [d.at for d in state.decisions if d.outcome in _ADOPTING]
    return times[-1] if times else state.last_event_at


def adopted_page(state: PlanState, language: Language = "nb") -> str:
    """The plan as adopted by the council (the adopted content version)."""
    if state.definition is None or state.adopted_version is None:
        raise NoDocumentError(f"plan '{state.plan_id}' is not adopted yet")
    found = _version(state, state.adopted_version)
    return render_html(
        state.definition,
        found.content,
        found.version,
        found.content_hash,
        language=language,
        adopted_at=adopted_at(state),
    )
