"""HTML (.html, .htm): a news page's story, without navigation, comments and chrome.

A saved or fetched page is read with ``trafilatura`` (main-text extraction
built for news pages): the story's paragraphs without menus, share bars,
related stories, comments, cookie banners and footers, and the title,
author, date and site name from the page's metadata. On the saved-page set
in ``tests/saved_pages.py`` (15 pages, three layouts) it kept all of every
story with 0% chrome in its text, where the hand-written reader below kept
all of it with 61% chrome (``benchmarks/extraction.py``, docs/ingesting.md).
The hand-written reader (``readable``: visible text minus scripts, styles,
nav, header, footer and aside, block elements as paragraph breaks) stays
for fragments (a feed entry's HTML) and as the fallback when trafilatura
finds no story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from qa.index.articles import (
    Article,
    LoadResult,
    article_id_for,
    clean_title,
)
from qa.index.formats.base import FileFormat, Source, decoded

MAX_AUTHOR_WORDS = 6  # longer is an author box's prose, not a byline


@dataclass(frozen=True)
class PageText:
    """What a news page says: its story and what its metadata tells about it."""

    title: str
    text: str  # paragraphs separated by blank lines
    author: str = ""
    published: str = ""  # YYYY-MM-DD, from the page's metadata only
    site: str = ""


def read_html(data: bytes, source: Source, result: LoadResult) -> None:
    result.articles.append(page_article(decoded(data, source, result), source))


def page_article(html: str, source: Source, url: str = "") -> Article:
    """A news page as an article; its id follows where it came from."""
    page = read_page(html)
    if not page.text.strip():
        raise ValueError("no readable text on the page")
    return Article(
        id=article_id_for(source.origin, source.stem),
        title=clean_title(page.title or source.stem),
        origin=source.origin,
        text=page.text,
        url=url,
        source=page.site,
        published=page.published,
        author=page.author,
    )


def read_page(html: str) -> PageText:
    """The story of a page (trafilatura), or all its readable text when none is found."""
    import trafilatura
    from trafilatura.settings import Document

    found = trafilatura.bare_extraction(
        html,
        include_comments=False,
        include_tables=True,
        favor_precision=True,  # on a short page, the default kept its menu (tests/test_articles)
        with_metadata=True,
        date_extraction_params={"extensive_search": False, "outputformat": "%Y-%m-%d"},
    )
    fields: dict[str, Any] = found.as_dict() if isinstance(found, Document) else {}
    title, fallback = readable(html)
    if not (fields.get("text") or "").strip():
        return PageText(title, fallback)
    headline = str(fields.get("title") or "").strip() or title
    paragraphs = [line.strip() for line in str(fields["text"]).splitlines() if line.strip()]
    if paragraphs and paragraphs[0] == headline:
        paragraphs = paragraphs[1:]
    author = " ".join(str(fields.get("author") or "").split())
    return PageText(
        title=headline,
        text="\n\n".join(paragraphs),
        author=author if len(author.split()) <= MAX_AUTHOR_WORDS else "",
        published=str(fields.get("date") or ""),
        site=str(fields.get("sitename") or "").strip(),
    )


HTML = FileFormat("HTML", (".html", ".htm"), read_html)
FORMATS = (HTML,)


class _ReadableText(HTMLParser):
    """Collects visible text with paragraph breaks; skips scripts, styles and chrome."""

    _SKIP = {
        "script",
        "style",
        "noscript",
        "template",
        "nav",
        "header",
        "footer",
        "aside",
        "form",
        "svg",
        "head",
    }
    _BLOCK = {
        "p",
        "div",
        "section",
        "article",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "tr",
        "main",
        "figure",
        "figcaption",
        "hr",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.h1 = ""
        self._skip_depth = 0
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip_depth += 1
        if tag in ("title", "h1"):
            self._in = tag
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        if tag == self._in:
            self._in = None
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in == "title" and not self.title:
            self.title = data.strip()
        elif self._in == "h1" and not self.h1:
            self.h1 = data.strip()
        if not self._skip_depth and self._in != "title":
            self.parts.append(data)


def readable(html: str) -> tuple[str, str]:
    """(title, text) of an HTML page or fragment: the ``<title>`` (else the first
    ``<h1>``) and the visible text as paragraphs, without scripts, styles and chrome."""
    parser = _ReadableText()
    parser.feed(html)
    parser.close()
    body = "".join(parser.parts)
    paragraphs = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", body)]
    paragraphs = [p for p in paragraphs if p]
    title = parser.title or parser.h1
    if paragraphs and title and paragraphs[0] == parser.h1:
        paragraphs = paragraphs[1:]
    return title, "\n\n".join(paragraphs)
