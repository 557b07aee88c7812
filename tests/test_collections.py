"""Named collections through the Python API: real model, real Chroma."""

from __future__ import annotations

import numpy as np
import pytest

from qa import Assistant
from qa.errors import InvalidQuestion, UnknownArticle, UnknownCollection
from tests.collections_helpers import LEGAL_QUESTION, MEMO, PUBLIC_QUESTION, SECRET
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow  # the real model and Chroma


def _unlabel(assistant: Assistant) -> None:
    """Make the index look like one written before collections existed."""
    chunks = assistant.store._chunks
    ids = chunks.get(include=[])["ids"]
    chunks.update(ids=ids, metadatas=[{"collection": None} for _ in ids])
    assistant.store.bump_revision()
    assert all("collection" not in m for m in chunks.get(include=["metadatas"])["metadatas"])


def _embeddings(assistant: Assistant) -> dict[str, np.ndarray]:
    got = assistant.store._chunks.get(include=["embeddings"])
    return {cid: np.asarray(vector) for cid, vector in zip(got["ids"], got["embeddings"])}


def test_an_index_from_before_collections_opens_as_default_answers_unchanged(tmp_path):
    index = tmp_path / "index"
    writer = Assistant(index_dir=index)
    writer.ingest([SEEDS])
    _unlabel(writer)
    old = Assistant(index_dir=index)
    before = old.ask(PUBLIC_QUESTION)
    vectors = _embeddings(old)
    assert before.grounded and old.articles().total == 1 and old.stats().chunks == 3
    old.create_collection("legal", private=True)  # now questions must name their collection
    labelled = old.store._chunks.get(include=["metadatas"])["metadatas"]
    assert {m["collection"] for m in labelled} == {"default"}
    after = Assistant(index_dir=index).ask(PUBLIC_QUESTION)
    assert after.to_dict() == before.to_dict()
    assert {k: v.tolist() for k, v in _embeddings(old).items()} == {
        k: v.tolist() for k, v in vectors.items()
    }  # nothing re-embedded


def test_a_collection_sees_only_its_own_articles(tmp_path):
    assistant = Assistant(index_dir=tmp_path / "index")
    assistant.ingest([SEEDS])
    public_before = assistant.ask(PUBLIC_QUESTION).to_dict()
    refused_before = assistant.ask(LEGAL_QUESTION)
    assert not refused_before.grounded
    assistant.create_collection("legal", private=True)
    memo = tmp_path / "memo.md"
    memo.write_text(MEMO, encoding="utf-8")
    legal = assistant.using("legal")
    assert legal.ingest([memo]).added == ["legal:" + legal.articles().articles[0].id.split(":")[1]]
    # the other collection's article changes nothing here: answers, refusals, counts
    assert assistant.ask(PUBLIC_QUESTION).to_dict() == public_before
    refused = assistant.ask(LEGAL_QUESTION)
    assert not refused.grounded and SECRET not in refused.text
    assert all(
        p.chunk.article_id != legal.articles().articles[0].id for p in assistant.search(SECRET)
    )
    assert assistant.facets()["source"] == ["BBC"] and legal.facets()["source"] == ["Legal desk"]
    assert (assistant.stats().articles, legal.stats().articles) == (1, 1)
    answer = legal.ask(LEGAL_QUESTION)
    assert answer.grounded and "41 million" in answer.text
    assert not legal.ask(PUBLIC_QUESTION).grounded  # the public story is not legal's
    follow = assistant.ask(
        "What price was proposed?",
        history=[
            {"role": "user", "content": LEGAL_QUESTION},
            {"role": "assistant", "content": answer.text},  # a quote of the memo
        ],
    )
    assert all(c.article_id.startswith("france") for c in follow.citations)


def test_one_file_in_two_collections_is_two_articles(tmp_path):
    assistant = Assistant(index_dir=tmp_path / "index")
    assistant.ingest([SEEDS])
    assistant.create_collection("archive")
    archive = assistant.using("archive")
    report = archive.ingest([SEEDS], prune=True)
    (copy,) = report.added
    (original,) = [a.id for a in assistant.articles().articles]
    assert copy == f"archive:{original}"
    with pytest.raises(UnknownArticle):  # each collection deletes only its own
        assistant.delete([copy])
    archive.delete([copy])
    assert [a.id for a in assistant.articles().articles] == [original]
    assert assistant.ask(PUBLIC_QUESTION).grounded


def test_collections_are_made_listed_and_removed(tmp_path):
    assistant = Assistant(index_dir=tmp_path / "index")
    assert [c.name for c in assistant.collections()] == ["default"]
    with pytest.raises(UnknownCollection, match="qa collection create legal"):
        assistant.using("legal")
    with pytest.raises(UnknownCollection):
        Assistant(index_dir=tmp_path / "index", collection="legal")
    assistant.create_collection("legal", private=True)
    assert Assistant(index_dir=tmp_path / "index", collection="legal").collection == "legal"
    memo = tmp_path / "memo.md"
    memo.write_text(MEMO, encoding="utf-8")
    assistant.using("legal").ingest([memo])
    report = assistant.delete_collection("legal")
    assert len(report.removed) == 1 and assistant.store.count() == 0
    assert [c.name for c in assistant.collections()] == ["default"]
    with pytest.raises(UnknownCollection):
        assistant.using("legal")
    for bad in ("default", "Legal Desk", "../x", "x" * 41):
        with pytest.raises(InvalidQuestion):
            assistant.delete_collection(bad)
    with pytest.raises(InvalidQuestion, match="default collection is public"):
        assistant.create_collection("default", private=True)
