"""Ingest against a real Chroma index: idempotence, updates, pruning, bad files."""

from __future__ import annotations

import shutil

import pytest

from qa import Assistant
from qa.embeddings import packaged_model_path
from qa.errors import IndexModelMismatch
from tests.conftest import SEED_ARTICLE

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
    path.write_bytes(("Chelsea sack Mutu\n\nChelsea have sacked Adrian Mutu after he failed a drugs "
                      "test.\n\nChelsea have decided to write off a possible transfer fee for Mutu, "
                      "a £15.8m signing from Parma last season.\n").encode("latin-1"))
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
