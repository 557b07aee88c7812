"""Ingest throughput on the BBC corpus: ours beside the stock LangChain pipeline.

    python benchmarks/ingest.py [--data ../shared/data/bbc-news/bbc-news.jsonl]

Each pipeline runs in its own process on a fresh index (kept under
benchmarks/results/ for benchmarks/ask.py). Ours is then run a second time
on the unchanged corpus, which must embed nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BBC, RESULTS, peak_rss_mb, print_table, run_worker, write_json  # noqa: E402


def ours(data: Path, index: Path) -> dict:
    from qa import Assistant

    shutil.rmtree(index, ignore_errors=True)
    assistant = Assistant(index_dir=index)
    started = time.perf_counter()
    first = assistant.ingest([data], show_progress=True)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = assistant.ingest([data])
    again_seconds = time.perf_counter() - started
    return {"articles": len(first.added), "chunks": first.chunks_added, "seconds": first_seconds,
            "reingest_seconds": again_seconds, "reingest_embedded": again.chunks_added,
            "failed": len(first.failed), "peak_rss_mb": peak_rss_mb()}


def stock(data: Path, index: Path) -> dict:
    from qa.articles import load_file
    from qa.baseline import StockPipeline

    shutil.rmtree(index, ignore_errors=True)
    articles = load_file(data, 10**9).articles
    pipeline = StockPipeline(persist_dir=index)
    started = time.perf_counter()
    chunks = pipeline.add(articles)
    return {"articles": len(articles), "chunks": chunks, "seconds": time.perf_counter() - started,
            "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BBC)
    parser.add_argument("--worker", choices=["ours", "stock"])
    args = parser.parse_args()
    if args.worker:
        worker = ours if args.worker == "ours" else stock
        print(json.dumps(worker(args.data, RESULTS / f"bbc-index-{args.worker}")))
        return
    if not args.data.exists():
        raise SystemExit(f"no data at {args.data}: pass --data PATH")
    results = {name: run_worker(Path(__file__), name, "--data", str(args.data))
               for name in ("stock", "ours")}
    rows = []
    for name, label in (("stock", "stock LangChain (1000/200 splitter, HF embeddings)"),
                        ("ours", "Article QA")):
        r = results[name]
        rows.append([label, r["articles"], r["chunks"], r["seconds"], r["articles"] / r["seconds"],
                     r["chunks"] / r["seconds"], r["peak_rss_mb"]])
    table = print_table(f"Ingest of {args.data.name}", ["pipeline", "articles", "chunks",
                        "seconds", "articles/s", "chunks/s", "peak RSS MB"], rows)
    o = results["ours"]
    share = o["reingest_seconds"] / o["seconds"]
    note = (f"re-ingest of the unchanged corpus (ours): {o['reingest_seconds']:.2f} s, "
            f"{o['reingest_embedded']} chunks embedded, {share:.1%} of the first run")
    print(note)
    write_json("ingest.json", {"data": str(args.data), "results": results, "table": table,
                               "reingest": note})


if __name__ == "__main__":
    main()
