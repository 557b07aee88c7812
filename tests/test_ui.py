"""The chat's HTML, its first screen and its upload switch, checked without a browser."""

from __future__ import annotations

import gradio as gr
import pytest

from qa import Assistant
from qa.index.catalog import ArticleInfo
from qa.index.store import IndexStats
from qa.results import Answer, Citation
from qa.web.first_screen import (
    StarterQuestions,
    candidate_questions,
    placeholder,
    questions_from,
    why_question,
)
from qa.web.rendering import answer_html
from tests.conftest import SEED_ARTICLE, seed_text

slow = pytest.mark.slow  # the real model behind the Gradio app


def _citation(**fields) -> Citation:
    base = dict(
        number=1,
        article_id="a",
        title="T",
        source="S",
        quote="Q.",
        start=6,
        end=8,
        score=0.9,
        passage="Intro. Q. Outro.",
        passage_start=0,
    )
    return Citation(**{**base, **fields})


def test_untrusted_text_is_escaped_everywhere():
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    answer = Answer(
        text=f"{evil} [1]",
        grounded=True,
        citations=[
            _citation(
                title=evil,
                source=evil,
                quote="Q.",
                passage=f"{evil} Q. end",
                start=len(evil) + 1,
                end=len(evil) + 3,
            )
        ],
    )
    html = answer_html(answer)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert "<mark>Q.</mark>" in html
    assert '<a class="qa-cite qa-cite-1" href="#qa-source-1"' in html
    assert 'class="qa-source qa-source-1"' in html


def test_passage_keeps_no_blank_lines_and_links_only_http():
    html = answer_html(
        Answer(
            "Q. [1]",
            True,
            [
                _citation(
                    passage="Intro.\n\nQ.\n\nOutro.", start=8, end=10, url="javascript:alert(1)"
                )
            ],
        )
    )
    assert "\n\n" not in html
    assert "javascript:" not in html
    # no page of its own: the link goes to this server's whole-article view, id escaped
    odd = answer_html(Answer("Q. [1]", True, [_citation(article_id='a"b/c?d', start=6, end=8)]))
    assert 'href="articles/a%22b%2Fc%3Fd?start=6&amp;end=8"' in odd


def test_refusal_has_no_sources():
    html = answer_html(Answer("The articles don't say.", False, []))
    assert "qa-sources" not in html and "qa-refusal" in html


def _component_types(demo: gr.Blocks) -> set[str]:
    return {block.get_block_name() for block in demo.blocks.values()}


@slow
def test_upload_panel_only_when_enabled(tmp_path):
    closed = Assistant(index_dir=tmp_path / "a", allow_uploads=False)
    opened = Assistant(index_dir=tmp_path / "b", allow_uploads=True)
    from qa.web.ui import build_ui

    assert "file" not in _component_types(build_ui(closed))
    assert "file" in _component_types(build_ui(opened))


@slow
def test_upload_adds_articles_answerable_at_once(tmp_path):
    assistant = Assistant(index_dir=tmp_path / "index", allow_uploads=True)
    report = assistant.add_documents(
        [(SEED_ARTICLE.name, SEED_ARTICLE.read_bytes()), ("notes.xlsx", b"PK\x03\x04")]
    )
    assert len(report.added) == 1
    assert report.failed[0].reason.startswith("unsupported file type .xlsx")
    assert assistant.ask("What did France promise in July?").grounded


@slow
def test_a_question_over_the_limit_is_explained_and_kept_in_the_box(tmp_path):
    from qa.web.ui import _Collections, _respond

    assistant = Assistant(index_dir=tmp_path / "index")
    long_question = "Why " + "very " * 240 + "long?"
    respond = _respond(_Collections(assistant, None))
    *_, (shown, history, box, turns) = respond(long_question, [], [])
    assert "too long (1,209 characters; the limit is 1,000)" in shown[-1]["content"]
    assert box == long_question and history == [] and turns == []


# The first screen ---------------------------------------------------------------------
# Three short stories of two papers, newest first (as ``Assistant.articles`` lists them).
STORIES = [
    (
        "ferry",
        "Harbour Gazette",
        "The ferry strike in Calais has ended after the unions accepted a 4% pay rise. "
        "Port director Anne Morel said crossings would resume on Wednesday. "
        "Mrs Morel thanked passengers for their patience.",
    ),
    (
        "library",
        "Valley Courier",
        "The city library will stay open until 10pm on Fridays from next month, the "
        "council has said. Head librarian Tom Price said students had asked for it.",
    ),
    (
        "dredging",
        "Harbour Gazette",
        "Dredging of the old harbour has been approved by the regional council.",
    ),
]


def _stories() -> list[tuple[ArticleInfo, str]]:
    return [
        (ArticleInfo(id, id.title(), source, "", f"2026-03-0{3 - n}", 1, "upload"), text)
        for n, (id, source, text) in enumerate(STORIES)
    ]


def test_example_questions_are_written_from_the_articles_leads():
    """Each question comes from an article's own sentences: the lead with its subject
    and auxiliary swapped (the reason it gives left for the answer), and the people
    it introduces."""
    assert questions_from(STORIES[0][2]) == [
        "Why has the ferry strike in Calais ended?",
        "Who is Anne Morel?",  # a role, then "Mrs Morel": a person
    ]
    assert questions_from(seed_text())[:2] == [
        "Why is France backing away from a recent commitment to intervene more forcefully at sea?",
        "Who is Martin Hewitt?",  # set off by commas: "..., Martin Hewitt, has ..."
    ]
    # a name keeps its capital, a common word loses it; an aside is cut off
    assert (
        why_question("Qantas has posted a record profit thanks to cost-cutting.", "Qantas")
        == "Why has Qantas posted a record profit?"
    )
    for no_shape in (
        "There is evidence that France is to blame.",  # leans on no subject
        "He has said so before.",  # leans on the sentence before
        "Real Madrid midfielder David Beckham has no plans to manage.",  # "has": a verb
        "Why is the game so popular?",  # the article's own question
    ):
        assert why_question(no_shape) is None, no_shape


def test_examples_take_turns_across_sources_and_articles():
    """Newest first, one source after another, one question per article before any
    article's second: three examples rarely tell one story."""
    first = candidate_questions(_stories())
    assert [c.article_id for c in first[:3]] == ["ferry", "library", "dredging"]
    assert first[0].question == "Why has the ferry strike in Calais ended?"
    assert first[1].question.startswith("Why will the city library stay open until 10pm")
    assert len(candidate_questions(_stories(), limit=2)) == 2


def _answers(grounded_in: dict[str, str]):
    """A stand-in for ``Assistant.ask``: grounded in the article named for the question's
    first matching word, a refusal otherwise; every question asked is recorded."""
    asked: list[str] = []

    def ask(question: str) -> Answer:
        asked.append(question)
        for word, article_id in grounded_in.items():
            if word in question:
                return Answer("A. [1]", True, [_citation(article_id=article_id)])
        return Answer("The articles don't say.", False, [])

    return ask, asked


def test_only_questions_answered_from_their_article_are_shown_once_per_revision():
    revision = [1]
    ask, asked = _answers({"ferry": "ferry", "Morel": "ferry", "library": "dredging"})
    starters = StarterQuestions(ask, lambda count: _stories()[:count], lambda: revision[0])
    assert starters.ready() is None  # not worked out yet: the page shows the heading first
    shown = starters.questions()
    # refused (dredging), or answered from another article than its own (library): not shown
    assert shown == ["Why has the ferry strike in Calais ended?", "Who is Anne Morel?"]
    tried = len(asked)
    assert starters.questions() == shown and starters.ready() == shown
    assert len(asked) == tried  # the next page load asks nothing
    revision[0] = 2  # an upload or removal
    assert starters.ready() is None
    starters.questions()
    assert len(asked) == 2 * tried


def test_the_asks_spent_on_examples_are_bounded():
    ask, asked = _answers({})  # everything refused
    many = [
        (
            ArticleInfo(f"a{n}", "T", f"Paper {n}", "", "", 1, "upload"),
            f"The strike at pier {n} has ended after a pay rise.",
        )
        for n in range(20)
    ]
    starters = StarterQuestions(ask, lambda count: many[:count], lambda: 1, tried=5)
    assert starters.questions() == [] and len(asked) == 5


def _stats(articles: int, chunks: int) -> IndexStats:
    return IndexStats(articles, chunks, 0, "model", "index", 1)


def test_the_first_screen_names_the_collection_and_its_size():
    assert placeholder("default", _stats(2, 14), ["Q?"]).startswith(
        "**default** · 2 articles, 14 passages\n\n"
    )
    assert placeholder("legal_memos", _stats(1, 1), []).startswith(
        "**legal\\_memos** · 1 article, 1 passage"  # Markdown shows the name as it is
    )
    assert "No articles yet" in placeholder("default", _stats(0, 0), None)
    assert "Finding questions" in placeholder("default", _stats(2, 14), None)


@slow
def test_the_seed_collections_examples_are_all_answered(seeded):
    """What a newcomer clicks on the seed collection gets a cited answer, every time."""
    from qa.web.ui import _Collections, _first_screen

    *_, update = _first_screen(_Collections(seeded, None))(None)
    examples = [e["text"] for e in update["examples"]]
    assert len(examples) == 3 and "**default** · 1 article" in update["placeholder"]
    for question in examples:
        answer = seeded.ask(question)
        assert answer.grounded and answer.citations, question


@slow
def test_an_empty_collection_says_so_instead_of_examples(fresh):
    from qa.web.ui import _Collections, _first_screen

    (update,) = _first_screen(_Collections(fresh, None))(None)
    assert update["examples"] is None
    assert "No articles yet" in update["placeholder"]
