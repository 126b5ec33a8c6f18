"""Every document, the CLI's history, the web pages and the e-mails in one language only:
the bokmål ones carry no English event name or status word, the English ones no Norwegian
label (tests/language_words.py holds the words)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

import catalogue
from activities.documents import adopted_page
from activities.rendering import render_html, render_markdown
from activities.scorecard_rendering import render_scorecard_html, render_scorecard_markdown
from api.service import ApiContext
from audit import commands
from audit import history as hist
from audit.history import HistoryFilter
from audit.report import render_report
from catalogue import Language
from client.simulation import send_hearing_responses
from domain.plan import PlanDefinition
from domain.revision_models import GoalProgress, IndicatorLine, ProgressLine, Scorecard
from domain.state import fold
from eventstore.outbox import Claimed
from temaplan.mail_relay import compose
from tests.integration.conftest import Engine, started, web_session
from tests.language_words import ENGLISH_IN_BOKMAL, NORWEGIAN_IN_ENGLISH

pytestmark = pytest.mark.servers
GENERATED_AT = datetime(2026, 12, 4, 14, 55, tzinfo=UTC)


class _Visible(HTMLParser):
    """The text a reader sees: no style sheet, no ids (code, the actor's id)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"style", "code"} or dict(attrs).get("class") == "actor":
            self._hidden.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)


# Fields whose values are people's own words, however short ("utført" as a note).
FREE_TEXT = frozenset(
    {"note", "comment", "text", "reason", "summary", "name", "organisation", "form"}
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in FREE_TEXT and isinstance(item, str):
                yield f" {item} "  # kept whole below, whatever its length
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def without_record_text(text: str, record_texts: list[str]) -> str:
    """The document's own words: free text from the record (anything with a space in it:
    titles, names, comments) taken out, longest first. Single words from the record, such
    as an outcome or a status, stay in: those are what must be translated."""
    for value in record_texts:
        if not value.strip():
            continue  # an empty comment: replacing "" would space out every letter
        text = (
            text.replace(value.strip(), " ") if value.startswith(" ") else text.replace(value, " ")
        )
    return text


def leaks(text: str, words: tuple[str, ...]) -> list[str]:
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


def regulated_area(
    level: str = "goal", item_id: str = "mal-1", current: Decimal | None = None
) -> IndicatorLine:
    """The indicator of regulated land, from 12.5 to 50 dekar, for ``item_id``; not
    reported yet unless ``current`` is given."""
    return IndicatorLine(
        level=level,
        item_id=item_id,
        name="Regulert areal",
        unit="dekar",
        baseline=Decimal("12.5"),
        target=Decimal("50"),
        current=current,
    )


def scorecard(
    *, done: int = 1, total: int = 2, indicator: IndicatorLine | None = None
) -> Scorecard:
    """A 2027 scorecard of one goal with one strategy, ``done`` of ``total`` measures
    done; by default its indicator is the goal's regulated area, not reported yet."""
    return Scorecard(
        year=2027,
        content_version=4,
        content_hash="ab" * 32,
        done=done,
        total=total,
        goals=(
            GoalProgress(
                id="mal-1",
                title="Boliger for alle",
                done=done,
                total=total,
                target_area="Generell boligutvikling",
                strategies=(ProgressLine(id="str-1.1", title="Tomter", done=done, total=total),),
            ),
        ),
        indicators=(indicator or regulated_area(),),
        unreported=("tiltak-1.2.1",),
    )


async def adopted(
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    definition: PlanDefinition,
    *,
    responses: int,
) -> None:
    """Start the plan and drive it to adoption, with ``responses`` hearing responses."""
    driver = await started(temporal_env, task_queue, definition)

    async def hearing(_status: object) -> None:
        await send_hearing_responses(driver, responses)
        await temporal_env.fast_forward(driver.handle, timedelta(weeks=6, minutes=5))

    assert (await driver.run_to_adoption(hearing)).status == "adopted"


async def web_pages(
    api: httpx.AsyncClient, ctx: ApiContext, plan_id: str, language: Language
) -> dict[str, str]:
    """The pages each kind of person reads about an adopted plan, and two that refuse
    (an unknown plan; a decision form sent half filled in, with its problems listed)."""
    leader, csrf = await web_session(ctx, "kari.nilsen")
    auditor, _ = await web_session(ctx, "randi.solberg")
    wanted = f"lang={language}"

    async def page(path: str, status: int = 200, *, headers: dict[str, str] = leader) -> str:
        got = await api.get(f"{path}{'&' if '?' in path else '?'}{wanted}", headers=headers)
        assert got.status_code == status, (path, got.text[:500])
        return visible(got.text)

    refused = await api.post(
        f"/plans/{plan_id}/decide?{wanted}",
        data={
            "csrf": csrf,
            "kind": "sign_off",
            "step_key": "x",
            "content_version": "to",
            "content_hash": "",
            "decision": "",
            "comment": "",
        },
        headers=leader,
    )
    assert refused.status_code == 422, refused.text[:500]
    # Each problem in the page's language, the field named as the form names it.
    said = catalogue.t("problem.choose", language)
    shown = " ".join(visible(refused.text).split())
    assert f"{catalogue.t('field.decision', language)}: {said}" in shown
    return {
        "login page": await page("/login", headers={}),
        "inbox": await page("/inbox"),
        "plan list": await page("/plans"),
        "plan page": await page(f"/plans/{plan_id}"),
        "audit page": await page(f"/plans/{plan_id}/audit", headers=auditor),
        "hearing page": await page(f"/hearing/{plan_id}", headers={}),
        "error page": await page("/plans/1804-finnes-ikke", 404),
        "refused decision": visible(refused.text),
    }


async def e_mails(pool: asyncpg.Pool, ctx: ApiContext, plan_id: str, language: Language) -> str:
    """Every e-mail the plan's outbox holds, as the relay composes it; in English without
    the notices the workflows wrote (those are in bokmål, for the people of the plan)."""
    rows = [
        Claimed(**dict(r))
        for r in await pool.fetch(
            """SELECT id, dedupe_key, plan_id, recipient_id, recipient_email, subject, body,
                      attempts, created_at
                 FROM notification_outbox WHERE plan_id = $1 ORDER BY id""",
            plan_id,
        )
    ]
    assert len(rows) > 5
    mails = []
    for row in rows:
        mail = compose(row, ctx.settings, language)
        assert mail["Content-Language"] == language
        text = f"{mail['Subject']}\n{mail.get_content()}"
        if language == "en":
            text = text.replace(row.subject, " ").replace(row.body, " ")
        mails.append(text)
    joined = "\n".join(mails)
    if language == "nb":
        # A gate notice names its step by the catalogue's title, never by the step's key.
        title = catalogue.step_title("goals.quality_assurance", language)
        assert f"venter på deg: {title}." in joined
        assert "goals.quality_assurance" not in joined
    return joined


async def test_every_document_speaks_one_language(
    engine: Engine, api: httpx.AsyncClient, api_ctx: ApiContext
) -> None:
    definition = engine.plan()
    await adopted(engine.env, engine.task_queue, definition, responses=2)
    store = engine.store
    stored = await store.read(definition.plan_id)
    state = fold([e.to_domain() for e in stored])
    record_texts = sorted(
        {
            s
            for s in (
                *_strings(definition.model_dump(mode="json")),
                *_strings([e.data for e in stored]),
            )
            if " " in s
        },
        key=len,
        reverse=True,
    )
    content = definition.proposals
    assert content is not None
    args = (definition, content, 2, content.content_hash())

    async def documents(language: Language) -> dict[str, str]:
        table = io.StringIO()
        where = HistoryFilter()
        assert (
            await commands.show_history(
                store, definition.plan_id, where, False, table, language=language
            )
            == 0
        )
        cli = table.getvalue()
        state_out = io.StringIO()
        assert (
            await commands.show_state(
                store,
                definition.plan_id,
                as_of=None,
                at_version=None,
                as_json=False,
                out=state_out,
                language=language,
            )
            == 0
        )
        if language == "en":
            # The English table keeps the record's own words in its last column.
            cut = hist.HEADER.index("decision")
            cli = "\n".join(line[:cut] for line in cli.splitlines())
        return {
            "audit report": visible(
                render_report(stored, language=language, generated_at=GENERATED_AT)
            ),
            "draft (HTML)": visible(render_html(*args, language=language)),
            "draft (Markdown)": render_markdown(*args, language=language),
            "adopted plan": visible(adopted_page(state, language)),
            "scorecard (HTML)": visible(
                render_scorecard_html(definition, scorecard(), language=language)
            ),
            "scorecard (Markdown)": render_scorecard_markdown(
                definition, scorecard(), language=language
            ),
            "audit history (CLI)": cli,
            "audit state (CLI)": state_out.getvalue(),
            "e-mails": await e_mails(engine.pool, api_ctx, definition.plan_id, language),
            **await web_pages(api, api_ctx, definition.plan_id, language),
        }

    checked: dict[str, list[str]] = {}
    leaking: tuple[tuple[Language, tuple[str, ...]], ...] = (
        ("nb", ENGLISH_IN_BOKMAL),
        ("en", NORWEGIAN_IN_ENGLISH),
    )
    for language, words in leaking:
        for name, text in (await documents(language)).items():
            own = without_record_text(text, record_texts)
            assert len(own) > 200, (language, name)
            found = leaks(own, words)
            assert not found, f"{name} in {language} has {found}"
            checked.setdefault(language, []).append(name)
    assert checked["nb"] == checked["en"]
    assert len(checked["nb"]) == 17


def test_the_check_finds_a_leak() -> None:
    assert leaks("Hendelse: sign_off_given (done)", ENGLISH_IN_BOKMAL) == ["sign_off_given", "done"]
    assert leaks("Status: Vedtatt 4. desember", NORWEGIAN_IN_ENGLISH) == ["Vedtatt", "desember"]
    assert leaks("Godkjent: steg", ENGLISH_IN_BOKMAL) == []
    assert without_record_text("Plan for Kari Nilsen", ["Kari Nilsen"]) == "Plan for  "
    assert without_record_text("Godkjent done", [" ", "  "]) == "Godkjent done"
