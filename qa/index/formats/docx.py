"""Word documents (.docx): the paragraphs' text, tables included.

Read with python-docx. The title is the document's Title property, else its
first paragraph styled as a title or heading, else the file name.
"""

from __future__ import annotations

import io

from qa.index.articles import Article, LoadResult, article_id_for, clean_title
from qa.index.formats.base import FileFormat, Source


def read_docx(data: bytes, source: Source, result: LoadResult) -> None:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - a parser fed hostile bytes can raise anything
        raise ValueError(f"unreadable Word document ({type(exc).__name__})") from None
    paragraphs = [
        (p.style.name if p.style is not None else "", p.text.strip()) for p in document.paragraphs
    ]
    paragraphs = [(style, text) for style, text in paragraphs if text]
    for table in document.tables:
        for row in table.rows:
            cells = " | ".join(c.text.strip() for c in row.cells if c.text.strip())
            if cells:
                paragraphs.append(("", cells))
    title = (document.core_properties.title or "").strip()
    if not title:
        heading = next(
            (
                i
                for i, (style, _) in enumerate(paragraphs)
                if style.startswith(("Title", "Heading"))
            ),
            None,
        )
        if heading is not None:
            title = paragraphs.pop(heading)[1]
    text = "\n\n".join(text for _, text in paragraphs)
    if not text:
        raise ValueError("the document has no text")
    result.articles.append(
        Article(
            id=article_id_for(source.origin, source.stem),
            title=clean_title(title or source.stem),
            text=text,
            origin=source.origin,
        )
    )


FORMATS = (FileFormat("Word", (".docx",), read_docx),)
