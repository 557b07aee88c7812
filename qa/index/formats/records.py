"""JSON Lines (.jsonl: one article per line) and JSON (.json: an article, a list of
them, or ``{"articles": [...]}``). Each record needs ``text``; ``id``, ``title``,
``source``, ``url`` and ``published`` (or ``date``) are optional. A bad record is
reported and the others are kept.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from qa.index.articles import (
    Article,
    Failure,
    LoadResult,
    clean_title,
    content_id,
    given_id,
    metadata_fields,
    title_from_first_line,
    title_text,
    valid_unicode,
)
from qa.index.formats.base import FileFormat, Source, decoded


def read_jsonl(data: bytes, source: Source, result: LoadResult) -> None:
    _load_records(decoded(data, source, result), ".jsonl", source, result)


def read_json(data: bytes, source: Source, result: LoadResult) -> None:
    _load_records(decoded(data, source, result), ".json", source, result)


JSONL = FileFormat("JSON Lines", (".jsonl",), read_jsonl)
JSON = FileFormat("JSON", (".json",), read_json)
FORMATS = (
    JSONL,
    JSON,
)


def _load_records(text: str, suffix: str, source: Source, result: LoadResult) -> None:
    name, origin, stem = source.name, source.origin, source.stem
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
            valid_unicode(value, str(name)[:40])
    title = title_text(record.get("title"))
    if not title:
        title, body = title_from_first_line(body, str(raw_id or stem), markdown=False)
    title = clean_title(title)
    article_id = given_id(raw_id) if raw_id not in (None, "") else content_id(title, body)
    return Article(
        id=article_id,
        title=title,
        text=body,
        origin=origin,
        **metadata_fields(record),
    )
