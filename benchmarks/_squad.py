"""SQuAD 2.0 JSON as an evaluation dataset: for benchmarks/quality.py and the fits.

Every paragraph becomes an article (written to a JSONL in a work folder, the
corpus to index); a question's gold article is its own paragraph, so recall
is judged by article, not by a string match; ``is_impossible`` questions are
the unanswerable ones.
"""

from __future__ import annotations

import json
from pathlib import Path

from qa.evaluation import Dataset, EvalQuestion
from qa.index.articles import slugify


def load_squad(path: Path, workdir: Path) -> Dataset:
    """Paragraphs become articles (written to a JSONL in ``workdir``), questions kept."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    records, questions = [], []
    for article in data:
        for number, paragraph in enumerate(article["paragraphs"]):
            article_id = f"squad-{slugify(article['title'])}-{number:03d}"
            records.append(
                {
                    "id": article_id,
                    "title": article["title"].replace("_", " "),
                    "text": paragraph["context"],
                }
            )
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                questions.append(
                    EvalQuestion(
                        qa["question"].strip(),
                        answers,
                        not qa.get("is_impossible", False),
                        article_id,
                    )
                )
    corpus = workdir / f"{path.stem}-paragraphs.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return Dataset(path, questions, [corpus])
