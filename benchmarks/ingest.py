"""Ingest throughput on the BBC corpus: ours beside the stock LangChain pipeline.

    python benchmarks/ingest.py [--data ../shared/data/bbc-news/bbc-news.jsonl] [--rounds 2]

Each pipeline runs in its own process on a fresh index (kept under
benchmarks/results/ for benchmarks/ask.py). Ours is then run a second time
on the unchanged corpus, which must embed nothing. With ``--rounds N`` the
two pipelines take turns N times: this machine's speed drifts by tens of
percent over minutes, and alternating keeps that drift out of the comparison.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BBC, RESULTS, cpu_seconds, peak_rss_mb, print_table, run_worker, write_json  # noqa: E402


def ours(data: Path, index: Path) -> dict:
    from qa import Assistant

    shutil.rmtree(index, ignore_errors=True)
    assistant = Assistant(index_dir=index)
    started = time.perf_counter()
    cpu_started = cpu_seconds()
    first = assistant.ingest([data], show_progress=True)
    first_seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_started
    started = time.perf_counter()
    again = assistant.ingest([data])
    again_seconds = time.perf_counter() - started
    return {
        "articles": len(first.added),
        "chunks": first.chunks_added,
        "embedded": first.chunks_embedded,
        "seconds": first_seconds,
        "cpu_seconds": cpu,
        "reingest_seconds": again_seconds,
        "reingest_embedded": again.chunks_added,
        "failed": len(first.failed),
        "peak_rss_mb": peak_rss_mb(),
    }


def stock(data: Path, index: Path) -> dict:
    from _stock import StockPipeline

    from qa.index.formats import load_file

    shutil.rmtree(index, ignore_errors=True)
    articles = load_file(data, 10**9).articles
    pipeline = StockPipeline(persist_dir=index)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    chunks = pipeline.add(articles)
    return {
        "articles": len(articles),
        "chunks": chunks,
        "embedded": chunks,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": cpu_seconds() - cpu_started,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BBC)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate the two pipelines this many times (default 1)",
    )
    parser.add_argument("--worker", choices=["ours", "stock"])
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.worker:
        worker = ours if args.worker == "ours" else stock
        print(json.dumps(worker(args.data, RESULTS / f"bbc-index-{args.worker}")))
        return
    if not args.data.exists():
        raise SystemExit(f"no data at {args.data}: pass --data PATH")
    rounds = [
        {
            name: run_worker(Path(__file__), name, "--data", str(args.data))
            for name in ("stock", "ours")
        }
        for _ in range(args.rounds)
    ]
    labels = {"stock": "stock LangChain (1000/200 splitter, HF embeddings)", "ours": "Article QA"}
    rows = []
    for number, results in enumerate(rounds, 1):
        for name, label in labels.items():
            r = results[name]
            rows.append(
                [
                    label + (f", round {number}" if args.rounds > 1 else ""),
                    r["articles"],
                    r["chunks"],
                    r["embedded"],
                    r["seconds"],
                    r["cpu_seconds"],
                    r["articles"] / r["seconds"],
                    r["chunks"] / r["seconds"],
                    r["peak_rss_mb"],
                ]
            )
    table = print_table(
        f"Ingest of {args.data.name}",
        [
            "pipeline",
            "articles",
            "chunks",
            "embedded",
            "seconds",
            "CPU s",
            "articles/s",
            "chunks/s",
            "peak RSS MB",
        ],
        rows,
    )
    speedups = [r["stock"]["seconds"] / r["ours"]["seconds"] for r in rounds]
    o = rounds[-1]["ours"]
    notes = [
        "Article QA articles/s over stock's, per round: "
        + ", ".join(f"{x:.2f}x" for x in speedups),
        f"re-ingest of the unchanged corpus (ours): {o['reingest_seconds']:.2f} s, "
        f"{o['reingest_embedded']} chunks embedded, "
        f"{o['reingest_seconds'] / o['seconds']:.1%} of the first run",
    ]
    print("\n".join(notes))
    write_json(
        "ingest.json", {"data": str(args.data), "rounds": rounds, "table": table, "notes": notes}
    )


if __name__ == "__main__":
    main()
