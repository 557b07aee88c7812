"""Check the hand-written training questions before anything trains on them.

Every answer must sit verbatim at its offset, no question may be about an
article reserved for evaluation or in our own dev and check sets, no id or
question may repeat, a headline question's story holds at most 3 of them,
and the questions must be in other words than the answer sentence: the
*overlap rate* (how often the answer sentence is the one sharing most
content words with the question) is printed beside SQuAD's own questions'
rate, and a written group above 0.55 fails.

    python training/check_data.py                      # every file in training/data/
    python training/check_data.py training/data/bbc-headline-b1.jsonl --sample 20
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from written_data import (  # noqa: E402
    DATA,
    SQUAD_CALIBRATION,
    is_dev_article,
    load_sources,
    read_rows,
    repeats_answer_sentence,
    shared_written,
    text_of,
)

from qa.index.chunking import split_sentences  # noqa: E402

GROUPS = {"squad-rewritten": 3000, "bbc-headline": 1500, "bbc-unanswerable": 500}
MAX_OVERLAP_RATE = 0.55
MAX_PER_ARTICLE = 3
UNANSWERABLE_KINDS = {"near-miss", "later-year"}
REQUIRED = ("id", "question", "article", "answer", "answer_start", "answerable", "kind")


def group_of(row: dict) -> str:
    name = row["_where"].split(":")[0]
    return next((g for g in GROUPS if name.startswith(g)), "other")


def normalised(question: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", question.lower()))


def row_errors(row: dict, sources, calibration_titles: set[str]) -> list[str]:
    missing = [f for f in REQUIRED if f not in row]
    if missing:
        return [f"missing {', '.join(missing)}"]
    errors = []
    question, article = row["question"], row["article"]
    if not isinstance(question, str) or len(question.strip()) < 10 or not question.endswith("?"):
        errors.append("question must be a sentence ending in '?'")
    if article in sources.forbidden:
        errors.append(f"article {article} is {sources.forbidden[article]}")
    if isinstance(article, str) and article.startswith("squad:"):
        if article.split(":", 1)[1].rsplit("#", 1)[0] in calibration_titles:
            errors.append("SQuAD article kept for the refusal calibration")
    text = text_of(sources, article)
    if article is not None and text is None:
        errors.append(f"unknown article {article!r}")
    if row["answerable"]:
        start, answer = row["answer_start"], row["answer"]
        if not answer or text is None or not isinstance(start, int):
            errors.append("an answerable question needs an article, an answer and its offset")
        elif text[start : start + len(answer)] != answer:
            errors.append(f"answer not at {start}: {text[start : start + len(answer)]!r}")
        if row.get("original") and normalised(row["original"]) == normalised(question):
            errors.append("rewritten question is the original")
    else:
        if row["answer"] != "" or row["answer_start"] != -1:
            errors.append("an unanswerable question has answer '' and answer_start -1")
        if row["kind"] not in UNANSWERABLE_KINDS:
            errors.append(f"unanswerable kind must be one of {sorted(UNANSWERABLE_KINDS)}")
        if row["kind"] == "near-miss" and text is None:
            errors.append("a near miss names the real story it is about")
    return errors


def overlap_rate(rows: list[dict], sources, field: str = "question") -> float:
    scored = [
        repeats_answer_sentence(r[field], text_of(sources, r["article"]), r["answer_start"])
        for r in rows
        if r.get("answerable") and r.get(field) and text_of(sources, r["article"])
    ]
    return sum(scored) / len(scored) if scored else 0.0


def deep_share(rows: list[dict], sources) -> float:
    """Answers after the story's first two sentences (headline questions)."""
    deep = 0
    for r in rows:
        spans = split_sentences(text_of(sources, r["article"]) or "")
        deep += len(spans) > 2 and r["answer_start"] >= spans[2][0]
    return deep / len(rows) if rows else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--sample", type=int, default=0, help="print N random rows to read")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import json

    files = args.files or sorted(DATA.glob("*.jsonl"))
    sources = load_sources()
    calibration = {a["title"] for a in json.loads(SQUAD_CALIBRATION.read_text())["data"]}
    rows = read_rows(files)
    problems: list[str] = []
    ids, questions = Counter(r.get("id") for r in rows), defaultdict(list)
    for row in rows:
        for error in row_errors(row, sources, calibration):
            problems.append(f"{row['_where']} {row.get('id')}: {error}")
        questions[normalised(str(row.get("question", "")))].append(row["_where"])
    problems += [f"duplicate id {i} ({n} rows)" for i, n in ids.items() if n > 1]
    problems += [f"duplicate question at {', '.join(w)}" for w in questions.values() if len(w) > 1]

    by_group: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_group[group_of(row)].append(row)
    headline = [r for r in by_group.get("bbc-headline", []) if r.get("answerable")]
    per_article = Counter(r["article"] for r in headline)
    problems += [
        f"{a}: {n} headline questions (at most {MAX_PER_ARTICLE})"
        for a, n in per_article.items()
        if n > MAX_PER_ARTICLE
    ]

    print(f"{len(rows)} rows in {len(files)} files")
    print("| group | rows | target | kinds | overlap rate | dev split |")
    print("|---|---|---|---|---|---|")
    for group, group_rows in sorted(by_group.items()):
        kinds = Counter(r.get("kind") for r in group_rows)
        rate = overlap_rate(group_rows, sources)
        dev = sum(is_dev_article(r.get("article")) for r in group_rows)
        target = GROUPS.get(group, 0)
        mark = "met" if len(group_rows) >= target else "short"
        kinds_text = ", ".join(f"{k} {n}" for k, n in kinds.most_common())
        print(
            f"| {group} | {len(group_rows)} | {target} ({mark}) | {kinds_text} "
            f"| {rate:.3f} | {dev} |"
        )
        if group != "bbc-unanswerable" and len(group_rows) >= 50 and rate > MAX_OVERLAP_RATE:
            problems.append(f"{group}: overlap rate {rate:.3f} above {MAX_OVERLAP_RATE}")
    if headline:
        share = deep_share(headline, sources)
        categories = Counter(sources.bbc[r["article"]]["category"] for r in headline)
        print(
            f"headline answers after the first two sentences: {share:.3f}; "
            f"{len(per_article)} articles; {dict(sorted(categories.items()))}"
        )
        if share < 0.5:
            problems.append(f"only {share:.3f} of headline answers lie after two sentences")
    originals = [r for r in by_group.get("squad-rewritten", []) if r.get("original")]
    if originals:
        print(
            f"overlap rate of SQuAD's own questions on the same rows: "
            f"{overlap_rate(originals, sources, 'original'):.3f} "
            f"(rewritten: {overlap_rate(originals, sources):.3f})"
        )
    if not args.files:
        written = shared_written(sources)
        print(
            f"overlap rate of ../shared's {len(written)} written headline questions: "
            f"{overlap_rate(written, sources):.3f}"
        )

    if args.sample:
        for row in random.Random(args.seed).sample(rows, min(args.sample, len(rows))):
            print(f"- [{row['kind']}] {row['question']} -> {row['answer']!r} ({row['article']})")
    for problem in problems:
        print("ERROR", problem)
    print(f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
