"""The package itself: a cheap import, and the offline switches set in one place."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.offline import OFFLINE_DEFAULTS, go_offline

HEAVY = (
    "torch",
    "transformers",
    "sentence_transformers",
    "huggingface_hub",
    "gradio",
    "chromadb",
    "onnxruntime",
    "mcp",
    "feedparser",
    "trafilatura",
    "watchfiles",
)


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_DEFAULTS}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_qa_loads_nothing_heavy_and_sets_no_environment():
    out = _run(
        "import os, sys; before = dict(os.environ); import qa; "
        f"print(os.environ == before, [m for m in {HEAVY!r} if m in sys.modules])"
    )
    assert out == "True []"


@pytest.mark.slow
def test_the_runtime_never_imports_the_evaluation_tools_or_names_the_dev_checkout():
    """Fronts, facade and engine stay apart from `qa eval` and its stock baseline, and no
    runtime module knows where a development checkout keeps its data."""
    from pathlib import Path

    out = _run(
        "import sys, qa.assistant, qa.web.server, qa.web.ui, qa.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('qa.evaluation')))"
    )
    assert out == "[]"
    package = Path(__file__).resolve().parent.parent / "qa"
    runtime = [p for p in package.rglob("*.py") if "evaluation" not in p.parts]
    assert [p.name for p in runtime if "shared" + "/data" in p.read_text()] == []
    assert [p.name for p in runtime if '"shared"' in p.read_text()] == []


def test_the_public_names_import_on_first_use():
    import qa

    assert qa.Assistant.__name__ == "Assistant"
    assert set(qa.__all__) <= set(dir(qa))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        qa.Nope  # noqa: B018


def test_go_offline_sets_defaults_and_keeps_what_the_user_set(monkeypatch):
    for name in OFFLINE_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")
    go_offline()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "True"


@pytest.mark.slow
def test_the_hub_is_offline_when_the_model_and_the_ui_load():
    """The Hub reads its switch once, when imported: it must be set before that."""
    out = _run(
        "from qa.index.embeddings import Embedder; Embedder('all-MiniLM-L6-v2').dimension; "
        "import qa.web.ui; import huggingface_hub.constants as c; "
        "import os; print(c.HF_HUB_OFFLINE, os.environ['GRADIO_ANALYTICS_ENABLED'])"
    )
    assert out == "True False"


@pytest.mark.slow
def test_the_built_wheel_holds_every_subpackage_and_the_reader_model(tmp_path):
    """A user's `pip install .` (not editable) gets what the editable checkout has: the
    formats subpackage was once left out of the wheel, and the model must ship in it."""
    import shutil
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    source = tmp_path / "source"  # a clean copy: setuptools reuses a checkout's build/lib
    shutil.copytree(root / "qa", source / "qa", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, source / name)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w"]
        + [str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("article_qa-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in root.joinpath("qa").rglob("__init__.py"):
        assert package.relative_to(root).as_posix() in names
    for name in ("model.onnx", "tokenizer.json", "calibration.json", "MODEL_CARD.md"):
        assert f"qa/models/reader/{name}" in names
    assert "qa/models/reader_weights.json" in names  # the fast reader's fitted weights
    # one model ships: the reader's (the cross-encoder left with the accurate mode)
    assert {n for n in names if n.endswith(".onnx")} == {"qa/models/reader/model.onnx"}


ROOT = Path(__file__).resolve().parent.parent
FRONTS = [
    "qa/cli.py",
    "qa/watching.py",
    *sorted(f"qa/web/{p.name}" for p in (ROOT / "qa/web").glob("*.py")),
]
# what a front may import from qa: the facade, the values and rules every layer shares,
# its own folder, and (the CLI's `qa eval`) the evaluation tools
FRONT_MAY_IMPORT = ("qa", "qa.assistant", "qa.config", "qa.errors", "qa.limits", "qa.results",
                    "qa.offline", "qa.analysis", "qa.filters", "qa.watching", "qa.web",
                    "qa.evaluation", "qa.access", "qa.collections")  # fmt: skip


@pytest.mark.parametrize("front", FRONTS)
def test_fronts_reach_the_index_and_the_readers_only_through_the_assistant(front):
    """The layers hold: a front that imported qa.index or qa.answer directly would
    skip the Assistant's validation and tie the front to the internals."""
    tree = ast.parse((ROOT / front).read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qa")
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("qa")
    }
    below = sorted(
        name
        for name in imported
        if name != "qa"  # the package itself (`from qa import __version__`), not all below it
        and not any(name == ok or name.startswith(ok + ".") for ok in FRONT_MAY_IMPORT[1:])
    )
    assert below == [], f"{front} imports below the Assistant: {below}"
