"""Answer quality beside the stock LangChain pipeline: BBC dev set, SQuAD 2.0 dev, seed questions.

    python benchmarks/quality.py [--squad PATH] [--bbc PATH] [--limit 500] [--workdir DIR]

The same harness as `qa eval`, every reader mode, on three datasets:
benchmarks/data/bbc_dev.jsonl over seeds/ + all BBC articles in one index,
SQuAD 2.0 dev (its paragraphs as the corpus) and the seed questions over
seeds/. Tables are printed; JSON + PNG charts go to benchmarks/results/quality/.
``--workdir`` keeps the indexes for the next run (the BBC ones take minutes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BBC, DATA, RESULTS, ROOT, write_json  # noqa: E402

READERS = ("default", "accurate", "fast")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=DATA / "squad" / "dev-v2.0.json")
    parser.add_argument("--bbc", type=Path, default=BBC)
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="answerable and unanswerable SQuAD questions each (default: all)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=RESULTS / "quality-work")
    args = parser.parse_args()
    from qa.evaluation import evaluate

    out = RESULTS / "quality"
    tables = {}
    seeds = str(ROOT / "seeds")
    runs = [
        (ROOT / "benchmarks" / "data" / "bbc_dev.jsonl", [seeds, str(args.bbc)], None, "bbc"),
        (args.squad, None, args.limit, "squad"),
        (ROOT / "tests" / "data" / "seed_questions.jsonl", [seeds], None, "seeds"),
    ]
    for dataset, corpus, limit, work in runs:
        if not dataset.exists():
            raise SystemExit(f"no dataset at {dataset}: pass --squad / --bbc PATH")
        _, text = evaluate(
            dataset,
            corpus,
            limit,
            args.seed,
            out,
            baseline=True,
            workdir=args.workdir / work,
            readers=READERS,
        )
        print(text, end="\n\n")
        tables[dataset.name] = text
    write_json("quality.json", {"limit": args.limit, "seed": args.seed, "tables": tables})


if __name__ == "__main__":
    main()
