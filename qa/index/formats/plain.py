"""Plain text (.txt) and Markdown (.md, .markdown), with optional YAML front matter.

A short first line followed by a blank line is the headline (the BBC layout);
Markdown's first ``#`` heading is one too. Front matter (``title``, ``source``,
``url``, ``published``) is safe YAML without aliases, at most
``MAX_FRONT_MATTER_CHARS`` long.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from qa.index.articles import (
    MAX_FRONT_MATTER_CHARS,
    Article,
    LoadResult,
    article_id_for,
    clean_title,
    metadata_fields,
    title_from_first_line,
    title_text,
)
from qa.index.formats.base import FileFormat, Source, decoded


def read_text(data: bytes, source: Source, result: LoadResult) -> None:
    result.articles.append(_article(decoded(data, source, result), source, markdown=False))


def read_markdown(data: bytes, source: Source, result: LoadResult) -> None:
    result.articles.append(_article(decoded(data, source, result), source, markdown=True))


TEXT = FileFormat("plain text", (".txt",), read_text)
MARKDOWN = FileFormat("Markdown", (".md", ".markdown"), read_markdown)
FORMATS = (
    TEXT,
    MARKDOWN,
)


def _article(text: str, source: Source, markdown: bool) -> Article:
    origin, stem = source.origin, source.stem
    meta: dict[str, Any] = {}
    if markdown or text.startswith("---\n"):
        meta, text = _split_front_matter(text)
    text = text.strip()
    title = title_text(meta.get("title"))
    if not title:
        title, text = title_from_first_line(text, stem, markdown)
    return Article(
        id=article_id_for(origin, stem),
        title=clean_title(title),
        text=text,
        origin=origin,
        **metadata_fields(meta),
    )


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases: nested ``*alias`` references expand a few hundred
    bytes of front matter into gigabytes (the "billion laughs" attack)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise ValueError("front matter uses a YAML alias (*name), which is not allowed")
        return super().compose_node(parent, index)


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 3, MAX_FRONT_MATTER_CHARS + 4)
    if end < 0:
        if "\n---" in text[3:]:
            raise ValueError(
                f"front matter is too long (the limit is {MAX_FRONT_MATTER_CHARS:,} characters)"
            )
        return {}, text
    match = re.compile(r"---[ \t]*(?:\n|$)").match(text, end + 1)
    if not match:
        return {}, text
    try:
        meta = yaml.load(text[4:end], Loader=_NoAliasLoader) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML front matter: {str(exc).splitlines()[0]}") from None
    if not isinstance(meta, dict):
        raise ValueError("front matter must be a mapping of key: value lines")
    return meta, text[match.end() :]
