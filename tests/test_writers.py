"""Writers as processes: one at a time per index, and a killed one loses nothing.

Real ``qa ingest`` subprocesses on temp indexes; the kill is a real SIGKILL.
"""

from __future__ import annotations

import json
import queue
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa.locking import index_write_lock
from tests.conftest import SEEDS
from tests.test_hostile import _distinct_articles

pytestmark = pytest.mark.slow  # concurrent processes writing one index


def qa(*args: str, index: Path) -> list[str]:
    return [sys.executable, "-m", "qa.cli", "--index", str(index), *args]


def run(*args: str, index: Path) -> subprocess.CompletedProcess:
    return subprocess.run(qa(*args, index=index), capture_output=True, text=True, timeout=600)


def _line_with(process: subprocess.Popen, text: str, timeout: float) -> str:
    """The first stderr line holding ``text``; fails (never hangs) at EOF or after ``timeout``."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        try:
            for line in process.stderr:
                lines.put(line)
        except ValueError:  # closed by a later communicate(): nobody reads lines then
            pass
        lines.put("")  # EOF: the process ended

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no line with {text!r} within {timeout} s"
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            continue
        assert line, f"the process ended without a line with {text!r}"
        if text in line:
            return line


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


def _index_contents(index: Path) -> dict[str, tuple[str, str]]:
    """chunk id -> (title, text) for every chunk, read through the project's store."""
    from qa import Assistant

    return {
        chunk_id: (title, text)
        for chunk_id, title, text in Assistant(index_dir=index).store.iter_chunks()
    }


@pytest.mark.slow
def test_an_ingest_killed_at_random_points_resumes_to_the_same_index(tmp_path):
    corpus = tmp_path / "bulletins.jsonl"
    corpus.write_text(
        "\n".join(json.dumps(a) for a in _distinct_articles(300, 120, seed=11)), encoding="utf-8"
    )
    clean = tmp_path / "clean"
    started = time.monotonic()
    assert run("ingest", str(corpus), index=clean).returncode == 0
    clean_seconds = time.monotonic() - started
    expected = _index_contents(clean)
    assert len(expected) >= 300

    for seed in (1, 2, 3):
        index = tmp_path / f"killed-{seed}"
        writer = subprocess.Popen(
            qa("ingest", str(corpus), index=index),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(random.Random(seed).uniform(0.3, 1.0) * clean_seconds)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=60)
        resumed = run("ingest", str(corpus), index=index)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert _index_contents(index) == expected, f"seed {seed}: {resumed.stdout}"
