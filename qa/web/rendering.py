"""HTML for an answer in the chat: escaped text, [n] marks, collapsible sources.

Mark n and source n share the class suffix ``-n`` (the chat's sanitizer
keeps classes but drops ``data-`` attributes), which the UI's script uses to
open a source when its mark is clicked. A mark is a link, so Tab reaches it
and Enter opens its source like a click.

Article text and questions are untrusted, so every piece of them is escaped
here before it is wrapped in the few tags we add ourselves; the chat then
shows ``<script>`` in an article as the text it is.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any
from urllib.parse import quote as url_quote

from qa.results import Answer, Citation

_MARK = re.compile(r"\[(\d+)\]")
CONTEXT_CHARS = 160


def answer_html(answer: Answer) -> str:
    """The answer text with clickable marks, then one collapsible source per citation."""
    body = _MARK.sub(
        r'<sup><a class="qa-cite qa-cite-\1" href="#qa-source-\1" role="button"'
        r' aria-label="source \1">[\1]</a></sup>',
        _bold_short(answer),
    )
    notice = f'<p class="qa-notice">Note: {escape(answer.notice)}</p>' if answer.notice else ""
    if not answer.citations:
        return f'<p class="qa-answer qa-refusal">{body}</p>{notice}'
    sources = "".join(source_html(c) for c in answer.citations)
    return (
        f'<p class="qa-answer">{body}</p>{notice}'
        f'<div class="qa-sources"><p class="qa-sources-label">Sources</p>{sources}</div>'
    )


def _bold_short(answer: Answer) -> str:
    """The escaped answer text, its short answer (when there is one) in bold."""
    text = escape(answer.text)
    if not answer.short:
        return text
    phrase = escape(" ".join(answer.short.text.split()))
    at = text.find(phrase)
    if not phrase or at < 0:
        return text
    end = at + len(phrase)
    return f'{text[:at]}<strong class="qa-short">{phrase}</strong>{text[end:]}'


def transcript_markdown(turns: list[dict[str, Any]]) -> str:
    """A conversation as Markdown: each question, its answer, and its sources quoted.

    ``turns`` are ``{"question": str, "answer": Answer.to_dict()}``, oldest first.
    """
    lines = ["# Article QA conversation", ""]
    for turn in turns:
        answer = turn["answer"]
        lines += [f"## {_md(turn['question'])}", "", _md(answer["text"]), ""]
        for c in answer["citations"]:
            about = ", ".join(x for x in (c["source"], c["published"]) if x)
            page = f", page {c['page']}" if c.get("page") else ""
            where = f" ({_md(about)}{page})" if about or page else ""
            link = (
                f" <{c['url']}>"
                if str(c.get("url", "")).startswith(("http://", "https://"))
                else ""
            )
            lines.append(f"[{c['number']}] {_md(c['title'])}{where}{link}")
            lines.append(f"> {_md(' '.join(c['quote'].split()))}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def transcript_json(turns: list[dict[str, Any]]) -> str:
    """The same conversation as JSON: every answer with its citations and offsets."""
    return json.dumps({"conversation": turns}, indent=2, ensure_ascii=False)


def _md(text: str) -> str:
    """Article text as Markdown text, not markup: its own *, #, [ and < are escaped."""
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)


def source_html(citation: Citation) -> str:
    """Title, source and the passage with the cited words highlighted."""
    origin = f" — {escape(citation.source)}" if citation.source else ""
    published = f", {escape(citation.published)}" if citation.published else ""
    page = f", page {citation.page}" if citation.page else ""
    if citation.url.startswith(("http://", "https://")):
        link = (
            f' <a href="{escape(citation.url, quote=True)}" target="_blank" rel="noopener">link</a>'
        )
    else:  # no page of its own: this server shows the whole article, the quote marked
        where = url_quote(citation.article_id, safe="")
        link = (
            f' <a class="qa-article-link" href="articles/{where}?start={citation.start}'
            f'&amp;end={citation.end}" target="_blank" rel="noopener">whole article</a>'
        )
    before, quote, after = passage_parts(citation)
    return (
        f'<details class="qa-source qa-source-{citation.number}">'
        f"<summary>[{citation.number}] {escape(citation.title)}{origin}{published}{page}</summary>"
        f"<blockquote>{_text(before)}<mark>{_text(quote)}</mark>{_text(after)}</blockquote>"
        f"{link}</details>"
    )


def _text(text: str) -> str:
    """Escaped, with line breaks as <br>: a blank line would end the HTML block and
    let the chat's Markdown renderer split a highlight across paragraphs."""
    return escape(text).replace("\n", "<br>")


def article_page(title: str, about: str, text: str, start: int, end: int) -> str:
    """A standalone HTML page with the whole article, the quoted words marked and
    scrolled to. Everything from the article is escaped."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    body = (
        _paragraphs(text[:start])
        + '<mark id="quote">'
        + _text(text[start:end])
        + "</mark>"
        + _paragraphs(text[end:])
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;"
        "line-height:1.55;color:#1f2933}mark{background:#fde68a;color:#111}"
        "p.about{color:#4b5563}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="about">{escape(about)}</p>'
        f'<div class="article">{body}</div>'
        "<script>document.getElementById('quote').scrollIntoView({block:'center'})</script>"
        "</body></html>"
    )


def _paragraphs(text: str) -> str:
    """Escaped text whose blank lines show as paragraph breaks."""
    return escape(text).replace("\n\n", "<br><br>").replace("\n", "<br>")


def passage_parts(citation: Citation) -> tuple[str, str, str]:
    """The passage split around the quote, trimmed to a readable window."""
    offset = citation.start - citation.passage_start
    passage = citation.passage
    if (
        not passage
        or not 0 <= offset <= len(passage)
        or passage[offset : offset + len(citation.quote)] != citation.quote
    ):
        return "", citation.quote, ""  # the quote lies outside the passage (a lead sentence)
    before = passage[:offset]
    after = passage[offset + len(citation.quote) :]
    if len(before) > CONTEXT_CHARS:
        before = "…" + before[-CONTEXT_CHARS:].split(" ", 1)[-1]
    if len(after) > CONTEXT_CHARS:
        after = after[:CONTEXT_CHARS].rsplit(" ", 1)[0] + "…"
    return before, citation.quote, after
