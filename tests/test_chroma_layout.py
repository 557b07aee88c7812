"""The chroma layout: payloads in the chunk records, versioned chunk ids, the newest
version kept, the change log, and a host's lexical index following it.

Everything runs in this process on an embedded Chroma (no server, no HTTP). The
fast tests drive the layout, the log and the follower with hand-made chunks and
8-dimensional vectors; the slow ones go through an ``Assistant`` with the real
model (the repo's convention: ``slow`` loads the model).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from qa.analysis import Analyzer
from qa.config import Layout, Settings
from qa.errors import ConfigError
from qa.index import change_log as change_log_module
from qa.index.articles import Article
from qa.index.change_log import IDS_PER_RECORD, ChangeLog, now_ms
from qa.index.chroma import ChunkCollection
from qa.index.chroma_layout import ChromaLayout, decode_payload, encode_payload, payload_text
from qa.index.chunking import make_chunks, versioned
from qa.index.embeddings import PassageVectors
from qa.index.folder_layout import FolderLayout
from qa.index.layout import chosen_layout, open_layout
from qa.index.log_follower import SETTLE_MS, STATE_FILE, FollowState, LogFollower
from qa.index.payloads import ChunkPayload
from qa.index.values import ArticleWrite
from tests.conftest import SEEDS

DIM = 8
BASE_MS = 1_700_000_000_000  # a fixed clock for the log's stamps
HOUR_MS = 3_600_000


def _words(texts):
    """A token counter for make_chunks without the model: one piece a word."""
    return [len(t.split()) for t in texts]


def _unit(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((rows, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _settings(index_dir: Path, **overrides) -> Settings:
    return Settings.from_env({}, index_dir=index_dir, **overrides)


def _collection(index_dir: Path) -> ChunkCollection:
    """The chunk collection of an embedded index, opened without the model."""
    return ChunkCollection(
        _settings(index_dir), metadata={"embedding_model": "test", "dimension": DIM, "revision": 0}
    )


def _write(article_id: str, text: str, version: str, versioned_ids: bool = True) -> ArticleWrite:
    """One article's write as ingest makes it, with made-up vectors."""
    article = Article(id=article_id, title=f"Title {article_id}", text=text, origin="test")
    chunks = make_chunks(article_id, text, _words, 6)
    if versioned_ids:
        chunks = [versioned(chunk, version) for chunk in chunks]
    vectors = [
        PassageVectors(_unit(1, n)[0], _unit(len(c.sentences), 100 + n))
        for n, c in enumerate(chunks)
    ]
    return ArticleWrite(
        article, chunks, vectors, [f"k{n}" for n in range(len(chunks))], version, False
    )


def _records(chroma: ChunkCollection, article_id: str) -> dict[str, dict]:
    got = chroma.collection.get(where={"article_id": article_id}, include=["metadatas"])
    return dict(zip(got["ids"], got["metadatas"]))


# The payload string ------------------------------------------------------------------------
def test_a_payload_string_gives_back_every_field_and_the_vectors():
    vectors = _unit(3, 7)
    written = ChunkPayload(
        text="Ça coûte 12 000 €. Second line.\nThird.",
        article_id="a",
        title="Ferry strike ends",
        start=40,
        end=79,
        index=3,
        sentences=((40, 58), (59, 71), (72, 78)),
        lead=(10, 38),
        lead_text="A lead line.",
        embed_key="k" * 40,
        pages=(0, 30, 65),
        sentence_vectors=vectors,
    )
    packed = encode_payload(written)
    assert isinstance(packed, str) and packed.isascii()  # a Chroma metadata string
    got = decode_payload(packed, {"article_id": "a", "title": "Ferry strike ends"}, DIM)
    assert got == written  # text, offsets, sentence spans, lead, pages (all but the vectors)
    assert got.sentence_vectors is not None and got.sentence_vectors.shape == (3, DIM)
    assert np.abs(got.sentence_vectors - vectors).max() < 0.02  # int8
    assert payload_text(packed) == written.text

    bare = ChunkPayload("x", "b", "", 0, 1, 0, (), None, "", "", (), None)
    back = decode_payload(encode_payload(bare), {"article_id": "b"}, DIM)
    assert back == bare and back.lead is None and back.sentence_vectors is None


def test_chroma_layout_records_carry_their_payload_and_no_document(tmp_path: Path):
    chroma = _collection(tmp_path)
    layout = ChromaLayout(_settings(tmp_path, layout="chroma"), chroma, DIM)
    write = _write("a", "Alpha one two. Beta three four. Gamma five six. Delta seven.", "v1")
    layout.write([write])
    got = chroma.collection.get(include=["documents", "metadatas", "embeddings"])
    assert sorted(got["ids"]) == sorted(c.id for c in write.chunks)
    assert all(not doc for doc in got["documents"])  # no text for Chroma's full-text index
    payloads = layout.payloads(got)
    for chunk in write.chunks:
        payload = payloads[chunk.id]
        assert (payload.text, payload.start, payload.end) == (chunk.text, chunk.start, chunk.end)
        assert payload.sentences == chunk.sentences and payload.lead == chunk.lead
    by_id = dict(zip(got["ids"], got["metadatas"]))
    assert [m["sentence_count"] for m in map(by_id.get, [c.id for c in write.chunks])] == [
        len(c.sentences) for c in write.chunks
    ]
    assert layout.texts([write.chunks[0].id, "gone"]) == {
        write.chunks[0].id: ("Title a", write.chunks[0].text)
    }


# Which layout -----------------------------------------------------------------------------
def test_auto_means_folder_without_a_chroma_server_and_chroma_with_one(tmp_path: Path):
    local = _settings(tmp_path)
    served = _settings(tmp_path, chroma_url="http://chroma.example:8000")
    assert local.layout == Layout.AUTO
    assert chosen_layout(local, {}, empty=True) == Layout.FOLDER
    assert chosen_layout(served, {}, empty=True) == Layout.CHROMA
    # an explicit choice is taken for a new index either way
    assert chosen_layout(_settings(tmp_path, layout="chroma"), {}, empty=True) == Layout.CHROMA
    assert chosen_layout(
        _settings(tmp_path, layout="folder", chroma_url="http://c:1"), {}, True
    ) == (Layout.FOLDER)


def test_the_recorded_layout_wins_over_auto(tmp_path: Path):
    assert chosen_layout(_settings(tmp_path), {"layout": "chroma"}, empty=False) == Layout.CHROMA
    served = _settings(tmp_path, chroma_url="http://chroma.example:8000")
    assert chosen_layout(served, {"layout": "folder"}, empty=False) == Layout.FOLDER
    assert chosen_layout(served, {"payload_store": "abc"}, empty=False) == Layout.FOLDER


@pytest.mark.parametrize(("recorded", "wanted"), [("folder", "chroma"), ("chroma", "folder")])
def test_a_layout_contradicting_the_recorded_one_is_refused_with_the_fix(
    tmp_path: Path, recorded: str, wanted: str
):
    with pytest.raises(ConfigError, match=f"QA_LAYOUT={recorded}"):
        chosen_layout(_settings(tmp_path, layout=wanted), {"layout": recorded}, empty=False)


def test_an_index_with_chunks_but_no_recorded_layout_is_a_folder_index(tmp_path: Path):
    served = _settings(tmp_path, chroma_url="http://chroma.example:8000")
    assert chosen_layout(served, {"revision": 4}, empty=False) == Layout.FOLDER
    with pytest.raises(ConfigError, match="QA_LAYOUT=folder"):
        chosen_layout(_settings(tmp_path, layout="chroma"), {"revision": 4}, empty=False)


def test_an_index_opens_in_its_recorded_layout_and_refuses_another(tmp_path: Path):
    folder_index, chroma_index = tmp_path / "folder", tmp_path / "chroma"
    chroma = _collection(folder_index)
    FolderLayout(_settings(folder_index, layout="folder"), chroma, DIM).write(
        [_write("a", "Alpha one two. Beta three four.", "v1", versioned_ids=False)]
    )
    with pytest.raises(ConfigError, match="QA_LAYOUT=folder"):
        open_layout(_settings(folder_index, layout="chroma"), chroma, DIM)
    assert isinstance(open_layout(_settings(folder_index), chroma, DIM), FolderLayout)

    new = _collection(chroma_index)
    assert isinstance(open_layout(_settings(chroma_index, layout="chroma"), new, DIM), ChromaLayout)
    assert new.metadata()["layout"] == "chroma"  # recorded at once, before any write
    assert isinstance(open_layout(_settings(chroma_index), new, DIM), ChromaLayout)  # auto
    with pytest.raises(ConfigError, match="QA_LAYOUT=chroma"):
        open_layout(_settings(chroma_index, layout="folder"), new, DIM)


# Versions ---------------------------------------------------------------------------------
def test_versioned_chunk_ids_differ_between_versions_and_repeat_within_one():
    old = make_chunks("a", "Alpha one two. Beta three four.", _words, 3)
    new = make_chunks("a", "Alpha ONE two. Beta THREE four.", _words, 3)  # same positions
    assert [c.id for c in old] == [c.id for c in new]  # unversioned: only the positions count
    v1 = [versioned(c, "hash-1").id for c in old]
    v2 = [versioned(c, "hash-2").id for c in new]
    assert len(set(v1)) == len(old) and not set(v1) & set(v2)
    assert [versioned(c, "hash-1").id for c in old] == v1  # the same version: the same ids
    assert all(vid.startswith(f"a:{c.index}:") for vid, c in zip(v1, old))


def test_of_two_conflicting_writes_the_later_stamp_wins_though_it_landed_first(
    tmp_path, monkeypatch
):
    chroma = _collection(tmp_path)
    layout = ChromaLayout(_settings(tmp_path, layout="chroma"), chroma, DIM)
    # the newer version has the lower hash: only its stamp can make it win
    newer = _write("a", "Alpha one two. Beta three four. Gamma five.", "1111")
    older = _write("a", "Alpha six two. Beta seven four. Gamma nine.", "9999")
    monkeypatch.setattr("qa.index.chroma_layout.now_ms", lambda: 2_000)
    layout.write([newer])  # the newer stamp lands first
    monkeypatch.setattr("qa.index.chroma_layout.now_ms", lambda: 1_000)
    layout.write([older])  # the older one second, as a slow writer's would
    kept = _records(chroma, "a")
    assert {m["content_hash"] for m in kept.values()} == {"1111"}
    assert sorted(kept) == sorted(c.id for c in newer.chunks)
    assert {m["written_at"] for m in kept.values()} == {2_000}


def test_equal_stamps_keep_the_higher_content_hash_whichever_lands_last(tmp_path, monkeypatch):
    chroma = _collection(tmp_path)
    layout = ChromaLayout(_settings(tmp_path, layout="chroma"), chroma, DIM)
    monkeypatch.setattr("qa.index.chroma_layout.now_ms", lambda: 5_000)
    for article_id, high_first in (("a", True), ("b", False)):  # each order, from nothing
        low = _write(article_id, "Alpha one two. Beta three four.", "1111")
        high = _write(article_id, "Alpha six two. Beta seven four.", "9999")
        for write in (high, low) if high_first else (low, high):
            layout.write([write])
        kept = _records(chroma, article_id)
        assert {m["content_hash"] for m in kept.values()} == {"9999"}
        assert sorted(kept) == sorted(c.id for c in high.chunks)


# The change log ---------------------------------------------------------------------------
def _log(tmp_path: Path) -> ChangeLog:
    chroma = _collection(tmp_path)
    return ChangeLog(lambda: chroma.client, "articles-log", "host-a")


def _clock(monkeypatch, at: int) -> None:
    monkeypatch.setattr(change_log_module, "now_ms", lambda: at)


def test_log_records_name_their_chunks_and_carry_their_stamp_in_the_id(tmp_path, monkeypatch):
    log = _log(tmp_path)
    _clock(monkeypatch, BASE_MS)
    log.append(["a:0:x", "a:1:y", "a:0:x"])
    _clock(monkeypatch, BASE_MS + 5)
    log.append(["b:0:z"])
    log.append([])  # nothing changed: no record
    records = log.since(0)
    assert sorted(r.at for r in records) == [BASE_MS, BASE_MS + 5]
    assert all(int(r.id.split("-", 1)[0]) == r.at for r in records)
    assert log.chunks([r.id for r in records]) == {"a:0:x", "a:1:y", "b:0:z"}
    assert [r.at for r in log.since(BASE_MS + 1)] == [BASE_MS + 5]
    assert log.chunks([]) == set()
    assert log.compacted_before() == 0


def test_a_long_list_of_ids_is_split_into_records(tmp_path: Path):
    log = _log(tmp_path)
    ids = [f"a:{n}:x" for n in range(IDS_PER_RECORD * 2 + 1)]
    log.append(ids)
    records = log.since(0)
    assert len(records) == 3
    got = log._log().get(ids=[r.id for r in records], include=["metadatas"])["metadatas"]
    assert sorted(len(json.loads(m["chunks"])) for m in got) == [1, IDS_PER_RECORD, IDS_PER_RECORD]
    assert log.chunks([r.id for r in records]) == set(ids)


def test_compaction_deletes_old_records_and_notes_the_cut(tmp_path, monkeypatch):
    log = _log(tmp_path)
    _clock(monkeypatch, BASE_MS)
    log.append(["old"])
    _clock(monkeypatch, BASE_MS + 2 * HOUR_MS)
    log.append(["new"])
    _clock(monkeypatch, BASE_MS + 2 * HOUR_MS + 1_000)
    log.compact(3600)
    cut = BASE_MS + HOUR_MS + 1_000
    assert log.compacted_before() == cut
    assert [r.at for r in log.since(0)] == [BASE_MS + 2 * HOUR_MS]
    assert log.chunks([r.id for r in log.since(0)]) == {"new"}


class _Lexical:
    """A lexical index that records what the follower asks of it."""

    shared = True

    def __init__(self, calls: list) -> None:
        self.calls = calls
        self.revision = 3

    def load(self) -> bool:
        return True

    def fresh(self) -> "_Lexical":
        return self

    def build(self, chunks, revision: int) -> None:
        self.calls.append(("build", sorted(c[0] for c in chunks)))

    def updated(self, added, removed, revision: int) -> "_Lexical":
        self.calls.append(("updated", sorted(c[0] for c in added), sorted(removed)))
        return self


class _Store:
    def __init__(self, chunk_ids: list[str]) -> None:
        self.held = {cid: ("T", f"text of {cid}") for cid in chunk_ids}

    def titled_texts(self, ids):
        return {cid: self.held[cid] for cid in ids if cid in self.held}

    def existing(self, ids):
        return {cid for cid in ids if cid in self.held}

    def iter_chunks(self):
        return ((cid, title, text) for cid, (title, text) in self.held.items())

    def revision(self) -> int:
        return 9


def _follower_at(log: ChangeLog, folder: Path, cursor: int) -> LogFollower:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STATE_FILE).write_text(json.dumps({"cursor": cursor, "seen": {}}))
    return LogFollower(log, folder, shared=True)


def test_a_follower_whose_last_read_is_older_than_the_cut_rebuilds(tmp_path, monkeypatch):
    log = _log(tmp_path / "index")
    _clock(monkeypatch, BASE_MS)
    log.append(["gone", "old"])
    _clock(monkeypatch, BASE_MS + 2 * HOUR_MS)
    log.append(["new", "gone"])
    _clock(monkeypatch, BASE_MS + 2 * HOUR_MS + 1_000)
    log.compact(3600)
    store = _Store(["old", "new"])

    behind: list = []
    _follower_at(log, tmp_path / "behind", BASE_MS).catch_up(_Lexical(behind), store)
    assert behind == [("build", ["new", "old"])]

    # one that read past the cut goes on from the log: what it names, present or gone
    current: list = []
    _follower_at(log, tmp_path / "current", BASE_MS + 2 * HOUR_MS - 1).catch_up(
        _Lexical(current), store
    )
    assert current == [("updated", ["new"], ["gone"])]


def test_follow_state_moves_to_the_newest_stamp_and_forgets_what_is_out_of_the_window():
    from qa.index.change_log import WINDOW_MS, LogRecord

    state = FollowState(BASE_MS, {"r0": BASE_MS - WINDOW_MS})
    now = BASE_MS + 1000
    read = [LogRecord("r1", BASE_MS + 10), LogRecord("r2", BASE_MS + 500)]
    moved = state.advanced(read, now)
    assert moved.cursor == BASE_MS + 500
    assert moved.seen == {}  # r0 fell out of the window; r1 and r2 settle first
    assert set(moved.settling) == {"r1", "r2"}
    settled = moved.advanced([], now + SETTLE_MS)
    assert settled.seen == {"r1": BASE_MS + 10, "r2": BASE_MS + 500} and not settled.settling
    assert moved.advanced([LogRecord("late", BASE_MS)], now).cursor == BASE_MS + 500  # never back
    assert state.cursor == BASE_MS and "r1" not in state.seen  # a new state, this one kept


# Settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("QA_LAYOUT", "bogus", "QA_LAYOUT must be one of auto, folder, chroma"),
        ("QA_FOLLOW_SECONDS", "0", "QA_FOLLOW_SECONDS"),
        ("QA_FOLLOW_SECONDS", "61", "QA_FOLLOW_SECONDS"),
        ("QA_LOG_KEEP_SECONDS", "10", "QA_LOG_KEEP_SECONDS"),
    ],
)
def test_bad_layout_settings_are_refused(name: str, value: str, message: str):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: value})


def test_good_layout_settings_are_read():
    settings = Settings.from_env(
        {"QA_LAYOUT": "chroma", "QA_FOLLOW_SECONDS": "0.05", "QA_LOG_KEEP_SECONDS": "3600"}
    )
    assert settings.layout is Layout.CHROMA
    assert (settings.follow_seconds, settings.log_keep_seconds) == (0.05, 3600.0)


# Through an Assistant, with the real model ------------------------------------------------
QUESTION = "What did France promise in July?"
RARE_1 = "Zorblax ferries sailed from Calais at dawn. The harbour was calm all day."
RARE_2 = "Quibbleflux inspectors counted the boats. Nobody else was on the quay."


def _chroma_assistant(index_dir: Path):
    from qa import Assistant

    assistant = Assistant(index_dir=index_dir, layout="chroma")
    assert assistant.store.layout == "chroma"
    return assistant


def _article_ids(assistant, article_id: str) -> dict[str, str]:
    """chunk id -> content hash of one article's records."""
    got = assistant.store._chunks.get(where={"article_id": article_id}, include=["metadatas"])
    return {cid: meta["content_hash"] for cid, meta in zip(got["ids"], got["metadatas"])}


@pytest.mark.slow
def test_folder_and_chroma_layouts_answer_the_seeds_alike(tmp_path: Path):
    from qa import Assistant

    folder = Assistant(index_dir=tmp_path / "folder", layout="folder")
    chroma = _chroma_assistant(tmp_path / "chroma")
    assert folder.store.layout == "folder"
    for assistant in (folder, chroma):
        report = assistant.ingest([SEEDS])
        assert report.added and not report.failed

    answers = [a.ask(QUESTION) for a in (folder, chroma)]
    assert answers[0].text and answers[0].text == answers[1].text
    assert [(c.article_id, c.quote, c.start, c.end) for c in answers[0].citations] == [
        (c.article_id, c.quote, c.start, c.end) for c in answers[1].citations
    ]
    found = [a.search(QUESTION, k=5) for a in (folder, chroma)]
    order = [[(p.chunk.article_id, p.chunk.text) for p in passages] for passages in found]
    assert order[0] and order[0] == order[1]
    assert not {p.chunk.id for p in found[0]} & {p.chunk.id for p in found[1]}  # versioned

    stats = [a.stats() for a in (folder, chroma)]
    counts = [(s.articles, s.chunks, s.sentences) for s in stats]
    assert counts[0] == counts[1]
    assert stats[0].sentences > stats[0].chunks > 0
    assert not any(chroma.store._chunks.get(include=["documents"])["documents"])


@pytest.mark.slow
def test_an_edited_article_leaves_only_its_new_version(tmp_path: Path):
    assistant = _chroma_assistant(tmp_path / "index")
    first = assistant.add_documents([("note.txt", RARE_1.encode())])
    (article_id,) = first.added
    v1 = _article_ids(assistant, article_id)
    # the same length: the chunks sit at the same offsets, only their words changed
    edited = RARE_1.replace("Calais", "Dieppe")
    assert len(edited) == len(RARE_1)
    assistant.add_documents([("note.txt", edited.encode())])
    v2 = _article_ids(assistant, article_id)
    assert v1 and v2 and not set(v1) & set(v2)  # two versions never share a chunk id
    assert len(set(v2.values())) == 1 and set(v2.values()) != set(v1.values())
    assert sorted(assistant.store.manifest([article_id])[article_id].chunk_ids) == sorted(v2)
    assert "Dieppe" in assistant.store.article_text(article_id)
    assert "Calais" not in assistant.store.article_text(article_id)


@pytest.mark.slow
def test_an_unchanged_article_is_not_written_again_nor_logged(tmp_path: Path):
    assistant = _chroma_assistant(tmp_path / "index")
    (article_id,) = assistant.add_documents([("note.txt", RARE_1.encode())]).added
    log = assistant.store.change_log
    assert log is not None
    records = log.since(0)
    assert records and log.chunks([r.id for r in records]) == set(
        _article_ids(assistant, article_id)
    )
    again = assistant.add_documents([("note.txt", RARE_1.encode())])
    assert again.unchanged == [article_id] and not again.added and not again.updated
    assert log.since(0) == records


@pytest.mark.slow
def test_a_hosts_lexical_index_follows_the_log_without_a_rebuild(tmp_path, monkeypatch):
    from qa.index.tantivy_lexical import TantivyLexicalIndex

    assistant = _chroma_assistant(tmp_path / "index")
    (first,) = assistant.add_documents([("first.txt", RARE_1.encode())]).added
    analyzer = Analyzer()
    host = tmp_path / "host-b"
    follower = LogFollower(assistant.store.change_log, host, shared=True)
    lexical = follower.catch_up(TantivyLexicalIndex(host, analyzer), assistant.store)
    zorblax = analyzer.terms("zorblax")
    assert sorted(lexical.search(zorblax, 5).ids) == sorted(_article_ids(assistant, first))
    assert (host / STATE_FILE).exists()

    real_build = TantivyLexicalIndex.build

    def no_rebuild(self, chunks, revision):
        if self.folder == host:
            raise AssertionError("the follower rebuilt the index instead of following the log")
        real_build(self, chunks, revision)

    monkeypatch.setattr(TantivyLexicalIndex, "build", no_rebuild)
    (second,) = assistant.add_documents([("second.txt", RARE_2.encode())]).added
    lexical = follower.catch_up(lexical, assistant.store)
    quibbleflux = analyzer.terms("quibbleflux")
    second_ids = sorted(_article_ids(assistant, second))
    assert second_ids and sorted(lexical.search(quibbleflux, 5).ids) == second_ids
    assert sorted(lexical.search(zorblax, 5).ids) == sorted(_article_ids(assistant, first))

    assistant.delete([second])
    lexical = follower.catch_up(lexical, assistant.store)
    assert lexical.search(quibbleflux, 5).ids == []
    every_chunk = set(assistant.store.ids_where(None))
    assert set(lexical.terms_by_id()) == every_chunk

    # the same records applied again (as a host that lost what it had seen would)
    saved = json.loads((host / STATE_FILE).read_text())
    assert saved["settling"]  # read, and looked at again until they settle
    (host / STATE_FILE).write_text(json.dumps({"cursor": saved["cursor"], "seen": {}}))
    lexical = follower.catch_up(lexical, assistant.store)
    assert set(lexical.terms_by_id()) == every_chunk
    assert sorted(lexical.search(zorblax, 5).ids) == sorted(
        _article_ids(assistant, first)
    )  # not doubled
    assert lexical.search(quibbleflux, 5).ids == []


@pytest.mark.slow
def test_a_change_made_after_its_record_was_read_is_still_applied(tmp_path, monkeypatch):
    """A record is written before its change, so a writer killed between the two still
    leaves one. A host that read the record before the change landed looks at its
    chunks again until it settles: a chunk that appears later goes in, one deleted
    later goes out, and after ``SETTLE_MS`` the record is done with."""
    from qa.index.tantivy_lexical import TantivyLexicalIndex

    assistant = _chroma_assistant(tmp_path / "index")
    (first,) = assistant.add_documents([("first.txt", RARE_1.encode())]).added
    store, analyzer, host = assistant.store, Analyzer(), tmp_path / "host-b"
    follower = LogFollower(store.change_log, host, shared=True)
    lexical = follower.catch_up(TantivyLexicalIndex(host, analyzer), store)
    zorblax = analyzer.terms("zorblax")
    original = sorted(lexical.search(zorblax, 5).ids)
    model = store._chunks.get(ids=original[:1], include=["embeddings", "metadatas"])

    late = f"{first}:9:late"
    store.change_log.append([late])  # the writer's record, then it is killed ...
    lexical = follower.catch_up(lexical, store)
    assert late not in lexical.search(zorblax, 5).ids  # read before the chunk landed
    store._chunks.upsert(ids=[late], embeddings=model["embeddings"], metadatas=model["metadatas"])
    lexical = follower.catch_up(lexical, store)  # ... while its upsert still landed
    assert late in lexical.search(zorblax, 5).ids

    store.change_log.append([late])  # a delete's record, the delete made after the read
    lexical = follower.catch_up(lexical, store)
    assert late in lexical.search(zorblax, 5).ids
    store._chunks.delete(ids=[late])
    lexical = follower.catch_up(lexical, store)
    assert sorted(lexical.search(zorblax, 5).ids) == original

    later = now_ms() + SETTLE_MS + 1
    monkeypatch.setattr("qa.index.log_follower.now_ms", lambda: later)
    follower.catch_up(lexical, store)
    saved = json.loads((host / STATE_FILE).read_text())
    assert not saved["settling"] and not saved["indexed"] and len(saved["seen"]) >= 3


@pytest.mark.slow
def test_following_goes_on_after_a_first_read_that_failed(tmp_path, monkeypatch):
    """The first search reads the log in its own thread; when that read fails (Chroma
    away for a moment) the search reports it, and the background reader still starts
    and brings the lexical index up to date without another search."""
    assistant = _chroma_assistant(tmp_path / "index")
    (first,) = assistant.add_documents([("first.txt", RARE_1.encode())]).added
    retriever = assistant.retriever
    follower = retriever.follower
    real_catch_up = follower.catch_up
    calls: list[str] = []

    def failing_once(lexical, store):
        calls.append("read")
        if len(calls) == 1:
            raise ConnectionError("Chroma is away for a moment")
        return real_catch_up(lexical, store)

    monkeypatch.setattr(follower, "catch_up", failing_once)
    retriever.follow_seconds = 0.1
    retriever._following = False  # as in a process that has not searched yet
    with pytest.raises(ConnectionError):
        retriever.refresh()
    # written by the ingest path alone, as another host would: no search, no apply here
    data = RARE_2.encode()
    assert assistant.ingestor.ingest_uploads([("second.txt", data)], len(data) + 1).added
    quibbleflux = Analyzer().terms("quibbleflux")
    deadline = time.monotonic() + 10
    while not retriever.lexical.search(quibbleflux, 5).ids:
        assert time.monotonic() < deadline, "the log was never read again after the failure"
        time.sleep(0.1)
    assert len(calls) >= 2
