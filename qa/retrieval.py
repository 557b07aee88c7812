"""Hybrid retrieval: dense (Chroma) and BM25 results fused by reciprocal rank.

Dense vectors find paraphrases; BM25 finds the exact names and numbers a
reader types. Reciprocal-rank fusion needs no score calibration between the
two. A question that names a month or a year ("in July") also favours
passages that mention it, including relative mentions such as "last July".
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from qa.embeddings import Embedder
from qa.lexical import Analyzer, LexicalIndex
from qa.results import Passage, Retrieval
from qa.store import ArticleStore

RRF_K = 60
TIME_BOOST = 0.5 / (RRF_K + 1)  # worth half a first place in one list
SHORTLIST = 12  # fused candidates read in full (text, metadata, vector)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_TIME_CUE = re.compile(r"\b(" + "|".join(m.capitalize() for m in _MONTHS) + r"|(?:19|20)\d\d)\b")


def time_cues(question: str) -> tuple[str, ...]:
    """Months (capitalised, so "may" the verb is not one) and years in a question."""
    return tuple(dict.fromkeys(m.lower() for m in _TIME_CUE.findall(question)))


def mentions(text: str, cues: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(cue)}\b", lowered) for cue in cues)


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over an ``ArticleStore``, as a LangChain retriever."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: ArticleStore
    embedder: Embedder
    lexical: LexicalIndex
    analyzer: Analyzer
    k: int = 4
    candidates: int = 30
    refresh_seconds: float = 1.0
    _lock: Any = None
    _checked_at: float = 0.0

    def model_post_init(self, context: Any) -> None:
        self._lock = threading.Lock()

    def search(self, question: str, k: int | None = None) -> Retrieval:
        """The top ``k`` passages for a standalone question."""
        self.refresh()
        k = k or self.k
        query_vector = self.embedder.query_vector(question)
        terms = self.analyzer.terms(question)
        cues = time_cues(question)
        n = max(self.candidates, k)
        dense = self.store.nearest(query_vector, n)
        lexical = self.lexical.search(terms, n)
        fused: dict[str, float] = {}
        for ranking in ([cid for cid, _ in dense], lexical.ids):
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        shortlist = sorted(fused, key=fused.__getitem__, reverse=True)[:max(k, SHORTLIST)]
        chunks = self.store.chunks(shortlist)
        if cues:
            for cid, (chunk, _) in chunks.items():
                if mentions(chunk.text, cues):
                    fused[cid] += TIME_BOOST
        ranked = sorted(chunks, key=fused.__getitem__, reverse=True)[:k]
        bm25 = dict(zip(lexical.ids, lexical.scores))
        passages = [Passage(chunks[cid][0], fused[cid], float(chunks[cid][1] @ query_vector),
                            bm25.get(cid, 0.0)) for cid in ranked]
        return Retrieval(question, query_vector, terms, cues, passages)

    def refresh(self, force: bool = False) -> None:
        """Rebuild the BM25 index when Chroma's revision has moved (another writer)."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.refresh_seconds:
            return
        with self._lock:
            self._checked_at = now
            revision = self.store.revision()
            if force or revision != self.lexical.revision:
                if force or not (self.lexical.load() and self.lexical.revision == revision):
                    self.lexical.build(self.store.iter_chunks(), revision)

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(page_content=p.chunk.text, id=p.chunk.id, metadata=p.to_dict())
                for p in self.search(query).passages]
