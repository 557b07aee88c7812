"""Writers as processes: one at a time per index, and a killed one loses nothing.

Real ``qa ingest`` subprocesses on temp indexes; the kill is a real SIGKILL.
"""

from __future__ import annotations

import json
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa.index.locking import index_write_lock
from tests.conftest import SEEDS
from tests.test_hostile import _distinct_articles

pytestmark = pytest.mark.slow  # concurrent processes writing one index


def qa(*args: str, index: Path) -> list[str]:
    return [sys.executable, "-m", "qa.cli", "--index", str(index), *args]


def run(*args: str, index: Path) -> subprocess.CompletedProcess:
    return subprocess.run(qa(*args, index=index), capture_output=True, text=True, timeout=600)


class _Lines:
    """A process's stderr lines, read on a thread, so every wait has a deadline (a
    blocking read would check it only between characters)."""

    def __init__(self, process: subprocess.Popen) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        self._process = process
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        try:
            for line in self._process.stderr:
                self._lines.put(line)
        except ValueError:  # closed by a later communicate(): nobody reads lines then
            pass
        self._lines.put("")  # EOF: the process ended

    def wait_for(self, text: str, timeout: float) -> str:
        """The next line holding ``text``; fails (never hangs) at EOF or after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no line with {text!r} within {timeout} s"
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            assert line, f"the process ended without a line with {text!r}"
            if text in line:
                return line


def _line_with(process: subprocess.Popen, text: str, timeout: float) -> str:
    """The first stderr line holding ``text``; fails (never hangs) at EOF or after ``timeout``."""
    return _Lines(process).wait_for(text, timeout)


def test_a_second_writer_waits_and_says_who_holds_the_index(tmp_path):
    index = tmp_path / "index"
    with index_write_lock(index):
        waiting = subprocess.Popen(
            qa("ingest", str(SEEDS), index=index),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        message = _line_with(waiting, "another writer", timeout=300)
        assert "pid" in message
        time.sleep(1)
        assert waiting.poll() is None, "it went ahead while the index was held"
    out, _ = waiting.communicate(timeout=600)
    assert waiting.returncode == 0 and "1 added" in out


def test_two_concurrent_ingests_do_the_work_once(tmp_path):
    index = tmp_path / "index"
    runs = [
        subprocess.Popen(
            qa("ingest", "--json", str(SEEDS), index=index),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    reports = [json.loads(r.communicate(timeout=600)[0]) for r in runs]
    assert [r.returncode for r in runs] == [0, 0]
    assert sorted(len(r["added"]) for r in reports) == [0, 1]
    assert sorted(len(r["unchanged"]) for r in reports) == [0, 1]


def test_cli_output_into_a_closed_pipe_is_quiet(tmp_path):
    index = tmp_path / "index"
    run("ingest", str(SEEDS), index=index)
    # `true` exits at once: the reader is gone before qa writes a byte
    ask = shlex.join(qa("ask", "What did France promise in July?", index=index))
    shell = subprocess.run(f"{ask} | true", shell=True, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in shell.stderr and "BrokenPipe" not in shell.stderr


def test_cli_ingest_of_a_file_with_a_bad_record_reports_it_and_keeps_the_rest(tmp_path):
    corpus = tmp_path / "mixed.jsonl"
    corpus.write_text(
        '{"id": "a", "text": "Calais port reopened."}\n'
        '{"id": "b", "text": "Bad \\ud800."}\n'
        '{"id": "c", "text": "Dover port closed."}\n',
        encoding="utf-8",
    )
    ingest = run("ingest", str(corpus), index=tmp_path / "index")
    assert ingest.returncode == 1 and "Traceback" not in ingest.stderr
    assert "2 added" in ingest.stdout and "line 2" in ingest.stderr


def _index_state(index: Path) -> dict:
    """Everything a resumed ingest must get right, read through the project's store:
    each chunk's Chroma metadata, payload (text, offsets, sentence vectors) and
    vector, the manifest, and the BM25 index."""
    from qa import Assistant

    assistant = Assistant(index_dir=index)
    store = assistant.store
    ids = [chunk_id for chunk_id, _, _ in store.iter_chunks()]
    metadatas = dict(zip(ids, store._chunks.get(ids=ids, include=["metadatas"])["metadatas"]))
    chunks = {
        chunk_id: (metadatas[chunk_id], chunk, vector)
        for chunk_id, (chunk, vector) in store.chunks(ids).items()
    }
    manifest = {i: (e.content_hash, e.chunk_ids) for i, e in store.manifest().items()}
    assistant.retriever.refresh(force=True)
    lexical = assistant.lexical
    return {"chunks": chunks, "manifest": manifest, "lexical": lexical.terms_by_id()}


def _assert_same_index(resumed: dict, clean: dict, label: str) -> None:
    import numpy as np

    assert resumed["manifest"] == clean["manifest"], label
    assert resumed["lexical"] == clean["lexical"], label  # every chunk's indexed terms
    assert resumed["chunks"].keys() == clean["chunks"].keys(), label
    for chunk_id, (meta, chunk, vector) in clean["chunks"].items():
        r_meta, r_chunk, r_vector = resumed["chunks"][chunk_id]
        assert (r_meta, r_chunk) == (meta, chunk), (label, chunk_id)  # all but the vectors
        assert np.allclose(r_vector, vector, atol=1e-5), (label, chunk_id)
        ours, theirs = r_chunk.sentence_vectors, chunk.sentence_vectors
        assert ours is not None and theirs is not None, (label, chunk_id)
        assert ours.shape == (len(chunk.sentences), len(vector)), (label, chunk_id)
        assert np.abs(ours - theirs).max() <= 0.02, (label, chunk_id)  # int8-packed


# The writer, with Chroma's batches made small (3 chunks, so an article of 4 or more is
# written in several) and each one announced on stderr and followed by a pause: the
# kill lands between two batches of one article, where the manifest must see a half.
SLOW_BATCHES = (
    "import sys, time\n"
    "import qa.index.folder_layout as layout\n"
    "from chromadb.api.models.Collection import Collection\n"
    "layout.WRITE_BATCH = 3\n"
    "plain = Collection.add\n"
    "def add(self, *args, **kwargs):\n"
    "    plain(self, *args, **kwargs)\n"
    "    print('chroma batch written', file=sys.stderr, flush=True)\n"
    "    time.sleep(0.2)\n"
    "Collection.add = add\n"
    "from qa.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.mark.slow
def test_an_ingest_killed_mid_write_resumes_to_the_same_index(tmp_path):
    """kill -9 between two batches of one article's chunks (proved: the writer died of
    the signal, and the manifest sees that article as half-written) and later in the
    run, then a plain re-run: the index equals a clean one in every chunk's text,
    metadata and vectors, the manifest and BM25."""
    articles = _distinct_articles(30, 700, seed=11)  # 4 or more chunks each
    corpus = tmp_path / "bulletins.jsonl"
    corpus.write_text("\n".join(json.dumps(a) for a in articles), encoding="utf-8")
    clean_index = tmp_path / "clean"
    assert run("ingest", str(corpus), index=clean_index).returncode == 0
    clean = _index_state(clean_index)
    assert len(clean["manifest"]) == len(articles)
    assert min(len(chunks) for _, chunks in clean["manifest"].values()) >= 4

    for batches in (1, 20):  # inside the first article; well into the run
        index = tmp_path / f"killed-{batches}"
        writer = subprocess.Popen(
            [sys.executable, "-c", SLOW_BATCHES, "--index", str(index), "ingest", str(corpus)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines = _Lines(writer)
        for _ in range(batches):
            lines.wait_for("chroma batch written", timeout=600)
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=60) == -signal.SIGKILL, "the writer had already finished"
        partial = _index_state(index)["manifest"]
        assert 0 < len(partial) < len(articles), (batches, len(partial))
        half = [i for i, (content_hash, _) in partial.items() if not content_hash]
        assert len(half) == 1, f"after {batches} batches, half-written articles: {half}"
        resumed = run("ingest", str(corpus), index=index)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        _assert_same_index(_index_state(index), clean, f"killed after {batches} batches")
