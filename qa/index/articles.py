"""``Article`` values and what every file format shares: decoding, ids, titles.

Each format is its own module under ``qa/index/formats/`` (bytes in, articles out);
``qa.index.formats`` holds the one list of them and loads files by extension.
Loading never raises for one bad file: every problem becomes a ``Failure``
naming the file and the reason, so an ingest run reports it and goes on.
Article ids are stable so that re-ingesting the same file updates the same
article: a file's id derives from its path, a record's is its own ``id`` kept
as given, and a record without one gets an id derived from its content.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, TypedDict

from qa.collections import DEFAULT

_BINARY_SNIFF_BYTES = 8192
# Limits checked before any work on the value (a title is embedded with every
# chunk and shown in every citation; front matter is a few key: value lines).
MAX_TITLE_CHARS = 300
MAX_FIELD_CHARS = 2_000  # source, url, published
MAX_FRONT_MATTER_CHARS = 10_000


@dataclass(frozen=True)
class Article:
    """One news article: its text and what is known about it."""

    id: str
    title: str
    text: str
    origin: str  # the file (or upload name) it came from; used by --prune
    source: str = ""
    url: str = ""
    published: str = ""
    pages: tuple[int, ...] = ()  # where each page starts in ``text`` (PDFs); () for none
    category: str = ""  # "business", "sport"... from the record or front matter
    author: str = ""  # a byline, from a feed entry, the record or front matter
    collection: str = DEFAULT  # which collection it is written to (qa.collections)

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index, to skip unchanged articles."""
        digest = hashlib.sha256()
        for part in (self.title, self.text, self.source, self.url, self.published):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        if self.category:  # only when set: articles without one keep the hash they had
            digest.update(f"category={self.category}".encode())
        if self.author:  # likewise
            digest.update(f"author={self.author}".encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class Failure:
    """A file or record that could not be loaded, and why."""

    name: str
    reason: str


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)  # name -> non-UTF-8 codec used
    notes: list[str] = field(default_factory=list)  # kept, but worth saying (an odd date)


def slugify(text: str, max_len: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_len].strip("-") or "article"


def article_id_for(origin: str, stem: str) -> str:
    """Readable and stable: the file's name plus a short hash of where it lives."""
    return f"{slugify(stem)}-{hashlib.sha1(origin.encode('utf-8')).hexdigest()[:8]}"


MAX_ID_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def content_id(title: str, text: str) -> str:
    """The id of a record that brings none: readable, and derived from what it says.

    Deriving it from the record's place (file and line) made every id-less
    article posted to the REST API the same article, each post silently
    replacing the last; derived from the content, two different articles
    never share an id and posting the same one twice changes nothing.
    """
    digest = hashlib.sha256(f"{title}\0{text}".encode("utf-8")).hexdigest()[:16]
    return f"{slugify(title, 40)}-{digest}"


def given_id(raw: Any) -> str:
    """A record's own id, kept exactly as given ("Doc 1" and "doc-1" stay two articles)."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ValueError("'id' must be text or a whole number")
    article_id = str(raw).strip()
    if not article_id:
        raise ValueError("'id' is blank")
    if len(article_id) > MAX_ID_CHARS:
        raise ValueError(
            f"'id' is too long ({len(article_id):,} characters; the limit is {MAX_ID_CHARS})"
        )
    if _CONTROL.search(article_id):
        raise ValueError("'id' contains control characters")
    return article_id


def failed(name: str, reason: str) -> LoadResult:
    return LoadResult(failures=[Failure(name, reason)])


def decode(data: bytes) -> tuple[str, str]:
    """Decode UTF-8, or the Windows-1252/Latin-1 that older news files use.

    Raises ValueError for binary data. Returns the text with normalised
    newlines and the codec that worked.
    """
    utf16 = _utf16_codec(data)
    if utf16:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            raise ValueError("looks like UTF-16 but does not decode as it") from None
        text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        return text, utf16
    if b"\0" in data[:_BINARY_SNIFF_BYTES]:
        raise ValueError("binary file (contains NUL bytes), not text")
    for codec in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(codec)
            break
        except UnicodeDecodeError:
            continue
    sample = text[:_BINARY_SNIFF_BYTES]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    if sample and controls / len(sample) > 0.05:
        raise ValueError("binary file (mostly control characters), not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, "utf-8" if codec == "utf-8-sig" else codec


def _utf16_codec(data: bytes) -> str | None:
    """ "utf-16" for a file with a UTF-16 byte-order mark, or one whose every other
    byte is NUL (Windows tools save BOM-less UTF-16 LE text); otherwise None."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    sample = data[:_BINARY_SNIFF_BYTES]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def title_from_first_line(text: str, stem: str, markdown: bool) -> tuple[str, str]:
    """A short first line followed by a blank line is a headline (the BBC layout)."""
    first, _, rest = text.partition("\n")
    heading = first.lstrip("#").strip() if markdown and first.startswith("#") else first.strip()
    looks_like_title = (
        len(heading) <= 120
        and not heading.endswith((".", ":", ","))
        and rest.startswith("\n")
        and rest.strip()
    )
    if looks_like_title or (markdown and first.startswith("#") and rest.strip()):
        return heading, rest.strip()
    return stem.replace("_", " ").replace("-", " ").strip().capitalize() or "Untitled", text


def field_text(value: Any, name: str = "value") -> str:
    """A metadata value as text; refuses one too long to be metadata."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value).strip()
    if len(text) > MAX_FIELD_CHARS:
        raise ValueError(
            f"'{name}' is too long ({len(text):,} characters; the limit is {MAX_FIELD_CHARS:,})"
        )
    return text


class Metadata(TypedDict):
    source: str
    url: str
    published: str
    category: str
    author: str


def metadata_fields(given: Any) -> Metadata:
    """``source``, ``url``, ``published`` (or ``date``), ``category`` and ``author`` from
    front matter or a record, each checked by ``field_text``."""
    return {
        "source": field_text(given.get("source"), "source"),
        "url": field_text(given.get("url"), "url"),
        "published": field_text(given.get("published") or given.get("date"), "published"),
        "category": field_text(given.get("category"), "category"),
        "author": field_text(given.get("author"), "author"),
    }


def title_text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def clean_title(title: str) -> str:
    """One line of at most ``MAX_TITLE_CHARS``, cut at a word: a title is shown in
    every citation and embedded with every chunk, so a runaway one is trimmed,
    looking only at the first characters it keeps (linear in the cut, not the title)."""
    head = title[: MAX_TITLE_CHARS + 1]
    words = head.split()
    if len(title) > MAX_TITLE_CHARS and len(words) > 1 and not head[-1].isspace():
        words = words[:-1]  # the last word was cut in the middle
    return " ".join(words)[:MAX_TITLE_CHARS].strip()


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def valid_unicode(value: str, name: str) -> str:
    """JSON can spell unpaired surrogates (``"\\ud800"``), which are not text."""
    if _SURROGATE.search(value):
        raise ValueError(
            f"'{name}' holds an unpaired surrogate (\\ud800-\\udfff), which is not valid Unicode"
        )
    return value
