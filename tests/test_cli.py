"""The qa command end to end, through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import SEEDS

pytestmark = pytest.mark.slow  # the CLI in subprocesses with the real model


def run(*args: str, index) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", "--index", str(index), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ingest_ask_stats_and_errors(tmp_path):
    index = tmp_path / "index"
    ingest = run("ingest", str(SEEDS), str(tmp_path / "missing.txt"), index=index)
    assert ingest.returncode == 1  # one path failed, the rest went in
    assert "1 added" in ingest.stdout
    assert "skipped" in ingest.stderr and "missing.txt: no such file or directory" in ingest.stderr

    ask = run("ask", "--json", "What did France promise in July?", index=index)
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert answer["grounded"] is True and answer["mode"] == "extractive"
    assert {"number", "article_id", "title", "source", "quote", "start", "end", "score"} <= set(
        answer["citations"][0]
    )

    plain = run("ask", "What is the capital of Australia?", index=index)
    assert plain.returncode == 0 and "don't say" in plain.stdout

    empty = run("ask", "   ", index=index)
    assert empty.returncode == 2
    assert empty.stderr.strip() == "qa: error: the question is empty"

    stats = run("stats", "--json", index=index)
    assert json.loads(stats.stdout)["articles"] == 1


def test_usage_errors_exit_2(tmp_path):
    assert run("ask", index=tmp_path).returncode == 2
    assert run("frobnicate", index=tmp_path).returncode == 2


def test_bad_reader_settings_are_one_line_errors(tmp_path):
    bad_eval = run(
        "eval", str(tmp_path / "q.jsonl"), "--readers", "default,psychic", index=tmp_path
    )
    assert bad_eval.returncode == 2
    assert "--readers: takes default, fast" in bad_eval.stderr
    assert "Traceback" not in bad_eval.stderr
    env_bad = subprocess.run(
        [sys.executable, "-m", "qa.cli", "--index", str(tmp_path), "stats"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "QA_READER": "psychic"},
    )
    assert env_bad.returncode == 1  # a configuration error, as for every other QA_* value
    assert "QA_READER must be one of" in env_bad.stderr and "Traceback" not in env_bad.stderr
