"""The chat's HTML and its upload switch, checked without a browser."""

from __future__ import annotations

import gradio as gr
import pytest

from qa import Assistant
from qa.results import Answer, Citation
from qa.web.rendering import answer_html
from tests.conftest import SEED_ARTICLE

pytestmark = pytest.mark.slow  # the real model behind the Gradio app


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


def test_upload_panel_only_when_enabled(tmp_path):
    closed = Assistant(index_dir=tmp_path / "a", allow_uploads=False)
    opened = Assistant(index_dir=tmp_path / "b", allow_uploads=True)
    from qa.web.ui import build_ui

    assert "file" not in _component_types(build_ui(closed))
    assert "file" in _component_types(build_ui(opened))


def test_upload_adds_articles_answerable_at_once(tmp_path):
    assistant = Assistant(index_dir=tmp_path / "index", allow_uploads=True)
    report = assistant.add_documents(
        [(SEED_ARTICLE.name, SEED_ARTICLE.read_bytes()), ("notes.xlsx", b"PK\x03\x04")]
    )
    assert len(report.added) == 1
    assert report.failed[0].reason.startswith("unsupported file type .xlsx")
    assert assistant.ask("What did France promise in July?").grounded


def test_a_question_over_the_limit_is_explained_and_kept_in_the_box(tmp_path):
    from qa.web.ui import _respond

    assistant = Assistant(index_dir=tmp_path / "index")
    long_question = "Why " + "very " * 240 + "long?"
    *_, (shown, history, box, turns) = _respond(assistant)(long_question, [], [])
    assert "too long (1,209 characters; the limit is 1,000)" in shown[-1]["content"]
    assert box == long_question and history == [] and turns == []
