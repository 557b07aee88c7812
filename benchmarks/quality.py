"""Answer quality beside the stock LangChain pipeline: BBC dev set, SQuAD 2.0 dev, seed questions.

    python benchmarks/quality.py [--only bbc,squad,seeds] [--squad PATH] [--bbc PATH]
        [--limit 500] [--seed 7] [--readers default,fast] [--no-baseline]
        [--workdir DIR]

The same harness as `qa eval` (qa/evaluation), on three datasets, with the
stock pipeline's row (benchmarks/_stock.py) above ours:
benchmarks/data/bbc_dev.jsonl over seeds/ + all BBC articles in one index,
SQuAD 2.0 dev (its paragraphs as the corpus, benchmarks/_squad.py) and the
seed questions over seeds/. Tables are printed; JSON + PNG charts go to
benchmarks/results/quality/. ``--workdir`` keeps the indexes for the next run
(the BBC ones take minutes), one folder per dataset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BBC, DATA, RESULTS, ROOT, write_json  # noqa: E402

READERS = ("default", "fast")
DATASETS = ("bbc", "squad", "seeds")


def _names(text: str, known: tuple[str, ...]) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names or any(n not in known for n in names):
        raise argparse.ArgumentTypeError(f"takes {', '.join(known)} (comma-separated)")
    return names


def main() -> None:
    from qa.config import READERS as ALL_READERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        type=lambda text: _names(text, DATASETS),
        default=DATASETS,
        help=f"datasets to run, comma-separated (default: {','.join(DATASETS)})",
    )
    parser.add_argument("--squad", type=Path, default=DATA / "squad" / "dev-v2.0.json")
    parser.add_argument("--bbc", type=Path, default=BBC)
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="answerable and unanswerable SQuAD questions each (default: all)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--readers",
        type=lambda text: _names(text, tuple(ALL_READERS)),
        default=READERS,
        help=f"reader modes, comma-separated (default: {','.join(READERS)})",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the stock LangChain pipeline's row"
    )
    parser.add_argument("--workdir", type=Path, default=RESULTS / "quality-work")
    args = parser.parse_args()
    from _squad import load_squad
    from _stock import NAME, run_stock

    from qa.evaluation import evaluate, load_question_file

    out = RESULTS / "quality"
    tables = {}
    seeds = ROOT / "seeds"
    runs = {
        "bbc": (ROOT / "benchmarks" / "data" / "bbc_dev.jsonl", [seeds, args.bbc], None),
        "squad": (args.squad, None, args.limit),
        "seeds": (ROOT / "tests" / "data" / "seed_questions.jsonl", [seeds], None),
    }
    for name in args.only:
        path, corpus, limit = runs[name]
        if not path.exists():
            raise SystemExit(f"no dataset at {path}: pass --squad / --bbc PATH")
        work = args.workdir / name
        work.mkdir(parents=True, exist_ok=True)
        dataset = load_squad(path, work) if corpus is None else load_question_file(path, corpus)
        _, text = evaluate(
            dataset,
            out,
            limit=limit,
            seed=args.seed,
            readers=args.readers,
            workdir=work,
            baselines=None if args.no_baseline else {NAME: run_stock},
        )
        print(text, end="\n\n")
        tables[path.name] = text
    write_json("quality.json", {"limit": args.limit, "seed": args.seed, "tables": tables})


if __name__ == "__main__":
    main()
