"""Cut the annotation work into batches, one for each writer, in build/annotation/.

Headline and unanswerable batches get whole BBC articles that are free for
training (not reserved for evaluation, not in our dev and check sets, not
already in ../shared's written questions), spread over the five categories;
SQuAD batches get one question per paragraph from SQuAD 1.1 train (never the
10 articles kept for the refusal calibration), with its answer sentence, for
rewriting in a reader's words. Fixed seed: the same batches every time.

    python training/annotation_batches.py
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from written_data import (  # noqa: E402
    ROOT,
    SHARED_WRITTEN,
    SQUAD_CALIBRATION,
    SQUAD_TRAIN,
    load_sources,
    squad_paragraph_id,
)

from qa.index.chunking import split_sentences  # noqa: E402


def free_articles(sources, rng: random.Random) -> list[dict]:
    used = {json.loads(line)["article"] for line in SHARED_WRITTEN.open()}
    taken = set(sources.forbidden) | used
    free = [a for i, a in sorted(sources.bbc.items()) if i not in taken]
    by_category: dict[str, list[dict]] = {}
    for article in free:
        by_category.setdefault(article["category"], []).append(article)
    for group in by_category.values():
        rng.shuffle(group)
    mixed = []  # round-robin over categories, so every batch spans all five
    while any(by_category.values()):
        for group in by_category.values():
            if group:
                mixed.append(group.pop())
    return mixed


def squad_items(rng: random.Random, count: int) -> list[dict]:
    calibration = {a["title"] for a in json.loads(SQUAD_CALIBRATION.read_text())["data"]}
    items = []
    for article in json.loads(SQUAD_TRAIN.read_text())["data"]:
        if article["title"] in calibration:
            continue
        for i, p in enumerate(article["paragraphs"]):
            qa = rng.choice(p["qas"])
            answer = qa["answers"][0]
            start = answer["answer_start"]
            sentence = next(
                (p["context"][s:e] for s, e in split_sentences(p["context"]) if s <= start < e), ""
            )
            items.append(
                {
                    "article": squad_paragraph_id(article["title"], i),
                    "title": article["title"].replace("_", " "),
                    "original": qa["question"],
                    "answer": answer["text"],
                    "answer_start": start,
                    "answer_sentence": sentence,
                }
            )
    rng.shuffle(items)
    return items[:count]


def write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{path}: {len(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "annotation")
    parser.add_argument("--headline-batches", type=int, default=4)
    parser.add_argument("--articles-per-batch", type=int, default=190)
    parser.add_argument("--unanswerable-articles", type=int, default=260)
    parser.add_argument("--squad-batches", type=int, default=3)
    parser.add_argument("--squad-per-batch", type=int, default=1150)
    parser.add_argument("--seed", type=int, default=38)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    articles = free_articles(load_sources(), rng)
    fields = ("id", "category", "title", "text")
    n = args.articles_per_batch
    for b in range(args.headline_batches):
        batch = articles[b * n : (b + 1) * n]
        write(args.out / f"headline-b{b + 1}.jsonl", [{k: a[k] for k in fields} for a in batch])
    rest = articles[args.headline_batches * n :]
    write(
        args.out / "unanswerable.jsonl",
        [{k: a[k] for k in fields} for a in rest[: args.unanswerable_articles]],
    )
    items = squad_items(rng, args.squad_batches * args.squad_per_batch)
    for b in range(args.squad_batches):
        m = args.squad_per_batch
        write(args.out / f"squad-b{b + 1}.jsonl", items[b * m : (b + 1) * m])


if __name__ == "__main__":
    main()
