"""BM25 in tantivy: one on-disk index that every app process reads and the writer updates.

The bm25s index (``qa.index.lexical``) lives in each process's memory: a write
re-indexes its whole term matrix, and every other process rebuilds it from
Chroma when it sees the revision move (5.9 s at 28k chunks, linear). tantivy
(the engine behind Quickwit) keeps the index in segments on disk: a write adds
and deletes only the chunks it changed and commits; another process sees the
commit on its next search (a reload, no rebuild); a new process opens it
without reading Chroma; its files are memory-mapped, so processes share the
pages instead of each holding a copy.

The index stores the analysed terms (``qa.analysis.Analyzer``: the same
stemmed words bm25s indexes) and the chunk id; scores are tantivy's BM25
(k1 1.2, b 0.75, idf ln(1 + (N - n + 0.5) / (n + 0.5))). Measured against
bm25s in docs/scaling.md.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Collection, Iterable, Sequence

from qa.analysis import Analyzer
from qa.index.lexical import LexicalHits

WRITER_HEAP_BYTES = 50_000_000  # tantivy buffers this much before it flushes a segment
REVISION_FILE = "revision.json"
# Part of the folder's name: a new schema is a new folder, built once from Chroma,
# never a mismatch with an index an older version wrote.
SCHEMA_VERSION = 2


class TantivyLexicalIndex:
    """The lexical index as tantivy segments in ``folder``, shared by every process."""

    shared = True  # other processes see this index's writes: they never rebuild it

    def __init__(self, folder: Path, analyzer: Analyzer) -> None:
        self.folder = folder
        self.analyzer = analyzer
        self._index: Any = None
        self._schema: Any = None
        self._seen_revision = -2  # the revision the open searcher reflects
        self._lock = threading.Lock()

    def fresh(self) -> "TantivyLexicalIndex":
        return TantivyLexicalIndex(self.folder, self.analyzer)

    @property
    def revision(self) -> int:
        """The Chroma revision the index on disk reflects (-1: none built yet)."""
        try:
            return int(json.loads((self.folder / REVISION_FILE).read_text())["revision"])
        except (OSError, ValueError, KeyError, TypeError):
            return -1

    def load(self) -> bool:
        """Open the index on disk; False when none was built."""
        if self.revision < 0:
            return False
        try:
            self._open()
        except ValueError:  # tantivy raises ValueError for a damaged or foreign index
            return False
        return True

    def build(self, chunks: Iterable[tuple[str, str, str]], revision: int) -> None:
        """Index every (id, title, text) from scratch: a new index, or a repair."""
        self._write(lambda writer: writer.delete_all_documents(), chunks, revision)

    def updated(
        self, added: Sequence[tuple[str, str, str]], removed: Collection[str], revision: int
    ) -> "TantivyLexicalIndex":
        """Apply one write in place: the added chunks in, the removed ones out."""
        gone = set(removed) | {chunk_id for chunk_id, _, _ in added}

        def delete(writer: Any) -> None:
            for chunk_id in gone:
                writer.delete_documents_by_term("id", chunk_id)

        self._write(delete, added, revision)
        return self

    def search(
        self, query_terms: list[str], n: int, allowed: Collection[str] | None = None
    ) -> LexicalHits:
        """The ``n`` best chunks for the terms; only among ``allowed`` ids when given."""
        import tantivy

        terms = list(dict.fromkeys(query_terms))  # each term once, as bm25s scores them
        if not terms or n < 1 or (allowed is not None and not allowed):
            return LexicalHits([], [])
        searcher = self._searcher()
        if searcher is None:
            return LexicalHits([], [])
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "body", term))
                for term in terms
            ]
        )
        if allowed is not None:  # a filter inside the search: a narrow one still gets n hits
            only = tantivy.Query.term_set_query(self._schema, "id", list(allowed))
            query = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, query),
                    (tantivy.Occur.Must, tantivy.Query.boost_query(only, 0.0)),
                ]
            )
        hits = searcher.search(query, n).hits
        ids = [searcher.doc(address)["id"][0] for _, address in hits]
        return LexicalHits(ids, [float(score) for score, _ in hits])

    def terms_by_id(self) -> dict[str, list[str]]:
        import tantivy

        searcher = self._searcher()
        if searcher is None:
            return {}
        everything = searcher.search(tantivy.Query.all_query(), max(searcher.num_docs, 1))
        docs = (searcher.doc(address) for _, address in everything.hits)
        return {doc["id"][0]: doc["body"][0].split() for doc in docs}

    # ---------------------------------------------------------------------------------
    def _write(self, before: Any, chunks: Iterable[tuple[str, str, str]], revision: int) -> None:
        """Commit one change. Searches go on meanwhile on the last commit (the
        lock guards only opening and reloading); writers are one at a time already
        (the index write lock)."""
        import tantivy

        with self._lock:
            self._open()
        writer = self._index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
        try:
            before(writer)
            for chunk_id, title, text in chunks:
                body = " ".join(self.analyzer.terms(f"{title}\n{text}"))
                writer.add_document(tantivy.Document(id=chunk_id, body=body))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        self._save_revision(revision)
        with self._lock:
            self._index.reload()
            self._seen_revision = revision

    def _searcher(self) -> Any:
        revision = self.revision
        if revision < 0:
            return None
        with self._lock:
            if self._index is None:
                self._open()
            if revision != self._seen_revision:  # another process committed: see it
                self._index.reload()
                self._seen_revision = revision
            return self._index.searcher()

    def _open(self) -> None:
        import tantivy

        if self._index is not None:
            return
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field(  # stored too (about 200 bytes a chunk): checks and repairs
            "body", stored=True, tokenizer_name="whitespace", index_option="freq"
        )
        self._schema = builder.build()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(self._schema, path=str(self.folder))

    def _save_revision(self, revision: int) -> None:
        tmp = self.folder / f"{REVISION_FILE}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps({"revision": revision}))
        tmp.replace(self.folder / REVISION_FILE)
