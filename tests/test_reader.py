"""The reader and the condenser on small hand-made inputs: no model, no index."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qa.analysis import Analyzer, contains_phrase, full_names
from qa.answer.answering import NOT_ANSWERED, ExtractiveAnswerer
from qa.answer.conversation import condense
from qa.answer.features import Feature
from qa.answer.reader import Reader, new_names, new_numbers, question_kind
from qa.results import Passage, Retrieval, StoredChunk
from qa.weights import READER_WEIGHTS, FeatureWeights, LogisticModel, RankingModel


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Who beat her in the final?", "name"),
        ("Which company bought the makers of Halo?", "name"),
        ("Where did the talks take place?", "name"),
        ("How much did the deal cost?", "number"),
        ("How many complaints has it received?", "number"),
        ("When was the agency founded?", "number"),
        ("Why did the regulator step in?", "reason"),
        ("How did Simon Taylor get hurt?", "reason"),
        ("What caused the computer failure?", "reason"),
        ("What did France promise in July?", "other"),
    ],
)
def test_question_kind_names_what_the_answer_must_hold(question, kind):
    assert question_kind(question) == kind


def test_new_names_and_numbers_ignore_what_the_question_already_says():
    question = "Who beat Hantuchova in Dubai?"
    assert new_names("Hantuchova lost in Dubai.", question) == 0
    assert new_names("Hantuchova lost to Serena Williams in Dubai.", question) == 1
    assert new_numbers("It cost $2.9bn in 2004.", "How much did it cost?") >= 1
    assert new_numbers("It was costly.", "How much did it cost?") == 0


def test_who_wants_a_whole_name_which_takes_one_word():
    lone = "The trains are run by a separate company, Eurostar."
    assert new_names(lone, "Who runs the company?") == 0
    assert new_names("So said chief executive Jean-Louis Raymond.", "Who runs the company?") == 1
    assert new_names(lone, "Which company runs the trains?") == 1
    # "Who is Martin Hewitt?" asks what he is: any new name still counts.
    described = "The man in charge of border security in the UK, Martin Hewitt, is frustrated."
    assert new_names(described, "Who is Martin Hewitt?") == 1
    unnamed = "The man in charge of border security in the UK is frustrated."
    assert new_names(unnamed, "Who is Martin Hewitt?") == 1  # "UK"
    assert new_names(unnamed, "Who was the man in charge of the border?") == 0


def test_he_after_who_is_a_name_is_that_person_not_another_name_in_the_answer():
    history = _exchange("Who is Martin Hewitt?", "Martin Hewitt met Dan Smith in Calais. [1]")
    assert condense("What did he say?", history) == "What did Martin Hewitt say?"


def test_who_someone_is_means_only_the_name_follows():
    from qa.analysis import asks_who_someone_is

    assert asks_who_someone_is("Who is Martin Hewitt?")
    assert asks_who_someone_is("who was President Emmanuel Macron")
    assert not asks_who_someone_is("Who is Matt Stevens replacing?")
    assert not asks_who_someone_is("Who is the chief executive?")


def test_a_day_or_month_answers_when_but_is_no_amount():
    sentence = "Fans in masks will not be allowed in Selhurst Park on Saturday."
    assert new_numbers(sentence, "When will fans be turned away?") == 1
    assert new_numbers(sentence, "What was the attendance at Selhurst Park?") == 0
    assert new_numbers("It opens in May.", "On what date does it open?") == 1
    assert new_numbers("It sold 20,000 in May.", "How many did it sell?") >= 1


def test_key_words_are_the_names_and_numbers_a_passage_must_hold():
    from qa.analysis import key_words
    from qa.answer.reader import _missing

    question = "Which hospital treated Kenteris and Thanou after the 2004 crash?"
    assert key_words(question) == ["Kenteris", "Thanou", "2004"]
    assert key_words("Kenteris's coach was who?") == []  # the first word is capitalised anyway
    assert key_words("When did Rick Parry join Liverpool's board?") == [
        "Rick",
        "Parry",
        "Liverpool",
    ]
    passage = "Kenteris and Thanou spent four days in hospital after a crash in August."
    assert _missing(key_words(question), passage) == 1 / 3
    assert _missing([], passage) == 0.0


def test_full_names_and_phrase_matching():
    assert full_names("Who is Martin Hewitt?") == ["Martin Hewitt"]
    assert full_names("Who beat her in the final?") == []
    assert contains_phrase("the man, Martin\nHewitt, said", "Martin Hewitt")
    assert not contains_phrase("Lleyton Hewitt and Martin Amis", "Martin Hewitt")
    # A possessive is no part of the name a passage must hold.
    assert full_names("What is Juan Carlos Ferrero's ranking?") == ["Juan Carlos Ferrero"]
    assert full_names("When does Matt Williams' contract end?") == ["Matt Williams"]
    assert full_names("Who was Kostas Kenteris’s coach?") == ["Kostas Kenteris"]


def test_name_patterns_stay_linear_on_hostile_input():
    hostile = "A" + " " * 19_990 + "a"  # made the old follow-up regex take seconds
    assert full_names(hostile) == []
    assert new_names(hostile, "x") == 0  # a lone capital letter is not a name


def _chunk(text: str, article_id: str = "a1") -> StoredChunk:
    spans, start = [], 0
    for sentence in text.split(". "):
        end = start + len(sentence) + (0 if sentence.endswith(".") else 1)
        spans.append((start, end))
        start = end + 1
    return StoredChunk(
        id=f"{article_id}:0",
        article_id=article_id,
        title="Court rejects case",
        source="",
        url="",
        published="",
        text=text,
        start=0,
        end=len(text),
        sentences=tuple(spans),
        lead_text=text[: spans[0][1]],
        lead=spans[0],
    )


def _retrieval(question: str, chunk: StoredChunk) -> Retrieval:
    analyzer = Analyzer()
    vector = np.ones(4, dtype=np.float32) / 2
    vectors = {(chunk.article_id, s, e): vector for s, e in chunk.sentences}
    return Retrieval(
        question, vector, analyzer.terms(question), (), [Passage(chunk, 1.0, 0.6, 0.5)], vectors
    )


class _LikingReader(Reader):
    """A stand-in for a model (plumbing only): the fast reader, with each sentence's
    similarity to the question replaced by 8 where it holds a word and -8 where not."""

    def __init__(self, word: str, weights: FeatureWeights | None = None) -> None:
        super().__init__(Analyzer(), weights=weights or _BY_LIKING)
        self.word = word

    def evidence(self, retrieval):
        return [
            (c, {**f, Feature.DENSE: 8.0 if self.word in c.text else -8.0})
            for c, f in super().evidence(retrieval)
        ]


TEXT = (
    "The court rejected the government's tobacco case on Friday. Tobacco companies "
    "welcomed the ruling. The judges found that the case could not be brought under "
    "anti-racketeering laws."
)


# Explicit weights: these tests are about the plumbing, not about fitted values.
_BY_LIKING = FeatureWeights(
    fast=RankingModel(weights={"dense": 1.0}),
    fast_answerable=LogisticModel(bias=0.0, weights={"dense": 1.0}, threshold=0.5),
)


def test_answerer_quotes_the_best_sentence_at_its_offsets_and_refuses_on_weak_evidence():
    retrieval = _retrieval("Why did the court reject the tobacco case?", _chunk(TEXT))
    reader = _LikingReader("anti-racketeering")
    answer = ExtractiveAnswerer(reader).answer(retrieval)
    assert answer.grounded
    assert answer.confidence > 0.99  # sigmoid(8) of the best sentence
    assert "anti-racketeering" in answer.citations[0].quote
    for c in answer.citations:
        assert TEXT[c.start : c.end] == c.quote
    unconvinced = _LikingReader("no sentence has this")
    refused = ExtractiveAnswerer(unconvinced).answer(retrieval)
    assert not refused.grounded and refused.text == NOT_ANSWERED and refused.citations == []


def test_a_sentence_two_copies_of_a_story_punctuate_differently_is_quoted_once():
    copies = [
        _chunk(f"The test cost $12 as it used 12 {hours} worth of power. Users pay $1", name)
        for hours, name in (("hours'", "copy1"), ("hour's", "copy2"))
    ]
    retrieval = replace(
        _retrieval("How much did the test cost?", copies[0]),
        passages=[Passage(chunk, 1.0, 0.6, 0.5) for chunk in copies],
    )
    reader = _LikingReader("worth")
    answer = ExtractiveAnswerer(reader).answer(retrieval)
    assert answer.grounded
    assert [c.quote.startswith("The test cost") for c in answer.citations] == [True]


def test_fitted_weights_define_every_model_and_a_threshold_to_refuse_by():
    assert 0.0 < READER_WEIGHTS.fast_answerable.threshold < 1.0
    assert READER_WEIGHTS.fast.weights


def test_the_reader_computes_every_feature_the_fitted_weights_weigh():
    """A feature renamed in the reader, or fitted under a name it does not compute,
    fails here (and at load), never silently weighs 0."""
    from qa.answer.features import Feature
    from qa.answer.reader import question_evidence

    reader = Reader(Analyzer())
    reading = reader.read(_retrieval("Why did the court reject the tobacco case?", _chunk(TEXT)))
    computed = set(reading.sentences[0].features)
    for name, model in (
        ("fast", READER_WEIGHTS.fast),
        ("fast_answerable", READER_WEIGHTS.fast_answerable),
    ):
        assert set(model.weights) <= computed, name
    evidence = set(question_evidence(reading.sentences[0].features))
    # refusal reads only the chosen sentence's own evidence
    assert set(READER_WEIGHTS.fast_answerable.weights) <= evidence
    assert computed <= set(Feature)


def test_a_year_the_passage_never_mentions_is_missing_unless_it_is_the_articles_own():
    from dataclasses import replace

    from qa.answer.features import Feature

    def year_missing(question: str, chunk: StoredChunk) -> float:
        evidence = Reader(Analyzer()).evidence(_retrieval(question, chunk))
        return evidence[0][1][Feature.YEAR_MISSING]

    chunk = _chunk(TEXT + " The case was first brought in 1999.")
    assert year_missing("Why was the tobacco case rejected in 2013?", chunk) == 1.0
    assert year_missing("Why was the tobacco case brought in 1999?", chunk) == 0.0
    assert year_missing("Why was the tobacco case rejected?", chunk) == 0.0
    dated = replace(chunk, published="2013-05-02")  # an article of that year need not say it
    assert year_missing("Why was the tobacco case rejected in 2013?", dated) == 0.0


def test_weights_naming_a_feature_the_reader_does_not_compute_are_refused():
    from qa.weights import FeatureWeights

    data = READER_WEIGHTS.to_dict()
    assert FeatureWeights.from_dict(data) == READER_WEIGHTS  # the file round-trips
    data["fast"]["weights"]["densse"] = 1.0
    with pytest.raises(ValueError, match="densse"):
        FeatureWeights.from_dict(data)


def _exchange(question: str, answer: str = "") -> list[dict[str, str]]:
    history = [{"role": "user", "content": question}]
    return history + ([{"role": "assistant", "content": answer}] if answer else [])


@pytest.mark.parametrize(
    "history, follow_up, standalone",
    [
        (
            _exchange(
                "Who was the former Interior Minister credited with a tougher approach?",
                "Former Interior Minister Bruno Retailleau was widely credited [1]",
            ),
            "What happened after he left the ministry?",
            "Bruno Retailleau left the ministry",
        ),
        (
            _exchange("What did France promise in July?", "The focus then was on plans [1]"),
            "Why did they back away?",
            "Why did France back away?",
        ),
        (
            _exchange("What was agreed at the summit last July?"),
            "What was its focus?",
            "summit last July",
        ),
        (_exchange("Who is Martin Hewitt?"), "What is his job?", "What is Martin Hewitt's job?"),
        (
            _exchange(
                "Which US state is suing alleged spammers?",
                "US state Texas has filed a lawsuit against two men. [1]",
            ),
            "Who is its attorney general?",
            "(Texas US state suing alleged spammers)",
        ),
        (
            _exchange(
                "Which exchange did Deutsche Boerse bid for?", "the London Stock Exchange [1]"
            ),
            "How much was it?",
            "How much was it? (London Stock Exchange",
        ),
        (
            _exchange(
                "Who is directing the Da Vinci Code film?",
                "Actor Tom Hanks and director Ron Howard are reuniting [1]",
            ),
            "When is it due out?",
            "(directing Da Vinci Code film)",
        ),
        (
            _exchange(
                "Which Greek sprinters were cleared of doping?",
                "Sprinters Kostas Kenteris and Katerina Thanou have been cleared. [1]",
            ),
            "Who was his coach?",
            "Who was Kostas Kenteris's coach?",
        ),
        (
            _exchange(
                "Which Greek sprinters were cleared of doping?",
                "Sprinters Kostas Kenteris and Katerina Thanou have been cleared. [1]",
            ),
            "Who was their coach?",  # both of them: the pronoun stays, the names join the topic
            "Who was their coach? (Kostas Kenteris Katerina Thanou Greek sprinters",
        ),
        (
            _exchange(
                "Which Bath prop will start for England?",
                "England have named Bath prop Matt Stevens in the line-up. [1]",
            )
            + _exchange(
                "Who is he replacing?", "Matt Stevens comes in for the injured Phil Vickery. [1]"
            ),
            "What happened to him?",
            "What happened to Phil Vickery?",
        ),
        (
            _exchange(
                "Which rapper filmed a video in prison?",
                "C-Murder, a former member of rap group Tru, was filmed for the video for his "
                "Y'all Heard of Me single in a New Orleans jail. [1]",
            ),
            "What is his real name?",  # the one-word name the answer opens by describing
            "What is C-Murder's real name?",
        ),
        (
            _exchange(
                "Which rapper filmed a video in prison?",
                "However, the sheriff, Harry Lee, said he was tricked. [1]",
            ),
            "What is his real name?",  # "However, the ..." describes no one
            "What is Harry Lee's real name?",
        ),
        (
            _exchange(
                "Which academic says nuclear strikes are the main terror risk?",
                "In a report for the Foreign Policy Centre think tank, he says so. [1]",
            ),
            "Who did he advise?",  # not the think tank: he is no organisation
            "Who did he advise? (academic says nuclear strikes main terror risk)",
        ),
        (
            _exchange(
                "Who took charge of Fiat's car business?",
                "The car business, best known for its Alfa Romeo marque, made a loss. [1] "
                "Mr Demel was recruited by former Fiat chief executive Giuseppe Morchio. [2]",
            ),
            "Who did he replace?",  # "its Alfa Romeo marque" is a thing, not who "he" is
            "Who did Giuseppe Morchio replace?",
        ),
        (
            _exchange(
                "Who is he replacing?",
                "Fellow Bath prop Duncan Bell will start on the bench. [1]",
            ),
            "What happened to him?",  # "Fellow Bath" labels the prop; the person is Duncan Bell
            "What happened to Duncan Bell?",
        ),
        (
            _exchange(
                "Which US bank did Barclays reportedly hold merger talks with?",
                "Speaking on BBC Radio 4, Mr Varley declined to comment on talks with US bank "
                "Wells Fargo. [1]",
            ),
            "How many branches does it have?",  # the name the answer gives after "bank"
            "How many branches does it have? (Wells Fargo",
        ),
        (
            _exchange(
                "Which Bath prop will start for England?",
                "Coach Andy Robinson said England have named Bath prop Matt Stevens. [1]",
            ),
            "Where is he from?",  # the prop the question asks for, not the coach named first
            "Where is Matt Stevens from?",
        ),
        (
            _exchange("Who founded Yahoo?", "Jerry Yang and David Filo founded it. [1]"),
            "Where did he study?",  # "and" joins two people: the first is still a person
            "Where did Jerry Yang study?",
        ),
        (
            _exchange("How much did the film take over the weekend?", "It took $17m. [1]"),
            "Who stars in it?",
            "Who stars in it? (film take over weekend)",
        ),
    ],
)
def test_follow_ups_resolve_from_the_question_and_the_answer(history, follow_up, standalone):
    assert standalone in condense(follow_up, history)


def test_it_is_never_the_person_a_who_question_was_answered_with():
    history = _exchange(
        "Who is directing the Da Vinci Code film?", "Director Ron Howard is reuniting [1]"
    )
    assert "Ron Howard" not in condense("When is it due out?", history)


def test_a_reason_that_opens_the_next_chunk_is_quoted_with_its_sentence():
    glad = "The party leader said he was glad to see the back of him."
    reason = '"He was more interested in his own party than ours," he said.'
    article = f"{glad} {reason} Officials agreed."
    first = replace(_chunk(glad, "ukip"), end=len(glad))
    at = len(glad) + 1
    second = replace(
        first,
        id="ukip:1",
        text=article[at:],
        start=at,
        end=len(article),
        sentences=((at, at + len(reason)), (at + len(reason) + 1, len(article))),
    )
    question = "Why was the party leader glad to see him go?"
    retrieval = replace(
        _retrieval(question, first),
        passages=[Passage(first, 1.0, 0.6, 0.5), Passage(second, 0.5, 0.4, 0.0, sibling=True)],
    )
    reader = _LikingReader("glad")
    answer = ExtractiveAnswerer(reader).answer(retrieval)
    assert [c.quote for c in answer.citations] == [glad, reason]
    # Without the next chunk among the passages, only the chosen sentence is quoted.
    alone = ExtractiveAnswerer(reader).answer(replace(retrieval, passages=retrieval.passages[:1]))
    assert [c.quote for c in alone.citations] == [glad]


def test_a_why_answer_reads_on_until_a_sentence_states_the_cause():
    # The restated event, a sentence that still states no cause, then the reason.
    late = "Fans in Europe will have to wait until next year for the game."
    delay = "Sony has said that the European version will not be ready for Christmas."
    reason = "The game is being translated into 13 languages, which takes longer because of that."
    chunk = _chunk(f"{late} {delay} {reason} Sales were strong.", "gt4")
    question = "Why is the European version of the game late?"
    reader = _LikingReader("wait")
    answer = ExtractiveAnswerer(reader).answer(_retrieval(question, chunk))
    assert [c.quote for c in answer.citations] == [f"{late} {delay} {reason}"]
    # A sentence that states a cause itself hands on to nothing.
    stated = _chunk(f"{reason} {late} {delay}", "gt4")
    reader = _LikingReader("13")
    assert [
        c.quote for c in ExtractiveAnswerer(reader).answer(_retrieval(question, stated)).citations
    ] == [reason]


def test_a_who_answer_that_names_no_one_brings_the_next_sentence_when_it_opens_with_a_name():
    academic = "Nuclear strikes are the key terror risk, says a top academic."
    named = "Amitai Etzioni, a key influence on New Labour, says the focus is misplaced."
    question = "Which academic says nuclear strikes are the main terror risk?"
    reader = _LikingReader("academic")
    answer = ExtractiveAnswerer(reader).answer(
        _retrieval(question, _chunk(f"{academic} {named} Officials agreed."))
    )
    assert [c.quote for c in answer.citations] == [f"{academic} {named}"]
    # A sentence that names someone in full stands alone.
    answer = ExtractiveAnswerer(reader).answer(
        _retrieval(question, _chunk(f"Professor Ann Lee, an academic, said so. {named}"))
    )
    assert [c.quote for c in answer.citations] == ["Professor Ann Lee, an academic, said so."]


def test_only_a_follow_up_that_leans_on_the_conversation_keeps_its_focus():
    from qa.answer.conversation import conversation_focus

    history = _exchange(
        "What did France promise in July?", "The focus then was on plans to intercept boats. [1]"
    )
    assert conversation_focus("Why did they back away?", history) == (
        "The focus then was on plans to intercept boats.",
    )
    assert conversation_focus("Who won the Australian Open in Melbourne?", history) == ()
    assert conversation_focus("Why did they back away?", []) == ()


def test_a_follow_up_is_answered_from_the_article_the_previous_answer_quoted():
    story = _chunk("Sun Grid costs users $1 an hour. Sun launched it in California.", "sun")
    other = _chunk("The experiment cost $12 in computing power. It took seconds.", "other")
    passages = [Passage(other, 1.0, 0.7, 0.5), Passage(story, 0.9, 0.6, 0.5)]
    question = "How much does it cost? (Sun Microsystems launched)"

    def articles_read(focus: tuple[str, ...]) -> set[str]:
        analyzer = Analyzer()
        vector = np.ones(4, dtype=np.float32) / 2
        vectors = {
            (p.chunk.article_id, s, e): vector for p in passages for s, e in p.chunk.sentences
        }
        retrieval = Retrieval(
            question, vector, analyzer.terms(question), (), passages, vectors, focus
        )
        return {s.passage.chunk.article_id for s in Reader(analyzer).read(retrieval).sentences}

    assert articles_read(("sun",)) == {"sun"}
    assert articles_read(()) == {"sun", "other"}
    assert articles_read(("gone",)) == {"sun", "other"}  # the focus article was not retrieved


def test_a_follow_up_gets_news_not_the_sentence_the_last_answer_quoted():
    text = (
        "French actress Audrey Tautou will play the female lead. Tautou also starred in "
        "Dirty Pretty Things. Filming starts in May"
    )
    chunk = _chunk(text, "film")
    quoted = "French actress Audrey Tautou will play the female lead."
    question = "Which other films has Audrey Tautou starred in?"
    # The stand-in prefers the quoted sentence; the other one still passes the threshold.
    weights = FeatureWeights(
        fast=RankingModel(weights={"dense": 1.0}),
        fast_answerable=LogisticModel(bias=9.0, weights={"dense": 1.0}, threshold=0.5),
    )
    reader = _LikingReader("female lead", weights)

    def best(said_before: tuple[str, ...]) -> str:
        retrieval = replace(_retrieval(question, chunk), said_before=said_before)
        return reader.read(retrieval).sentences[0].text

    assert best(()) == quoted
    assert best((quoted,)).startswith("Tautou also starred")
    # When nothing new passes the threshold the quoted sentence is still the answer:
    # the last answer may already have held what the follow-up asks ("How much was it?").
    sure_only_of_it = replace(
        weights, fast_answerable=LogisticModel(bias=0.0, weights={"dense": 1.0}, threshold=0.5)
    )
    strict = _LikingReader("female lead", sure_only_of_it)
    retrieval = replace(_retrieval(question, chunk), said_before=(quoted,))
    assert strict.read(retrieval).sentences[0].text == quoted


def test_a_follow_up_sentence_is_judged_by_what_it_asks_now_not_by_the_topic_it_carries():
    text = (
        "United fans had planned to wear Cantona masks on Cantona Day. Palace will turn "
        "away any fan wearing one at the gate. Tickets sold out in a day"
    )
    chunk = _chunk(text, "masks")
    question = "What will Palace do about it? (United fans planning wear Cantona masks)"
    by_coverage = FeatureWeights(
        fast=RankingModel(weights={"coverage": 1.0}),
        fast_answerable=LogisticModel(bias=9.0, weights={}, threshold=0.5),
    )
    reader = Reader(Analyzer(), weights=by_coverage)

    def best(said_before: tuple[str, ...]) -> str:
        retrieval = replace(_retrieval(question, chunk), said_before=said_before)
        return reader.read(retrieval).sentences[0].text

    # Read as a question of its own, every word counts: the restating sentence wins.
    assert best(()).startswith("United fans")
    # As a follow-up, the bracketed topic found the story; the answer is what is new.
    assert best(("United fans are planning to wear masks on Saturday.",)).startswith("Palace will")


def test_a_question_with_no_words_is_read_without_error():
    reader = Reader(Analyzer(), weights=_BY_LIKING)
    for question in ("\u00ff\u0104", "???", "(()) ?"):
        retrieval = _retrieval(question, _chunk(TEXT))
        assert retrieval.terms == []
        for said_before in ((), ("The court rejected the case.",)):
            reading = reader.read(replace(retrieval, said_before=said_before))
            assert len(reading.sentences) == 3


def test_the_topic_condensing_adds_can_be_taken_off_again():
    from qa.analysis import asked_part, with_topic

    condensed = with_topic("Who runs the company?", ["Eurotunnel's", "sales"])
    assert condensed == "Who runs the company? (Eurotunnel's sales)"
    assert asked_part(condensed) == "Who runs the company?"
    assert with_topic("Why?", []) == "Why?"
    for untouched in ("Who runs it?", "What is (x) worth?", "No question (topic)", "a? (b) (c)"):
        assert asked_part(untouched) == untouched
    assert asked_part("(" * 50_000 + "?") == "(" * 50_000 + "?"


def test_condense_leaves_standalone_questions_alone():
    history = _exchange("Who is Martin Hewitt?")
    assert (
        condense("What did France promise in July?", history) == "What did France promise in July?"
    )
    assert condense("What has he expressed?", []) == "What has he expressed?"


def test_min_evidence_overrides_the_fitted_threshold_of_every_mode():
    from qa.assistant import build_reader
    from qa.config import Settings

    reader = build_reader(Settings(reader="fast", min_evidence=0.9), Analyzer())
    assert reader.threshold == 0.9
    assert (
        build_reader(Settings(reader="fast"), Analyzer()).threshold
        == READER_WEIGHTS.fast_answerable.threshold
    )


def test_previous_quotes_are_the_text_before_each_mark_of_the_last_answer():
    from qa.answer.conversation import previous_quotes

    history = _exchange(
        "Who runs it?",
        "First quoted sentence here. [1] Second quoted one, "
        "from another article. [2] Note: trailing words.",
    )
    assert previous_quotes(history) == (
        "First quoted sentence here.",
        "Second quoted one, from another article.",
    )
    refused = _exchange("Who runs it?", "The articles don't say: I found nothing in them.")
    assert previous_quotes(refused) == ()
    assert previous_quotes(history + [{"role": "user", "content": "And then?"}]) == ()


def test_touching_and_overlapping_quote_ranges_merge_and_keep_the_best_support():
    from qa.answer.answering import _merge

    assert _merge([]) == []
    assert _merge([(30, 40, 0.2), (0, 10, 0.5)]) == [(0, 10, 0.5), (30, 40, 0.2)]  # sorted
    assert _merge([(0, 10, 0.5), (10, 20, 0.9)]) == [(0, 20, 0.9)]  # touching joins
    assert _merge([(0, 10, 0.5), (11, 20, 0.9)]) == [(0, 10, 0.5), (11, 20, 0.9)]
    assert _merge([(0, 30, 0.7), (5, 12, 0.1), (25, 40, 0.3)]) == [(0, 40, 0.7)]
    assert _merge([(0, 30, 0.2), (5, 12, 0.8)]) == [(0, 30, 0.8)]  # inside: end kept


def _cited(chunk, start, end, number=1, article_id=None):
    from qa.results import Citation

    return Citation(number, article_id or chunk.article_id, chunk.title, "", "q", start, end, 1.0)


def test_the_short_answer_points_into_the_citation_that_quotes_it_only_when_sure():
    from qa.answer.answering import _short
    from qa.answer.reader import SentenceEvidence
    from qa.weights import SHORT_MIN_PROBABILITY

    chunk = replace(_chunk(TEXT), start=100, end=100 + len(TEXT))  # the chunk's offsets
    at = 100 + TEXT.index("anti-racketeering")
    phrase_end = at + len("anti-racketeering")
    passage = Passage(chunk, 1.0, 0.6, 0.5)

    def best(probability):
        return SentenceEvidence(passage, 0, 2, (0, 1), "s", {}, 0.9, (at, phrase_end, probability))

    sure, unsure = SHORT_MIN_PROBABILITY + 0.01, SHORT_MIN_PROBABILITY - 0.01
    covering = [_cited(chunk, 100, 150, number=1), _cited(chunk, at - 5, phrase_end + 5, 2)]
    short = _short(best(sure), covering)
    assert short is not None
    assert (short.text, short.start, short.end) == ("anti-racketeering", at, phrase_end)
    assert short.citation == 2 and short.probability == sure  # the citation holding it
    assert _short(best(SHORT_MIN_PROBABILITY), covering) is not None  # the bound is inclusive
    assert _short(best(unsure), covering) is None
    elsewhere = [_cited(chunk, at - 5, phrase_end + 5, 1, article_id="other")]
    assert _short(best(sure), elsewhere) is None  # another article's quote never holds it
    assert _short(best(sure), [_cited(chunk, at + 1, phrase_end + 5)]) is None  # cut off
    assert _short(best(sure), [_cited(chunk, at, phrase_end)]) is not None  # exactly
    no_phrase = SentenceEvidence(passage, 0, 2, (0, 1), "s", {}, 0.9, None)
    assert _short(no_phrase, covering) is None
