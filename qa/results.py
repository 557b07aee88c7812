"""The values a question produces: retrieved passages, citations, answers.

Plain dataclasses with ``to_dict`` so the CLI's ``--json``, the REST API and
the UI all show the same fields.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field

import numpy as np

from qa.index.chunking import Span

SentenceKey = tuple[str, int, int]  # (article id, start, end)


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the index, with what a citation needs."""

    id: str
    article_id: str
    title: str
    source: str
    url: str
    published: str
    text: str
    start: int
    end: int
    sentences: tuple[Span, ...]
    lead_text: str
    lead: Span | None
    embed_key: str = ""
    sentence_vectors: np.ndarray | None = field(default=None, compare=False, repr=False)
    pages: tuple[int, ...] = ()  # where each page of the article starts (PDFs)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page an article offset falls on, or None for an article without pages."""
        return bisect_right(self.pages, offset) if self.pages else None

    def sentence_keys(self) -> list[SentenceKey]:
        return [(self.article_id, start, end) for start, end in self.sentences]

    def sentence_text(self, span: Span) -> str:
        """The article's text at ``span``, which lies inside this chunk or is its lead."""
        if self.lead and span == self.lead:
            return self.lead_text
        return self.text[span[0] - self.start : span[1] - self.start]


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with how it scored."""

    chunk: StoredChunk
    score: float  # the retrieval score passages are ordered by
    dense: float  # cosine similarity of the chunk to the question
    lexical: float  # BM25 score (0 when BM25 did not find it)
    sibling: bool = False  # read because it is part of the top passage's article

    def to_dict(self) -> dict:
        c = self.chunk
        return {
            "chunk_id": c.id,
            "article_id": c.article_id,
            "title": c.title,
            "source": c.source,
            "url": c.url,
            "published": c.published,
            "text": c.text,
            "start": c.start,
            "end": c.end,
            "score": round(self.score, 6),
            "dense": round(self.dense, 4),
            "lexical": round(self.lexical, 4),
        }


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found for one standalone question, and how it read it."""

    question: str
    query_vector: np.ndarray
    terms: list[str]
    time_cues: tuple[str, ...]
    passages: list[Passage]
    sentence_vectors: dict = field(default_factory=dict)  # (article id, start, end) -> vector
    # The articles the previous answer quoted, when the question follows up on it.
    focus_articles: tuple[str, ...] = ()
    # What the previous answer already quoted: a follow-up asks for something new.
    said_before: tuple[str, ...] = ()


@dataclass(frozen=True)
class Citation:
    """One [n] mark: the exact passage of an article a claim came from.

    ``quote == article.text[start:end]``; ``passage`` is the surrounding chunk
    (starting at ``passage_start`` in the article) so a reader sees context.
    """

    number: int
    article_id: str
    title: str
    source: str
    quote: str
    start: int
    end: int
    score: float
    url: str = ""
    published: str = ""
    passage: str = ""
    passage_start: int = 0
    page: int | None = None  # the page the quote starts on, for articles with pages (PDFs)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["score"] = round(self.score, 4)
        return data


@dataclass(frozen=True)
class ShortAnswer:
    """The answer phrase the reader marked inside the first citation's quote.

    ``text == article.text[start:end]`` of citation ``citation``'s article; the
    full quote stays the cited answer, this only points at the words in it.
    """

    text: str
    start: int
    end: int
    citation: int
    probability: float

    def to_dict(self) -> dict:
        data = asdict(self)
        data["probability"] = round(self.probability, 4)
        return data


@dataclass(frozen=True)
class Answer:
    """An answer with its citations; ``grounded`` is False when the articles don't say."""

    text: str
    grounded: bool
    citations: list[Citation] = field(default_factory=list)
    question: str = ""  # the standalone question that was answered
    confidence: float = 0.0  # the reader's probability that the best quote answers
    mode: str = "extractive"  # "extractive", "generated", or "fallback" (a model failed)
    dropped: list[dict] = field(default_factory=list)  # generated sentences the verifier removed
    notice: str = ""  # shown with the answer: why a model's answer was not used, or was cut
    short: ShortAnswer | None = None  # the answer phrase, when the reader is sure of it

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "grounded": self.grounded,
            "question": self.question,
            "confidence": round(self.confidence, 4),
            "mode": self.mode,
            "citations": [c.to_dict() for c in self.citations],
            "dropped": list(self.dropped),
            "notice": self.notice,
            "short": self.short.to_dict() if self.short else None,
        }
