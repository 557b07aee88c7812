"""Ask latency with one collection vs ten of equal size in one index (issue 41's target).

    python benchmarks/collections.py --index DIR [--data ...] [--questions 150]

The index (seeds + BBC, as benchmarks/ingest.py builds it) is copied to a
temporary folder, so it is never changed. First every question is asked with
the index as it is (one collection: no collection filter in either search).
Then the copy's articles are dealt into ten collections of equal size,
``default`` and ``c1``..``c9`` — by relabelling their chunks' metadata, as
``qa collection create`` labels an older index: nothing is re-embedded — and
the same questions are asked in ``default``, now a tenth of the index, so both
searches are narrowed to it. Stock LangChain ``similarity_search`` over the
stock index is measured beside them when ``--stock-index`` exists.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BBC, RESULTS, print_table, write_json  # noqa: E402
from ask import questions_from, timed  # noqa: E402

COLLECTIONS = ["default"] + [f"c{n}" for n in range(1, 10)]


def deal_into_ten(assistant) -> dict[str, int]:
    """Relabel every article's chunks into one of ten collections (by a hash of its id)."""
    from qa.collections import CollectionInfo

    store = assistant.store
    sizes = dict.fromkeys(COLLECTIONS, 0)
    ids, metadatas = [], []
    for entry in store.manifest().values():
        name = COLLECTIONS[int(hashlib.sha1(entry.article_id.encode()).hexdigest(), 16) % 10]
        sizes[name] += 1
        got = store._chunks.get(ids=list(entry.chunk_ids), include=["metadatas"])
        ids += got["ids"]
        metadatas += [{**meta, "collection": name} for meta in got["metadatas"]]
    for start in range(0, len(ids), 1000):
        store._chunks.update(
            ids=ids[start : start + 1000], metadatas=metadatas[start : start + 1000]
        )
    store.save_collections({name: CollectionInfo(name) for name in COLLECTIONS})
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BBC)
    parser.add_argument("--questions", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--index", type=Path, default=RESULTS / "bbc-index-ours")
    parser.add_argument("--stock-index", type=Path, default=RESULTS / "bbc-index-stock")
    args = parser.parse_args()
    if not args.index.exists():
        raise SystemExit("run benchmarks/ingest.py first (or pass --index)")
    from qa import Assistant

    questions = questions_from(args.data, args.questions, args.seed)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="qa-collections-") as scratch:
        index = Path(scratch) / "index"
        shutil.copytree(args.index, index)
        one = Assistant(index_dir=index)
        articles = one.stats().articles
        one.search("warm up the lexical index")
        results["ask(), one collection"] = timed(one.ask, questions, one.embedder.clear_cache)
        results["search(), one collection"] = timed(
            lambda q: one.search(q, k=4), questions, one.embedder.clear_cache
        )
        sizes = deal_into_ten(one)
        ten = Assistant(index_dir=index)
        ten.search("warm up the lexical index")
        results["ask(), one of ten collections"] = timed(
            ten.ask, questions, ten.embedder.clear_cache
        )
        results["search(), one of ten collections"] = timed(
            lambda q: ten.search(q, k=4), questions, ten.embedder.clear_cache
        )
        results["ask(), one of ten collections"]["articles"] = sizes["default"]
    if args.stock_index.exists():
        from qa.evaluation.baseline import StockPipeline

        stock = StockPipeline(persist_dir=args.stock_index)
        results["stock similarity_search (k=4)"] = timed(lambda q: stock.search(q, k=4), questions)
    table = print_table(
        f"Ask latency, {articles:,} articles in one index; {len(questions)} questions "
        f"(one of ten = 'default', {sizes['default']:,} articles)",
        ["pipeline", "p50 ms", "p95 ms", "mean ms"],
        [[name, r["p50_ms"], r["p95_ms"], r["mean_ms"]] for name, r in results.items()],
    )
    write_json("collections.json", {"results": results, "sizes": sizes, "table": table})


if __name__ == "__main__":
    main()
