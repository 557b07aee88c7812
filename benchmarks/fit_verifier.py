"""Calibrate the verifier's support thresholds on BBC sentences.

    python benchmarks/fit_verifier.py --index DIR [--pairs 400] [--seed 5]

No labelled model output exists offline (SmolLM2-135M rarely writes a
checkable sentence), so the pairs are built from the articles themselves:

- supported: a sentence of a passage, shortened the way an answer restates it
  (every third lower-case word after the fifth dropped, names and numbers kept),
  checked against its own passage;
- unsupported: a sentence of a *different* article, from the passage nearest
  to it in the index (same topic, other facts), checked against the first
  passage.

It prints the share of each kept for a grid of (similarity, coverage) floors
and the pair that keeps at least 99% of supported sentences with the fewest
unsupported ones (these supported sentences are easier than a model's
paraphrases, hence the high bar; ties go to the lower similarity floor). Only the
support test is calibrated here; the name and number check runs first and is not part of the grid.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table, write_json  # noqa: E402


def shortened(sentence: str) -> str:
    words = sentence.split()
    return " ".join(
        w
        for i, w in enumerate(words)
        if i < 5 or i % 3 or not w[:1].islower() or any(c.isdigit() for c in w)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    from qa import Assistant
    from qa.llm.verification import Verifier, _unsupported_facts
    from qa.results import Passage

    assistant = Assistant(index_dir=args.index)
    verifier = Verifier(assistant.embedder, assistant.retriever.analyzer, 0.0, 0.0)
    rng = random.Random(args.seed)
    ids = sorted(assistant.store.manifest())
    positives, negatives = [], []
    while len(positives) < args.pairs:
        article = rng.choice(ids)
        chunks = list(assistant.store.article_chunks(article, 50).values())
        chunk, _ = rng.choice(chunks)
        spans = [s for s in chunk.sentences if 8 <= len(chunk.sentence_text(s).split()) <= 40]
        if not spans:
            continue
        claim = chunk.sentence_text(rng.choice(spans))
        passage = Passage(chunk, 0.0, 0.0, 0.0)
        short = shortened(claim)
        positives.append(
            (verifier._best_support(short, passage), not _unsupported_facts(short, chunk.text))
        )
        other = next(
            (
                p
                for p in assistant.search(claim, k=8)  # not a duplicate of this article
                if p.chunk.article_id != article and p.chunk.title != chunk.title
            ),
            None,
        )
        if other is None:
            continue
        other_spans = [
            s
            for s in other.chunk.sentences
            if 8 <= len(other.chunk.sentence_text(s).split()) <= 40
            and other.chunk.sentence_text(s) not in chunk.text
        ]
        if other_spans:
            wrong = shortened(other.chunk.sentence_text(rng.choice(other_spans)))
            support = verifier._best_support(wrong, passage)
            facts_ok = not _unsupported_facts(wrong, chunk.text)
            negatives.append((support, facts_ok))

    def kept(pairs, similarity: float, coverage: float, with_facts: bool) -> float:
        return sum(
            s.similarity >= similarity and s.coverage >= coverage and (facts_ok or not with_facts)
            for s, facts_ok in pairs
        ) / len(pairs)

    grid = [(sim, cov) for sim in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8) for cov in (0.3, 0.5, 0.7)]
    rows = [
        [
            sim,
            cov,
            kept(positives, sim, cov, False),
            kept(negatives, sim, cov, False),
            kept(positives, sim, cov, True),
            kept(negatives, sim, cov, True),
        ]
        for sim, cov in grid
    ]
    table = print_table(
        f"Verifier support floors: {len(positives)} supported, {len(negatives)} unsupported pairs",
        [
            "min similarity",
            "min coverage",
            "supported kept",
            "unsupported kept",
            "+ names/numbers: supported kept",
            "unsupported kept",
        ],
        rows,
    )
    eligible = [r for r in rows if r[4] >= 0.99] or rows
    best = min(eligible, key=lambda r: (r[5], -r[4], r[0]))
    print(
        f"\nchosen: similarity ≥ {best[0]}, coverage ≥ {best[1]}; with the name and number "
        f"check the verifier keeps {best[4]:.1%} of supported, {best[5]:.1%} of unsupported"
    )
    write_json("fit-verifier.json", {"rows": rows, "chosen": best, "table": table})


if __name__ == "__main__":
    main()
