"""Asking: cited extractive answers, refusals, follow-ups and input validation."""

from __future__ import annotations

import pytest

from qa.errors import InvalidQuestion
from tests.conftest import seed_text

pytestmark = pytest.mark.slow  # the real embedding model over seeds/


def test_france_question_cites_the_taxi_boat_interception(seeded):
    answer = seeded.ask("What did France promise in July?")
    assert answer.grounded
    assert answer.citations
    quotes = " ".join(c.quote for c in answer.citations)
    assert "intercept the so-called taxi boats" in quotes
    for citation in answer.citations:
        assert f"[{citation.number}]" in answer.text
        assert citation.title == "France backs away from Channel small-boats commitment"
        assert citation.source == "BBC"


def test_every_quote_is_the_article_text_at_its_offsets(seeded):
    text = seed_text()
    for question in (
        "What did France promise in July?",
        "Who is Martin Hewitt?",
        "Why do French police rarely intervene against taxi-boats?",
    ):
        answer = seeded.ask(question)
        assert answer.grounded and answer.citations, question  # a refusal would check nothing
        for citation in answer.citations:
            assert text[citation.start : citation.end] == citation.quote
            offset = citation.passage_start
            assert text[offset : offset + len(citation.passage)] == citation.passage


@pytest.mark.parametrize(
    "question", ["What is the capital of Australia?", "Who won the 1998 football World Cup?"]
)
def test_unanswerable_questions_are_not_grounded(seeded, question):
    answer = seeded.ask(question)
    assert not answer.grounded
    assert answer.citations == []
    assert "don't say" in answer.text


def test_follow_up_uses_the_conversation(seeded):
    history = [
        {"role": "user", "content": "Who is Martin Hewitt?"},
        {"role": "assistant", "content": seeded.ask("Who is Martin Hewitt?").text},
    ]
    answer = seeded.ask("What has he expressed?", history=history)
    assert answer.question == "What has Martin Hewitt expressed?"
    assert any("expressed frustration at French delays" in c.quote for c in answer.citations)


def test_a_follow_up_reads_the_rest_of_the_article_that_named_the_person(seeded):
    """The seed article names "Bruno Retailleau" in one chunk and says "Retailleau's
    departure" in the next: that chunk is his too, and holds the answer."""
    question = "Who was the former Interior Minister credited with a tougher approach?"
    history = [
        {"role": "user", "content": question},
        {"role": "assistant", "content": seeded.ask(question).text},
    ]
    answer = seeded.ask("What happened after he left the ministry?", history=history)
    assert "Bruno Retailleau" in answer.question
    assert any(
        "seemingly stalled following Retailleau's departure" in c.quote for c in answer.citations
    )


def test_a_follow_up_stays_with_the_article_the_previous_answer_quoted(fresh, tmp_path):
    """Two look-alike stories: which one "the council" is depends on the conversation."""
    for town, budget, park in (("Northby", "£2m", "Elm Park"), ("Southby", "£5m", "Oak Park")):
        (tmp_path / f"{town}.txt").write_text(
            f"{town} council budget\n\nThe council of {town} met on Tuesday evening. "
            f"Councillors approved a budget of {budget} for new parks. "
            f"The money will go first to {park}, which reopens in spring.\n"
        )
    fresh.ingest([tmp_path])
    question = "What budget did the council approve?"
    for town, budget in (("Northby", "£2m"), ("Southby", "£5m")):
        focus = (f"The council of {town} met on Tuesday evening.",)
        top = fresh.retriever.search(question, 2, focus).passages[0]
        assert top.chunk.title == f"{town} council budget"
        history = [
            {"role": "user", "content": f"When did the {town} council meet?"},
            {"role": "assistant", "content": f"{focus[0]} [1]"},
        ]
        answer = fresh.ask(question, history=history)
        assert budget in answer.citations[0].quote


@pytest.mark.parametrize(
    "question, message",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 1001, "too long"),
        (None, "must be text"),
    ],
)
def test_bad_questions_get_clear_errors(seeded, question, message):
    with pytest.raises(InvalidQuestion, match=message):
        seeded.ask(question)


@pytest.mark.parametrize(
    "history",
    ["not a list", [{"role": "system", "content": "x"}], [{"role": "user"}], [["user", "hi"]]],
)
def test_bad_history_gets_a_clear_error(seeded, history):
    with pytest.raises(InvalidQuestion, match="history"):
        seeded.ask("Who is Martin Hewitt?", history=history)


@pytest.mark.parametrize("k", [0, 51, "3", 2.5, True])
def test_bad_k_gets_a_clear_error(seeded, k):
    with pytest.raises(InvalidQuestion, match="k must be"):
        seeded.ask("Who is Martin Hewitt?", k=k)


def test_the_same_article_under_two_ids_is_cited_once(fresh, tmp_path):
    story = (
        "Schools to take part in mock poll\n\nRecord numbers of schools across the UK are "
        "to take part in a mock general election backed by the government. Some 600 schools "
        "have already signed up for the Y Vote Mock Elections 2005.\n"
    )
    (tmp_path / "a.txt").write_text(story)
    (tmp_path / "b.txt").write_text(story)
    fresh.ingest([tmp_path])
    assert fresh.stats().articles == 2
    answer = fresh.ask("How many schools have signed up for the mock elections?")
    assert answer.grounded
    quotes = [" ".join(c.quote.split()) for c in answer.citations]
    assert len(quotes) == len(set(quotes))
    assert sum("600 schools" in q for q in quotes) == 1


def test_a_dependent_sentence_brings_the_one_before_it(seeded):
    answer = seeded.ask("When was the summit between Macron and Starmer?")
    quotes = " ".join(c.quote for c in answer.citations)
    assert "That culminated last July" in quotes
    assert "Former Interior Minister Bruno Retailleau" in quotes  # what "That" refers to
    assert quotes.index("Former Interior") < quotes.index("That culminated")


def test_an_answerer_given_to_the_assistant_answers_from_the_retrieval(tmp_path):
    """The seam: Assistant(answerer=...) swaps the answerer and nothing else."""
    from qa import Answer, Assistant
    from tests.conftest import SEEDS

    class FirstPassageAnswerer:
        def __init__(self):
            self.seen = []

        def answer(self, retrieval):
            self.seen.append(retrieval)
            top = retrieval.passages[0].chunk
            return Answer(f"{top.title} [1]", True, [], retrieval.question, 1.0, mode="test")

    answerer = FirstPassageAnswerer()
    assistant = Assistant(index_dir=tmp_path / "index", answerer=answerer)
    assistant.ingest([SEEDS])
    answer = assistant.ask("What did France promise in July?")
    assert answer.mode == "test"
    assert answer.text == "France backs away from Channel small-boats commitment [1]"
    assert answerer.seen[0].question == "What did France promise in July?"
    assert answerer.seen[0].passages


def test_the_top_articles_chunks_read_beside_it_are_its_neighbours(fresh, tmp_path):
    """A long article: the chunks read with the top one are those around it."""
    topics = [
        "harbour dredging",
        "school meals",
        "bus timetables",
        "library hours",
        "park benches",
        "street lighting",
        "recycling bins",
        "cycle lanes",
        "market stalls",
        "swimming pool",
        "museum roof",
        "town hall clock",
    ]
    paragraphs = [
        " ".join(
            f"The council discussed {topic} at length on day {n}, item {i}." for i in range(12)
        )
        for n, topic in enumerate(topics)
    ]
    (tmp_path / "minutes.txt").write_text("Council minutes\n\n" + "\n\n".join(paragraphs))
    fresh.ingest([tmp_path / "minutes.txt"])
    retrieval = fresh.retriever.search("What was said about the swimming pool?", 1)
    top, *siblings = retrieval.passages
    assert "swimming pool" in top.chunk.text
    assert siblings and all(p.sibling for p in siblings)
    chunks = sorted(
        fresh.store.article_chunks(top.chunk.article_id, 200).values(), key=lambda c: c[0].start
    )
    assert len(chunks) > 6  # long enough for "first chunks" and "neighbours" to differ
    order = [c.id for c, _ in chunks]
    at = order.index(top.chunk.id)
    assert {order.index(p.chunk.id) for p in siblings} <= set(range(at - 2, at + 3))


def test_retrieved_documents_carry_the_chunk_text_once(seeded):
    """(The count of documents for ``k`` is langchain-tests' job: test_langchain_conformance.)"""
    for document in seeded.retriever.invoke("What did France promise in July?", k=3):
        assert document.page_content and "text" not in document.metadata
        assert document.metadata["article_id"] and document.id


def test_an_answer_from_a_pdf_says_which_page_it_quotes(fresh, tmp_path):
    from tests.test_articles import _pdf

    pages = [
        "Harbour works report. The harbour board met in March to plan the works.",
        "The repairs to the north pier will cost 4.2 million pounds and finish in June.",
    ]
    (tmp_path / "harbour.pdf").write_bytes(_pdf(pages, title="Harbour works report"))
    assert fresh.ingest([tmp_path / "harbour.pdf"]).added
    answer = fresh.ask("How much will the north pier repairs cost?")
    assert answer.grounded and "4.2 million" in answer.citations[0].quote
    assert answer.citations[0].page == 2
    assert answer.to_dict()["citations"][0]["page"] == 2


_PIER = "The repairs to the north pier will cost 4.2 million pounds and finish in June."


def _pier_files(tmp_path):
    from tests.test_articles import _pdf

    lead = "Harbour works report"
    html = (
        f"<html><head><title>{lead}</title></head><body><nav>Home | News</nav>"
        f"<h1>{lead}</h1><p>The harbour board met in M&auml;rz &amp; March.</p>"
        f"<p>{_PIER}</p><footer>&copy; Gazette</footer></body></html>"
    )
    return {
        "pdf": ("harbour.pdf", _pdf([f"{lead}. The board met in March.", _PIER], title=lead)),
        "html": ("harbour.html", html.encode("utf-8")),
        "cp1252": (
            "harbour.txt",
            f"{lead}\n\nThe board’s café meeting – in March – agreed. {_PIER}\n".encode("cp1252"),
        ),
        "crlf": ("harbour.txt", f"{lead}\r\n\r\nThe board met in March.\r\n{_PIER}\r\n".encode()),
    }


@pytest.mark.parametrize("kind", ["pdf", "html", "cp1252", "crlf"])
def test_quotes_are_the_stored_articles_text_at_their_offsets_in_every_format(
    kind, fresh, tmp_path
):
    """Not a substring somewhere: text[start:end] of the article as the index holds it,
    and the quote reads as the file said it."""
    name, data = _pier_files(tmp_path)[kind]
    (tmp_path / name).write_bytes(data)
    report = fresh.ingest([tmp_path / name])
    assert report.added and not report.failed
    answer = fresh.ask("How much will the north pier repairs cost?")
    assert answer.grounded and answer.citations
    for citation in answer.citations:
        _, text = fresh.article_text(citation.article_id)
        assert text[citation.start : citation.end] == citation.quote
        passage_end = citation.passage_start + len(citation.passage)
        assert text[citation.passage_start : passage_end] == citation.passage
    assert _PIER in answer.citations[0].quote
    if kind == "cp1252":  # read as cp1252, not latin-1: the quotes and dashes survive
        _, text = fresh.article_text(answer.citations[0].article_id)
        assert "The board’s café meeting – in March – agreed." in text


def test_the_runnable_is_the_ask_path_with_its_inputs_checked(seeded):
    """`as_runnable()` for LangChain pipelines: the same answer as ask(), the same
    checks on its inputs, and LangChain's own batch and stream."""
    from qa.errors import InvalidQuestion

    chain = seeded.as_runnable()
    question = "What did France promise in July?"
    answer = chain.invoke({"question": question})
    assert answer == seeded.ask(question)
    assert [a.text for a in chain.batch([{"question": question}] * 2)] == [answer.text] * 2
    events = list(chain.stream({"question": question, "k": 4}))
    assert events[-1]["event"] == "answer" and events[-1]["answer"].text == answer.text
    for bad, says in (
        ({"question": "why " * 300}, "too long"),
        ({"question": "   "}, "empty"),
        ({"question": question, "k": 0}, "k must be"),
        ({"question": question, "history": "no"}, "history must be a list"),
        ({"question": question, "top": 3}, "unknown inputs: top"),
        ("just a string", "give {"),
    ):
        with pytest.raises(InvalidQuestion, match=says):
            chain.invoke(bad)
