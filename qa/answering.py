"""The extractive answerer: the question's best-supported sentences, each cited.

It cannot invent a fact: every word of an answer is a sentence of an article,
followed by the [n] mark of the citation that quotes it. A sentence's support
blends three signals computed without running the model again:

- its context-aware vector (pooled at ingest time) against the question's;
- the share of the question's words (IDF-weighted) it contains;
- how well its whole passage matches the question.

When the best support is below ``min_score`` the answer says the articles
don't answer the question (``grounded=False``) rather than quote something
unrelated. A sentence that leans on the one before it ("That culminated...")
brings that sentence along, and a sentence that names the month or year the
question asks about brings the next sentence when it continues the story
("The focus then was...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.lexical import Analyzer, LexicalIndex
from qa.results import Answer, Citation, Passage, Retrieval
from qa.retrieval import mentions
from qa.store import ArticleStore, StoredChunk, Span

NOT_ANSWERED = "The articles don't say: I found nothing in them that answers this question."
W_SENTENCE, W_LEXICAL, W_PASSAGE, W_TIME = 0.45, 0.35, 0.20, 0.08
MARGIN = 0.06
_DEPENDENT_START = re.compile(
    r"^[\"'“‘]?(that|this|these|those|it|its|he|she|they|his|her|their|him|them|but|however|"
    r"then|there|such|also|yet|so|and|meanwhile|instead|still|both|the move)\b", re.I)
_BACK_REFERENCE = re.compile(r"^(?:\S+\s+){0,4}?(then|that|this|there|these|those)\b", re.I)


@dataclass(frozen=True)
class _Sentence:
    passage: Passage
    position: int  # index in the chunk's sentence list
    span: Span
    text: str
    support: float


@dataclass(frozen=True)
class _Unit:
    """Contiguous sentences of one chunk, cited together."""

    chunk: StoredChunk
    start: int
    end: int
    support: float


class ExtractiveAnswerer:
    """Answers from retrieved passages by selecting and citing their sentences."""

    def __init__(self, store: ArticleStore, lexical: LexicalIndex, analyzer: Analyzer,
                 min_score: float, max_sentences: int = 3) -> None:
        self.store = store
        self.lexical = lexical
        self.analyzer = analyzer
        self.min_score = min_score
        self.max_sentences = max_sentences

    def answer(self, retrieval: Retrieval) -> Answer:
        scored = self.score_sentences(retrieval)
        if not scored or scored[0].support < self.min_score:
            best = scored[0].support if scored else 0.0
            return Answer(NOT_ANSWERED, False, [], retrieval.question, best)
        units = self._units(self._pick(scored), retrieval)
        return _render(units, retrieval.question, scored[0].support)

    def score_sentences(self, retrieval: Retrieval) -> list[_Sentence]:
        """Every sentence of the retrieved passages with its support, best first."""
        vectors = retrieval.sentence_vectors or \
            self.store.sentence_vectors([p.chunk for p in retrieval.passages])
        question_terms = list(dict.fromkeys(retrieval.terms))
        weights = self.lexical.idf_weights(question_terms)
        total_weight = float(weights.sum()) or 1.0
        scored = []
        for passage in retrieval.passages:
            chunk = passage.chunk
            for position, span in enumerate(chunk.sentences):
                text = chunk.sentence_text(span)
                vector = vectors.get((chunk.article_id, span[0], span[1]))
                dense = float(vector @ retrieval.query_vector) if vector is not None else passage.dense
                terms = set(self.analyzer.terms(text))
                lexical = float(sum(w for t, w in zip(question_terms, weights) if t in terms)) / total_weight
                support = W_SENTENCE * dense + W_LEXICAL * lexical + W_PASSAGE * passage.dense
                if retrieval.time_cues and mentions(text, retrieval.time_cues):
                    support += W_TIME
                scored.append(_Sentence(passage, position, span, text, support))
        scored.sort(key=lambda s: s.support, reverse=True)
        return scored

    def _pick(self, scored: list[_Sentence]) -> list[_Sentence]:
        """The best sentence and close runners-up, never the same words twice."""
        floor = max(self.min_score, scored[0].support - MARGIN)
        picked: list[_Sentence] = []
        seen: set[str] = set()
        for sentence in scored:
            if sentence.support < floor or len(picked) == self.max_sentences:
                break
            key = _normalise(sentence.text)
            if key not in seen:
                seen.add(key)
                picked.append(sentence)
        return picked

    def _units(self, picked: list[_Sentence], retrieval: Retrieval) -> list[_Unit]:
        """Add the context each picked sentence needs; merge what touches."""
        spans: dict[str, list[tuple[int, int, float]]] = {}
        chunks: dict[str, StoredChunk] = {}
        lead_units: list[_Unit] = []
        for s in picked:
            chunk = s.passage.chunk
            chunks[chunk.id] = chunk
            first, last = s.position, s.position
            if _DEPENDENT_START.match(s.text):
                if s.position > 0:
                    first -= 1
                elif chunk.lead:
                    lead_units.append(_Unit(chunk, *chunk.lead, s.support))
            if (retrieval.time_cues and mentions(s.text, retrieval.time_cues)
                    and last + 1 < len(chunk.sentences)
                    and _BACK_REFERENCE.match(chunk.sentence_text(chunk.sentences[last + 1]))):
                last += 1
            spans.setdefault(chunk.id, []).append(
                (chunk.sentences[first][0], chunk.sentences[last][1], s.support))
        units = list(lead_units)
        for chunk_id, ranges in spans.items():
            for start, end, support in _merge(ranges):
                units.append(_Unit(chunks[chunk_id], start, end, support))
        return _dedupe(units)


def _merge(ranges: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    merged: list[list] = []
    for start, end, support in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] = max(merged[-1][2], support)
        else:
            merged.append([start, end, support])
    return [tuple(m) for m in merged]


def _dedupe(units: list[_Unit]) -> list[_Unit]:
    """Drop a unit whose words another unit already quotes (duplicate articles)."""
    kept: list[_Unit] = []
    seen: list[str] = []
    for unit in sorted(units, key=lambda u: -u.support):
        key = _normalise(_unit_text(unit))
        if any(key in other or other in key for other in seen):
            continue
        seen.append(key)
        kept.append(unit)
    return kept


def _unit_text(unit: _Unit) -> str:
    chunk = unit.chunk
    if chunk.lead and (unit.start, unit.end) == chunk.lead:
        return chunk.lead_text
    return chunk.text[unit.start - chunk.start:unit.end - chunk.start]


def _render(units: list[_Unit], question: str, confidence: float) -> Answer:
    """Article order within an article; articles in order of their best support."""
    best_by_article: dict[str, float] = {}
    for unit in units:
        best_by_article[unit.chunk.article_id] = max(
            best_by_article.get(unit.chunk.article_id, 0.0), unit.support)
    ordered = sorted(units, key=lambda u: (-best_by_article[u.chunk.article_id], u.start))
    citations, parts = [], []
    for number, unit in enumerate(ordered, start=1):
        quote = _unit_text(unit)
        chunk = unit.chunk
        citations.append(Citation(
            number=number, article_id=chunk.article_id, title=chunk.title, source=chunk.source,
            quote=quote, start=unit.start, end=unit.end, score=unit.support, url=chunk.url,
            published=chunk.published, passage=chunk.text, passage_start=chunk.start))
        parts.append(f"{' '.join(quote.split())} [{number}]")
    return Answer(" ".join(parts), True, citations, question, confidence)


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))
