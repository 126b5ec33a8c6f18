"""The auditors' HTML report of a real plan, checked as text and rendered in a real
headless browser (Debian's chromium): a screenshot and a printed PDF."""

from __future__ import annotations

import asyncio
import os
import re
import struct
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import asyncpg
import pytest

from audit.report import EN, NB, UnknownPlanError, export_html, render_report
from client.simulation import send_hearing_responses
from domain import commands as cmd
from domain.events import PhaseStarted
from domain.gates import PlanStatus
from domain.phases import Phase
from eventstore import EventStore
from tests.integration.browser import CHROMIUM, chromium_available
from tests.integration.conftest import Engine, council_returns

pytestmark = pytest.mark.servers

GENERATED_AT = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
# A response whose text and name must come out escaped, never as markup.
SPECIAL_NAME = "Ås & Sønner <AS>"
SPECIAL_TEXT = 'Bygg flere <b>utleieboliger</b> & "rimelige" boliger – før 2028!'
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    """What the tests look for in the page: rows, bars, measures, all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.decision_versions: list[int] = []
        self.phase_bars: list[str] = []
        self.measures: list[str] = []
        self.tags: Counter[str] = Counter()
        self.text: list[str] = []
        self._phase: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags[tag] += 1
        if tag == "tr" and found.get("data-version"):
            self.decision_versions.append(int(found["data-version"] or 0))
        if tag == "g" and found.get("data-phase"):
            self._phase = found["data-phase"]
        if tag == "rect" and found.get("class") == "phase-bar":
            self.phase_bars.append(self._phase or "")
        if found.get("data-measure"):
            self.measures.append(found["data-measure"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _assert_self_contained(html: str) -> None:
    """No scripts, no web fonts, nothing that could be fetched."""
    lowered = html.lower()
    for forbidden in (
        "<script",
        "<link",
        "<iframe",
        "<img",
        "src=",
        "url(",
        "@import",
        "@font-face",
    ):
        assert forbidden not in lowered, forbidden
    assert "http:" not in lowered
    assert "https:" not in lowered


async def _chromium(*args: str, profile: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    log = (out + err).decode(errors="replace")
    assert process.returncode == 0, f"chromium exited with {process.returncode}:\n{log[-3000:]}"
    return log


async def test_audit_report_of_an_adopted_plan_in_both_languages_and_a_real_browser(
    engine: Engine, artifacts_dir: Path, tmp_path: Path
) -> None:
    definition = engine.plan()
    driver = await engine.started(definition)

    async def hearing(status: PlanStatus) -> None:
        assert status.hearing_open
        await send_hearing_responses(driver, 3, with_receipt=1)
        await driver.update(
            "respond_to_hearing",
            cmd.HearingResponse(
                name=SPECIAL_NAME,
                organisation="Velforeningen <Sentrum>",
                text=SPECIAL_TEXT,
                response_id="resp-special",
            ),
        )
        await driver.wait_for(lambda s: s.hearing_responses == 4)
        await engine.env.fast_forward(driver.handle, timedelta(weeks=6, minutes=5))

    final = await driver.run_to_adoption(hearing)
    assert final.status == "adopted"
    await driver.handle.result()

    store = engine.store
    stored = await store.read(definition.plan_id)
    plan_id = definition.plan_id
    nb_path = artifacts_dir / "audit-report-nb.html"
    en_path = artifacts_dir / "audit-report-en.html"
    assert await export_html(store, plan_id, nb_path, generated_at=GENERATED_AT) == len(stored)
    assert await export_html(
        store, plan_id, en_path, language="en", generated_at=GENERATED_AT
    ) == len(stored)
    assert os.stat(nb_path).st_mode & 0o777 == 0o644  # readable, like any exported document
    nb = nb_path.read_text(encoding="utf-8")
    en = en_path.read_text(encoding="utf-8")
    # Pure and deterministic: the same events give the same page, and that is what was written.
    assert nb == render_report(stored, generated_at=GENERATED_AT)
    assert en == render_report(stored, language="en", generated_at=GENERATED_AT)
    # No temporary file left behind by the atomic write.
    assert not [n for n in os.listdir(artifacts_dir) if n.endswith(".tmp")]
    assert set(NB) == set(EN)  # every label exists in both languages

    events = [e.to_domain() for e in stored]
    phases_started = [e.phase.value for e in events if isinstance(e, PhaseStarted)]
    assert phases_started == [p.value for p in Phase]
    assert definition.proposals is not None
    measure_ids = [m.id for m in definition.proposals.measures]
    adopted_hash = definition.proposals.content_hash()

    for html, language in ((nb, "nb"), (en, "en")):
        page = _parse(html)
        _assert_self_contained(html)
        assert f'<html lang="{language}">' in html
        # Every event version, once each, in order, in the decision table.
        assert page.decision_versions == [e.version for e in stored]
        # The timeline: one bar per phase started, accessible title and description.
        assert html.count("<svg") == 1
        assert page.tags["svg"] == 1
        assert page.phase_bars == phases_started
        assert '<title id="timeline-title">' in html
        assert '<desc id="timeline-desc">' in html
        # Facts and the chain.
        for fact in (
            "Bodø kommune",
            "1804",
            plan_id,
            adopted_hash,
            stored[0].hash,
            stored[-1].hash,
            "Generell boligutvikling",
            "Kari Nilsen",
        ):
            assert fact in page.all_text, (language, fact)
        # Hearing responses with their texts, escaped in the markup.
        for n in (1, 2, 3):
            assert f"Uttalelse {n}: flere utleieboliger nær sentrum." in page.all_text
            assert f"Innbygger {n}" in page.all_text
        assert "Leieboerforeningen" in page.all_text
        assert SPECIAL_TEXT in page.all_text
        assert escape(SPECIAL_TEXT) in html
        assert SPECIAL_TEXT not in html
        assert "<b>utleieboliger</b>" not in html
        assert escape(SPECIAL_NAME) in html
        assert "<AS>" not in html
        assert "<Sentrum>" not in html
        assert "innspill om bostedsløse er tatt inn i tiltak" in page.all_text
        # The adopted hierarchy lists every measure, once.
        assert page.measures == measure_ids
        for measure in definition.proposals.measures:
            assert measure.completion_criterion in page.all_text
            assert measure.responsible_unit in page.all_text
        # Print styles.
        assert "@media print" in html
        assert "thead { display: table-header-group; }" in html
        assert "size: A4" in html

    nb_page, en_page = _parse(nb), _parse(en)
    nb_labels = (
        "Planopplysninger",
        "Tidslinje",
        "Beslutninger",
        "Høringsuttalelser",
        "Slik ble uttalelsene vurdert",
        "Vedtatt målhierarki",
        "Kommunenummer",
        "Aktør og rolle",
        "Ansvarlig enhet",
        "styringsgruppen",
        "sende planen til kommunestyret",
        "hel – kontrollert av denne rapporten",
        "samsvarer med det vedtatte innholdet",
    )
    en_labels = (
        "Plan facts",
        "Timeline",
        "Decisions",
        "Hearing responses",
        "How the responses were weighed",
        "Adopted goal hierarchy",
        "Actor and role",
        "Responsible unit",
        "steering group",
        "send the plan to the council",
        "intact – checked by this report",
        "matches the adopted content",
    )
    # Each language's labels on its own page, and none on the other's.
    for labels, own, other in ((nb_labels, nb_page, en_page), (en_labels, en_page, nb_page)):
        for label in labels:
            assert label in own.all_text, label
            assert label not in other.all_text, label
    # Phase names in the figure follow the language.
    assert ">Høring</text>" in nb
    assert ">Hearing</text>" in en

    # The six-week hearing is the longest bar: plan time, not wall-clock time.
    opened = next(e for e in events if e.type == "hearing_opened")
    closed = next(e for e in events if e.type == "hearing_closed")
    assert closed.occurred_at - opened.occurred_at >= timedelta(weeks=6)
    bars = dict(re.findall(r'data-phase="(\w+)".*?class="phase-bar"[^>]*width="([\d.]+)"', nb))
    assert float(bars["hearing"]) == max(float(w) for w in bars.values())

    # Part of the record: a plan still in its draft phase, before any hearing.
    in_draft = next(i for i, e in enumerate(events) if e.type == "draft_step_completed")
    partial = _parse(render_report(stored[:in_draft], generated_at=GENERATED_AT))
    assert "under arbeid, fase Utkast" in partial.all_text
    assert "Planen har ikke vært på høring." in partial.all_text
    assert "Siste innholdsversjon (ikke vedtatt)" in partial.all_text
    assert partial.phase_bars == ["goals", "strategies", "measures", "draft"]
    assert partial.decision_versions == list(range(1, in_draft + 1))
    # A record changed after the fact: the report says where the chain breaks.
    comment = next(e for e in stored if e.type == "comment_recorded")
    tampered = [
        replace(e, data={**e.data, "text": "Referansegruppen er imot."}) if e is comment else e
        for e in stored
    ]
    broken = _parse(render_report(tampered, language="en", generated_at=GENERATED_AT))
    assert f"BROKEN at version {comment.version}" in broken.all_text
    assert "intact" not in broken.all_text

    if not chromium_available():
        pytest.skip(f"{CHROMIUM} not installed: the report was checked as text only")
    for language, path in (("nb", nb_path), ("en", en_path)):
        png = artifacts_dir / f"audit-report-{language}.png"
        pdf = artifacts_dir / f"audit-report-{language}.pdf"
        png.unlink(missing_ok=True)
        pdf.unlink(missing_ok=True)
        profile = tmp_path / f"chromium-{language}"
        url = path.resolve().as_uri()
        await _chromium(f"--screenshot={png}", "--window-size=1280,2000", url, profile=profile)
        await _chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", url, profile=profile)
        image = png.read_bytes()
        assert image[:8] == PNG_MAGIC
        width, height = struct.unpack(">II", image[16:24])  # the IHDR chunk
        assert (width, height) == (1280, 2000)
        assert len(image) > 50_000, len(image)
        document = pdf.read_bytes()
        assert document[:5] == b"%PDF-"
        assert len(document) > 30_000, len(document)
        assert document.rstrip().endswith(b"%%EOF")
        pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", document))
        assert pages >= 3, pages


async def test_a_returned_plan_shows_its_phases_twice(
    engine: Engine, artifacts_dir: Path, tmp_path: Path
) -> None:
    definition = engine.plan()
    driver = await engine.started(definition)
    hearings: list[int] = []

    async def hearing(status: PlanStatus) -> None:
        hearings.append(status.events_recorded)
        if len(hearings) == 1:
            await send_hearing_responses(driver, 2)
            await driver.wait_for(lambda s: s.hearing_responses == 2)
        await engine.env.fast_forward(driver.handle, timedelta(weeks=6, minutes=5))

    status = await driver.run_until(lambda s: s.step_key == "adoption.council", hearing)
    reason = "Kommunestyret ber om <mer> om unge & etablerere."
    await council_returns(driver, status, Phase.DRAFT, reason)
    final = await driver.run_to_adoption(hearing)
    assert final.status == "adopted"
    assert len(hearings) == 2

    store = engine.store
    path = artifacts_dir / "audit-report-returned-nb.html"
    count = await export_html(store, definition.plan_id, path, generated_at=GENERATED_AT)
    html = path.read_text(encoding="utf-8")
    page = _parse(html)
    assert page.decision_versions == list(range(1, count + 1))
    assert page.phase_bars == [
        "goals", "strategies", "measures", "draft", "hearing", "adoption",
        "draft", "hearing", "adoption",
    ]  # fmt: skip
    assert html.count("(runde 2)</text>") == 3
    assert "sendt tilbake til fasen Utkast" in page.all_text
    assert escape(reason) in html
    assert reason not in html
    assert "Høringsrunde 1" in page.all_text
    assert "Høringsrunde 2" in page.all_text
    assert "Ingen høringsuttalelser er mottatt." in page.all_text  # the second round
    assert definition.proposals is not None
    assert page.measures == [m.id for m in definition.proposals.measures]
    if os.access(CHROMIUM, os.X_OK):
        png = artifacts_dir / "audit-report-returned-nb.png"
        await _chromium(
            f"--screenshot={png}",
            "--window-size=1280,1400",
            path.resolve().as_uri(),
            profile=tmp_path / "chromium",
        )
        assert png.read_bytes()[:8] == PNG_MAGIC


async def test_export_of_an_unknown_plan_is_a_clear_error(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    with pytest.raises(UnknownPlanError, match="no plan '0000-nowhere' in the event store"):
        await export_html(EventStore(pool), "0000-nowhere", out, generated_at=GENERATED_AT)
    assert not out.exists()
    assert os.listdir(tmp_path) == []
