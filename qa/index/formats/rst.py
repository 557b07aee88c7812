"""reStructuredText (.rst), read as plain text: a title underlined with ``===``
(or ``---``, ``~~~``...) is the headline; the rest is kept as written."""

from __future__ import annotations

import re

from qa.index.articles import Article, LoadResult, article_id_for, clean_title
from qa.index.formats.base import FileFormat, Source, decoded

_TITLE = re.compile(r"\A\s*(?:([=\-~^*#+])\1{2,}\n)?([^\n]+)\n([=\-~^*#+])\3{2,}[ \t]*\n")


def read_rst(data: bytes, source: Source, result: LoadResult) -> None:
    text = decoded(data, source, result)
    match = _TITLE.match(text)
    title, body = (match.group(2).strip(), text[match.end() :]) if match else (source.stem, text)
    result.articles.append(
        Article(
            id=article_id_for(source.origin, source.stem),
            title=clean_title(title),
            text=body.strip(),
            origin=source.origin,
        )
    )


FORMATS = (FileFormat("reStructuredText", (".rst",), read_rst),)
