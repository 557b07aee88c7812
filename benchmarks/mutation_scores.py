"""Mutation scores per module from ``mutmut results --all true`` (``make mutation``).

    python benchmarks/mutation_scores.py mutants/results.txt

Prints one row per module: mutants, killed, survived, and those no fast test
runs at all ("no tests": the module's paths that only the slow suite, with the
real models and servers, exercises); the score is killed / (killed + survived),
and killed / all beside it. Writes benchmarks/results/mutation.json.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
LINE = re.compile(r"^\s*(qa\.[\w.]+?)\.x\S*__mutmut_\d+: (killed|survived|no tests|timeout|.+)$")


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "mutants/results.txt")
    counts: dict[str, Counter] = defaultdict(Counter)
    for line in path.read_text(encoding="utf-8").splitlines():
        match = LINE.match(line)
        if match:
            counts[match.group(1)][match.group(2)] += 1
    rows = []
    print(
        "| module | mutants | killed | survived | no fast test "
        "| score (killed / tested) | killed / all |"
    )
    print("|---|---|---|---|---|---|---|")
    for module, c in sorted(counts.items()):
        total = sum(c.values())
        tested = c["killed"] + c["survived"]
        score = c["killed"] / tested if tested else 0.0
        print(
            f"| {module} | {total} | {c['killed']} | {c['survived']} | {c['no tests']} "
            f"| {score:.2f} | {c['killed'] / total:.2f} |"
        )
        rows.append({"module": module, **c, "score": round(score, 3)})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mutation.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
