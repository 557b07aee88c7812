"""Answer quality beside the stock LangChain pipeline: SQuAD 2.0 dev and the seed questions.

    python benchmarks/quality.py [--squad ../shared/data/squad/dev-v2.0.json] [--limit 500]

The same harness as `qa eval`, run on both datasets; tables are printed and
JSON + PNG charts go to benchmarks/results/quality/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, RESULTS, ROOT, write_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=DATA / "squad" / "dev-v2.0.json")
    parser.add_argument("--limit", type=int, default=None,
                        help="answerable and unanswerable SQuAD questions each (default: all)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from qa.evaluation import evaluate

    out = RESULTS / "quality"
    tables = {}
    runs = [(args.squad, None, args.limit),
            (ROOT / "tests" / "data" / "seed_questions.jsonl", [str(ROOT / "seeds")], None)]
    for dataset, corpus, limit in runs:
        if not dataset.exists():
            raise SystemExit(f"no dataset at {dataset}: pass --squad PATH")
        _, text = evaluate(dataset, corpus, limit, args.seed, out, baseline=True)
        print(text, end="\n\n")
        tables[dataset.name] = text
    write_json("quality.json", {"limit": args.limit, "seed": args.seed, "tables": tables})


if __name__ == "__main__":
    main()
