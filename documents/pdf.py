"""PDFs of the documents, made with WeasyPrint from the same HTML as the pages.

WeasyPrint is well kept, pure Python on Pango (no browser on the worker or the API), it
follows the documents' print CSS (@page, page numbers, running labels), and it writes
PDF/A: the adopted plan is archival as ``pdf/a-3b``, the variant that Norwegian archives
accept and that keeps fonts embedded. The documents fetch nothing, so no URL fetcher is
needed: any reference to the outside is refused rather than fetched.
"""

from __future__ import annotations

import asyncio
from typing import Any

ARCHIVAL_VARIANT = "pdf/a-3b"


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"a document fetches nothing; refused {url!r}")


def html_to_pdf(html: str, *, archival: bool = False) -> bytes:
    """The page as a PDF (PDF/A-3b when ``archival``)."""
    from weasyprint import HTML  # Pango is loaded on first use only

    document = HTML(string=html, url_fetcher=_refuse_fetch)
    options: dict[str, Any] = {"pdf_variant": ARCHIVAL_VARIANT} if archival else {}
    pdf = document.write_pdf(**options)
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf without a target
        raise TypeError("WeasyPrint returned no bytes")
    return pdf


async def html_to_pdf_async(html: str, *, archival: bool = False) -> bytes:
    """As :func:`html_to_pdf`, off the event loop (laying out pages takes CPU time)."""
    return await asyncio.to_thread(html_to_pdf, html, archival=archival)
