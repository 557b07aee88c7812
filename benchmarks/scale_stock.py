"""Stock LangChain beside the scale curve: search latency and bytes per chunk at one size.

    python benchmarks/scale.py --source-index DIR --sizes 100000   # grows /tmp/qa-scale/index
    python benchmarks/scale_stock.py --index /tmp/qa-scale/index [--stock DIR]

Stock LangChain's layout (``langchain_chroma.Chroma``: each chunk a Chroma
document with its metadata, one HNSW index) holding the same haystack as
the grown index: its chunk texts and chunk vectors, written through
``Chroma.add_texts`` with an ``Embeddings`` that looks each text's vector up
instead of running the model over hundreds of thousands of chunks (the same
shortcut ``scale.py`` takes, said in its table). The chunks are ours (about
720 characters and a title), not the stock splitter's 1,000-character ones,
so the bytes compare the layouts on the same texts. Then 100 BBC dev
questions searched for the best 4, interleaved: ours (``Assistant.search``,
the fast reader's retrieval: dense + BM25 + the two-stage score) and stock
``similarity_search`` (the real model embeds each question). Prints one
table; JSON to benchmarks/results/scale_stock_<chunks>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import RESULTS, print_table  # noqa: E402
from scale import DEV, disk_bytes, percentile  # noqa: E402

_BATCH = 1000


def build_stock(index: Path, stock_dir: Path) -> int:
    """Write the grown index's chunks into a stock ``langchain_chroma`` store."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings
    from tqdm import tqdm

    from qa import Assistant

    class LookedUp(Embeddings):
        """The vectors the grown index already holds, by text (a stand-in for the model)."""

        def __init__(self) -> None:
            self.vectors: dict[str, list[float]] = {}

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [self.vectors[text] for text in texts]

        def embed_query(self, text: str) -> list[float]:
            raise NotImplementedError("only used to write")

    store = Assistant(index_dir=index, reader="fast").store
    ids = sorted(store.ids_where(None))
    looked_up = LookedUp()
    stock = Chroma(
        collection_name="stock",
        embedding_function=looked_up,
        persist_directory=str(stock_dir),
        client_settings=ChromaSettings(anonymized_telemetry=False),
    )
    for start in tqdm(range(0, len(ids), _BATCH), desc="Stock", unit="batch"):
        chunks = store.chunks(ids[start : start + _BATCH])
        texts, metadatas, batch_ids = [], [], []
        for chunk_id, (chunk, vector) in chunks.items():
            looked_up.vectors[chunk.text] = vector.tolist()
            texts.append(chunk.text)
            metadatas.append({"article_id": chunk.article_id, "title": chunk.title})
            batch_ids.append(chunk_id)
        stock.add_texts(texts, metadatas=metadatas, ids=batch_ids)
        looked_up.vectors.clear()
    (stock_dir / "stock-complete").write_text("added\n")
    return len(ids)


def measure(index: Path, stock_dir: Path, chunks: int) -> dict:
    from _stock import StockPipeline

    from qa import Assistant

    dev = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    questions = [d["question"] for d in dev if d["kind"] != "followup"]
    ours = Assistant(index_dir=index, reader="fast")
    stock = StockPipeline(persist_dir=stock_dir)
    ours.search(questions[0], 4), stock.search(questions[0], 4)  # warm both
    timings: dict[str, list[float]] = {"ours": [], "stock": []}
    for i in range(100):
        question = questions[i % len(questions)]
        for name, search in (("ours", ours.search), ("stock", stock.search)):
            started = time.perf_counter()
            search(question, 4)
            timings[name].append(1000 * (time.perf_counter() - started))
    ours_chunks = ours.stats().chunks
    return {
        "chunks": ours_chunks,
        "stock_chunks": chunks,
        **{
            f"{name}_search_p{q}_ms": round(
                statistics.median(values) if q == 50 else percentile(values, 0.95), 1
            )
            for name, values in timings.items()
            for q in (50, 95)
        },
        "ours_bytes_per_chunk": round(disk_bytes(index) / ours_chunks),
        "stock_bytes_per_chunk": round(disk_bytes(stock_dir) / chunks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("/tmp/qa-scale/index"))
    parser.add_argument("--stock", type=Path, help="where the stock store goes (rebuilt)")
    args = parser.parse_args()
    stock_dir = args.stock or args.index.parent / "stock"
    shutil.rmtree(stock_dir, ignore_errors=True)
    started = time.perf_counter()
    chunks = build_stock(args.index, stock_dir)
    print(
        f"stock store: {chunks:,} chunks in {time.perf_counter() - started:.0f} s", file=sys.stderr
    )
    row = measure(args.index, stock_dir, chunks)
    print_table(
        "Search at scale, ours beside stock LangChain (same chunks and vectors)",
        ["chunks", "search p50 / p95 ms, ours", "stock", "bytes/chunk, ours", "stock"],
        [
            [
                f"{row['chunks']:,}",
                f"{row['ours_search_p50_ms']} / {row['ours_search_p95_ms']}",
                f"{row['stock_search_p50_ms']} / {row['stock_search_p95_ms']}",
                f"{row['ours_bytes_per_chunk']:,}",
                f"{row['stock_bytes_per_chunk']:,}",
            ]
        ],
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"scale_stock_{row['chunks']}.json"
    out.write_text(json.dumps(row, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
