"""Measure a context check for the reader, measured and left out: its best sentences read
again in their passage.

    python benchmarks/context_check.py --index /path/to/seeds+bbc-index [--squad-questions 200]

For each answerable question (the BBC dev set's single questions over seeds/ +
all BBC articles in one index; answerable SQuAD 2.0 dev questions over their
own paragraphs), the accurate reader reads the passages; then the
cross-encoder reads each of its best 8 sentences' passages whole (up to 320
word pieces) and without the sentence. What the passage loses without a
sentence is that sentence's part in answering, read with its neighbours. Which
sentence would be chosen by log(share) + weight × loss is then counted for
every number of sentences re-read and every weight, so one pass measures the
whole grid. The BBC questions are also split into halves (even / odd), so a
weight chosen on one can be checked on the other. Prints a table, writes JSON
to benchmarks/results/context_check.json. The README ("Tried and left out")
says why it is not in the reader: the best sentence improved, the answers
(which also quote a close runner-up) did not.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATA, RESULTS, print_table, write_json  # noqa: E402

from qa.crossencoder import CrossEncoder, cross_input  # noqa: E402

PASSAGE_TOKENS = 320  # question + a whole chunk (chunks stay under 256 word pieces)

DEV = ROOT / "benchmarks" / "data" / "bbc_dev.jsonl"
READ_AGAIN = (1, 2, 3, 4, 8)  # sentences re-read (1 = no check)
WEIGHTS = (0.1, 0.2, 0.3, 0.5)
DEPTH = max(READ_AGAIN)


def bbc_questions() -> list[tuple[str, list[str]]]:
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    return [
        (r["question"], r["expect_any"])
        for r in rows
        if r["answerable"] and r["kind"] != "followup"
    ]


def squad_questions(path: Path, count: int, seed: int, workdir: Path):
    from qa.evaluation import load_squad

    squad = load_squad(path, workdir)
    answerable = [q for q in squad.questions if q.answerable]
    picked = random.Random(seed).sample(answerable, min(count, len(answerable)))
    return squad, [(q.question, list(q.answers)) for q in picked]


def read_all(assistant, questions) -> list[list[dict]]:
    """Per question, its best sentences: share, loss in context, label."""
    from tqdm import tqdm

    from qa.evaluation import contains_any
    from qa.filters import NO_FILTERS

    reader = assistant.answerer.reader
    scorer = CrossEncoder(max_tokens=PASSAGE_TOKENS)
    out, seconds = [], []
    for question, answers in tqdm(questions, file=sys.stderr):
        retrieval = assistant.retriever.search(question, None, (), NO_FILTERS)
        top = reader.read(retrieval).sentences[:DEPTH]
        started = time.perf_counter()
        losses = context_losses(question, top, scorer) if top else []
        seconds.append(time.perf_counter() - started)
        out.append(
            [
                {"share": s.probability, "loss": loss, "label": contains_any(s.text, answers)}
                for s, loss in zip(top, losses)
            ]
        )
    return out, seconds


def context_losses(question: str, sentences, scorer) -> list[float]:
    """How much each sentence's passage loses in the cross-encoder's reading without it:
    every distinct passage whole, then each passage less its sentence, in one call."""
    chunks = {s.passage.chunk.id: s.passage.chunk for s in sentences}
    texts = [cross_input(c.title, c.text) for c in chunks.values()]
    texts += [cross_input(s.passage.chunk.title, without(s)) for s in sentences]
    logits = scorer.score(question, texts)
    whole = dict(zip(chunks, logits[: len(chunks)]))
    return [float(whole[s.passage.chunk.id] - x) for s, x in zip(sentences, logits[len(chunks) :])]


def without(sentence) -> str:
    """The sentence's chunk with the sentence cut out (a lead outside it cuts nothing)."""
    chunk = sentence.passage.chunk
    start, end = sentence.span
    if not chunk.start <= start < end <= chunk.end:
        return chunk.text
    before = chunk.text[: start - chunk.start].rstrip()
    after = chunk.text[end - chunk.start :].lstrip()
    return f"{before} {after}".strip()


def chosen(rows: list[dict], again: int, weight: float) -> bool:
    import math

    if not rows:
        return False
    head = rows[:again]
    best = max(head, key=lambda r: math.log(max(r["share"], 1e-12)) + weight * r["loss"])
    return bool(best["label"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, help="an index of seeds/ + all BBC articles")
    parser.add_argument("--squad", type=Path, default=DATA / "squad" / "dev-v2.0.json")
    parser.add_argument("--squad-questions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=99)
    args = parser.parse_args()

    from qa import Assistant

    work = RESULTS / "context-work"
    work.mkdir(parents=True, exist_ok=True)
    squad, squad_items = squad_questions(args.squad, args.squad_questions, args.seed, work)
    squad_assistant = Assistant(index_dir=work / "squad-index", reader="accurate")
    squad_assistant.ingest(squad.corpus_paths, show_progress=True)
    big = Assistant(index_dir=args.index, reader="accurate")
    if big.stats().articles < 2000:
        raise SystemExit(f"{args.index} holds {big.stats().articles} articles: index seeds + BBC")
    bbc_rows, bbc_seconds = read_all(big, bbc_questions())
    squad_rows, squad_seconds = read_all(squad_assistant, squad_items)
    sets = {
        "BBC dev": bbc_rows,
        "BBC even half": bbc_rows[0::2],
        "BBC odd half": bbc_rows[1::2],
        f"SQuAD ({len(squad_rows)})": squad_rows,
    }
    grid = [(1, 0.0)] + [(n, w) for n in READ_AGAIN[1:] for w in WEIGHTS]
    table_rows = []
    results = {}
    for again, weight in grid:
        label = "no check" if again == 1 else f"top {again} re-read, weight {weight}"
        counts = {name: sum(chosen(r, again, weight) for r in rows) for name, rows in sets.items()}
        results[label] = counts
        table_rows.append([label, *(f"{c} / {len(sets[n])}" for n, c in counts.items())])
    print_table(
        "Best sentence holds the answer (accurate reader, answerable questions)",
        ["context check", *sets],
        table_rows,
    )
    timing = {
        "BBC p50 ms (top 8)": 1000 * sorted(bbc_seconds)[len(bbc_seconds) // 2],
        "SQuAD p50 ms (top 8)": 1000 * sorted(squad_seconds)[len(squad_seconds) // 2],
    }
    print("; ".join(f"{k} {v:.0f}" for k, v in timing.items()))
    write_json("context_check.json", {"results": results, "timing": timing, "seed": args.seed})


if __name__ == "__main__":
    main()
