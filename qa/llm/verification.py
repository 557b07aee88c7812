"""Checking a generated answer sentence by sentence against the passages it cites.

A language model writes fluent sentences whether or not the passages say
them. Each sentence of a generated answer is kept only when:

1. it carries at least one [n] mark, and every n is a passage it was given;
2. every name and number it states occurs in the cited passages (a date, an
   amount or a person the passages don't hold is the commonest invention);
3. one sentence of a cited passage supports it: cosine similarity of the two
   sentence vectors of at least ``MIN_SIMILARITY`` and at least
   ``MIN_COVERAGE`` of its content words found in that sentence.

The supporting sentence becomes the citation's quote, with its exact article
offsets, so a generated answer's citations look like the extractive ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from qa.analysis import CAPITALISED, Analyzer
from qa.index.embeddings import Embedder
from qa.results import Passage
from qa.weights import MIN_COVERAGE, MIN_SIMILARITY

_MARKS = re.compile(r"\[([\d,\s]+)\]")
_NUMBER = re.compile(r"\d[\d,.]*")
_NOT_NAMES = {
    "The",
    "A",
    "An",
    "He",
    "She",
    "It",
    "They",
    "We",
    "I",
    "In",
    "On",
    "At",
    "As",
    "But",
    "And",
    "This",
    "That",
    "These",
    "Those",
    "There",
    "Then",
    "However",
    "According",
    "Yes",
    "No",
    "Its",
    "His",
    "Her",
    "Their",
    "Our",
    "After",
    "Before",
    "When",
    "While",
    "If",
    "So",
    "For",
    "To",
    "Of",
    "By",
    "With",
    "From",
    "Also",
}


@dataclass(frozen=True)
class Support:
    """The passage sentence that supports a generated sentence."""

    passage: Passage
    span: tuple[int, int]  # article offsets of the supporting sentence
    similarity: float
    coverage: float


@dataclass(frozen=True)
class Verdict:
    """One generated sentence: kept with its support, or dropped with the reason."""

    sentence: str  # without its marks
    kept: bool
    reason: str = ""
    supports: list[Support] = field(default_factory=list)


class Verifier:
    """Keeps the generated sentences that their cited passages support."""

    def __init__(
        self,
        embedder: Embedder,
        analyzer: Analyzer,
        min_similarity: float = MIN_SIMILARITY,
        min_coverage: float = MIN_COVERAGE,
    ) -> None:
        self.embedder = embedder
        self.analyzer = analyzer
        self.min_similarity = min_similarity
        self.min_coverage = min_coverage

    def check(self, sentence: str, passages: list[Passage]) -> Verdict:
        """Judge one generated sentence against the numbered ``passages`` (1-based)."""
        numbers = sorted(
            {int(n) for group in _MARKS.findall(sentence) for n in re.findall(r"\d+", group)}
        )
        bare = " ".join(_MARKS.sub(" ", sentence).split())
        if not numbers:
            return Verdict(bare, False, "it cites no passage")
        if any(not 1 <= n <= len(passages) for n in numbers):
            return Verdict(bare, False, "it cites a passage it was not given")
        cited = [passages[n - 1] for n in numbers]
        missing = _unsupported_facts(bare, " ".join(p.chunk.text for p in cited))
        if missing:
            return Verdict(bare, False, f"the cited passage does not say {missing[0]!r}")
        supports = [self._best_support(bare, passage) for passage in cited]
        good = [
            s
            for s in supports
            if s.similarity >= self.min_similarity and s.coverage >= self.min_coverage
        ]
        if not good:
            best = max(supports, key=lambda s: s.similarity)
            return Verdict(
                bare,
                False,
                f"no sentence of the cited passage supports it "
                f"(similarity {best.similarity:.2f}, "
                f"words found {best.coverage:.0%})",
            )
        return Verdict(bare, True, supports=good)

    def _best_support(self, sentence: str, passage: Passage) -> Support:
        chunk = passage.chunk
        spans = list(chunk.sentences)
        texts = [chunk.sentence_text(span) for span in spans]
        vectors = self.embedder.encode([sentence, *texts])
        similarities = vectors[1:] @ vectors[0]
        best = int(np.argmax(similarities))
        return Support(
            passage, spans[best], float(similarities[best]), self._coverage(sentence, texts[best])
        )

    def _coverage(self, sentence: str, source: str) -> float:
        words = set(self.analyzer.terms(sentence))
        if not words:
            return 0.0
        return len(words & set(self.analyzer.terms(source))) / len(words)


def _unsupported_facts(sentence: str, source: str) -> list[str]:
    """Numbers and names in ``sentence`` that ``source`` never mentions."""
    lowered = source.lower()
    digits = {re.sub(r"\D", "", n) for n in _NUMBER.findall(source)}
    # by digits alone: "1200" is "1,200", and "2,000" is not the tail of "12,000"
    missing = [n for n in _NUMBER.findall(sentence) if re.sub(r"\D", "", n) not in digits]
    names = list(CAPITALISED.finditer(sentence))
    if names and names[0].start() == 0 and not _continues_name(sentence, names[0]):
        names = names[1:]  # a lone capitalised first word is just the sentence's start
    missing += [
        m.group() for m in names if m.group() not in _NOT_NAMES and m.group().lower() not in lowered
    ]
    return missing


def _continues_name(sentence: str, first: re.Match) -> bool:
    """Whether the capitalised first word runs on into another ("Martin Hewitt")."""
    rest = sentence[first.end() :]
    return bool(re.match(r"[ \t]+[A-Z]", rest))
