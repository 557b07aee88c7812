"""Retrieval's hand-set numbers, varied one at a time: recall of the BBC dev set.

    python benchmarks/retrieval_weights.py --index /path/to/seeds+bbc-index

For each value of ``passage_share`` and ``shortlist`` in ``qa/weights.py``
(``RetrievalWeights``), every answerable single question of
benchmarks/data/bbc_dev.jsonl is retrieved (k=4) and scored: recall@1 and
recall@4 count a passage holding an expected answer among the first 1 / 4
passages. It only reads the index. Prints a table, writes
benchmarks/results/retrieval_weights.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import RESULTS, print_table  # noqa: E402

from qa.evaluation import contains_any  # noqa: E402
from qa.weights import RETRIEVAL_WEIGHTS  # noqa: E402

DEV = ROOT / "benchmarks" / "data" / "bbc_dev.jsonl"
GRID = {"passage_share": [0.3, 0.5, 0.7, 1.0], "shortlist": [4, 8, 16]}


def recall(assistant, questions: list[dict], weights) -> tuple[float, float]:
    retriever = assistant.retriever
    retriever.weights = weights
    at1 = at4 = 0
    for q in questions:
        passages = [p for p in retriever.search(q["question"], 4).passages if not p.sibling]
        hits = [contains_any(p.chunk.text, q["expect_any"]) for p in passages]
        at1 += bool(hits[:1] and hits[0])
        at4 += any(hits)
    return at1 / len(questions), at4 / len(questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, help="an index of seeds/ + all BBC articles")
    args = parser.parse_args()
    from qa import Assistant

    assistant = Assistant(index_dir=args.index, reader="fast")
    questions = [
        q
        for q in map(json.loads, DEV.read_text().splitlines())
        if q["answerable"] and not q.get("history_questions")
    ]
    rows = []
    for name, values in GRID.items():
        for value in values:
            weights = replace(RETRIEVAL_WEIGHTS, **{name: value})
            at1, at4 = recall(assistant, questions, weights)
            chosen = "yes" if getattr(RETRIEVAL_WEIGHTS, name) == value else ""
            rows.append([name, value, chosen, len(questions), round(at1, 3), round(at4, 3)])
    table = print_table(
        "Retrieval weights on the BBC dev set (answerable single questions)",
        ["weight", "value", "in use", "questions", "R@1", "R@4"],
        rows,
    )
    (RESULTS / "retrieval_weights.json").write_text(
        json.dumps({"table": table, "rows": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
