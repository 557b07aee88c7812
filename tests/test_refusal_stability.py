"""Refusals by evidence: adding unrelated articles must not change what is answered or refused.

The old refusal threshold used corpus-wide word statistics, so the same
sentence scored lower in a bigger index and "What did France promise in
July?" was refused once the BBC articles were in. The test writes a few
hundred distractor stories that share the seed's words (France, July,
Hewitt, Channel, boats, summit, Dunkirk) but not its facts, and checks every
seed question against the seeds-only answer.
"""

from __future__ import annotations

import json
import random

import pytest

from qa.evaluation import contains_any
from tests.conftest import ROOT, SEEDS

SEED_QUESTIONS = [json.loads(line) for line in
                  (ROOT / "tests" / "data" / "seed_questions.jsonl").read_text().splitlines()
                  if line.strip()]

_SUBJECTS = ["Lleyton Hewitt", "The French tennis federation", "A Channel 4 documentary",
             "Fishing boats from Boulogne", "The mountain summit team", "Dunkirk's museum",
             "A July heatwave in France", "The boat show in Southampton", "Paris Saint-Germain",
             "The Channel Islands ferry company", "A summit of European farm ministers",
             "The July sales", "French wine makers", "A rowing crew crossing the Channel"]
_EVENTS = ["reported record results in July", "won a five-set match in Paris last summer",
           "promised to open a new route to Dover next spring", "cancelled its summer tour",
           "welcomed record visitor numbers", "signed a sponsorship deal with a bank",
           "raised prices for the third time this year", "announced a new chief executive",
           "broke a world record on a calm morning", "held talks on fishing quotas"]
_DETAILS = ["Officials said the figures were encouraging.",
            "Critics called the plan ambitious but unrealistic.",
            "The decision followed months of negotiations with local councils.",
            "Supporters gathered outside to celebrate the news.",
            "The company expects demand to keep rising through the autumn.",
            "Analysts said the weather had played a part."]


def _distractors(count: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    stories = []
    for number in range(count):
        subject, event = rng.choice(_SUBJECTS), rng.choice(_EVENTS)
        body = " ".join([f"{subject} {event}.", *rng.sample(_DETAILS, 3),
                         f"{rng.choice(_SUBJECTS)} {rng.choice(_EVENTS)}."])
        stories.append({"id": f"distractor-{number:03d}", "title": f"{subject} {event}",
                        "text": body, "source": "Test wire"})
    return stories


@pytest.mark.slow
@pytest.mark.parametrize("reader", ["default", "fast"])
def test_seed_answers_and_refusals_survive_hundreds_of_distractors(tmp_path, reader):
    from qa import Assistant

    assistant = Assistant(index_dir=tmp_path / "index", reader=reader)
    assistant.ingest([SEEDS])
    before = {q["question"]: assistant.ask(q["question"]) for q in SEED_QUESTIONS}
    corpus = tmp_path / "distractors.jsonl"
    corpus.write_text("\n".join(json.dumps(s) for s in _distractors(300)))
    report = assistant.ingest([corpus])
    assert len(report.added) == 300 and not report.failed
    for item in SEED_QUESTIONS:
        after = assistant.ask(item["question"])
        if item["answerable"]:
            assert after.grounded and contains_any(after.text, item["expect_any"]), \
                (item["question"], after.text)
        else:
            assert not after.grounded, (item["question"], after.text)
        assert after.grounded == before[item["question"]].grounded, item["question"]
