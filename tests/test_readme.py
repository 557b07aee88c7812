"""The Python snippets of the README and docs/architecture.md run verbatim, over a copy
of seeds/ in a fresh folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from qa.config import Settings
from tests.conftest import SEEDS

ROOT = Path(__file__).resolve().parent.parent


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_python_snippets():
    assert len(_python_blocks(ROOT / "README.md")) >= 2


SNIPPETS = [
    (page, number)
    for page in ("README.md", "docs/architecture.md")
    for number in range(len(_python_blocks(ROOT / page)))
]


@pytest.mark.slow
@pytest.mark.parametrize("page,number", SNIPPETS, ids=[f"{p}-{n + 1}" for p, n in SNIPPETS])
def test_each_python_snippet_runs_as_written(page, number, tmp_path, monkeypatch, capfd):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("QA_"):
            monkeypatch.delenv(name)
    from qa import Assistant

    Assistant(index_dir="index").ingest(["seeds"])  # the first snippet's index, for the rest
    block = _python_blocks(ROOT / page)[number]
    exec(compile(block, f"{page} python block {number + 1}", "exec"), {"__name__": "readme"})


def test_the_configuration_page_lists_every_setting_and_only_those():
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `QA_([A-Z_]+)`", page, re.M))
    fields = {name.upper() for name in Settings.__dataclass_fields__}
    assert listed == fields
