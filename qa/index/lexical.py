"""The BM25 index over chunk texts, derived from Chroma and rebuilt when it changes.

Dense vectors miss exact names, numbers and rare words that a reader types;
BM25 catches them. This index is never the source of truth: it is built from
the chunks stored in Chroma and saved beside the index with the Chroma
revision it reflects, so any process can rebuild it when the revision moves.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

from qa.analysis import Analyzer


@dataclass
class LexicalHits:
    ids: list[str]
    scores: list[float]


@runtime_checkable
class LexicalSearch(Protocol):
    """What retrieval needs of a lexical index, so the engine can be swapped
    (``QA_LEXICAL``: tantivy on disk, or bm25s in memory) or put elsewhere."""

    folder: Path
    analyzer: Analyzer
    shared: bool  # True: one index every process reads; a write updates it for all

    @property
    def revision(self) -> int:
        """The Chroma revision this index reflects; -1 before it is built."""
        ...

    def fresh(self) -> "LexicalSearch":
        """An empty index of the same kind on the same folder."""
        ...

    def load(self) -> bool: ...

    def build(self, chunks: Iterable[tuple[str, str, str]], revision: int) -> None: ...

    def updated(
        self, added: Sequence[tuple[str, str, str]], removed: Collection[str], revision: int
    ) -> "LexicalSearch | None": ...

    def search(
        self, query_terms: list[str], n: int, allowed: Collection[str] | None = None
    ) -> LexicalHits: ...

    def terms_by_id(self) -> dict[str, list[str]]:
        """Every chunk's indexed terms (for checks and repairs: reads the whole index)."""
        ...


class LexicalIndex:
    """BM25 (bm25s) over ``title + text`` of every chunk, with document frequencies,
    held in this process's memory (``QA_LEXICAL=bm25s``)."""

    shared = False  # each process holds its own copy and rebuilds it after others' writes

    def __init__(self, folder: Path, analyzer: Analyzer) -> None:
        self.folder = folder
        self.analyzer = analyzer
        self.revision = -1
        self.ids: list[str] = []
        self._terms: list[list[str]] | None = []  # per chunk, for updates without a rebuild
        self._bm25: Any = None  # bm25s.BM25, imported when first needed
        self._df: dict[str, int] = {}
        self._vocab: dict[str, int] = {}

    def fresh(self) -> "LexicalIndex":
        return LexicalIndex(self.folder, self.analyzer)

    def load(self) -> bool:
        """Load a saved index; False when there is none or it is unreadable."""
        meta_file = self.folder / "meta.json"
        if not meta_file.exists():
            return False
        try:
            import bm25s

            meta = json.loads(meta_file.read_text())
            self.ids, self._df = meta["ids"], meta["df"]
            terms_file = self.folder / "terms.json"
            self._terms = json.loads(terms_file.read_text()) if terms_file.exists() else None
            self._bm25 = (
                bm25s.BM25.load(str(self.folder / "bm25"), show_progress=False)
                if self.ids
                else None
            )
            self._vocab = self._bm25.vocab_dict if self._bm25 else {}
            self.revision = int(meta["revision"])
            return True
        except (OSError, ValueError, KeyError):
            return False

    def build(self, chunks: Iterable[tuple[str, str, str]], revision: int) -> None:
        """Index (id, title, text) triples and save them with ``revision``."""
        ids, corpus = [], []
        for chunk_id, title, text in chunks:
            ids.append(chunk_id)
            corpus.append(self.analyzer.terms(f"{title}\n{text}"))
        self._index(ids, corpus, revision)

    def updated(
        self, added: Sequence[tuple[str, str, str]], removed: Collection[str], revision: int
    ) -> "LexicalIndex | None":
        """A new index with ``added`` chunks in and ``removed`` ones out, saved; this one
        is left as it was, so asks can go on using it meanwhile. None when this index
        has no per-chunk terms to update from (saved by an older version)."""
        if self._terms is None:
            return None
        gone = set(removed) | {chunk_id for chunk_id, _, _ in added}
        kept = [(i, t) for i, t in zip(self.ids, self._terms) if i not in gone]
        fresh = LexicalIndex(self.folder, self.analyzer)
        fresh._index(
            [i for i, _ in kept] + [chunk_id for chunk_id, _, _ in added],
            [t for _, t in kept]
            + [self.analyzer.terms(f"{title}\n{text}") for _, title, text in added],
            revision,
        )
        return fresh

    def _index(self, ids: list[str], corpus: list[list[str]], revision: int) -> None:
        import bm25s

        df: Counter[str] = Counter()
        for terms in corpus:
            df.update(set(terms))
        self.ids, self._terms, self._df = ids, corpus, dict(df)
        self._bm25 = None
        self._vocab = {}
        if ids:
            self._bm25 = bm25s.BM25()
            self._bm25.index(corpus, show_progress=False)
            self._vocab = self._bm25.vocab_dict
        self.revision = revision
        self._save()

    def _save(self) -> None:
        tmp = self.folder.with_name(f"{self.folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"), show_progress=False)
        (tmp / "meta.json").write_text(
            json.dumps({"revision": self.revision, "ids": self.ids, "df": self._df})
        )
        if self._terms is not None:
            (tmp / "terms.json").write_text(json.dumps(self._terms))
        shutil.rmtree(self.folder, ignore_errors=True)
        tmp.rename(self.folder)

    def search(
        self, query_terms: list[str], n: int, allowed: Collection[str] | None = None
    ) -> LexicalHits:
        """The ``n`` best chunks for the terms; only among ``allowed`` ids when given
        (a mask inside the search, so a narrow filter still gets ``n`` hits)."""
        terms = [t for t in query_terms if t in self._vocab]
        if self._bm25 is None or not terms or n < 1:
            return LexicalHits([], [])
        k = min(n, len(self.ids))
        mask = None
        if allowed is not None:
            mask = np.fromiter(
                (i in allowed for i in self.ids), dtype=np.float32, count=len(self.ids)
            )
            k = min(k, int(mask.sum()))
            if k < 1:
                return LexicalHits([], [])
        docs, scores = self._bm25.retrieve(
            [terms], k=k, show_progress=False, n_threads=1, weight_mask=mask
        )
        hits = [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
        return LexicalHits([h[0] for h in hits], [h[1] for h in hits])

    def terms_by_id(self) -> dict[str, list[str]]:
        if self._terms is None:
            raise ValueError("this index was saved without its terms: rebuild it")
        return dict(zip(self.ids, self._terms))

    def idf(self, term: str) -> float:
        """Inverse document frequency; unseen terms count as rare."""
        total = max(len(self.ids), 1)
        return math.log(1 + (total - self._df.get(term, 0) + 0.5) / (self._df.get(term, 0) + 0.5))

    def idf_weights(self, terms: list[str]) -> np.ndarray:
        return np.array([self.idf(t) for t in terms], dtype=np.float32)
