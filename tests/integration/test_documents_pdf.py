"""PDFs of the draft, the adopted plan (PDF/A-3b), the scorecard and the audit report,
made by WeasyPrint and checked as a reader would: the first page turned into a PNG with
poppler's pdftoppm, the text read back with pdftotext."""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.documents import adopted_page
from activities.scorecard_rendering import render_scorecard_html
from api.service import ApiContext
from audit.report import export_pdf
from client.simulation import PlanDriver
from documents.pdf import html_to_pdf
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.state import fold
from eventstore import EventStore
from tests.integration.conftest import bearer, unique
from tests.integration.test_document_language import adopted, regulated_area, scorecard
from workflows.plan_models import workflow_id_for

pytestmark = pytest.mark.servers
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def poppler_available() -> bool:
    """poppler-utils (pdftoppm, pdftotext): CI installs them and sets REQUIRE_POPPLER."""
    if shutil.which("pdftoppm") and shutil.which("pdftotext"):
        return True
    if os.environ.get("REQUIRE_POPPLER"):
        pytest.fail("REQUIRE_POPPLER is set but pdftoppm/pdftotext are missing (poppler-utils)")
    return False


async def _run(*args: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode(errors="replace")
    return out


async def read_pdf(document: bytes, artifacts_dir: Path, name: str) -> str:
    """The PDF kept as an artifact, its first page as a PNG beside it; its text."""
    assert document[:5] == b"%PDF-"
    assert document.rstrip().endswith(b"%%EOF")
    pdf = artifacts_dir / f"{name}.pdf"
    pdf.write_bytes(document)
    if not poppler_available():
        pytest.skip("poppler-utils not installed: the PDF was checked as bytes only")
    png = artifacts_dir / f"{name}-page1.png"
    png.unlink(missing_ok=True)
    await _run("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
               str(png.with_suffix("")))  # fmt: skip
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert png.stat().st_size > 5_000
    text = await _run("pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-")
    return " ".join(text.decode("utf-8").split())


async def test_draft_and_audit_report_pdfs_from_the_api(
    api: httpx.AsyncClient,
    api_ctx: ApiContext,
    plain_client: Client,
    bodo: PlanDefinition,
    artifacts_dir: Path,
) -> None:
    definition = unique(bodo)
    plan = definition.plan_id
    admin = await bearer(api_ctx, "kari.nilsen", "admin")
    created = await api.post("/api/plans", content=definition.model_dump_json(), headers=admin)
    assert created.status_code == 201, created.text
    driver = PlanDriver(plain_client.get_workflow_handle(workflow_id_for(plan)), definition)

    async def stop_at_hearing(_status: object) -> None:
        raise AssertionError("the hearing is not driven here")

    await driver.run_until(lambda s: s.phase is Phase.HEARING and s.hearing_open, stop_at_hearing)

    page = await api.get(f"/api/plans/{plan}/draft.html", headers=admin)
    assert page.status_code == 200, page.text
    assert "Handlingsdel" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    draft = await api.get(f"/api/plans/{plan}/draft.pdf", headers=admin)
    assert draft.status_code == 200, draft.text
    assert draft.headers["content-type"] == "application/pdf"
    text = await read_pdf(draft.content, artifacts_dir, "draft-nb")
    for words in (definition.title, "Bodø kommune (1804)", "Handlingsdel", "Økonomi",
                  "Innsatsområde: Generell boligutvikling", "fra 12,5 dekar til 50 dekar"):  # fmt: skip
        assert words in text, words
    english = await api.get(f"/api/plans/{plan}/draft.pdf?lang=en", headers=admin)
    assert "Action plan" in await read_pdf(english.content, artifacts_dir, "draft-en")

    missing = await api.get(f"/api/plans/{plan}/adopted.pdf", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NoDocument"
    assert (await api.get(f"/api/plans/{plan}/draft.pdf")).status_code == 401

    auditor = await bearer(api_ctx, "revisjon", "auditor")
    report = await api.get(f"/api/audit/plans/{plan}/export?format=pdf", headers=auditor)
    assert report.status_code == 200, report.text
    assert report.headers["content-type"] == "application/pdf"
    text = await read_pdf(report.content, artifacts_dir, "audit-report-draft-nb")
    for words in ("Revisjonsrapport", "Planopplysninger", "Beslutninger", plan, "Bodø kommune"):
        assert words in text, words


async def test_the_adopted_plan_is_pdf_a_and_the_audit_report_a_pdf(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    task_queue: str,
    bodo: PlanDefinition,
    artifacts_dir: Path,
) -> None:
    definition = unique(bodo)
    await adopted(temporal_env, task_queue, definition, responses=1)
    store = EventStore(pool)
    state = fold(await store.read_domain(definition.plan_id))

    document = html_to_pdf(adopted_page(state), archival=True)
    text = await read_pdf(document, artifacts_dir, "adopted-plan-nb")
    # PDF/A-3b, as its XMP metadata says.
    metadata = await _run("pdfinfo", "-meta", str(artifacts_dir / "adopted-plan-nb.pdf"))
    assert b'pdfaid:part="3"' in metadata
    assert b'pdfaid:conformance="B"' in metadata
    assert definition.title in text
    assert f"innholdsversjon {state.adopted_version}" in text
    assert "vedtatt" in text
    assert "utkast" not in text

    out = artifacts_dir / "audit-report-adopted-nb.pdf"
    count = await export_pdf(
        store, definition.plan_id, out, generated_at=datetime(2026, 12, 4, 14, 55, tzinfo=UTC)
    )
    assert count == len(await store.read(definition.plan_id))
    text = await read_pdf(out.read_bytes(), artifacts_dir, "audit-report-adopted-nb")
    assert "Generert 4. desember 2026 kl. 15.55 (Oslo)" in text
    assert "Tidslinje" in text


async def test_the_scorecard_pdf(bodo: PlanDefinition, artifacts_dir: Path) -> None:
    card = scorecard(
        done=2,
        total=3,
        indicator=regulated_area("measure", "tiltak-1.1.2", Decimal("16.4")),
    )
    text = await read_pdf(
        html_to_pdf(render_scorecard_html(bodo, card)), artifacts_dir, "scorecard-2027-nb"
    )
    for words in ("Målekort 2027", "Tiltak utført: 2 av 3 (67 %)", "16,4 dekar", "12,5 dekar",
                  "Ikke rapportert innen fristen: tiltak-1.2.1."):  # fmt: skip
        assert words in text, words
