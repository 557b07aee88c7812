"""The scale-out path: two assistants sharing one `chroma run` server on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from qa import Assistant
from qa.analysis import Analyzer
from qa.errors import ConfigError
from tests.chroma_helpers import chroma_url  # noqa: F401
from tests.conftest import SEEDS
from tests.server_helpers import running_app

pytestmark = pytest.mark.slow  # a `chroma run` server and subprocesses


def test_two_processes_share_one_chroma_server_in_the_folder_layout(chroma_url, tmp_path):  # noqa: F811
    """The folder layout on a Chroma server (how every such index was made before the
    chroma layout; ``QA_LAYOUT=folder``): a writer in another process (`qa ingest`)
    on the same index folder; this process's in-memory BM25 (bm25s) follows it.
    (The chroma layout, where each host has its own folder: tests/test_server_mode.py.)"""
    env = {
        **os.environ,
        "QA_CHROMA_URL": chroma_url,
        "QA_INDEX_DIR": str(tmp_path / "writer"),
        "QA_LAYOUT": "folder",
    }

    def ingest_elsewhere(path) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "qa.cli", "ingest", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr

    ingest_elsewhere(SEEDS)
    # the chunk texts and sentence vectors are in the writer's index folder, not in Chroma
    with pytest.raises(ConfigError, match="QA_INDEX_DIR to the folder the index was written from"):
        Assistant(index_dir=tmp_path / "elsewhere", chroma_url=chroma_url)
    # the index records its layout: a process configured otherwise is told what to set
    with pytest.raises(ConfigError, match="QA_LAYOUT=folder"):
        Assistant(index_dir=tmp_path / "writer", chroma_url=chroma_url, layout="chroma")
    reader = Assistant(index_dir=tmp_path / "writer", chroma_url=chroma_url, lexical="bm25s")
    assert reader.store.layout == "folder"  # auto keeps the layout the index was made with
    assert reader.stats().articles == 1
    assert reader.ask("What did France promise in July?").grounded
    story = tmp_path / "ferry.txt"
    story.write_text("Ferry strike ends\n\nThe Calais ferry strike ended after a 4% pay rise.\n")
    ingest_elsewhere(story)
    # the reader notices within refresh_seconds and rebuilds BM25 off the ask path
    deadline = time.monotonic() + 60
    while reader.lexical.revision != reader.store.revision():
        assert time.monotonic() < deadline, "the reader's BM25 never caught up"
        reader.search("anything", k=1)
        time.sleep(0.2)
    # BM25 itself holds the new chunk (a dense hit alone would not show the rebuild)
    found = reader.lexical.search(Analyzer().terms("Calais ferry strike"), 3).ids
    assert [cid for cid in found if cid.startswith("ferry")]
    hits = reader.search("Calais ferry strike pay rise", k=1)
    assert "4% pay rise" in hits[0].chunk.text


NO_FULL_BUILD = """
from pathlib import Path
import qa.index.tantivy_lexical as lexical

def refuse(index, chunks, revision):
    Path({marker!r}).write_text(f"full build at revision {{revision}}")
    raise AssertionError("a full build of the shared lexical index")

lexical.TantivyLexicalIndex.build = refuse
"""


def test_two_app_processes_on_one_chroma_server_and_one_lexical_index(
    chroma_url,  # noqa: F811
    tmp_path,
):
    """`qa serve --workers`' shape by hand: two app processes on one `chroma run`
    and one index folder (the shared lexical index, the write lock). A write
    through one is answered by the other, and neither ever rebuilds the whole
    lexical index: in both, the full build is replaced by one that leaves a mark."""
    index = tmp_path / "index"
    first = Assistant(index_dir=index, chroma_url=chroma_url, lexical="tantivy")
    first.ingest([SEEDS])  # the lexical index's one full build
    marker = tmp_path / "full-build.happened"
    env = {"QA_CHROMA_URL": chroma_url, "QA_API_TOKEN": "s3cret", "QA_LEXICAL": "tantivy"}
    prelude = NO_FULL_BUILD.format(marker=str(marker))
    question = {"question": "What did the Quillon harbour board decide about the pier?"}
    story = {
        "id": "quillon-pier",
        "title": "Quillon harbour board picks stone",
        "text": "The Quillon harbour board decided to build the new pier in stone, "
        "not steel, at a cost of 3 million pounds.",
    }
    with (
        running_app(index, prelude=prelude, **env) as writer,
        running_app(index, prelude=prelude, **env) as reader,
    ):
        before = httpx.post(f"{reader}/api/ask", json=question, timeout=120).json()
        assert not any(c["article_id"] == "quillon-pier" for c in before["citations"])
        written = httpx.post(
            f"{writer}/api/articles",
            headers={"Authorization": "Bearer s3cret"},
            json={"articles": [story]},
            timeout=300,
        )
        assert written.status_code == 200 and written.json()["added"] == ["quillon-pier"]
        deadline = time.monotonic() + 60
        while True:
            answer = httpx.post(f"{reader}/api/ask", json=question, timeout=120).json()
            if any(c["article_id"] == "quillon-pier" for c in answer["citations"]):
                break
            assert time.monotonic() < deadline, "the other process never answered from the write"
            time.sleep(0.2)
        assert "stone" in answer["text"]
    assert not marker.exists(), marker.read_text()
