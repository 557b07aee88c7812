"""Ask latency with one collection vs ten of equal size in one index (issue 41's target).

    python benchmarks/collections.py --index DIR [--data ...] [--questions 150]

The index (seeds + BBC, as benchmarks/ingest.py builds it) is copied to a
temporary folder, so it is never changed. One copy stays as it is (one
collection: no collection filter in either search); in the other the
articles are dealt into ten collections of equal size,
``default`` and ``c1``..``c9`` — by relabelling their chunks' metadata, as
``qa collection create`` labels an older index: nothing is re-embedded — and
each question is asked in the collection its article was dealt into, now a
tenth of the index, so both searches are narrowed to it and every question
still has its article to read (the same work as before, in a smaller space).
Stock LangChain ``similarity_search`` over the stock index is measured beside
them when ``--stock-index`` exists.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BBC, RESULTS, print_table, write_json  # noqa: E402
from ask import summary, timed  # noqa: E402

COLLECTIONS = ["default"] + [f"c{n}" for n in range(1, 10)]


def headline_questions(data: Path, count: int, seed: int) -> list[tuple[str, str]]:
    """(article id, question) pairs: headlines turned into questions, as benchmarks/ask.py."""
    from qa.index.formats import load_file

    pairs = [(a.id, f"What happened: {a.title}?") for a in load_file(data, 10**9).articles]
    random.Random(seed).shuffle(pairs)
    return pairs[:count]


def collection_of(article_id: str) -> str:
    return COLLECTIONS[int(hashlib.sha1(article_id.encode()).hexdigest(), 16) % 10]


def deal_into_ten(assistant) -> dict[str, int]:
    """Relabel every article's chunks into one of ten collections (by a hash of its id)."""
    from qa.collections import CollectionInfo

    store = assistant.store
    sizes = dict.fromkeys(COLLECTIONS, 0)
    ids, metadatas = [], []
    for entry in store.manifest().values():
        name = collection_of(entry.article_id)
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


def timed_in_turns(pipelines: dict, questions: list[str], before_each) -> dict[str, dict]:
    """``ask.timed`` for several pipelines at once: each question goes to every one in
    turn (warmed up first on other strings), the query cache cleared before each."""
    for question in questions[:10]:
        for run in pipelines.values():
            run(question + " ")
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    for question in questions:
        for name, run in pipelines.items():
            before_each()
            started = time.perf_counter()
            run(question)
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: summary(found) for name, found in times.items()}


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

    pairs = headline_questions(args.data, args.questions, args.seed)
    questions = [question for _, question in pairs]
    home = {question: collection_of(article_id) for article_id, question in pairs}
    with tempfile.TemporaryDirectory(prefix="qa-collections-") as scratch:
        shutil.copytree(args.index, Path(scratch) / "one")
        shutil.copytree(args.index, Path(scratch) / "ten")
        one = Assistant(index_dir=Path(scratch) / "one")
        articles = one.stats().articles
        sizes = deal_into_ten(Assistant(index_dir=Path(scratch) / "ten"))
        ten = Assistant(index_dir=Path(scratch) / "ten")
        views = {name: ten.using(name) for name in COLLECTIONS}
        for view in [one, *views.values()]:  # lexical index, each collection's id set
            view.search("warm up")

        def where_it_is(question: str) -> Assistant:
            return views[home.get(question.strip(), "default")]

        # the two set-ups take turns question by question, so a slower minute of the
        # machine falls on both alike
        results = timed_in_turns(
            {
                "ask(), one collection": one.ask,
                "ask(), in one of ten collections": lambda q: where_it_is(q).ask(q),
                "search(), one collection": lambda q: one.search(q, k=4),
                "search(), in one of ten collections": lambda q: where_it_is(q).search(q, k=4),
            },
            questions,
            lambda: (one.embedder.clear_cache(), ten.embedder.clear_cache()),
        )
    if args.stock_index.exists():
        from _stock import StockPipeline

        stock = StockPipeline(persist_dir=args.stock_index)
        results["stock similarity_search (k=4)"] = timed(lambda q: stock.search(q, k=4), questions)
    table = print_table(
        f"Ask latency, {articles:,} articles in one index; {len(questions)} questions, "
        f"each asked where its article is (ten collections of "
        f"{min(sizes.values()):,}-{max(sizes.values()):,} articles)",
        ["pipeline", "p50 ms", "p95 ms", "mean ms"],
        [[name, r["p50_ms"], r["p95_ms"], r["mean_ms"]] for name, r in results.items()],
    )
    write_json("collections.json", {"results": results, "sizes": sizes, "table": table})


if __name__ == "__main__":
    main()
