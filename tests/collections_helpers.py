"""An index with two collections for the access tests: ``default`` (public, the seed
article) and ``legal`` (private, a memo whose words appear nowhere else), with tokens
and a group map in its token book."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SECRET = "Zorblax"  # in the legal memo only: any response holding it leaked
SECRET_FACTS = ("Zorblax", "41 million", "merger", "Legal desk", "general counsel")
LEGAL_QUESTION = "What price was proposed in the Zorblax merger talks?"
PUBLIC_QUESTION = "What did France promise in July?"
MEMO = """---
title: Merger talks with Zorblax Industries
source: Legal desk
category: briefings
published: 2026-11-02
---
The legal desk has begun confidential merger talks with Zorblax Industries. The
proposed price is 41 million euros, according to the draft memo. Talks are expected
to close in March, the general counsel said.
"""


@dataclass(frozen=True)
class TwoCollections:
    index_dir: Path
    public_token: str  # reads default only
    legal_token: str  # reads legal (and default, which is public)
    legal_writer: str  # writes legal
    memo_id: str  # the memo's article id in legal


def build_two_collections(index_dir: Path, seeds: Path) -> TwoCollections:
    """Build the index (real model, real Chroma) and its token book."""
    from qa import Assistant
    from qa.access import AccessBook

    assistant = Assistant(index_dir=index_dir)
    assistant.ingest([seeds])
    assistant.create_collection("legal", private=True)
    memo = index_dir.parent / "legal-files" / "zorblax-memo.md"
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(MEMO, encoding="utf-8")
    report = assistant.using("legal").ingest([memo])
    assert report.added and not report.failed, report
    book = AccessBook(index_dir / "access.json")
    _, public = book.add_token(read=["default"], label="newsroom")
    _, legal = book.add_token(read=["legal"], label="legal desk")
    _, writer = book.add_token(read=["legal"], write=["legal"], label="legal desk writer")
    book._change(lambda raw: raw.update(groups={"legal-team": {"read": ["legal"]}}))
    return TwoCollections(index_dir, public, legal, writer, report.added[0])
