"""The curve: asking, searching, memory, cold start, disk and write visibility as the index grows.

    python benchmarks/scale.py --source-index DIR [--sizes 10000,30000,100000] [--work DIR]
    python benchmarks/scale.py --source-index DIR --grow-work --sizes 300000  # grow it on

``--source-index`` is an index of seeds/ + all 2,225 BBC articles (what
``qa eval ... --workdir W`` keeps in ``W/ours``). Its folder is copied, then
grown to each size (in chunks) with synthetic articles: sentences of real BBC
articles of one category shuffled into new articles with new titles and
dates, written through the real ingest path (chunker, manifest, Chroma,
content hashes) with one honest shortcut, said here and in the table's
notes: a sentence's vector is the one already computed for it in the source
index (its context-aware vector there), and a chunk's vector is the
normalised mean of its sentences' vectors, instead of running the model over
hundreds of thousands of chunks (hours on 2 cores). The real BBC articles stay
in the haystack, so the BBC dev questions keep their answers.

Each size is measured in fresh processes (``measure``): the cold start (a
new process: open the index, first answer; the second process below is
already open and idle, so the two do not load at once), 200 asks in the default mode and
100 in the fast mode (p50/p95), 100 searches, recall@1 on the BBC dev
questions (the first passage holds an expected answer), the process's RSS
after the asks, bytes per chunk on disk, and how long 10 new articles take
to become answerable in the writing process and in a second process that
was already open. Prints one row per size; JSON to benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

START = time.monotonic()  # before qa is imported: the cold start counts its imports

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import RESULTS  # noqa: E402

DEV = ROOT / "benchmarks" / "data" / "bbc_dev.jsonl"
SYNTHETIC = "Synthetic"  # the source of every made-up article
MARKER = "Quillon"  # a word in no real article: the 10 written articles are about it
MARKER_QUESTION = f"What did the {MARKER} harbour board decide about the new pier?"


# --- growing the index ---------------------------------------------------------------


class RecycledVectors:
    """The real embedder's tokenizer, with vectors looked up instead of computed.

    Sentences come from the source index, so each has a vector there; a chunk's
    vector is the normalised mean of its sentences'. A sentence the chunker cut
    differently (rare) is embedded by the real model.
    """

    def __init__(self, embedder, pool: dict[str, "object"]) -> None:
        self._embedder = embedder
        self._pool = pool
        self.name, self.max_tokens = embedder.name, embedder.max_tokens
        self.dimension = embedder.dimension
        self.computed = 0

    def count_tokens(self, texts):
        return self._embedder.count_tokens(texts)

    def encode_passages(self, texts, sentence_spans):
        import numpy as np

        from qa.index.embeddings import PassageVectors

        out = []
        for text, spans in zip(texts, sentence_spans):
            rows = []
            for s, e in spans:
                vector = self._pool.get(text[s:e])
                if vector is None:
                    vector = self._embedder.query_vector(text[s:e])
                    self.computed += 1
                rows.append(vector)
            sentences = np.stack(rows).astype(np.float32)
            mean = sentences.mean(axis=0)
            out.append(PassageVectors(mean / np.linalg.norm(mean), sentences))
        return out


def sentence_pool(index: Path):
    """Every sentence of the source index with its vector, grouped by category."""
    from qa import Assistant

    store = Assistant(index_dir=index, reader="fast").store
    pool: dict[str, object] = {}
    by_category: dict[str, list[str]] = {}
    ids = sorted(i for i in store.ids_where(None) if i.startswith("bbc-"))  # ids only: cheap
    for i in range(0, len(ids), 500):
        for chunk, _ in store.chunks(ids[i : i + 500]).values():
            if chunk.sentence_vectors is None:
                continue
            category = chunk.article_id.split("-")[1] if chunk.article_id.startswith("bbc-") else ""
            for span, vector in zip(chunk.sentences, chunk.sentence_vectors):
                text = chunk.sentence_text(span)
                if len(text) > 30 and category:
                    pool[text] = vector
                    by_category.setdefault(category, []).append(text)
    return pool, by_category


def grow(index: Path, target_chunks: int, seed: int) -> dict:
    """Add synthetic articles until the index holds ``target_chunks`` chunks."""
    from qa.assistant import CHUNK_TOKENS
    from qa.config import Settings
    from qa.index.embeddings import shared_embedder
    from qa.index.ingest import Ingestor
    from qa.index.store import ArticleStore

    settings = Settings.from_env(index_dir=index)
    embedder = shared_embedder(settings.embedding_model, settings.embedding_batch_size)
    store = ArticleStore(settings, embedder)
    pool, by_category = sentence_pool(index)
    recycled = RecycledVectors(embedder, pool)
    ingestor = Ingestor(store, recycled, CHUNK_TOKENS, settings.max_file_bytes)  # type: ignore[arg-type]
    rng = random.Random(seed + store.count())
    started = time.perf_counter()
    while (have := store.count()) < target_chunks:
        batch = []
        for _ in range(max(1, min(2_000, (target_chunks - have) // 3))):
            category = rng.choice(sorted(by_category))
            sentences = rng.sample(by_category[category], rng.randint(8, 22))
            paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
            number = rng.randrange(10**9)
            batch.append(
                {
                    "id": f"synthetic-{category}-{number}",
                    "title": f"{category.title()} report {number}",
                    "text": "\n\n".join(paragraphs),
                    "source": SYNTHETIC,
                    "category": category,
                    "published": f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-"
                    f"{rng.randint(1, 28):02d}",
                }
            )
        data = "\n".join(json.dumps(a) for a in batch).encode()
        report = ingestor.ingest_uploads([(f"synthetic-{have}.jsonl", data)], len(data) + 1)
        print(f"  {store.count():,} chunks ({report.summary()})", file=sys.stderr)
    return {"seconds": time.perf_counter() - started, "embedded_for_real": recycled.computed}


# --- measuring one size, in a fresh process ---------------------------------------------


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def measure(index: Path, poller_ready: Path, written: Path) -> dict:
    from qa import Assistant
    from qa.evaluation import contains_any

    dev = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    singles = [d for d in dev if d["kind"] != "followup"]
    assistant = Assistant(index_dir=index)
    assistant.ask(singles[0]["question"])
    cold = time.monotonic() - START
    asks = []
    for i in range(200):
        t = time.perf_counter()
        assistant.ask(singles[i % len(singles)]["question"])
        asks.append(1000 * (time.perf_counter() - t))
    rss = rss_mb()
    fast = Assistant(index_dir=index, reader="fast")
    fast_asks, searches, hits = [], [], 0
    for i in range(100):
        t = time.perf_counter()
        fast.ask(singles[i % len(singles)]["question"])
        fast_asks.append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        fast.search(singles[i % len(singles)]["question"], 4)
        searches.append(1000 * (time.perf_counter() - t))
    answerable = [d for d in singles if d["answerable"]]
    for d in answerable:
        top = fast.search(d["question"], 4)
        hits += bool(top and contains_any(top[0].chunk.text, tuple(d["expect_any"])))
    while not poller_ready.exists():  # the second process is open and asking
        time.sleep(0.2)
    write_start = time.time()
    articles = [
        {
            "id": f"quillon-{i}",
            "title": f"{MARKER} harbour board meeting {i}",
            "text": f"The {MARKER} harbour board decided on Tuesday to build the new pier "
            f"in stone rather than steel, at a cost of {i + 3} million pounds. "
            f"Work will start in spring, the board's chair said.",
        }
        for i in range(10)
    ]
    data = "\n".join(json.dumps(a) for a in articles).encode()
    assistant.add_documents([("quillon.jsonl", data)])
    written.write_text(str(write_start))
    while not _answered(assistant):
        time.sleep(0.05)
    own = time.time() - write_start
    return {
        "chunks": assistant.stats().chunks,
        "cold_start_s": round(cold, 2),
        "ask_default_p50_ms": round(statistics.median(asks), 1),
        "ask_default_p95_ms": round(percentile(asks, 0.95), 1),
        "ask_fast_p50_ms": round(statistics.median(fast_asks), 1),
        "ask_fast_p95_ms": round(percentile(fast_asks, 0.95), 1),
        "search_p50_ms": round(statistics.median(searches), 1),
        "search_p95_ms": round(percentile(searches, 0.95), 1),
        "rss_after_200_asks_mb": round(rss, 0),
        "recall_at_1": round(hits / len(answerable), 3),
        "write_visible_same_process_s": round(own, 2),
    }


def _answered(assistant) -> bool:
    answer = assistant.ask(MARKER_QUESTION)
    return answer.grounded and any(c.article_id.startswith("quillon-") for c in answer.citations)


def poll(index: Path, ready: Path, written: Path) -> dict:
    """The second process: open, then ask until the other process's write answers."""
    from qa import Assistant

    assistant = Assistant(index_dir=index, reader="fast")
    assistant.ask(MARKER_QUESTION)
    ready.write_text("ready")
    while not written.exists():
        time.sleep(0.05)
    while not _answered(assistant):
        time.sleep(0.05)
    return {"write_visible_other_process_s": round(time.time() - float(written.read_text()), 2)}


def disk_bytes(index: Path) -> int:
    return sum(p.stat().st_size for p in index.rglob("*") if p.is_file())


def build_lexical(index: Path) -> float:
    """The full BM25 build a grown index needs once (the grow path writes Chroma only),
    saved beside it as any write would: seconds. New processes then load it."""
    from qa import Assistant

    started = time.perf_counter()
    Assistant(index_dir=index, reader="fast").retriever.refresh(force=True)
    return time.perf_counter() - started


def measure_processes(index: Path, other: Path, env: dict[str, str] | None = None) -> dict:
    """``measure`` on ``index`` while ``poll`` waits on ``other`` (the same folder, or
    another host's), each in a fresh process with ``env`` added; one row."""
    work = index.parent
    ready, written = work / "poller.ready", work / "written.at"
    for f in (ready, written):
        f.unlink(missing_ok=True)
    environment = {**os.environ, **(env or {})}
    me = [sys.executable, __file__]
    poller = subprocess.Popen(
        [*me, "poll", str(other), str(ready), str(written)],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    deadline = time.monotonic() + 900
    while not ready.exists():  # open before the measured process starts: its cold start
        if poller.poll() is not None:  # is its own, not two processes loading on 2 cores
            raise SystemExit(f"the second process exited ({poller.returncode})")
        if time.monotonic() > deadline:
            poller.kill()
            raise SystemExit("the second process did not open the index within 900 s")
        time.sleep(0.2)
    measured = subprocess.run(
        [*me, "measure", str(index), str(ready), str(written)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        env=environment,
    )
    other_row, _ = poller.communicate(timeout=900)
    row = {
        **json.loads(measured.stdout.splitlines()[-1]),
        **json.loads(other_row.splitlines()[-1]),
    }
    subprocess.run(  # the 10 marker articles go again, so the next size is clean
        [sys.executable, "-m", "qa.cli", "delete", *[f"quillon-{i}" for i in range(10)]],
        env={**environment, "QA_INDEX_DIR": str(index)},
        check=True,
        capture_output=True,
    )
    return row


def measure_size(index: Path) -> dict:
    row = measure_processes(index, index)
    row["bytes_per_chunk"] = round(disk_bytes(index) / row["chunks"])
    return row


COLUMNS = [
    ("chunks", "chunks"),
    ("ask_default_p50_ms", "ask p50"),
    ("ask_default_p95_ms", "ask p95"),
    ("ask_fast_p50_ms", "fast p50"),
    ("ask_fast_p95_ms", "fast p95"),
    ("search_p50_ms", "search p50"),
    ("search_p95_ms", "search p95"),
    ("rss_after_200_asks_mb", "RSS MB"),
    ("cold_start_s", "cold start s"),
    ("bytes_per_chunk", "bytes/chunk"),
    ("write_visible_same_process_s", "write→answerable s (same)"),
    ("write_visible_other_process_s", "(other process)"),
    ("recall_at_1", "R@1 BBC dev"),
    ("bm25_full_build_s", "BM25 full build s"),
]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("measure", "poll"):
        index, ready, written = (Path(a) for a in sys.argv[2:5])
        run = measure if sys.argv[1] == "measure" else poll
        print(json.dumps(run(index, ready, written)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-index", type=Path, required=True)
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--work", type=Path, default=Path("/tmp/qa-scale"))
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="measure the index already in --work as it is (one row; --sizes ignored)",
    )
    parser.add_argument(
        "--grow-work",
        action="store_true",
        help="grow the index already in --work to the sizes (instead of a new copy of "
        "--source-index): the 300k row from the 100k index",
    )
    args = parser.parse_args()
    index = args.work / "index"
    if args.measure_only:
        shutil.rmtree(index / "lexical", ignore_errors=True)  # time a full build
        bm25 = build_lexical(index)
        print(json.dumps({**measure_size(index), "bm25_full_build_s": round(bm25, 1)}))
        return
    if not (args.grow_work and index.exists()):
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(args.source_index, index)
    rows = []
    print("| " + " | ".join(title for _, title in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for size in (int(s) for s in args.sizes.split(",")):
        built = grow(index, size, args.seed)
        bm25 = build_lexical(index)
        row = {**measure_size(index), "build_s": round(built["seconds"], 1)}
        row["bm25_full_build_s"] = round(bm25, 1)
        row["sentences_embedded_for_real"] = built["embedded_for_real"]
        rows.append(row)
        print("| " + " | ".join(str(row[key]) for key, _ in COLUMNS) + " |", flush=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "scale.json").write_text(
            json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
