"""The written check set: BBC questions in readers' words that nothing trains on.

The first check set (benchmarks/data/bbc_check.jsonl) has 53 answerable and 7
unanswerable questions, written in the same sitting as the dev set: too small to
choose a reader by, as the trained reader's outside scores showed. This grows it
with questions written the way the training data was (training/data/README.md),
over articles no training file, ../shared's written questions or our own sets
touch (nor a twin of one), so that the two readers are compared on stories
neither has seen.

    python benchmarks/check_set.py batches --writers 4 --articles 70   # build/check-annotation/
    python benchmarks/check_set.py check benchmarks/data/bbc_check_written.jsonl

Rows (qa eval's question file, with what the checker needs):
``id``, ``question``, ``article`` (BBC id; null for a later-year question),
``answer`` (verbatim, "" when unanswerable), ``answer_start`` (-1 when
unanswerable), ``expect_any`` (``answer`` and any other verbatim form of it
that counts), ``answerable``, ``kind`` (who, what, when, where, why, how,
number, which; near-miss or later-year) and ``style`` (headline: written
after the title and first sentence only; detail: a fact from the body asked
in other words; near-miss; later-year).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

from written_data import (  # noqa: E402
    DATA,
    SHARED_WRITTEN,
    load_sources,
    repeats_answer_sentence,
)

from qa.index.chunking import split_sentences  # noqa: E402

OUT = ROOT / "build" / "check-annotation"
FIRST_CHECK_SET = ROOT / "benchmarks" / "data" / "bbc_check.jsonl"
WRITTEN_CHECK_SET = ROOT / "benchmarks" / "data" / "bbc_check_written.jsonl"
ANSWERABLE_KINDS = {"who", "what", "when", "where", "why", "how", "number", "which"}
STYLES = {"headline": True, "detail": True, "near-miss": False, "later-year": False}
PER_ARTICLE = 2
MAX_OVERLAP = 0.55


def trained_on(sources) -> set[str]:
    """Every BBC article a training file or ../shared's written questions use, with
    the twins (the same text under another id) of each."""
    used = {json.loads(line)["article"] for line in SHARED_WRITTEN.open()}
    for path in sorted(DATA.glob("*.jsonl")):
        used |= {json.loads(line).get("article") for line in path.open() if line.strip()}
    by_text: dict[str, set[str]] = {}
    for article_id, article in sources.bbc.items():
        by_text.setdefault(" ".join(article["text"].split()), set()).add(article_id)
    twins = {t for ids in by_text.values() if ids & used for t in ids}
    return {a for a in used | twins if a}


def free_articles(seed: int = 29) -> list[dict]:
    """Articles nothing trains on and no evaluation keeps, round-robin over categories."""
    sources = load_sources()
    # this set's own articles are kept out of training: they stay free for it
    taken = {a for a, why in sources.forbidden.items() if WRITTEN_CHECK_SET.name not in why}
    taken |= trained_on(sources)
    by_category: dict[str, list[dict]] = {}
    for article_id, article in sorted(sources.bbc.items()):
        if article_id not in taken:
            by_category.setdefault(article["category"], []).append(article)
    rng = random.Random(seed)
    for group in by_category.values():
        rng.shuffle(group)
    mixed = []
    while any(by_category.values()):
        for group in by_category.values():
            if group:
                mixed.append(group.pop())
    return mixed


def write_batches(writers: int, per_writer: int) -> None:
    articles = free_articles()
    print(f"{len(articles)} free articles")
    OUT.mkdir(parents=True, exist_ok=True)
    for w in range(writers):
        batch = articles[w * per_writer : (w + 1) * per_writer]
        path = OUT / f"check-batch-{w + 1}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for a in batch:
                spans = split_sentences(a["text"])
                first = a["text"][spans[0][0] : spans[0][1]] if spans else ""
                row = {**a, "first_sentence": first}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{path}: {len(batch)} articles")


def problems_of(rows: list[dict], sources, allowed: set[str]) -> list[str]:
    problems = []
    earlier = [FIRST_CHECK_SET, SHARED_WRITTEN, *sorted(DATA.glob("*.jsonl"))]
    seen_questions = {
        " ".join(json.loads(line)["question"].lower().split())
        for path in earlier
        for line in path.open()
        if line.strip()
    }
    seen_ids: set[str] = set()
    per_article: Counter[str] = Counter()
    for row in rows:
        where = f"{row.get('_where')} {row.get('id')}"
        missing = {
            "id",
            "question",
            "article",
            "answer",
            "answer_start",
            "expect_any",
            "answerable",
            "kind",
            "style",
        } - set(row)
        if missing:
            problems.append(f"{where}: missing {sorted(missing)}")
            continue
        if row["id"] in seen_ids:
            problems.append(f"{where}: duplicate id")
        seen_ids.add(row["id"])
        question = " ".join(row["question"].lower().split())
        if question in seen_questions:
            problems.append(f"{where}: duplicate question")
        seen_questions.add(question)
        if not row["question"].strip().endswith("?"):
            problems.append(f"{where}: the question does not end in '?'")
        if row["style"] not in STYLES or STYLES[row["style"]] != row["answerable"]:
            problems.append(f"{where}: style {row['style']!r} with answerable={row['answerable']}")
            continue
        if row["style"] == "later-year":
            if row["article"] is not None or row["expect_any"] or row["kind"] != "later-year":
                problems.append(f"{where}: a later-year question has no article nor answers")
            continue
        article = row["article"]
        if article not in allowed:
            why = sources.forbidden.get(article, "trained on, or not in the corpus")
            problems.append(f"{where}: article {article} is not free ({why})")
            continue
        per_article[article] += 1
        if per_article[article] > PER_ARTICLE:
            problems.append(f"{where}: more than {PER_ARTICLE} questions on {article}")
        if row["style"] == "near-miss":
            if row["expect_any"] or row["kind"] != "near-miss" or row["answer"]:
                problems.append(f"{where}: a near miss has no answers")
            continue
        text = sources.bbc[article]["text"]
        start, answer = row["answer_start"], row["answer"]
        if not answer or text[start : start + len(answer)] != answer:
            problems.append(f"{where}: answer {answer!r} is not at offset {start}")
        if row["kind"] not in ANSWERABLE_KINDS:
            problems.append(f"{where}: kind {row['kind']!r}")
        if answer not in row["expect_any"]:
            problems.append(f"{where}: expect_any leaves out the answer")
        for expected in row["expect_any"]:
            if expected not in text:
                problems.append(f"{where}: {expected!r} is not in the article verbatim")
    return problems


def report(rows: list[dict], sources) -> None:
    print("| style | rows | kinds | overlap rate | after the first two sentences |")
    print("|---|---|---|---|---|")
    for style in STYLES:
        group = [r for r in rows if r.get("style") == style]
        kinds = ", ".join(f"{k} {n}" for k, n in Counter(r["kind"] for r in group).most_common())
        overlap = later = "-"
        if STYLES[style] and group:
            texts = [sources.bbc[r["article"]]["text"] for r in group]
            repeats = [
                repeats_answer_sentence(r["question"], t, r["answer_start"])
                for r, t in zip(group, texts)
            ]
            overlap = f"{sum(repeats) / len(group):.3f}"
            after = [r["answer_start"] >= _third_sentence(t) for r, t in zip(group, texts)]
            later = f"{sum(after) / len(group):.3f}"
        print(f"| {style} | {len(group)} | {kinds} | {overlap} | {later} |")
    articles = {r["article"] for r in rows if r.get("article")}
    categories = Counter(sources.bbc[a]["category"] for a in articles if a in sources.bbc)
    print(f"{len(articles)} articles: {dict(sorted(categories.items()))}")


def _third_sentence(text: str) -> int:
    spans = split_sentences(text)
    return spans[2][0] if len(spans) > 2 else 0


def check(paths: list[Path]) -> int:
    sources = load_sources()
    allowed = {a["id"] for a in free_articles()}
    rows = []
    for path in paths:
        for n, line in enumerate(path.open(encoding="utf-8"), 1):
            if line.strip():
                rows.append({**json.loads(line), "_where": f"{path.name}:{n}"})
    problems = problems_of(rows, sources, allowed)
    valid = [r for r in rows if not any(p.startswith(f"{r['_where']} ") for p in problems)]
    print(f"{len(rows)} rows, {len(valid)} without problems")
    report(valid, sources)
    for style, answerable in STYLES.items():
        group = [r for r in valid if r["style"] == style and answerable]
        if group:
            texts = [sources.bbc[r["article"]]["text"] for r in group]
            rate = sum(
                repeats_answer_sentence(r["question"], t, r["answer_start"])
                for r, t in zip(group, texts)
            ) / len(group)
            if rate > MAX_OVERLAP:
                problems.append(f"{style}: overlap rate {rate:.3f} > {MAX_OVERLAP}")
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problems")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    batches = sub.add_parser("batches", help="cut free articles into one batch per writer")
    batches.add_argument("--writers", type=int, default=4)
    batches.add_argument("--articles", type=int, default=70, help="articles per writer")
    checking = sub.add_parser("check", help="check question files; exit 1 on any problem")
    checking.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    if args.command == "batches":
        write_batches(args.writers, args.articles)
        return 0
    return check(args.files)


if __name__ == "__main__":
    sys.exit(main())
