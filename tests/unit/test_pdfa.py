"""The adopted plan's PDF claims PDF/A-3b. No PDF/A validator can be installed from PyPI,
Debian or npm (veraPDF, the reference, is a Java application packaged by none of them), so
this test reads the PDF back with pikepdf (qpdf) and checks the essentials a validator
checks first: the XMP identification (pdfaid:part 3, conformance B), an OutputIntent of
subtype GTS_PDFA1 with an embedded ICC profile, every font embedded, no encryption, and
the same /ID and metadata a PDF/A needs. The PDF made without ``archival`` is checked too:
it lacks them, so the check does tell the two apart."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pikepdf
import pytest

from activities.rendering import render_html
from documents.pdf import html_to_pdf
from domain.plan import PlanDefinition

PDFAID = "{http://www.aiim.org/pdfa/ns/id/}"
FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def _fonts(pdf: pikepdf.Pdf) -> list[Any]:
    """Every font the pages use, descendants of composite fonts included."""
    found: list[Any] = []
    empty = pikepdf.Dictionary()
    for page in pdf.pages:
        resources = page.obj.get("/Resources", empty)
        for font in resources.get("/Font", empty).values():
            found.append(font)
            found.extend(font.get("/DescendantFonts", []))
    return found


def pdfa_problems(document: bytes) -> list[str]:
    problems: list[str] = []
    with pikepdf.open(io.BytesIO(document)) as pdf:
        if pdf.is_encrypted:
            problems.append("encrypted")
        with pdf.open_metadata() as xmp:
            part, conformance = xmp.get(f"{PDFAID}part"), xmp.get(f"{PDFAID}conformance")
        if (part, conformance) != ("3", "B"):
            problems.append(f"XMP pdfaid part/conformance is {part}/{conformance}, not 3/B")
        intents = [i for i in pdf.Root.get("/OutputIntents", []) if i.get("/S") == "/GTS_PDFA1"]
        if not intents:
            problems.append("no OutputIntent of subtype GTS_PDFA1")
        for intent in intents:
            profile = intent.get("/DestOutputProfile")
            if not isinstance(profile, pikepdf.Stream) or profile.read_bytes()[36:40] != b"acsp":
                problems.append("the OutputIntent has no embedded ICC profile")
        if "/ID" not in pdf.trailer:
            problems.append("no file identifier (/ID) in the trailer")
        fonts = _fonts(pdf)
        if not fonts:
            problems.append("no fonts found on the pages")
        for font in fonts:
            if font.get("/Subtype") == "/Type0":
                continue  # its descendant carries the descriptor
            descriptor = font.get("/FontDescriptor")
            if descriptor is None or not any(k in descriptor for k in FONT_FILES):
                problems.append(f"font {font.get('/BaseFont')} is not embedded")
    return problems


@pytest.fixture
def adopted_html(bodo: PlanDefinition) -> str:
    content = bodo.proposals
    assert content is not None
    at = datetime(2026, 12, 4, 14, 55, tzinfo=UTC)
    return render_html(bodo, content, 2, content.content_hash(), adopted_at=at)


def test_the_adopted_plan_pdf_has_the_pdf_a_3b_essentials(adopted_html: str) -> None:
    assert pdfa_problems(html_to_pdf(adopted_html, archival=True)) == []


def test_the_check_refuses_a_pdf_that_is_not_archival(adopted_html: str) -> None:
    problems = pdfa_problems(html_to_pdf(adopted_html))
    assert any("pdfaid" in p for p in problems), problems
    assert any("OutputIntent" in p for p in problems), problems
