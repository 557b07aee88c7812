"""A real `chroma run` server on loopback, for the tests of the scale-out paths."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.server_helpers import free_port


@contextmanager
def chroma_server(folder: Path) -> Iterator[str]:
    """`chroma run` on a free port over ``folder``; yields its URL once it answers."""
    chroma = shutil.which("chroma")
    if chroma is None:
        pytest.fail("the chroma command (from the chromadb package) is missing")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    process = subprocess.Popen(
        [chroma, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
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


@pytest.fixture
def chroma_url(tmp_path):
    """A `chroma run` server of the test's own (its data in the test's tmp_path)."""
    with chroma_server(tmp_path / "chroma") as url:
        yield url


@pytest.fixture(scope="module")
def module_chroma_url(tmp_path_factory):
    """One `chroma run` server for a whole test module (its tests use distinct ids)."""
    with chroma_server(tmp_path_factory.mktemp("chroma")) as url:
        yield url
