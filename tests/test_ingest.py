"""Ingest against a real Chroma index: idempotence, updates, pruning, bad files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from qa import Assistant
from qa.errors import IndexModelMismatch
from qa.index.embeddings import packaged_model_path
from tests.conftest import SEED_ARTICLE

pytestmark = pytest.mark.slow  # the real embedding model and Chroma

STORY = "Port deal signed\n\nThe port deal was signed on Monday by the harbour board. {extra}\n"


def test_reingest_of_unchanged_files_embeds_nothing(fresh, tmp_path):
    shutil.copy(SEED_ARTICLE, tmp_path / "seed.md")
    first = fresh.ingest([tmp_path])
    assert len(first.added) == 1 and first.chunks_added > 1
    second = fresh.ingest([tmp_path])
    assert (second.added, second.updated, second.chunks_added) == ([], [], 0)
    assert second.unchanged == first.added
    assert fresh.stats().chunks == first.chunks_added


def test_changed_file_replaces_its_chunks(fresh, tmp_path):
    path = tmp_path / "port.txt"
    path.write_text(STORY.format(extra="Dockers cheered."))
    fresh.ingest([path])
    path.write_text(STORY.format(extra="The mayor of Calais criticised the cost of the deal."))
    report = fresh.ingest([path])
    assert report.updated and not report.added
    assert fresh.stats().articles == 1
    passages = fresh.search("mayor of Calais")
    assert "mayor of Calais" in passages[0].chunk.text
    assert all("Dockers cheered" not in p.chunk.text for p in passages)


def test_prune_removes_articles_whose_files_are_gone(fresh, tmp_path):
    (tmp_path / "a.txt").write_text(STORY.format(extra="A."))
    (tmp_path / "b.txt").write_text("Other news\n\nA different story about trains.\n")
    fresh.ingest([tmp_path])
    (tmp_path / "b.txt").unlink()
    kept = fresh.ingest([tmp_path])
    assert fresh.stats().articles == 2 and not kept.removed  # no --prune: nothing lost
    pruned = fresh.ingest([tmp_path], prune=True)
    assert len(pruned.removed) == 1 and fresh.stats().articles == 1


def test_bad_files_are_skipped_and_the_index_stays_intact(fresh, tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(SEED_ARTICLE, good / "seed.md")
    fresh.ingest([good])
    before = fresh.stats()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "empty.txt").write_text("")
    (mixed / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (mixed / "broken.jsonl").write_text('{"id": 1, "text": "Fine record about ferries."}\n{oops\n')
    (mixed / "ok.txt").write_text("Trains news\n\nThe night train to Vienna returns in May.\n")
    report = fresh.ingest([mixed, tmp_path / "nope.txt"])
    failed = {f.name.rsplit("/", 1)[-1]: f.reason for f in report.failed}
    assert failed["empty.txt"] == "empty file"
    assert failed["binary.txt"].startswith("binary file")
    assert failed["broken.jsonl line 2"].startswith("invalid JSON")
    assert failed["nope.txt"] == "no such file or directory"
    assert len(report.added) == 2  # ok.txt and the good jsonl record
    after = fresh.stats()
    assert after.articles == before.articles + 2
    assert fresh.ask("What did France promise in July?").grounded


def test_latin1_article_is_answerable_with_its_pound_sign(fresh, tmp_path):
    path = tmp_path / "sport-199.txt"
    path.write_bytes(
        (
            "Chelsea sack Mutu\n\nChelsea have sacked Adrian Mutu after he failed a drugs "
            "test.\n\nChelsea have decided to write off a possible transfer fee for Mutu, "
            "a £15.8m signing from Parma last season.\n"
        ).encode("latin-1")
    )
    report = fresh.ingest([path])
    assert report.notes == [f"{path}: decoded as cp1252"]
    answer = fresh.ask("How much did Chelsea pay Parma for Mutu?")
    assert answer.grounded
    assert any("£15.8m" in c.quote for c in answer.citations)


def test_opening_an_index_with_another_model_is_a_clear_error(tmp_path):
    Assistant(index_dir=tmp_path / "index").ingest([SEED_ARTICLE])
    other = tmp_path / "renamed-model"
    shutil.copytree(packaged_model_path(), other)
    with pytest.raises(IndexModelMismatch, match="built with embedding model"):
        Assistant(index_dir=tmp_path / "index", embedding_model=str(other))


def _vectors_by_chunk_text(assistant: Assistant) -> dict[str, tuple]:
    ids = [cid for entry in assistant.store.manifest().values() for cid in entry.chunk_ids]
    return {
        chunk.text: (vector, chunk.sentence_vectors)
        for chunk, vector in assistant.store.chunks(ids).values()
    }


def test_edited_article_re_embeds_only_the_chunks_that_changed(fresh, tmp_path):
    path = tmp_path / "seed.md"
    shutil.copy(SEED_ARTICLE, path)
    first = fresh.ingest([path])
    assert first.chunks_added >= 3 and first.chunks_embedded == first.chunks_added
    path.write_text(
        SEED_ARTICLE.read_text() + "\nThe mayor of Calais said the new patrol boats "
        "would arrive in the spring.\n"
    )
    edited = fresh.ingest([path])
    assert edited.updated and 1 <= edited.chunks_embedded < edited.chunks_added
    assert "reused identical vectors" in edited.summary()
    answer = fresh.ask("When will the new patrol boats arrive?")
    assert answer.grounded and "spring" in answer.text

    rebuilt = Assistant(index_dir=tmp_path / "rebuilt")
    rebuilt.ingest([path])
    reused, scratch = _vectors_by_chunk_text(fresh), _vectors_by_chunk_text(rebuilt)
    assert reused.keys() == scratch.keys()
    for text, (vector, sentences) in reused.items():
        assert float(vector @ scratch[text][0]) > 0.9999
        assert np.allclose(sentences, scratch[text][1], atol=2e-3)


def test_duplicate_articles_are_embedded_once_and_both_kept(fresh, tmp_path):
    shutil.copy(SEED_ARTICLE, tmp_path / "original.md")
    shutil.copy(SEED_ARTICLE, tmp_path / "syndicated-copy.md")
    report = fresh.ingest([tmp_path])
    assert len(report.added) == 2
    assert report.chunks_embedded * 2 == report.chunks_added
    stats = fresh.stats()
    assert stats.articles == 2 and stats.chunks == report.chunks_added
    answer = fresh.ask("What did France promise in July?")
    assert answer.grounded
    assert len({c.quote for c in answer.citations}) == len(answer.citations)  # no quote twice


def test_legacy_sentence_collection_is_dropped_but_a_users_own_is_kept(tmp_path):
    """Indexes of the older layout had a second "<name>-sentences" collection; on
    open it goes, unless it is not ours (no chunk ids in its records)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    index = tmp_path / "index"
    Assistant(index_dir=index).ingest([SEED_ARTICLE])
    client = chromadb.PersistentClient(
        path=str(index / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )

    def reopen_and_list() -> set[str]:
        return {c.name for c in Assistant(index_dir=index).store._client.list_collections()}

    users = client.create_collection("articles-sentences", embedding_function=None)
    users.add(ids=["keep"], embeddings=[[0.1] * 384], metadatas=[{"note": "a user's own"}])
    assert "articles-sentences" in reopen_and_list()
    client.delete_collection("articles-sentences")
    legacy = client.create_collection("articles-sentences", embedding_function=None)
    legacy.add(
        ids=["x#0"],
        embeddings=[[0.1] * 384],
        metadatas=[{"chunk_id": "x", "article_id": "a", "start": 0, "end": 1}],
    )
    assert "articles-sentences" not in reopen_and_list()


def test_packed_sentence_vectors_round_trip():
    """Both forms: raw int8 in the payload store, base64 in records from before it."""
    from qa.index.payloads import dequantize, quantize
    from qa.index.store import pack_vectors, unpack_vectors

    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((5, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    restored = unpack_vectors(pack_vectors(vectors), 5, 384)
    assert restored.shape == (5, 384) and restored.dtype == np.float32
    assert np.min(np.sum(restored * vectors, axis=1)) > 0.9999
    zero_row = unpack_vectors(pack_vectors(np.zeros((1, 384), dtype=np.float32)), 1, 384)
    assert not zero_row.any()  # a sentence without tokens stays a zero vector
    assert unpack_vectors("", 5, 384) is None
    assert unpack_vectors(pack_vectors(vectors), 4, 384) is None
    raw = quantize(vectors)
    assert len(raw) == 5 * 384  # a byte a dimension
    assert np.array_equal(dequantize(raw, 5, 384), restored)
    assert dequantize(b"", 5, 384) is None and dequantize(raw, 6, 384) is None


def _bm25_matches_the_store(assistant: Assistant) -> None:
    lexical, analyzer = assistant.lexical, assistant.retriever.analyzer
    expected = {
        chunk_id: analyzer.terms(f"{title}\n{text}")
        for chunk_id, title, text in assistant.store.iter_chunks()
    }
    assert lexical.terms_by_id() == expected
    assert lexical.revision == assistant.store.revision()


def test_bm25_follows_each_write_exactly_without_a_rebuild(fresh, tmp_path, monkeypatch):
    fresh.ingest([SEED_ARTICLE])
    builds = []
    monkeypatch.setattr(type(fresh.lexical), "build", lambda *a, **k: builds.append(a))
    news = tmp_path / "news"
    news.mkdir()
    story = news / "ferry.txt"
    story.write_text("Ferry strike ends\n\nThe Calais ferry strike ended after a 4% pay rise.\n")
    fresh.ingest([story])
    _bm25_matches_the_store(fresh)
    story.write_text("Ferry strike ends\n\nThe Dover ferry strike ended after a 5% pay rise.\n")
    fresh.ingest([story])
    _bm25_matches_the_store(fresh)
    assert "5% pay rise" in fresh.search("Dover ferry strike", k=1)[0].chunk.text
    story.unlink()
    assert fresh.ingest([SEED_ARTICLE, news], prune=True).removed
    _bm25_matches_the_store(fresh)
    assert not builds, "a write rebuilt BM25 from scratch"


@pytest.mark.slow
def test_a_relative_index_path_stays_the_folder_it_named_when_the_directory_changes(
    tmp_path, monkeypatch
):
    """Chroma's client is cached per process by path: with "index" kept relative, an
    Assistant opened after a chdir wrote into the first folder's index."""
    from qa import Assistant

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    Assistant(index_dir="index").ingest([SEED_ARTICLE])
    monkeypatch.chdir(second)
    assert Assistant(index_dir="index").stats().articles == 0
    assert (second / "index" / "chroma").is_dir()
    monkeypatch.chdir(first)
    assert Assistant(index_dir="index").stats().articles == 1
