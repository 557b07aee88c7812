"""Hybrid retrieval: dense (Chroma) and BM25 candidates, re-scored in two stages.

Dense vectors find paraphrases; BM25 finds the exact names and numbers a
reader types. Stage one merges both candidate lists with a cheap score
(cosine + 0.3 × BM25 scaled by the question's best BM25 score). Stage two
reads the best eight in full and scores each by its passage similarity, its
best sentence's similarity (the sentence vectors pooled at ingest time: a
passage whose one sentence answers the question beats one that is vaguely
about it), and BM25. A question that names a month or a year ("in July")
also favours passages that mention it, including "last July".

On a SQuAD dev sample this scored recall@1 0.845 where reciprocal-rank
fusion scored 0.775 and dense search alone 0.667 (2026-11-26, the README of commit
0b4be13, "Quality"; `qa eval --limit 500 --seed 7` re-measures it).

The default reader then reads each of the best four in full, with the
chunks around the top one (its siblings). A cross-encoder once re-ranked
them (reader mode "accurate", removed 2026-12-08): the default reads all
four anyway, so a re-rank only reordered what it read (docs/reader.md).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Collection, Iterator, Sequence

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from qa.analysis import MONTHS, Analyzer, asked_names, contains_phrase
from qa.answer.dating import date_adjustments
from qa.filters import NO_FILTERS, Filters
from qa.index.embeddings import Embedder
from qa.index.lexical import LexicalSearch
from qa.index.locking import index_write_lock_if_free
from qa.index.log_follower import LogFollower, follow_in_background
from qa.index.store import ArticleStore, ChunkChanges
from qa.results import Passage, Retrieval, StoredChunk
from qa.weights import RETRIEVAL_WEIGHTS, RetrievalWeights

log = logging.getLogger(__name__)

FOCUS_LOOKUP = 3  # BM25 hits searched for each quote of the previous answer
MAX_ARTICLE_CHUNKS = 200  # read of the top article to find its neighbours (a long one is rare)
_TIME_CUE = re.compile(r"\b(" + "|".join(m.capitalize() for m in MONTHS) + r"|(?:19|20)\d\d)\b")


def first_stage(
    dense: dict[str, float], bm25: dict[str, float], weights: RetrievalWeights = RETRIEVAL_WEIGHTS
) -> dict[str, float]:
    """The cheap merge of both candidate lists: cosine + weighted BM25 (0..1).

    A chunk BM25 found but the dense search did not is no closer than the last
    dense hit: that bound stands in for its cosine instead of fetching its vector.
    """
    floor = min(dense.values(), default=0.0)
    return {
        cid: dense.get(cid, floor) + weights.bm25 * bm25.get(cid, 0.0) for cid in {*dense, *bm25}
    }


def passage_score(
    dense: float,
    best_sentence: float,
    bm25: float,
    *,
    time_match: bool = False,
    named: bool = False,
    focused: bool = False,
    weights: RetrievalWeights = RETRIEVAL_WEIGHTS,
) -> float:
    """The final score a passage is ranked by (see ``RetrievalWeights`` for each term)."""
    share = weights.passage_share
    return (
        share * dense
        + (1 - share) * best_sentence
        + weights.bm25 * bm25
        + weights.time_boost * time_match
        + weights.name_boost * named
        + weights.focus_boost * focused
    )


def time_cues(question: str) -> tuple[str, ...]:
    """Months (capitalised, so "may" the verb is not one) and years in a question."""
    return tuple(dict.fromkeys(m.lower() for m in _TIME_CUE.findall(question)))


def _normalised(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values(), default=0.0)
    return {cid: score / top for cid, score in scores.items()} if top > 0 else {}


def mentions(text: str, cues: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(cue)}\b", lowered) for cue in cues)


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over an ``ArticleStore``, as a LangChain retriever."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: ArticleStore
    embedder: Embedder
    lexical: LexicalSearch
    analyzer: Analyzer
    k: int = 4
    candidates: int = 30
    refresh_seconds: float = 1.0
    weights: RetrievalWeights = RETRIEVAL_WEIGHTS
    # the chroma layout's change log, which the lexical index follows (qa.index.log_follower)
    follower: LogFollower | None = None
    follow_seconds: float = 1.0
    _build_lock: Any = None
    _checked_at: float = 0.0
    _writers: int = 0
    _following: bool = False

    def model_post_init(self, context: Any) -> None:
        self._build_lock = threading.Lock()

    def search(
        self,
        question: str,
        k: int | None = None,
        focus: Sequence[str] = (),
        filters: Filters = NO_FILTERS,
    ) -> Retrieval:
        """The top ``k`` passages for a standalone question.

        ``focus`` is what the previous answer quoted (``qa.answer.conversation``): the
        articles holding it are favoured. ``filters`` narrow both searches
        (Chroma's ``where``, a mask in BM25), so k passages come back when k pass.
        """
        self.refresh()
        k = k or self.k
        query_vector = self.embedder.query_vector(question)
        terms = self.analyzer.terms(question)
        cues = time_cues(question)
        n = max(self.candidates, k)
        where = filters.where()
        # a collection's ids are read once per index revision; a narrower filter each time
        if where and not filters:
            allowed: Collection[str] | None = self.store.ids_in(where, self.store.revision())
        else:
            allowed = self.store.ids_where(where) if where else None
        dense = dict(self.store.nearest(query_vector, n, where))
        lexical = self.lexical.search(terms, n, allowed)  # one index for the whole query
        bm25 = _normalised(dict(zip(lexical.ids, lexical.scores)))
        weights = self.weights
        first = first_stage(dense, bm25, weights)
        named = self._holding_names(question, list(first))
        for cid in named:
            first[cid] += weights.name_boost
        focused = self._focus_articles(focus, allowed)
        if focused:  # the focus article's chunks are candidates whatever the question says
            for cid, (_, vector) in self.store.article_chunks(
                focused[0], MAX_ARTICLE_CHUNKS
            ).items():
                first[cid] = (
                    float(vector @ query_vector)
                    + weights.bm25 * bm25.get(cid, 0.0)
                    + weights.name_boost * (cid in named)
                    + weights.focus_boost
                )
        shortlist = sorted(first, key=first.__getitem__, reverse=True)[: max(k, weights.shortlist)]
        chunks = self.store.chunks(shortlist)
        vectors = self.store.sentence_vectors([chunk for chunk, _ in chunks.values()])
        passages = [
            self._passage(
                chunk,
                vector,
                query_vector,
                vectors,
                bm25.get(cid, 0.0),
                cues,
                cid in named,
                chunk.article_id in focused,
                weights,
            )
            for cid, (chunk, vector) in chunks.items()
        ]
        if cues:  # "July" read against each article's date: the latest July first
            cuts = date_adjustments(
                [(p.chunk.text, p.chunk.published) for p in passages], cues, weights.time_boost
            )
            passages = [
                replace(p, score=p.score - cut) if cut else p for p, cut in zip(passages, cuts)
            ]
        passages.sort(key=lambda p: p.score, reverse=True)
        passages = passages[:k]
        if passages:
            siblings = self._siblings(passages, query_vector, bm25, cues)
            vectors.update(self.store.sentence_vectors([p.chunk for p in siblings]))
            passages += siblings
        return Retrieval(
            question, query_vector, terms, cues, passages, vectors, tuple(focused), tuple(focus)
        )

    def _siblings(
        self,
        passages: list[Passage],
        query_vector: np.ndarray,
        bm25: dict[str, float],
        cues: tuple[str, ...],
    ) -> list[Passage]:
        """The chunks around the top passage in its article, not already among ``passages``."""
        top = passages[0].chunk
        have = {p.chunk.id for p in passages}
        found = self.store.article_chunks(top.article_id, MAX_ARTICLE_CHUNKS)
        nearest = sorted(
            (c for c in found.values() if c[0].id not in have),
            key=lambda c: abs(c[0].start - top.start),
        )[: self.weights.siblings]
        chunks = sorted(nearest, key=lambda c: c[0].start)
        vectors = self.store.sentence_vectors([c for c, _ in chunks])
        return [
            replace(
                self._passage(
                    chunk,
                    vector,
                    query_vector,
                    vectors,
                    bm25.get(chunk.id, 0.0),
                    cues,
                    weights=self.weights,
                ),
                sibling=True,
            )
            for chunk, vector in chunks
        ]

    def _focus_articles(
        self, quotes: Sequence[str], allowed: Collection[str] | None = None
    ) -> list[str]:
        """The articles that hold the given quotes word for word, in the quotes' order.

        Each quote is looked up by BM25 (its rarest words find it) and confirmed
        by its text, so an answer in a model's own words finds nothing.
        """
        found: list[str] = []
        for quote in quotes:
            hits = self.lexical.search(self.analyzer.terms(quote), FOCUS_LOOKUP, allowed).ids
            wanted = " ".join(quote.split())
            for chunk, _ in self.store.chunks(hits).values():
                if wanted in " ".join(chunk.text.split()) and chunk.article_id not in found:
                    found.append(chunk.article_id)
        return found

    def _holding_names(self, question: str, candidates: list[str]) -> set[str]:
        """Candidates that contain a full name the question gives (one cheap read)."""
        names = asked_names(question)
        if not names:
            return set()
        texts = self.store.texts(candidates)
        return {cid for cid, text in texts.items() if any(contains_phrase(text, n) for n in names)}

    @staticmethod
    def _passage(
        chunk: StoredChunk,
        vector: np.ndarray,
        query_vector: np.ndarray,
        sentence_vectors: dict,
        bm25: float,
        cues: tuple[str, ...],
        named: bool = False,
        focused: bool = False,
        weights: RetrievalWeights = RETRIEVAL_WEIGHTS,
    ) -> Passage:
        """Scored by ``passage_score`` from its vectors against the question's."""
        dense = float(vector @ query_vector)
        sentences = [
            float(sentence_vectors[key] @ query_vector)
            for key in chunk.sentence_keys()
            if key in sentence_vectors
        ]
        score = passage_score(
            dense,
            max(sentences, default=dense),
            bm25,
            time_match=bool(cues) and mentions(chunk.text, cues),
            named=named,
            focused=focused,
            weights=weights,
        )
        return Passage(chunk, score, dense, bm25)

    def refresh(self, force: bool = False) -> None:
        """Follow writes made by other processes (Chroma's revision moved).

        A shared lexical index (tantivy) is updated by the writer itself, so
        this process only repairs it when it stays behind Chroma with no write
        under way (a writer that died between the two). An index of this
        process's own (bm25s) is rebuilt: asks never wait for that, it runs on
        a background thread and is swapped in when ready (until then asks use
        the old one, and dense search already sees the new chunks). Only a
        process that has no lexical index yet, or ``force``, builds it in the
        caller's thread.
        """
        if self.follower is not None:
            self._start_following()
            return
        now = time.monotonic()
        if self._writers or (not force and now - self._checked_at < self.refresh_seconds):
            return
        self._checked_at = now
        revision = self.store.revision()
        if revision == self.lexical.revision:
            return
        if force or self.lexical.revision < 0:
            self._rebuild(revision)
        elif not self._build_lock.locked():
            threading.Thread(
                target=self._rebuild, args=(revision,), daemon=True, name="qa-lexical-refresh"
            ).start()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """While this process writes, its asks don't rebuild BM25 for the half-done write."""
        self._writers += 1
        try:
            yield
        finally:
            self._writers -= 1

    def apply(self, changes: ChunkChanges) -> None:
        """Bring BM25 up to date with this process's own write: an update of the
        chunks it added and removed when BM25 reflected the index the write started
        from, a rebuild otherwise. Runs in the writer's thread, swaps at the end.
        In the chroma layout the write is in the change log: it is followed from there."""
        if self.follower is not None:
            self.follow_log(holding_write_lock=True)
            return
        revision = self.store.revision()
        with self._build_lock:
            current = self.lexical
            if current.revision == revision:
                return
            updated = None
            if changes.exact and current.revision == changes.before:
                updated = current.updated(changes.added, changes.removed, revision)
            if updated is None:
                updated = current.fresh()
                updated.build(self.store.iter_chunks(), revision)
            self.lexical = updated

    def follow_log(self, holding_write_lock: bool = False) -> None:
        """Chroma layout: apply the change log's new records to the lexical index (or
        build it from Chroma), unless another process of this folder is writing it."""
        assert self.follower is not None
        with self._build_lock:
            if holding_write_lock:
                self.lexical = self.follower.catch_up(self.lexical, self.store)
                return
            with index_write_lock_if_free(self.store.settings.index_dir) as free:
                if free:
                    self.lexical = self.follower.catch_up(self.lexical, self.store)

    def _start_following(self) -> None:
        """Build the lexical index on first use, then follow the log every
        ``follow_seconds`` on a thread of its own: a write on another host is
        searchable here within that, asked or not, and no ask waits for it."""
        if self._following:
            return
        self._following = True
        try:
            self.follow_log()
        finally:  # a first read that failed (Chroma away a moment) is retried there
            follow_in_background(self, HybridRetriever.follow_log, self.follow_seconds)

    def _rebuild(self, revision: int) -> None:
        with self._build_lock:
            if self.lexical.revision == revision:
                return
            fresh = self.lexical.fresh()
            if fresh.load() and fresh.revision == revision:
                self.lexical = fresh
                return
            if not fresh.shared:
                fresh.build(self.store.iter_chunks(), revision)
                self.lexical = fresh
                return
            self._repair(fresh)

    def _repair(self, shared: LexicalSearch) -> None:
        """Build the shared index from Chroma, once, by one process: only while no
        write is under way (a writer brings it up to date itself)."""
        with index_write_lock_if_free(self.store.settings.index_dir) as free:
            revision = self.store.revision()
            if free and shared.revision != revision:
                log.warning("the lexical index is behind the store: rebuilding it")
                shared.build(self.store.iter_chunks(), revision)
        self.lexical = shared

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """LangChain's retriever interface: ``retriever.invoke(query, k=1)`` honours ``k``;
        the chunk text is the page content only, not repeated in the metadata."""
        passages = [p for p in self.search(query, k).passages if not p.sibling]
        return [
            Document(
                page_content=p.chunk.text,
                id=p.chunk.id,
                metadata={key: value for key, value in p.to_dict().items() if key != "text"},
            )
            for p in passages
        ]
