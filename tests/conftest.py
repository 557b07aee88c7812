"""Shared fixtures: the real embedding model and real Chroma indexes in temp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa.offline import go_offline

go_offline()  # for the subprocesses tests start too (servers, `chroma run`)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ARTICLE = SEEDS / "france-channel-small-boats.md"


@pytest.fixture(autouse=True, scope="session")
def _default_settings():
    """Every test sees the documented defaults, never the developer's own QA_* variables
    (a QA_INDEX_DIR or QA_READER in the shell would silently change what is tested)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("QA_")]:
            patch.delenv(name)
        yield


@pytest.fixture(scope="session")
def seeded(tmp_path_factory):
    """An Assistant over seeds/, built once for the read-only tests."""
    from qa import Assistant

    assistant = Assistant(index_dir=tmp_path_factory.mktemp("seeded-index"))
    report = assistant.ingest([SEEDS])
    assert report.added and not report.failed
    return assistant


@pytest.fixture
def fresh(tmp_path):
    """An Assistant over an empty index of its own."""
    from qa import Assistant

    return Assistant(index_dir=tmp_path / "index")


def seed_text() -> str:
    """The seed article's body as the loader reads it (front matter removed)."""
    from qa.index.formats import load_file

    return load_file(SEED_ARTICLE, 10_000_000).articles[0].text


@pytest.fixture(scope="session")
def two_collections(tmp_path_factory):
    """An index with a public ``default`` (the seeds) and a private ``legal`` (a memo),
    and tokens for each (tests/collections_helpers.py). Read-only for the tests."""
    from tests.collections_helpers import build_two_collections

    return build_two_collections(tmp_path_factory.mktemp("two-collections") / "index", SEEDS)
