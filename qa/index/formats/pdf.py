"""PDF (.pdf): the text layer of each page, with where each page starts, so that a
citation can say which page it quotes.

Read with pypdf. An encrypted PDF, one without a text layer (a scan) and a
damaged one are each reported by name with the reason, and skipped.
"""

from __future__ import annotations

import io
import re
from typing import Any

from qa.index.articles import (
    Article,
    LoadResult,
    article_id_for,
    clean_title,
    title_from_first_line,
)
from qa.index.formats.base import FileFormat, Source

MAX_PAGES = 2_000  # a longer PDF is a book, not an article: refused before reading pages


def read_pdf(data: bytes, source: Source, result: LoadResult) -> None:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ValueError("encrypted PDF: save a copy without a password and add that")
        if len(reader.pages) > MAX_PAGES:
            raise ValueError(f"too many pages ({len(reader.pages):,}; the limit is {MAX_PAGES:,})")
        pages = [_clean(page.extract_text() or "") for page in reader.pages]
        metadata: Any = reader.metadata or {}
        title = str(metadata.get("/Title") or "").strip()
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser fed hostile bytes can raise anything
        raise ValueError(f"unreadable PDF ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not any(pages):
        raise ValueError("the PDF has no text layer (a scan?); only PDFs with text are read")
    text, starts = _joined(pages)
    if not title:
        title, _ = title_from_first_line(text, source.stem, markdown=False)
    result.articles.append(
        Article(
            id=article_id_for(source.origin, source.stem),
            title=clean_title(title),
            text=text,
            origin=source.origin,
            pages=starts,
        )
    )


def _clean(page: str) -> str:
    """One page's text with its lines' trailing spaces gone and runs of blank lines cut."""
    lines = [line.rstrip() for line in page.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _joined(pages: list[str]) -> tuple[str, tuple[int, ...]]:
    """The pages as one text, a blank line apart, and where each starts in it."""
    starts, parts, at = [], [], 0
    for page in pages:
        starts.append(at)
        parts.append(page)
        at += len(page) + 2
    return "\n\n".join(parts), tuple(starts)


FORMATS = (FileFormat("PDF", (".pdf",), read_pdf),)
