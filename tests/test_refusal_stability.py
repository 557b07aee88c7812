"""Refusals by evidence: adding unrelated articles must not change what is answered or refused.

The distractors share the seed's words but state none of its facts: a story
saying what France promised in July would be a related article, and a
different answer to the headline question would then be right. (Known limit:
300 stories whose very subject is "A July heatwave in France" or "A summit of
farm ministers ... in July" crowd the seed's July chunk out of the top 4
passages, and the reader then quotes or refuses on one of them.)

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

SEED_QUESTIONS = [
    json.loads(line)
    for line in (ROOT / "tests" / "data" / "seed_questions.jsonl").read_text().splitlines()
    if line.strip()
]

# Each sentence carries at most one of the seed's words, in a story about something
# else: a sentence like "A summit of farm ministers met in July" would answer "Who took
# part in the summit last July?" in its own right, and would no longer be unrelated.
_CUE_SENTENCES = [
    "Lleyton Hewitt won his first-round match in Sydney.",
    "The museum in Dunkirk reopened after a long renovation.",
    "Retail sales rose sharply in July.",
    "Fishing boats stayed in port because of the storm.",
    "A Channel 4 documentary about bakers drew two million viewers.",
    "French wine makers expect an early harvest.",
    "The climbers reached the summit before dawn.",
    "A new ferry route opened between two Scottish islands.",
    "Police in Manchester arrested two men after a burglary.",
    "The prime minister of Canada visited a car factory.",
]
_DETAILS = [
    "Officials said the figures were encouraging.",
    "Critics called the plan ambitious but unrealistic.",
    "The decision followed months of negotiations with local councils.",
    "Supporters gathered outside to celebrate the news.",
    "The company expects demand to keep rising through the autumn.",
    "Analysts said the weather had played a part.",
]


def _distractors(count: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    stories = []
    for number in range(count):
        lead, other = rng.sample(_CUE_SENTENCES, 2)
        body = " ".join([lead, *rng.sample(_DETAILS, 3), other])
        stories.append(
            {
                "id": f"distractor-{number:03d}",
                "title": lead.rstrip("."),
                "text": body,
                "source": "Test wire",
            }
        )
    return stories


# Measured known limit, kept visible rather than dropped: it must still change, so a
# fix shows up as a test asking to take it off this list. 300 short stories holding a
# "summit" and a "July" sentence push the seed's July chunk to rank 5, outside the 4
# passages read: the default reader then quotes "Retail sales rose sharply in July.",
# the fast one refuses.
KNOWN_LIMITS = {
    ("default", "Who took part in the summit last July?"),
    ("fast", "Who took part in the summit last July?"),
}


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
    changed = {}
    for item in SEED_QUESTIONS:
        question = item["question"]
        after = assistant.ask(question)
        if _right(item, before[question]) != _right(item, after):
            changed[question] = after.text
    known = {q for mode, q in KNOWN_LIMITS if mode == reader}
    assert set(changed) - known == set(), changed
    assert known - set(changed) == set(), f"fixed, take off KNOWN_LIMITS: {known - set(changed)}"
    if reader == "default":  # and on seeds alone it gets every one right
        assert all(_right(item, before[item["question"]]) for item in SEED_QUESTIONS)


def _right(item: dict, answer) -> bool:
    if item["answerable"]:
        return answer.grounded and contains_any(answer.text, item["expect_any"])
    return not answer.grounded


@pytest.mark.slow
def test_a_full_name_finds_its_person_among_namesakes(tmp_path):
    """ "Martin Hewitt" must not be answered from stories about Lleyton Hewitt."""
    from qa import Assistant

    assistant = Assistant(index_dir=tmp_path / "index")
    assistant.ingest([SEEDS])
    rng = random.Random(5)
    tennis = [
        {
            "id": f"tennis-{n}",
            "title": f"Hewitt wins in round {n}",
            "text": " ".join(
                [
                    f"Lleyton Hewitt beat his opponent in round {n}.",
                    "Hewitt said he was delighted with his serve.",
                    *rng.sample(_DETAILS, 2),
                    "Hewitt, the former world number one, faces a tough draw.",
                ]
            ),
        }
        for n in range(60)
    ]
    corpus = tmp_path / "tennis.jsonl"
    corpus.write_text("\n".join(json.dumps(s) for s in tennis))
    assistant.ingest([corpus])
    answer = assistant.ask("Who is Martin Hewitt?")
    assert answer.grounded
    assert answer.citations[0].title == "France backs away from Channel small-boats commitment"
    assert "Martin Hewitt" in answer.citations[0].quote
