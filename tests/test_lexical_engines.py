"""The two lexical engines behind one interface, and the shared one's promise: a
write updates only its chunks, and no process ever rebuilds the whole index."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.analysis import Analyzer
from qa.answer.retrieval import HybridRetriever
from qa.index.lexical import LexicalIndex, LexicalSearch
from qa.index.locking import index_write_lock
from qa.index.tantivy_lexical import TantivyLexicalIndex

CHUNKS = [
    ("a:0", "Ferry prices", "Ferry prices rose sharply at Calais this summer."),
    ("b:0", "Tennis", "The champion won in straight sets on Sunday."),
    ("c:0", "Border", "Martin Hewitt spoke about border security and ferry checks."),
]
ENGINES = {"bm25s": LexicalIndex, "tantivy": TantivyLexicalIndex}


def terms(text: str) -> list[str]:
    return Analyzer().terms(text)


@pytest.fixture(params=sorted(ENGINES))
def engine(request, tmp_path) -> LexicalSearch:
    return ENGINES[request.param](tmp_path / request.param, Analyzer())


def test_each_engine_ranks_finds_filters_and_updates_alike(engine):
    assert engine.revision == -1 and not engine.load()
    engine.build(CHUNKS, revision=3)
    assert engine.revision == 3
    assert engine.terms_by_id() == {i: terms(f"{title}\n{text}") for i, title, text in CHUNKS}
    assert engine.search(terms("ferry prices"), 3).ids[0] == "a:0"
    assert set(engine.search(terms("ferry"), 3).ids) == {"a:0", "c:0"}
    assert engine.search(terms("ferry"), 3, allowed={"c:0"}).ids == ["c:0"]  # a mask, not a cut
    assert engine.search(terms("ferry"), 3, allowed=set()).ids == []
    assert engine.search(terms("zeppelin"), 3).ids == [] and engine.search([], 3).ids == []
    updated = engine.updated([("d:0", "Ferry", "A new ferry route to Dover.")], ["a:0"], 4)
    assert updated is not None and updated.revision == 4
    assert set(updated.search(terms("ferry"), 5).ids) == {"c:0", "d:0"}
    reopened = engine.fresh()
    assert reopened.load() and reopened.revision == 4
    assert set(reopened.search(terms("ferry"), 5).ids) == {"c:0", "d:0"}


def test_an_edited_chunk_is_replaced_not_doubled(engine):
    engine.build(CHUNKS, revision=1)
    edited = ("b:0", "Tennis", "The champion lost a ferry race on Sunday.")
    updated = engine.updated([edited], [], 2)
    assert updated is not None
    assert updated.search(terms("straight sets"), 3).ids == []
    assert updated.search(terms("ferry race"), 3).ids[0] == "b:0"
    assert sorted(updated.search(terms("sunday"), 5).ids) == ["b:0"]


def test_the_scores_agree_with_bm25s_on_the_order(tmp_path):
    """tantivy's BM25 (k1 1.2) and bm25s' (k1 1.5) differ in scale, and retrieval
    divides by the best score; the order is what must agree on a plain query."""
    ours, theirs = (ENGINES[name](tmp_path / name, Analyzer()) for name in ("tantivy", "bm25s"))
    for engine in (ours, theirs):
        engine.build(CHUNKS, revision=1)
    for query in ("ferry prices Calais", "Hewitt border ferry", "champion Sunday"):
        assert ours.search(terms(query), 3).ids == theirs.search(terms(query), 3).ids, query


FULL_BUILDS: list[int] = []


def _no_full_build(_index, _chunks, revision: int) -> None:
    """In place of the full build: noted (a background thread's exception would
    go unseen), then refused."""
    FULL_BUILDS.append(revision)
    raise AssertionError("a full build of the shared lexical index")


@pytest.fixture(autouse=True)
def _no_builds_noted():
    FULL_BUILDS.clear()
    yield


def _write_in_another_process(folder: Path, added: list, removed: list, revision: int) -> None:
    """``updated`` run by a separate Python process, as a second app host would."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from qa.analysis import Analyzer\n"
        "from qa.index.tantivy_lexical import TantivyLexicalIndex\n"
        "folder, added, removed, revision = json.loads(sys.argv[1])\n"
        "index = TantivyLexicalIndex(Path(folder), Analyzer())\n"
        "assert index.load(), 'the writer found no index'\n"
        "index.updated([tuple(c) for c in added], removed, revision)\n"
    )
    argument = json.dumps([str(folder), added, removed, revision])
    done = subprocess.run(
        [sys.executable, "-c", code, argument], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_write_in_one_process_is_seen_by_another_without_any_rebuild(tmp_path, monkeypatch):
    folder = tmp_path / "articles.tantivy"
    TantivyLexicalIndex(folder, Analyzer()).build(CHUNKS[:2], revision=1)
    reader = TantivyLexicalIndex(folder, Analyzer())
    assert reader.load() and reader.search(terms("Hewitt"), 3).ids == []
    monkeypatch.setattr(TantivyLexicalIndex, "build", _no_full_build)
    _write_in_another_process(folder, [CHUNKS[2]], [], revision=2)
    assert reader.revision == 2  # read from disk: no message between the two was needed
    assert reader.search(terms("Martin Hewitt"), 3).ids == ["c:0"]
    _write_in_another_process(folder, [], ["c:0"], revision=3)
    assert reader.search(terms("Martin Hewitt"), 3).ids == []
    assert FULL_BUILDS == []


class _Store:
    """What refresh reads of a store: its revision, its chunks, where the index is."""

    def __init__(self, index_dir: Path) -> None:
        self.rev, self.chunks = 1, list(CHUNKS[:2])
        self.settings = SimpleNamespace(index_dir=index_dir)

    def revision(self) -> int:
        return self.rev

    def iter_chunks(self):
        return iter(list(self.chunks))


def _retriever(store: _Store, lexical: LexicalSearch) -> HybridRetriever:
    retriever = HybridRetriever.model_construct(
        store=store,
        embedder=None,
        lexical=lexical,
        analyzer=Analyzer(),
        refresh_seconds=0.0,
        _checked_at=0.0,
        _writers=0,
    )
    retriever.model_post_init(None)
    return retriever


def _settle(retriever: HybridRetriever) -> None:
    deadline = time.monotonic() + 10
    while retriever._build_lock.locked() or any(
        t.name == "qa-lexical-refresh" for t in threading.enumerate()
    ):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_shared_index_behind_the_store_is_left_to_the_writer_holding_the_lock(tmp_path):
    """Another process has written Chroma and not yet its lexical update: this
    process must not rebuild (the writer will update the shared index)."""
    store = _Store(tmp_path)
    folder = tmp_path / "lexical" / "articles.tantivy"
    TantivyLexicalIndex(folder, Analyzer()).build(store.chunks, revision=1)
    retriever = _retriever(store, TantivyLexicalIndex(folder, Analyzer()))
    with pytest.MonkeyPatch.context() as patch, index_write_lock(tmp_path):
        patch.setattr(TantivyLexicalIndex, "build", _no_full_build)
        store.rev = 2  # the other process's Chroma write, its lexical update still to come
        retriever.refresh()
        _settle(retriever)
        assert retriever.lexical.revision == 1
        TantivyLexicalIndex(folder, Analyzer()).updated([CHUNKS[2]], [], revision=2)
        retriever.refresh()
        _settle(retriever)
    assert retriever.lexical.revision == 2 and FULL_BUILDS == []
    assert retriever.lexical.search(terms("Hewitt"), 1).ids == ["c:0"]


def test_a_shared_index_left_behind_by_a_dead_writer_is_repaired_once(tmp_path, monkeypatch):
    """No write under way and still behind (a writer died between Chroma and the
    lexical index): the first process to notice rebuilds it from the store, and the
    next one to look finds it repaired and builds nothing."""
    store = _Store(tmp_path)
    folder = tmp_path / "lexical" / "articles.tantivy"
    TantivyLexicalIndex(folder, Analyzer()).build(store.chunks, revision=1)
    builds: list[int] = []
    plain_build = TantivyLexicalIndex.build

    def counted(index, chunks, revision: int) -> None:
        builds.append(revision)
        plain_build(index, chunks, revision)

    monkeypatch.setattr(TantivyLexicalIndex, "build", counted)
    retriever = _retriever(store, TantivyLexicalIndex(folder, Analyzer()))
    store.rev, store.chunks = 2, list(CHUNKS)
    retriever.refresh()
    _settle(retriever)
    assert retriever.lexical.revision == 2 and builds == [2]
    assert retriever.lexical.search(terms("Hewitt"), 1).ids == ["c:0"]
    for _ in range(2):  # the processes that look after it: repaired, nothing to build
        later = _retriever(store, TantivyLexicalIndex(folder, Analyzer()))
        later.refresh()
        _settle(later)
        assert later.lexical.revision == 2
        retriever.refresh()
        _settle(retriever)
    assert builds == [2]
