"""The payload store: chunk texts, spans and sentence vectors beside Chroma, stored once.

Fast tests drive ``PayloadStore`` on its own; the slow ones go through an
``Assistant`` with the real model to check what lands in Chroma, that a
folder without the payloads is refused, and that an index written before
the payload store is still read and moves over on its next ingest.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from qa.index.payloads import ChunkPayload, PayloadStore
from tests.conftest import SEEDS


def _payload(
    text: str = "Ça coûte 12 000 €.\nSecond line.", rows: int = 2, article_id: str = "a"
) -> ChunkPayload:
    rng = np.random.default_rng(rows)
    vectors = rng.standard_normal((rows, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return ChunkPayload(
        text=text,
        article_id=article_id,
        title="Ferry strike ends",
        start=40,
        end=40 + len(text),
        index=3,
        sentences=tuple((40 + 5 * n, 44 + 5 * n) for n in range(rows)),
        lead=(0, 12),
        lead_text="A lead line.",
        embed_key="k" * 40,
        pages=(0, 30),
        sentence_vectors=vectors,
    )


def test_a_payload_comes_back_as_written(tmp_path: Path):
    store = PayloadStore(tmp_path / "chunks" / "articles.sqlite3")
    written = _payload()
    store.put([("a#0", written)])
    got = store.get(["a#0", "missing"], dimension=8)
    assert list(got) == ["a#0"]
    assert got["a#0"] == written  # every field but the vectors
    assert got["a#0"].sentence_vectors is not None
    cosines = np.sum(got["a#0"].sentence_vectors * written.sentence_vectors, axis=1)
    assert cosines.min() > 0.999  # int8, re-normalised
    assert store.texts(["a#0"]) == {"a#0": (written.title, written.text)}
    assert store.sentence_counts(["a#0", "missing"]) == {"a#0": 2}


def test_an_articles_chunks_are_found_by_its_id(tmp_path: Path):
    store = PayloadStore(tmp_path / "p.sqlite3")
    store.put([(f"a:{n}", _payload(article_id="a")) for n in range(3)])
    store.put([("ab:0", _payload(article_id="ab")), ("b:0", _payload(article_id="b"))])
    assert sorted(store.article_chunk_ids("a")) == ["a:0", "a:1", "a:2"]
    assert store.article_chunk_ids("ab") == ["ab:0"]  # exact, not a prefix
    assert store.article_chunk_ids("nothing") == []
    store.delete(["a:1"])
    assert sorted(store.article_chunk_ids("a")) == ["a:0", "a:2"]


def test_a_chunk_without_lead_or_vectors_round_trips(tmp_path: Path):
    store = PayloadStore(tmp_path / "p.sqlite3")
    bare = ChunkPayload("x", "b", "", 0, 1, 0, (), None, "", "", (), None)
    store.put([("b#0", bare)])
    got = store.get(["b#0"], dimension=8)["b#0"]
    assert got == bare and got.lead is None and got.sentence_vectors is None


def test_put_overwrites_and_delete_removes_only_the_named(tmp_path: Path):
    store = PayloadStore(tmp_path / "p.sqlite3")
    store.put([(f"a#{n}", _payload(f"text {n}")) for n in range(1200)])  # more than a batch
    store.put([("a#5", _payload("rewritten"))])
    assert store.count() == 1200
    assert store.texts(["a#5"])["a#5"][1] == "rewritten"
    store.delete([f"a#{n}" for n in range(0, 1200, 2)])
    assert store.count() == 600
    assert set(store.texts([f"a#{n}" for n in range(1200)])) == {
        f"a#{n}" for n in range(1, 1200, 2)
    }


def test_the_store_id_is_kept_until_a_reset(tmp_path: Path):
    path = tmp_path / "p.sqlite3"
    assert not PayloadStore(path).exists()
    first = PayloadStore(path)
    first.put([("a#0", _payload())])
    assert first.exists() and len(first.store_id) == 32
    again = PayloadStore(path)  # another process opening the same file
    before = first.store_id
    assert again.store_id == before and again.count() == 1
    again.reset()
    assert again.count() == 0 and again.store_id != before
    assert first.store_id == again.store_id  # read afresh, not cached


def test_a_batch_with_a_bad_row_writes_none_of_it(tmp_path: Path):
    store = PayloadStore(tmp_path / "p.sqlite3")
    store.put([("a#0", _payload("kept"))])
    rows = [("a#0", _payload("never")), ("a#1", _payload("never")), ("a#2", None)]
    with pytest.raises(AttributeError):
        store.put(rows)  # type: ignore[arg-type]
    assert {k: text for k, (_, text) in store.texts(["a#0", "a#1", "a#2"]).items()} == {
        "a#0": "kept"
    }


def test_readers_in_other_threads_see_a_commit(tmp_path: Path):
    """Threads reading while the commit lands each come to see it (none keeps reading a
    stale snapshot), and never anything but the old or the new text."""
    store = PayloadStore(tmp_path / "p.sqlite3")
    store.put([("a#0", _payload("first"))])
    seen: dict[int, list[str]] = {n: [] for n in range(4)}
    errors: list[BaseException] = []
    reading = threading.Barrier(5)

    def read(n: int) -> None:
        try:
            reading.wait(10)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and "second" not in seen[n]:
                seen[n].extend(text for _, text in store.texts(["a#0"]).values())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    reading.wait(10)  # every reader has started reading
    store.put([("a#0", _payload("second"))])
    for thread in threads:
        thread.join()
    assert not errors
    for texts in seen.values():
        assert texts[-1] == "second" and set(texts) <= {"first", "second"}
    after = []  # a thread that starts after the commit reads only the new text
    threading.Thread(target=lambda: after.extend(store.texts(["a#0"]).values())).start()
    deadline = time.monotonic() + 10
    while not after and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [text for _, text in after] == ["second"]
    assert PayloadStore(store.path).texts(["a#0"])["a#0"][1] == "second"


def test_rows_do_not_spill_into_overflow_pages(tmp_path: Path):
    """A chunk's row (about 3 KB) fits a page, so the file is about the size of its rows."""
    path = tmp_path / "p.sqlite3"
    store = PayloadStore(path)
    store.put([(f"a#{n}", _payload("word " * 200, rows=8)) for n in range(300)])
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        overflow = db.execute(
            "SELECT count(*) FROM dbstat WHERE name = 'payloads' AND pagetype = 'overflow'"
        ).fetchone()[0]
    assert page_size == 32768 and overflow == 0


# --- through an Assistant (the real model) ----------------------------------------------


@pytest.mark.slow
def test_chroma_keeps_vectors_and_article_fields_and_the_payloads_the_rest(tmp_path: Path):
    from qa import Assistant

    assistant = Assistant(index_dir=tmp_path / "index")
    assistant.ingest([SEEDS])
    got = assistant.store._chunks.get(include=["metadatas", "documents"])
    assert got["ids"] and not any(got["documents"])  # no text in Chroma's tables
    for meta in got["metadatas"]:
        assert {"sentence_vectors", "lead_text", "sentences"}.isdisjoint(meta)
        assert "" not in meta.values()  # empty fields are not stored
    payloads = assistant.store._payloads
    assert payloads.count() == len(got["ids"])
    assert sum(payloads.sentence_counts(got["ids"]).values()) == assistant.stats().sentences > 0
    answer = assistant.ask("What did France promise in July?")
    assert answer.grounded and "July" in answer.text


@pytest.mark.slow
def test_a_folder_without_the_payloads_is_refused_with_the_fix(tmp_path: Path):
    from qa import Assistant
    from qa.errors import ConfigError

    Assistant(index_dir=tmp_path / "index").ingest([SEEDS])
    shutil.copytree(tmp_path / "index" / "chroma", tmp_path / "copy" / "chroma")
    with pytest.raises(ConfigError, match="QA_INDEX_DIR"):
        Assistant(index_dir=tmp_path / "copy")
    shutil.copytree(tmp_path / "index" / "chunks", tmp_path / "copy" / "chunks")
    assert Assistant(index_dir=tmp_path / "copy").ask("What did France promise in July?").grounded


@pytest.mark.slow
def test_an_index_from_before_the_payload_store_is_read_and_moves_over(tmp_path: Path):
    """Records that carry text and packed vectors in Chroma (the old layout) answer
    as before; the next ingest rewrites them into the payload store, reusing
    their vectors instead of embedding again."""
    from qa import Assistant
    from qa.index.store import pack_vectors

    new = Assistant(index_dir=tmp_path / "new")
    new.ingest([SEEDS])
    ids = [chunk_id for chunk_id, _, _ in new.store.iter_chunks()]
    chunks = new.store.chunks(ids)
    metas = new.store._chunks.get(ids=ids, include=["metadatas"])["metadatas"]
    payloads = new.store._payloads.get(ids, dimension=384)

    old = Assistant(index_dir=tmp_path / "old")
    records = []
    for chunk_id, meta in zip(ids, metas):
        chunk, vector = chunks[chunk_id]
        legacy = {
            **meta,
            "start": chunk.start,
            "end": chunk.end,
            "index": payloads[chunk_id].index,
            "sentences": [offset for span in chunk.sentences for offset in span],
            "lead_start": chunk.lead[0] if chunk.lead else -1,
            "lead_end": chunk.lead[1] if chunk.lead else -1,
            "lead_text": chunk.lead_text,
            "embed_key": chunk.embed_key,
            "sentence_vectors": pack_vectors(chunk.sentence_vectors),
            "content_hash": "from-the-old-pipeline",
        }
        records.append((chunk_id, vector, chunk.text, legacy))
    old.store._chunks.add(
        ids=[r[0] for r in records],
        embeddings=np.stack([r[1] for r in records]),
        documents=[r[2] for r in records],
        metadatas=[r[3] for r in records],
    )
    old.store.bump_revision()
    old = Assistant(index_dir=tmp_path / "old")  # a new process on the old index
    assert old.store._payloads.count() == 0
    read_back = old.store.chunks(ids)
    for chunk_id in ids:
        assert read_back[chunk_id][0] == chunks[chunk_id][0]
        assert np.allclose(
            read_back[chunk_id][0].sentence_vectors, chunks[chunk_id][0].sentence_vectors
        )
    assert old.stats().sentences == new.stats().sentences
    # the reads by id fall back to Chroma for records without a payload row
    assert old.store.texts(ids) == new.store.texts(ids)
    article = chunks[ids[0]][0].article_id
    old_article, new_article = (a.store.article_chunks(article, 200) for a in (old, new))
    assert {k: c for k, (c, _) in old_article.items()} == {
        k: c for k, (c, _) in new_article.items()
    }
    question = "What did France promise in July?"
    assert old.ask(question).text == new.ask(question).text

    shutil.copytree(tmp_path / "old", tmp_path / "old-too")

    # `qa compact` moves them in place, removes lexical indexes nothing reads,
    # and says how to give the space back
    lexical = tmp_path / "old" / "lexical"
    for stale in ("articles", "articles.tantivy"):  # bm25s's, and tantivy's first schema
        (lexical / stale).mkdir()
        (lexical / stale / "meta.json").write_text("{}")
    in_use = sorted(p.name for p in lexical.iterdir() if p.name.startswith("articles.tantivy-v"))
    assert in_use
    compact = _cli("compact", index=tmp_path / "old")
    assert compact.returncode == 0, compact.stderr
    assert f"moved {len(ids)} chunk(s)" in compact.stdout
    assert "chroma vacuum --path" in compact.stdout
    assert compact.stdout.count("a lexical index nothing reads") == 2
    assert sorted(p.name for p in lexical.iterdir()) == in_use
    assert _cli("compact", index=tmp_path / "old").stdout.startswith("moved 0 chunk(s)")
    chroma_file = tmp_path / "old" / "chroma" / "chroma.sqlite3"
    before = chroma_file.stat().st_size
    vacuum = subprocess.run(
        [_chroma_cli(), "vacuum", "--path", str(chroma_file.parent), "--force"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert vacuum.returncode == 0, vacuum.stderr
    assert chroma_file.stat().st_size < before
    compacted = Assistant(index_dir=tmp_path / "old")
    _assert_moved(compacted, len(ids))
    assert compacted.ask(question).text == new.ask(question).text
    assert compacted.lexical.revision == compacted.store.revision()  # no rebuild owed

    # re-ingesting the same files moves them too, reusing their vectors
    again = Assistant(index_dir=tmp_path / "old-too")
    report = again.ingest([SEEDS])  # the content hash differs: the article is rewritten
    assert report.updated and report.chunks_embedded == 0
    _assert_moved(again, len(ids))
    assert again.ask(question).text == new.ask(question).text


def _assert_moved(assistant, chunks: int) -> None:
    got = assistant.store._chunks.get(include=["documents", "metadatas"])
    assert len(got["ids"]) == chunks and not any(got["documents"])
    assert assistant.store._payloads.count() == chunks
    assert all({"sentence_vectors", "lead_text", "start"}.isdisjoint(m) for m in got["metadatas"])


def _chroma_cli() -> str:
    """chromadb's `chroma` program, beside this Python even when its bin is not on PATH."""
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else shutil.which("chroma") or "chroma"


def _cli(*args: str, index: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", "--index", str(index), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
