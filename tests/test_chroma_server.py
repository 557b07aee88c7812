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
from tests.conftest import SEEDS
from tests.server_helpers import free_port

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
    """A writer in another process (`qa ingest`); this process's BM25 follows it."""
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
    reader = Assistant(index_dir=tmp_path / "reader", chroma_url=chroma_url)
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
