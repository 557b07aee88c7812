"""Training examples for the reader model, built from SQuAD 1.1 train.

One example is what the reader sees when serving: a question and one chunk
of an article, cut by the project's own sentence splitter and chunker
(``qa.index.chunking``, at the index's 200 word pieces), with every sentence
labelled "holds the answer" or not, and the answer's character span when
the chunk holds it. Two kinds:

- positive: the chunk of the question's paragraph that holds the answer; its
  other sentences are the on-topic sentences that do not answer;
- retrieved negative: the best-ranked chunk (BM25 with the project's
  analyzer, over every chunk of the training paragraphs) that does not hold
  the answer text: mostly another paragraph of the same article, the near
  miss the reader must learn to score low.

Articles are split for validation by article. The 10 articles that
``train-v2.0-first10.json`` shares are left out of training altogether: the
refusal threshold is fitted on their unanswerable questions.

    python training/build_reader_data.py --out build/reader-data
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.analysis import shared_analyzer  # noqa: E402
from qa.index.chunking import make_chunks  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "squad-train"
CHUNK_TOKENS = 200  # qa.assistant.CHUNK_TOKENS
VALIDATION_ARTICLES = 12


def _tokenizer_counter():
    from tokenizers import Tokenizer

    from qa.answer.answer_model import MODEL_DIR

    tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(texts):
        return [len(e.ids) for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    return count


def _chunks(article_id: str, text: str, count) -> list[dict]:
    out = []
    for chunk in make_chunks(article_id, text, count, CHUNK_TOKENS):
        out.append(
            {
                "start": chunk.start,
                "end": chunk.end,
                "sentences": [(s - chunk.start, e - chunk.start) for s, e in chunk.sentences],
            }
        )
    return out


def _example(question, title, paragraph, chunk, answer):
    text = paragraph[chunk["start"] : chunk["end"]]
    labels, span = [0] * len(chunk["sentences"]), None
    if answer is not None:
        a_start = answer[0] - chunk["start"]
        a_end = answer[1] - chunk["start"]
        if 0 <= a_start and a_end <= len(text):
            span = (a_start, a_end)
            labels = [int(s < a_end and a_start < e) for s, e in chunk["sentences"]]
    return {
        "question": question,
        "title": title,
        "text": text,
        "sentences": chunk["sentences"],
        "labels": labels,
        "answer": span,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=DATA / "train-v1.1.json")
    parser.add_argument("--held-out", type=Path, default=DATA / "train-v2.0-first10.json")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "reader-data")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    count = _tokenizer_counter()
    held_out = {a["title"] for a in json.loads(args.held_out.read_text())["data"]}
    articles = [a for a in json.loads(args.train.read_text())["data"] if a["title"] not in held_out]
    rng.shuffle(articles)
    validation = {a["title"] for a in articles[:VALIDATION_ARTICLES]}

    # every chunk of every paragraph: (article index, paragraph index, chunk)
    paragraphs: list[tuple[int, str, str, list[dict]]] = []
    for a_i, article in enumerate(articles):
        title = article["title"].replace("_", " ")
        for p in article["paragraphs"]:
            paragraphs.append((a_i, title, p["context"], _chunks(f"{a_i}", p["context"], count)))
    flat = [(p_i, c_i) for p_i, p in enumerate(paragraphs) for c_i in range(len(p[3]))]
    print(f"{len(articles)} articles, {len(paragraphs)} paragraphs, {len(flat)} chunks", flush=True)

    import bm25s

    analyzer = shared_analyzer()
    corpus = [
        analyzer.terms(f"{paragraphs[p][1]}\n{paragraphs[p][2][c['start'] : c['end']]}")
        for p, c in ((p, paragraphs[p][3][c]) for p, c in flat)
    ]
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenization.Tokenized(*_vocab_ids(corpus)), show_progress=False)

    args.out.mkdir(parents=True, exist_ok=True)
    files = {s: (args.out / f"{s}.jsonl").open("w") for s in ("train", "validation")}
    written = {"train": 0, "validation": 0, "negatives": 0}
    qa_items = []
    p_i = 0
    for article in articles:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                qa_items.append((p_i, qa))
            p_i += 1
    queries = [analyzer.terms(qa["question"]) for _, qa in qa_items]
    vocab = bm25.vocab_dict
    tokenized = [[vocab[t] for t in q if t in vocab] or [0] for q in queries]
    hits, _ = bm25.retrieve(tokenized, k=8, show_progress=False, n_threads=2)
    for (p_i, qa), ranked in zip(qa_items, hits):
        a_i, title, context, chunks = paragraphs[p_i]
        split = "validation" if articles[a_i]["title"] in validation else "train"
        answer = qa["answers"][0]
        span = (answer["answer_start"], answer["answer_start"] + len(answer["text"]))
        holding = [c for c in chunks if c["start"] <= span[0] and span[1] <= c["end"]]
        if not holding:
            continue  # the answer crosses a chunk boundary
        example = _example(qa["question"], title, context, holding[0], span)
        if not any(example["labels"]):
            continue
        files[split].write(json.dumps(example) + "\n")
        written[split] += 1
        for hit in ranked:
            hp, hc = flat[int(hit)]
            _, n_title, n_context, n_chunks = paragraphs[hp]
            chunk = n_chunks[hc]
            body = n_context[chunk["start"] : chunk["end"]]
            if (hp, hc) == (p_i, chunks.index(holding[0])) or answer[
                "text"
            ].lower() in body.lower():
                continue
            negative = _example(qa["question"], n_title, n_context, chunk, None)
            files[split].write(json.dumps(negative) + "\n")
            written["negatives"] += 1
            break
    for f in files.values():
        f.close()
    print(json.dumps(written), flush=True)


def _vocab_ids(corpus: list[list[str]]) -> tuple[list[list[int]], dict[str, int]]:
    vocab: dict[str, int] = {"": 0}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
    return ids, vocab


if __name__ == "__main__":
    np.random.seed(0)
    main()
