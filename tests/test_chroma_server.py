"""The scale-out path: two assistants sharing one `chroma run` server on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from qa import Assistant
from qa.analysis import Analyzer
from qa.errors import ConfigError
from tests.conftest import SEEDS
from tests.server_helpers import free_port, running_app

pytestmark = pytest.mark.slow  # a `chroma run` server and subprocesses


@pytest.fixture
def chroma_url(tmp_path):
    chroma = shutil.which("chroma")
    if chroma is None:
        pytest.fail("the chroma command (from the chromadb package) is missing")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    process = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path / "chroma"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "chroma did not start"
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_two_processes_share_one_chroma_server(chroma_url, tmp_path):
    """A writer in another process (`qa ingest`) on the same index folder; this
    process's in-memory BM25 (bm25s) follows it."""
    env = {**os.environ, "QA_CHROMA_URL": chroma_url, "QA_INDEX_DIR": str(tmp_path / "writer")}

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
    reader = Assistant(index_dir=tmp_path / "writer", chroma_url=chroma_url, lexical="bm25s")
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


def test_two_app_processes_on_one_chroma_server_and_one_lexical_index(chroma_url, tmp_path):
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
