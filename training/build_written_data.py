"""Training examples from the hand-written questions (training/data/ and ../shared's 409).

The same example form as ``build_reader_data.py`` (a question, one chunk cut
by the project's chunker, a label per sentence, the answer's span), so the
trainer mixes them with SQuAD's. What each written question adds:

- a positive: the chunk that holds the answer;
- the negatives that matter for a reader who saw only a headline: the
  story's opening chunk when the answer lies later (its first sentences
  repeat the headline's words and do not answer), and the best BM25 chunk of
  another article;
- for an unanswerable question, only negatives: the near miss's own story
  (its best two chunks) and, for every one, the best BM25 chunks of the
  corpus. A later-year question has no story of its own.

Rows about BBC articles in the held-out split (``written_data.is_dev_article``)
go to ``written-dev.jsonl``, for choosing the checkpoint; the rest to
``written-train.jsonl``. Reserved and own-evaluation articles are never read,
not even as negatives.

    python training/build_written_data.py --out build/reader-data
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_reader_data import _chunks, _example, _tokenizer_counter, _vocab_ids  # noqa: E402
from written_data import (  # noqa: E402
    DATA,
    ROOT,
    is_dev_article,
    load_sources,
    read_rows,
    shared_written,
    text_of,
)

from qa.analysis import shared_analyzer  # noqa: E402


class ChunkIndex:
    """BM25 over the chunks of every BBC article free for training."""

    def __init__(self, sources, count) -> None:
        import bm25s

        self.keys: list[tuple[str, dict]] = []
        for article_id, article in sorted(sources.bbc.items()):
            if article_id in sources.forbidden:
                continue
            for chunk in _chunks(article_id, article["text"], count):
                self.keys.append((article_id, chunk))
        analyzer = shared_analyzer()
        articles = sources.bbc
        corpus = [
            analyzer.terms(f"{articles[a]['title']}\n{articles[a]['text'][c['start'] : c['end']]}")
            for a, c in self.keys
        ]
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenization.Tokenized(*_vocab_ids(corpus)), show_progress=False)
        self.analyzer = analyzer

    def ranked(self, questions: list[str], k: int) -> list[list[tuple[str, dict]]]:
        vocab = self.bm25.vocab_dict
        terms = self.analyzer.terms
        tokens = [[vocab[t] for t in terms(q) if t in vocab] or [0] for q in questions]
        hits, _ = self.bm25.retrieve(tokens, k=k, show_progress=False, n_threads=2)
        return [[self.keys[int(i)] for i in row] for row in hits]


def bbc_examples(row: dict, sources, count, retrieved: list[tuple[str, dict]]) -> list[dict]:
    article = row["article"]
    title = sources.bbc[article]["title"] if article else ""
    text = text_of(sources, article) or ""
    out = []
    if row["answerable"]:
        span = (row["answer_start"], row["answer_start"] + len(row["answer"]))
        chunks = _chunks(article, text, count)
        holding = [c for c in chunks if c["start"] <= span[0] and span[1] <= c["end"]]
        if not holding:
            return []
        out.append(_example(row["question"], title, text, holding[0], span))
        if holding[0] is not chunks[0]:
            out.append(_example(row["question"], title, text, chunks[0], None))
        negatives = [(a, c) for a, c in retrieved if a != article][:1]
    else:
        own = [(a, c) for a, c in retrieved if a == article][:2]
        others = [(a, c) for a, c in retrieved if a != article][:2]
        if article and not own:
            own = [(article, _chunks(article, text, count)[0])]
        negatives = own + others
    for a, chunk in negatives:
        other = sources.bbc[a]
        out.append(_example(row["question"], other["title"], other["text"], chunk, None))
    return out


def squad_examples(row: dict, sources, count, rng: random.Random) -> list[dict]:
    """The paragraph's answering chunk, and the same article's paragraph chunk that
    shares the most words with the question (a near miss)."""
    paragraph_id = row["article"]
    title_key, index = paragraph_id.split(":", 1)[1].rsplit("#", 1)
    title = title_key.replace("_", " ")
    text = sources.squad[paragraph_id]
    span = (row["answer_start"], row["answer_start"] + len(row["answer"]))
    holding = [c for c in _chunks(paragraph_id, text, count) if c["start"] <= span[0] < c["end"]]
    if not holding or span[1] > holding[0]["end"]:
        return []
    out = [_example(row["question"], title, text, holding[0], span)]
    terms = set(shared_analyzer().terms(row["question"]))
    siblings = []
    n = 0
    while f"squad:{title_key}#{n}" in sources.squad:
        if n != int(index):
            other = sources.squad[f"squad:{title_key}#{n}"]
            if row["answer"] not in other:
                siblings.append((len(terms & set(shared_analyzer().terms(other))), n, other))
        n += 1
    if siblings:
        _, n, other = max(siblings)
        chunk = _chunks(f"squad:{title_key}#{n}", other, count)[0]
        out.append(_example(row["question"], title, other, chunk, None))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "reader-data")
    parser.add_argument("--seed", type=int, default=38)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sources = load_sources()
    count = _tokenizer_counter()
    shared = [r for r in shared_written(sources) if r["article"] not in sources.forbidden]
    rows = read_rows(sorted(args.data.glob("*.jsonl"))) + shared
    bbc_rows = [r for r in rows if not str(r["article"]).startswith("squad:")]
    print(f"{len(rows)} written questions ({len(bbc_rows)} about BBC stories or none)", flush=True)
    index = ChunkIndex(sources, count)
    retrieved = index.ranked([r["question"] for r in bbc_rows], k=6)
    by_row = {id(r): hits for r, hits in zip(bbc_rows, retrieved)}

    args.out.mkdir(parents=True, exist_ok=True)
    files = {s: (args.out / f"written-{s}.jsonl").open("w") for s in ("train", "dev")}
    written = {"train": 0, "dev": 0}
    for row in rows:
        if str(row["article"]).startswith("squad:"):
            examples = squad_examples(row, sources, count, rng)
        else:
            examples = bbc_examples(row, sources, count, by_row[id(row)])
        split = "dev" if is_dev_article(row["article"]) else "train"
        for example in examples:
            example["kind"] = row["kind"]
            example["group"] = row.get("_where", "shared:").split(":")[0]
            files[split].write(json.dumps(example) + "\n")
            written[split] += 1
    for f in files.values():
        f.close()
    print(f"examples: {written}")
    write_eval_questions(bbc_rows, args.out)


def write_eval_questions(bbc_rows: list[dict], out: Path) -> None:
    """The BBC questions of each split as `qa eval` (and benchmarks/fit_reader.py) read
    a dataset: the held-out split to choose on, the rest to fit the default reader on."""
    for split in ("dev", "train"):
        chosen = [r for r in bbc_rows if is_dev_article(r["article"]) == (split == "dev")]
        with (out / f"written-{split}-questions.jsonl").open("w") as handle:
            for row in chosen:
                handle.write(json.dumps(as_eval_question(row)) + "\n")
        print(f"{len(chosen)} {split} questions for qa eval: {handle.name}")


def as_eval_question(row: dict) -> dict:
    return {
        "question": row["question"],
        "expect_any": [row["answer"]] if row["answerable"] else [],
        "answerable": row["answerable"],
        "kind": "unanswerable" if not row["answerable"] else row["kind"],
        "article": row["article"],
    }


if __name__ == "__main__":
    main()
