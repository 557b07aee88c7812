"""HTML (.html, .htm): the readable text, without scripts, styles and page chrome.

The title is the page's ``<title>``, else its first ``<h1>``; block elements
become paragraph breaks.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from qa.articles import (
    Article,
    LoadResult,
    article_id_for,
    clean_title,
)
from qa.formats.base import FileFormat, Source, decoded


def read_html(data: bytes, source: Source, result: LoadResult) -> None:
    result.articles.append(_article(decoded(data, source, result), source))


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


def _article(text: str, source: Source) -> Article:
    title, body = readable(text)
    return Article(
        id=article_id_for(source.origin, source.stem),
        title=clean_title(title or source.stem),
        origin=source.origin,
        text=body,
    )
