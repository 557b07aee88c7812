"""Turn files into ``Article`` values: decoding, front matter, HTML, JSON lines.

Loading never raises for one bad file: every problem becomes a ``Failure``
naming the file and the reason, so an ingest run reports it and goes on.
Article ids are stable so that re-ingesting the same file updates the same
article: a file's id derives from its path, a record's is its own ``id`` kept
as given, and a record without one gets an id derived from its content.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".json")
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

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index, to skip unchanged articles."""
        digest = hashlib.sha256()
        for part in (self.title, self.text, self.source, self.url, self.published):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
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


def _given_id(raw: Any) -> str:
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


def find_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Failure]]:
    """Expand folders into supported files; report paths that do not exist."""
    files: list[Path] = []
    failures: list[Failure] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            files.append(path)
        else:
            failures.append(Failure(str(raw), "no such file or directory"))
    return files, failures


def load_file(path: Path, max_bytes: int) -> LoadResult:
    """Load one file; any problem becomes a Failure in the result."""
    name = str(path)
    try:
        if not path.is_file():
            return _failed(name, "unreadable: not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            return _failed(name, f"too large ({size:,} bytes; the limit is {max_bytes:,})")
        data = path.read_bytes()
    except OSError as exc:
        return _failed(name, f"unreadable: {exc.strerror or exc}")
    return load_bytes(
        path.name, data, origin=str(path.resolve()), display_name=name, max_bytes=max_bytes
    )


def load_bytes(
    filename: str,
    data: bytes,
    origin: str,
    display_name: str | None = None,
    max_bytes: int = 20_000_000,
) -> LoadResult:
    """Load articles from a file's bytes (also used for uploads)."""
    name = display_name or filename
    suffix = Path(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return _failed(
            name,
            f"unsupported file type {suffix or '(none)'}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}",
        )
    if len(data) > max_bytes:
        return _failed(name, f"too large ({len(data):,} bytes; the limit is {max_bytes:,})")
    try:
        text, codec = decode(data)
    except ValueError as exc:
        return _failed(name, str(exc))
    if not text.strip():
        return _failed(name, "empty file")
    result = LoadResult()
    if codec != "utf-8":
        result.encodings[name] = codec
    stem = Path(filename).stem
    try:
        if suffix in (".jsonl", ".json"):
            _load_records(text, suffix, name, origin, stem, result)
        else:
            parse = _parse_html if suffix in (".html", ".htm") else _parse_text
            article = parse(text, origin, stem, markdown=suffix in (".md", ".markdown"))
            if not article.text.strip():
                return _failed(name, "no readable text")
            result.articles.append(article)
    except ValueError as exc:
        return _failed(name, str(exc))
    return result


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


def _failed(name: str, reason: str) -> LoadResult:
    return LoadResult(failures=[Failure(name, reason)])


def _parse_text(text: str, origin: str, stem: str, markdown: bool) -> Article:
    meta: dict[str, Any] = {}
    if markdown or text.startswith("---\n"):
        meta, text = _split_front_matter(text)
    text = text.strip()
    title = _title(meta.get("title"))
    if not title:
        title, text = _title_from_first_line(text, stem, markdown)
    return Article(
        id=article_id_for(origin, stem),
        title=clean_title(title),
        text=text,
        origin=origin,
        source=_str(meta.get("source"), "source"),
        url=_str(meta.get("url"), "url"),
        published=_str(meta.get("published") or meta.get("date"), "published"),
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


def _title_from_first_line(text: str, stem: str, markdown: bool) -> tuple[str, str]:
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


def _str(value: Any, name: str = "value") -> str:
    """A metadata value as text; refuses one too long to be metadata."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value).strip()
    if len(text) > MAX_FIELD_CHARS:
        raise ValueError(
            f"'{name}' is too long ({len(text):,} characters; the limit is {MAX_FIELD_CHARS:,})"
        )
    return text


def _title(value: Any) -> str:
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


def _valid_unicode(value: str, name: str) -> str:
    """JSON can spell unpaired surrogates (``"\\ud800"``), which are not text."""
    if _SURROGATE.search(value):
        raise ValueError(
            f"'{name}' holds an unpaired surrogate (\\ud800-\\udfff), which is not valid Unicode"
        )
    return value


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


def _parse_html(text: str, origin: str, stem: str, markdown: bool = False) -> Article:
    parser = _ReadableText()
    parser.feed(text)
    parser.close()
    body = "".join(parser.parts)
    paragraphs = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", body)]
    paragraphs = [p for p in paragraphs if p]
    title = parser.title or parser.h1
    if paragraphs and title and paragraphs[0] == parser.h1:
        paragraphs = paragraphs[1:]
    return Article(
        id=article_id_for(origin, stem),
        title=clean_title(title or stem),
        origin=origin,
        text="\n\n".join(paragraphs),
    )


def _load_records(
    text: str, suffix: str, name: str, origin: str, stem: str, result: LoadResult
) -> None:
    for where, record in _iter_records(text, suffix, name, result):
        try:
            result.articles.append(_record_to_article(record, origin, stem, where))
        except ValueError as exc:
            result.failures.append(Failure(f"{name} {where}", str(exc)))
    if not result.articles and not result.failures:
        raise ValueError("no records found")


def _iter_records(
    text: str, suffix: str, name: str, result: LoadResult
) -> Iterator[tuple[str, Any]]:
    if suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", _parse_json(line)
            except ValueError as exc:
                result.failures.append(Failure(f"{name} line {number}", str(exc)))
        return
    data = _parse_json(text)
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    records = data if isinstance(data, list) else [data]
    for number, record in enumerate(records, start=1):
        yield f"record {number}", record


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None


def _record_to_article(record: Any, origin: str, stem: str, where: str) -> Article:
    if not isinstance(record, dict):
        raise ValueError("a record must be a JSON object with at least a 'text' field")
    body = record.get("text")
    if not isinstance(body, str) or not body.strip():
        raise ValueError("missing or empty 'text'")
    body = body.replace("\r\n", "\n").strip()
    raw_id = record.get("id")
    for name, value in record.items():
        if isinstance(value, str):
            _valid_unicode(value, str(name)[:40])
    title = _title(record.get("title"))
    if not title:
        title, body = _title_from_first_line(body, str(raw_id or stem), markdown=False)
    title = clean_title(title)
    article_id = _given_id(raw_id) if raw_id not in (None, "") else content_id(title, body)
    return Article(
        id=article_id,
        title=title,
        text=body,
        origin=origin,
        source=_str(record.get("source"), "source"),
        url=_str(record.get("url"), "url"),
        published=_str(record.get("published") or record.get("date"), "published"),
    )
