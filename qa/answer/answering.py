"""Answerers: a retrieval in, an ``Answer`` out. The extractive one is the default.

``Answerer`` is the seam: anything with ``answer(retrieval) -> Answer`` can be
given to ``Assistant(..., answerer=...)``. An answerer works only on the
passages it is given (and their sentence vectors, carried by ``Retrieval``);
it never reaches into the index, so a second one is one new module.

The extractive answerer cannot invent a fact: every word of its answer is a
sentence of an article, followed by the [n] mark of the citation that quotes
it. The reader (``qa/answer/reader.py``) ranks the sentences by how likely each is
the one that answers; the best one is the answer and a runner-up close to it
joins. When the reader's probability that the best one answers at all is
below its fitted threshold, the answer says the articles don't answer the
question (``grounded=False``). A sentence that
leans on the one before it ("That culminated...") brings that sentence along,
and a sentence that names the month or year the question asks about brings
the next one when it continues the story ("The focus then was...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

from qa.analysis import full_names, full_names_at
from qa.answer.conversation import Message, condense
from qa.answer.reader import (
    DEPENDENT_START,
    STATES_CAUSE,
    SentenceEvidence,
    SentenceReader,
    question_kind,
)
from qa.answer.retrieval import mentions
from qa.results import Answer, Citation, Retrieval, ShortAnswer, StoredChunk
from qa.weights import MAX_CAUSE_STEPS, RUNNER_UP_SHARE, SHORT_MIN_PROBABILITY

NOT_ANSWERED = "The articles don't say: I found nothing in them that answers this question."
MAX_CHUNK_GAP = 2  # characters between adjacent chunks (a paragraph break)
_OPENING_QUOTES = " \t\"'“‘"
_BACK_REFERENCE = re.compile(r"^(?:\S+\s+){0,4}?(then|that|this|there|these|those)\b", re.I)


Event = dict[str, Any]  # {"event": "token" | "sentence" | "answer", ...}


class Answerer(Protocol):
    """Turns what retrieval found into a cited answer: all that
    ``Assistant(answerer=...)`` asks of one given to it."""

    def answer(self, retrieval: Retrieval) -> Answer: ...


@runtime_checkable
class ChatAnswerer(Answerer, Protocol):
    """What ``Assistant`` and the chain call: an answerer that also streams its
    answer as events, makes a follow-up standalone, and says whether the model
    behind it (if any) answers now."""

    def stream(self, retrieval: Retrieval) -> Iterator[Event]:
        """Token events while a model writes, then ``{"event": "answer", "answer": Answer}``."""
        ...

    def condense(self, question: str, history: Sequence[Message]) -> str:
        """The follow-up ``question`` rewritten to stand alone."""
        ...

    def status(self) -> bool | None:
        """Whether the model behind the answers responds now; None when there is none."""
        ...


class AnswersAtOnce:
    """The ``ChatAnswerer`` methods of an answerer no model writes for: the answer
    is the one event, follow-ups get the conversation rules' rewrite, and there is
    no model to check."""

    def answer(self, retrieval: Retrieval) -> Answer:
        raise NotImplementedError

    def stream(self, retrieval: Retrieval) -> Iterator[Event]:
        yield {"event": "answer", "answer": self.answer(retrieval)}

    def condense(self, question: str, history: Sequence[Message]) -> str:
        return condense(question, history)

    def status(self) -> bool | None:
        return None


class _AnswerOnly(AnswersAtOnce):
    """A ``ChatAnswerer`` around an answerer that only answers."""

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer

    def answer(self, retrieval: Retrieval) -> Answer:
        return self.answerer.answer(retrieval)


def for_chat(answerer: Answerer) -> ChatAnswerer:
    """``answerer`` itself when it is a whole ``ChatAnswerer``; else wrapped in one."""
    return answerer if isinstance(answerer, ChatAnswerer) else _AnswerOnly(answerer)


@dataclass(frozen=True)
class _Unit:
    """Contiguous sentences of one chunk, cited together."""

    chunk: StoredChunk
    start: int
    end: int
    support: float


class ExtractiveAnswerer(AnswersAtOnce):
    """Answers by quoting the sentences the reader finds most likely to answer."""

    mode = "extractive"

    def __init__(self, reader: SentenceReader, max_sentences: int = 2) -> None:
        self.reader = reader
        self.max_sentences = max_sentences

    def answer(self, retrieval: Retrieval) -> Answer:
        reading = self.reader.read(retrieval)
        confidence = reading.answerable
        if not reading.sentences or confidence < self.reader.threshold:
            return Answer(NOT_ANSWERED, False, [], retrieval.question, confidence, mode=self.mode)
        picked = self._pick(reading.sentences)
        units = self._units(picked, retrieval, kind=question_kind(retrieval.question))
        answer = _render(units, retrieval.question, confidence, self.mode)
        return replace(answer, short=_short(picked[0], answer.citations))

    def _pick(self, read: list[SentenceEvidence]) -> list[SentenceEvidence]:
        """The best sentence and close runners-up, never the same words twice."""
        floor = read[0].probability * RUNNER_UP_SHARE
        picked: list[SentenceEvidence] = []
        seen: set[str] = set()
        for sentence in read:
            if sentence.probability < floor or len(picked) == self.max_sentences:
                break
            key = _normalise(sentence.text)
            if key not in seen:
                seen.add(key)
                picked.append(sentence)
        return picked

    def _units(
        self, picked: list[SentenceEvidence], retrieval: Retrieval, kind: str = "other"
    ) -> list[_Unit]:
        """Add the context each picked sentence needs; merge what touches.

        For a why/how question, a sentence that states no cause brings the next
        one, and the one after that when the next states none either: articles
        often restate the event, then give the reason in the following sentence
        or quote ('...said Mr Currington. "My written English is not very
        good..."'). For a question asking for a name
        (who, which, where), a sentence that names no one in full brings the
        next one when that opens with a full name: "...says a top academic."
        is followed by "Amitai Etzioni, a key influence on New Labour
        thinking, says...".
        """
        spans: dict[str, list[tuple[int, int, float]]] = {}
        chunks: dict[str, StoredChunk] = {}
        extra_units: list[_Unit] = []
        for s in picked:
            chunk = s.passage.chunk
            chunks[chunk.id] = chunk
            first, last = s.position, s.position
            if DEPENDENT_START.match(s.text):
                if s.position > 0:
                    first -= 1
                elif chunk.lead:
                    extra_units.append(_Unit(chunk, *chunk.lead, s.probability))
            has_next = last + 1 < len(chunk.sentences)
            if (
                retrieval.time_cues
                and mentions(s.text, retrieval.time_cues)
                and has_next
                and _BACK_REFERENCE.match(chunk.sentence_text(chunk.sentences[last + 1]))
            ):
                last += 1
            elif kind == "reason" and not STATES_CAUSE.search(s.text):
                if has_next:
                    last = _cause_reached(chunk, last + 1)
                elif following := _next_chunk(chunk, retrieval):
                    extra_units.append(_Unit(following, *following.sentences[0], s.probability))
            elif (
                kind == "name"
                and has_next
                and _named_next(s.text, chunk.sentence_text(chunk.sentences[last + 1]))
            ):
                last += 1
            spans.setdefault(chunk.id, []).append(
                (chunk.sentences[first][0], chunk.sentences[last][1], s.probability)
            )
        units = list(extra_units)
        for chunk_id, ranges in spans.items():
            for start, end, support in _merge(ranges):
                units.append(_Unit(chunks[chunk_id], start, end, support))
        return _dedupe(units)


def _cause_reached(chunk: StoredChunk, position: int) -> int:
    """The sentence a why/how answer reads on to from ``position``: that one, or the
    one after when it still states no cause (at most MAX_CAUSE_STEPS in all).

    "Fans in Europe will have to wait until next year." is followed by "Sony has
    said that the PAL version of GT4 will not be ready for Christmas." and only
    then by the reason: "The product is localised into 13 different languages...".
    """
    for _ in range(MAX_CAUSE_STEPS - 1):
        if STATES_CAUSE.search(chunk.sentence_text(chunk.sentences[position])):
            break
        if position + 1 >= len(chunk.sentences):
            break
        position += 1
    return position


def _named_next(sentence: str, following: str) -> bool:
    """Whether ``sentence`` names no one in full and ``following`` opens with a full name."""
    if full_names(sentence):
        return False
    named = full_names_at(following)
    return bool(named) and not following[: named[0][0]].strip(_OPENING_QUOTES)


def _next_chunk(chunk: StoredChunk, retrieval: Retrieval) -> StoredChunk | None:
    """The retrieved chunk of the same article that starts where ``chunk`` ends.

    The reason often opens the next chunk: "...glad to see the back of Mr
    Kilroy-Silk." ends one, '"He has remarkable ability... but, sadly..."'
    opens the next.
    """
    return next(
        (
            p.chunk
            for p in retrieval.passages
            if p.chunk.article_id == chunk.article_id
            and 0 <= p.chunk.start - chunk.end <= MAX_CHUNK_GAP
            and p.chunk.sentences
        ),
        None,
    )


def _merge(ranges: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    merged: list[list[float]] = []
    for start, end, support in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] = max(merged[-1][2], support)
        else:
            merged.append([start, end, support])
    return [(int(m[0]), int(m[1]), m[2]) for m in merged]


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
    return chunk.text[unit.start - chunk.start : unit.end - chunk.start]


def _render(units: list[_Unit], question: str, confidence: float, mode: str) -> Answer:
    """Article order within an article; articles in order of their best support."""
    best_by_article: dict[str, float] = {}
    for unit in units:
        best_by_article[unit.chunk.article_id] = max(
            best_by_article.get(unit.chunk.article_id, 0.0), unit.support
        )
    ordered = sorted(units, key=lambda u: (-best_by_article[u.chunk.article_id], u.start))
    citations, parts = [], []
    for number, unit in enumerate(ordered, start=1):
        quote = _unit_text(unit)
        chunk = unit.chunk
        citations.append(
            Citation(
                number=number,
                article_id=chunk.article_id,
                title=chunk.title,
                source=chunk.source,
                quote=quote,
                start=unit.start,
                end=unit.end,
                score=unit.support,
                url=chunk.url,
                published=chunk.published,
                passage=chunk.text,
                passage_start=chunk.start,
                page=chunk.page_at(unit.start),
            )
        )
        parts.append(f"{' '.join(quote.split())} [{number}]")
    return Answer(" ".join(parts), True, citations, question, confidence, mode=mode)


def _short(best: SentenceEvidence, citations: list[Citation]) -> ShortAnswer | None:
    """The phrase the reader marked in the best sentence, when it is sure of it.

    It points into the citation that quotes the sentence, so a reader sees
    the words inside their context; below ``SHORT_MIN_PROBABILITY`` there is
    no short answer (the full sentence still is the answer).
    """
    if best.phrase is None or best.phrase[2] < SHORT_MIN_PROBABILITY:
        return None
    start, end, probability = best.phrase
    chunk = best.passage.chunk
    for citation in citations:
        if (
            citation.article_id == chunk.article_id
            and citation.start <= start < end <= citation.end
        ):
            text = chunk.text[start - chunk.start : end - chunk.start]
            return ShortAnswer(text, start, end, citation.number, probability)
    return None


def _normalise(text: str) -> str:
    """The words, whatever the punctuation: copies of one story in the corpus differ
    by an apostrophe ("12 hours' worth", "12 hour's worth") and are one quote."""
    return " ".join(re.findall(r"\w+", re.sub(r"['’]", "", text.lower())))
