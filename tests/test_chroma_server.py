"""The scale-out path: two assistants sharing one `chroma run` server on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import httpx
import pytest

from qa import Assistant
from tests.conftest import SEEDS
from tests.server_helpers import free_port


@pytest.fixture
def chroma_url(tmp_path):
    chroma = shutil.which("chroma")
    if chroma is None:
        pytest.fail("the chroma command (from the chromadb package) is missing")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    process = subprocess.Popen([chroma, "run", "--path", str(tmp_path / "chroma"),
                                "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    writer = Assistant(index_dir=tmp_path / "writer", chroma_url=chroma_url)
    assert writer.ingest([SEEDS]).added
    reader = Assistant(index_dir=tmp_path / "reader", chroma_url=chroma_url)
    assert reader.stats().articles == 1
    assert reader.ask("What did France promise in July?").grounded
    # the reader's BM25 index follows the writer's changes through the revision
    story = tmp_path / "ferry.txt"
    story.write_text("Ferry strike ends\n\nThe Calais ferry strike ended after a 4% pay rise.\n")
    writer.ingest([story])
    # the reader notices within refresh_seconds and rebuilds BM25 off the ask path
    deadline = time.monotonic() + 60
    while reader.lexical.revision != writer.store.revision():
        assert time.monotonic() < deadline, "the reader's BM25 never caught up"
        reader.search("anything", k=1)
        time.sleep(0.2)
    hits = reader.search("Calais ferry strike pay rise", k=1)
    assert "4% pay rise" in hits[0].chunk.text
