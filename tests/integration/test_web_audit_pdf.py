"""The auditor's page links to the audit report as HTML and as PDF; in a real Chromium
the PDF link downloads a PDF whose text (pdftotext) names the plan. Screenshot in
tests/artifacts/web/, axe-core on the page with the links."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests.integration.browser import launched, log_in, new_page
from tests.integration.conftest import Web, at_quality_assurance
from tests.integration.test_web_accessibility import _axe, _violations

pytestmark = pytest.mark.servers


async def test_the_audit_page_links_the_report_as_html_and_pdf(web: Web, tmp_path: Path) -> None:
    from playwright.async_api import expect

    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdftotext) is not installed")
    site, shots = web.site, web.shots
    axe = await asyncio.to_thread(_axe)
    plan = web.plan()
    await web.driven(plan, at_quality_assurance)
    randi = await web.token("randi.solberg")

    async with launched() as browser:
        page = await new_page(browser, accept_downloads=True, bypass_csp=True)
        await log_in(page, site, randi)
        await page.goto(f"{site}/plans/{plan.plan_id}/audit")
        await expect(page.locator('[data-export="html"]')).to_have_text("Revisjonsrapport (HTML)")
        pdf_link = page.locator('[data-export="pdf"]')
        await expect(pdf_link).to_have_text("Revisjonsrapport (PDF)")
        violations = await _violations(page, axe)
        await page.screenshot(path=shots / "audit-report-links.png", full_page=True)
        assert violations == []

        async with page.expect_download() as info:
            await pdf_link.click()
        download = await info.value
        assert await download.failure() is None
        assert download.suggested_filename.endswith(".pdf")
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)

    assert saved.read_bytes().startswith(b"%PDF-")
    run = await asyncio.create_subprocess_exec(
        "pdftotext", "-enc", "UTF-8", str(saved), "-", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await run.communicate()
    assert run.returncode == 0
    text = " ".join(out.decode().split())
    assert plan.title in text
    assert plan.plan_id in text
