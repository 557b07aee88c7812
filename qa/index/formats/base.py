"""What a file format is: a name, its extensions, and a reader from bytes to articles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from qa.index.articles import LoadResult, decode


@dataclass(frozen=True)
class Source:
    """Where the bytes came from: shown in reports, and the basis of file article ids."""

    name: str  # as reported ("seeds/a.md", or an upload's file name)
    origin: str  # the resolved path (or upload name): what --prune compares
    stem: str  # the file name without its extension: the fallback title and id


# Adds the file's articles (and any per-record failures) to the result; raises
# ValueError when the whole file is unusable (the message says why).
Reader = Callable[[bytes, Source, LoadResult], None]


@dataclass(frozen=True)
class FileFormat:
    label: str  # for people: "Markdown"
    suffixes: tuple[str, ...]  # lower case, with the dot: (".md", ".markdown")
    read: Reader


def decoded(data: bytes, source: Source, result: LoadResult) -> str:
    """The bytes as text, for the formats that are text; notes a non-UTF-8 codec."""
    text, codec = decode(data)
    if not text.strip():
        raise ValueError("empty file")
    if codec != "utf-8":
        result.encodings[source.name] = codec
    return text
