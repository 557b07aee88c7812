"""Server mode beside the embedded default, on the same chunks, in one run.

    python benchmarks/server_mode.py --source-index DIR [--chunks 100000] [--work DIR]
    python benchmarks/server_mode.py --source-index DIR --measure-only   # again, as built

``--source-index`` is an index of seeds/ + all 2,225 BBC articles (what
``qa eval ... --workdir W`` keeps in ``W/ours``). It is copied and grown to
``--chunks`` with ``scale.py``'s synthetic articles (its shortcut: recycled
sentence vectors, said there). The grown index's records are then copied,
vectors and payloads as they are, into a collection on a ``chroma run``
server on loopback in the chroma layout (a record-level copy: a benchmark
shortcut; writes during the measurement go through the real path).

Each mode is measured with ``scale.py``'s measuring processes:

- embedded: two processes on the one index folder;
- server: two app hosts on the Chroma server with their own, empty,
  ``QA_INDEX_DIR`` folders (standing for two machines). The measured host's
  cold start therefore includes building its lexical cache from Chroma; the
  write is made on it and timed until the other host answers.

Prints one row per mode; JSON to benchmarks/results/server_mode.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import RESULTS  # noqa: E402
from scale import COLUMNS, build_lexical, disk_bytes, grow, measure_processes  # noqa: E402


def start_chroma(folder: Path, port: int) -> tuple[subprocess.Popen, str]:
    import httpx

    chroma = shutil.which("chroma")
    if chroma is None:
        raise SystemExit("the chroma command (from the chromadb package) is missing")
    process = subprocess.Popen(
        [chroma, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("chroma run did not start")
        time.sleep(0.3)


def copy_records(source: Path, url: str, host: Path) -> float:
    """Every record of the embedded index at ``source``, with its payload, into the
    chroma layout on ``url``; seconds."""
    from qa.config import Settings
    from qa.index.chroma_layout import encode_payload
    from qa.index.embeddings import shared_embedder
    from qa.index.store import ArticleStore

    started = time.perf_counter()
    settings = Settings.from_env(index_dir=source, chroma_url="")
    embedder = shared_embedder(settings.embedding_model, settings.embedding_batch_size)
    old = ArticleStore(settings, embedder)
    new = ArticleStore(settings.with_overrides(index_dir=host, chroma_url=url), embedder)
    assert new.layout == "chroma", new.layout
    stamp = int(time.time() * 1000)
    ids = sorted(old.ids_where(None))
    for i in range(0, len(ids), 500):
        got = old._chunks.get(ids=ids[i : i + 500], include=["metadatas", "embeddings"])
        payloads = old._layout.payloads(got)
        new._chunks.upsert(
            ids=got["ids"],
            embeddings=got["embeddings"],
            metadatas=[
                {
                    **meta,
                    "payload": encode_payload(payloads[cid]),
                    "sentence_count": len(payloads[cid].sentences),
                    "written_at": stamp,
                }
                for cid, meta in zip(got["ids"], got["metadatas"])
            ],
        )
        print(f"  copied {i + len(got['ids']):,} of {len(ids):,}", file=sys.stderr)
    registry = old._chroma.metadata().get("collections")
    if registry:
        new._chroma.save_metadata({**new._chroma.metadata(), "collections": registry})
    new.bump_revision()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-index", type=Path, required=True)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/qa-server-mode"))
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="measure both indexes already in --work again (no growing, no copying)",
    )
    args = parser.parse_args()
    work = args.work
    embedded = work / "embedded"
    grown, copied = {"seconds": 0.0}, 0.0
    if not args.measure_only:
        if not embedded.exists():
            shutil.copytree(args.source_index, embedded)
        grown = grow(embedded, args.chunks, args.seed)
        build_lexical(embedded)
        shutil.rmtree(work / "chroma", ignore_errors=True)
    for folder in ("host-a", "host-b", "host-copy"):  # the hosts start empty: cold caches
        shutil.rmtree(work / folder, ignore_errors=True)
    chroma, url = start_chroma(work / "chroma", args.port)
    try:
        if not args.measure_only:
            copied = copy_records(embedded, url, work / "host-copy")
        rows = {
            "embedded": measure_processes(embedded, embedded, {"QA_CHROMA_URL": ""}),
            "server": measure_processes(work / "host-a", work / "host-b", {"QA_CHROMA_URL": url}),
        }
    finally:
        chroma.terminate()
        chroma.wait(timeout=60)
    rows["embedded"]["bytes_per_chunk"] = round(disk_bytes(embedded) / rows["embedded"]["chunks"])
    server_bytes = disk_bytes(work / "chroma")
    rows["server"]["bytes_per_chunk"] = round(server_bytes / rows["server"]["chunks"])
    rows["server"]["host_folder_bytes_per_chunk"] = round(
        disk_bytes(work / "host-a") / rows["server"]["chunks"]
    )
    columns = [c for c in COLUMNS if c[0] != "bm25_full_build_s"]
    print("| mode | " + " | ".join(title for _, title in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for mode, row in rows.items():
        print(f"| {mode} | " + " | ".join(str(row.get(key, "")) for key, _ in columns) + " |")
    print(f"server: host folder {rows['server']['host_folder_bytes_per_chunk']} bytes/chunk")
    if not args.measure_only:
        print(f"grown in {grown['seconds']:.0f} s, copied to the server in {copied:.0f} s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "server_mode.json").write_text(
        json.dumps(
            {"date": time.strftime("%Y-%m-%d"), "chunks": args.chunks, "rows": rows}, indent=2
        )
    )


if __name__ == "__main__":
    main()
