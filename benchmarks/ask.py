"""Question latency on the BBC index: ``ask()`` per reader mode beside stock ``similarity_search``.

    python benchmarks/ingest.py     # builds both indexes first (or pass --index / --stock-index)
    python benchmarks/ask.py [--data ...] [--questions 300] [--index DIR] [--stock-index DIR]

Questions are article headlines turned into questions, sampled with a fixed
seed; each pipeline answers the same list after a short warm-up, in one process.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BBC, RESULTS, print_table, write_json  # noqa: E402


def questions_from(data: Path, count: int, seed: int) -> list[str]:
    from qa.index.formats import load_file

    titles = [a.title for a in load_file(data, 10**9).articles]
    random.Random(seed).shuffle(titles)
    return [f"What happened: {t}?" for t in titles[:count]]


def timed(fn, questions: list[str], before_each=None) -> dict:
    for q in questions[:10]:
        fn(q + " ")  # warm-up, not the measured strings
    times = []
    for q in questions:
        if before_each:
            before_each()
        started = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - started) * 1000)
    return summary(times)


def summary(times: list[float]) -> dict:
    """n, p50, p95 and mean of latencies in milliseconds."""
    times = sorted(times)
    return {
        "n": len(times),
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "mean_ms": statistics.fmean(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BBC)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--index", type=Path, default=RESULTS / "bbc-index-ours")
    parser.add_argument("--stock-index", type=Path, default=RESULTS / "bbc-index-stock")
    args = parser.parse_args()
    ours_index, stock_index = args.index, args.stock_index
    if not ours_index.exists() or not stock_index.exists():
        raise SystemExit("run benchmarks/ingest.py first: it builds the indexes")
    from _stock import StockPipeline

    from qa import Assistant

    questions = questions_from(args.data, args.questions, args.seed)
    stock = StockPipeline(persist_dir=stock_index)
    assistant = Assistant(index_dir=ours_index)
    assistant.search("warm up the lexical index")
    results = {
        "stock similarity_search (k=4)": timed(lambda q: stock.search(q, k=4), questions),
        "Article QA search() (hybrid, k=4)": timed(
            lambda q: assistant.search(q, k=4), questions, assistant.embedder.clear_cache
        ),
    }
    for reader in ("fast", "default"):
        mode = Assistant(index_dir=ours_index, reader=reader)
        results[f"Article QA ask(), reader {reader}"] = timed(
            mode.ask, questions, mode.embedder.clear_cache
        )
    table = print_table(
        f"Latency over {assistant.stats().articles:,} articles, {len(questions)} questions",
        ["pipeline", "p50 ms", "p95 ms", "mean ms"],
        [[name, r["p50_ms"], r["p95_ms"], r["mean_ms"]] for name, r in results.items()],
    )
    write_json("ask.json", {"results": results, "table": table})


if __name__ == "__main__":
    main()
