"""The Gradio chat: a thin front end over ``Assistant``.

The conversation the engine sees is kept apart from what the chat displays
(escaped HTML with sources), so follow-ups are condensed from the reader's
own words. The upload panel is built only when uploads are enabled: a widget
embedded for every reader on an intranet must not let them change the corpus.
The documented API for ``gradio_client`` is ``/ask``.
"""

from __future__ import annotations

from qa.offline import go_offline

go_offline()  # this module loads Gradio, which reads its switches when imported

import tempfile  # noqa: E402
from html import escape  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable, Iterator  # noqa: E402

import gradio as gr  # noqa: E402

from qa.access import Gate, Scope  # noqa: E402
from qa.analysis import written_sentences  # noqa: E402
from qa.assistant import SUPPORTED_SUFFIXES, ArticleInfo, Assistant, IndexStats  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.results import Answer  # noqa: E402
from qa.web.first_screen import StarterQuestions, placeholder  # noqa: E402
from qa.web.jobs import JobQueue  # noqa: E402
from qa.web.rendering import answer_html, transcript_json, transcript_markdown  # noqa: E402

UPLOAD_TYPES = list(SUPPORTED_SUFFIXES)  # the loader's own list
STREAM_STEP_WORDS = 6
# Gradio keeps uploaded files in its cache: check hourly, delete those over an hour old.
UPLOAD_CACHE = (3600, 3600)

CSS = """
.qa-cite { cursor: pointer; color: #3730a3; font-weight: 600; text-decoration: none; }
.dark .qa-cite { color: #c7d2fe; }
.qa-cite:focus-visible { outline: 2px solid #3730a3; outline-offset: 1px; }
.qa-sources { margin-top: .6em; padding-top: .4em;
              border-top: 1px solid var(--border-color-primary); }
.qa-sources-label { font-size: .85em; margin: 0 0 .2em 0; }
#qa-chat .qa-sources-label, #qa-chat .qa-notice { color: #4b5563 !important; }
/* the panel layout dims answers to 0.8 opacity: grey text then fails WCAG AA contrast */
#qa-chat .chatbot.prose { opacity: 1 !important; }
.dark #qa-chat .qa-sources-label, .dark #qa-chat .qa-notice { color: #d1d5db !important; }
.qa-source summary { cursor: pointer; font-weight: 600; }
.qa-source blockquote { margin: .4em 0 .6em 0; padding-left: .8em; font-size: .92em; }
.qa-source mark { background: #fde68a; color: #111; padding: 0 .1em; }
.qa-refusal { font-style: italic; }
.qa-notice { font-size: .85em; margin: .2em 0; }
#qa-chat { min-height: 420px; }
/* the first screen: the collection above its example questions, which look clickable */
#qa-chat .placeholder-content .placeholder { justify-content: flex-start; flex-grow: 0;
  height: auto; padding: var(--spacing-lg) var(--spacing-xxl) 0; }
#qa-chat .placeholder-content .examples { margin: 0; padding-top: var(--spacing-md); }
#qa-chat .placeholder-content button.example { border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); }
#qa-chat .placeholder-content button.example:hover { border-color: #3730a3; }
#qa-chat .placeholder-content button.example:focus-visible { outline: 2px solid #3730a3; }
.dark #qa-chat .placeholder-content button.example:hover { border-color: #c7d2fe; }
.qa-article-list { max-height: 320px; overflow-y: auto; font-size: .88em; }
.qa-article-list table { width: 100%; border-collapse: collapse; }
.qa-article-list th, .qa-article-list td { text-align: left; padding: .2em .3em;
  border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
@media (max-width: 640px) {
  .qa-source blockquote { padding-left: .5em; margin-left: 0; }
  .gradio-container { padding-left: 4px !important; padding-right: 4px !important; }
}
"""

# After each answer: the newest question at the top of the conversation, so it and
# the start of its answer are in view even when the reader had scrolled up to open
# a source (the chat stops following new messages then). Only the conversation
# scrolls, never the page around it.
SHOW_NEWEST = """
() => {
  const chat = document.querySelector("#qa-chat");
  const rows = chat ? chat.querySelectorAll(".message-row.user-row") : [];
  const newest = rows[rows.length - 1];
  if (!newest) return;
  for (let box = newest.parentElement; box && box !== chat.parentElement; box = box.parentElement) {
    if (box.scrollHeight > box.clientHeight + 1 && getComputedStyle(box).overflowY !== "visible") {
      box.scrollTop += newest.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
      return;
    }
  }
}
"""

# Runs once when the app loads, in the full page and in the web component alike:
# clicking a [n] mark opens (and scrolls to) source n of the same answer, and the
# example questions are announced as a group. The question box gets the focus
# without scrolling, and only in the full page: an intranet page that embeds the
# chat (<gradio-app src=...>) must not move.
JS = """
() => {
  if (!document.querySelector("gradio-app[src]")) {
    const focusBox = () => {
      const box = document.querySelector("#qa-question textarea, #qa-question input");
      if (box) box.focus({preventScroll: true}); else setTimeout(focusBox, 200);
    };
    focusBox();
  }
  document.addEventListener("click", (event) => {
    const target = event.composedPath ? event.composedPath()[0] : event.target;
    const mark = target && target.closest ? target.closest(".qa-cite") : null;
    const whole = target && target.closest ? target.closest(".qa-article-link") : null;
    if (whole) {  // the article page is the app's, also when embedded in another page
      event.preventDefault();
      const app = document.querySelector("gradio-app[src]");
      const root = app ? new URL(app.getAttribute("src"), location.href)
                       : new URL(".", location.href);
      window.open(new URL(whole.getAttribute("href"), root).href, "_blank", "noopener");
      return;
    }
    if (!mark) return;
    event.preventDefault();  // a link for the keyboard; never navigate
    const number = [...mark.classList].find((c) => /^qa-cite-\\d+$/.test(c)).slice(8);
    for (let node = mark.parentElement; node; node = node.parentElement) {
      const source = node.querySelector(`.qa-source-${number}`);
      if (source) {
        source.open = true;
        source.scrollIntoView({block: "nearest", behavior: "smooth"});
        return;
      }
    }
  });
  // Gradio marks the empty chat's example buttons up as role=list, which holds no
  // list items (axe: aria-required-children): a labelled group is what they are.
  const groupExamples = () => {
    for (const list of document.querySelectorAll("#qa-chat .examples[role=list]")) {
      list.setAttribute("role", "group");
      list.setAttribute("aria-label", "Example questions");
    }
  };
  new MutationObserver(groupExamples).observe(document.body, {childList: true, subtree: true});
  groupExamples();
  document.documentElement.dataset.qaLoaded = "true";  // for tests: this has run
}
"""


def theme() -> gr.themes.Base:
    """Gradio's Soft theme one shade darker where it writes in its indigo-500: white
    on it, and it on the light panels, measure 4.46:1, under WCAG AA's 4.5:1
    (axe-core in tests/test_browser.py)."""
    return gr.themes.Soft().set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_border_color="*primary_700",
        block_label_text_color="*primary_700",
        block_title_text_color="*primary_700",
    )


class _Collections:
    """The collection each chat request is in (the page's ``?collection=``, else the
    server's), and whether its caller may read it (``qa.access``: the same rules as
    the REST API; without a gate, as in tests of the UI alone, everything is read)."""

    def __init__(self, assistant: Assistant, gate: Gate | None) -> None:
        self.assistant, self.gate = assistant, gate
        self._starters: dict[str, StarterQuestions] = {}

    def reader(self, request: gr.Request | None) -> Assistant:
        """The assistant in the request's collection; ``Forbidden`` when not readable."""
        if request is None or self.gate is None:
            return self.assistant
        name = _asked_collection(request, self.assistant.collection)
        return self.gate.reader(self.assistant, self._scope(request), name)

    def writer(self, request: gr.Request | None) -> Assistant:
        """For the upload panel: a public collection as before (uploads are on for
        the page's readers); a private one only with a scope that may write it."""
        view = self.reader(request)
        if request is None or self.gate is None:
            return view
        private = {c.name for c in view.collections() if c.private}
        if view.collection in private:
            return self.gate.writer(self.assistant, self._scope(request), view.collection)
        return view

    def starters(self, view: Assistant) -> StarterQuestions:
        found = self._starters.get(view.collection)
        if found is None:
            found = self._starters.setdefault(view.collection, starter_questions(view))
        return found

    def _scope(self, request: gr.Request) -> Scope:
        client = getattr(request, "client", None)
        return self.gate.scope(request.headers, client.host if client else None)  # type: ignore[union-attr]


def _asked_collection(request: gr.Request, default: str) -> str:
    params = getattr(request, "query_params", None) or {}
    return str(params.get("collection") or default)[:100]


def build_ui(
    assistant: Assistant, jobs: JobQueue | None = None, gate: Gate | None = None
) -> gr.Blocks:
    """The chat page: conversation, index panel and (optionally) upload.

    The empty conversation is the first screen: the collection's name and size,
    and example questions drawn from its own articles (``qa.web.first_screen``),
    where a newcomer looks first, at any width; clicking one asks it.
    Uploads run as jobs on ``jobs`` (the server's one writer queue), so the chat
    and the REST API never write at the same time and never hold up an ask.
    """
    collections = _Collections(assistant, gate)
    with gr.Blocks(title="Article QA", fill_height=True, delete_cache=UPLOAD_CACHE) as demo:
        gr.Markdown(
            "## Article QA\nAsk about the news articles. Every answer cites the "
            "passages it comes from; click a [n] mark to open its source."
        )
        history = gr.State([])
        transcript = gr.State([])  # every answer with its citations, for the exports
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    elem_id="qa-chat",
                    label="Conversation",
                    show_label=False,
                    height=600,
                    layout="panel",
                    buttons=["copy", "copy_all"],
                    sanitize_html=True,
                    placeholder="Ask a question about the articles.",
                    examples=None,  # filled in at page load (``first_screen``)
                )
                question = gr.Textbox(
                    placeholder="Ask about the articles…",
                    show_label=False,
                    lines=1,
                    max_lines=4,
                    elem_id="qa-question",
                )
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", scale=3)
                    clear = gr.Button("New conversation", scale=1)
                with gr.Row():
                    export_md = gr.DownloadButton(
                        "Export (Markdown)", size="sm", interactive=False, elem_id="qa-export-md"
                    )
                    export_json = gr.DownloadButton(
                        "Export (JSON)", size="sm", interactive=False, elem_id="qa-export-json"
                    )
                with gr.Accordion("Narrow the search", open=False, elem_id="qa-filters"):
                    with gr.Row():
                        source, category = (
                            gr.Dropdown(
                                label=label,
                                choices=[],
                                value=None,
                                min_width=120,
                                elem_id=f"qa-filter-{label.lower()}",
                            )
                            for label in ("Source", "Category")
                        )
                        since, until = (
                            gr.Textbox(
                                label=label,
                                placeholder="YYYY-MM-DD",
                                min_width=110,
                                elem_id=f"qa-filter-{name}",
                            )
                            for label, name in (("From", "since"), ("To", "until"))
                        )
            with gr.Column(scale=1, min_width=240):
                with gr.Accordion("Index", open=False):
                    stats = gr.Markdown("")
                    writes = jobs or JobQueue()
                    list_articles, listed = _articles_panel(collections, writes, stats)
                    if assistant.settings.allow_uploads:
                        _upload_panel(collections, writes, stats)
        # an example in the empty chat is asked as if typed in the box and sent
        picked = chatbot.example_select(
            _picked_example, outputs=question, api_visibility="private", show_progress="hidden"
        )
        for trigger in (question.submit, send.click, picked.then):
            # no max_length on the box: it would cut a long question silently; the
            # answer says it is too long and what the limit is instead
            trigger(
                _respond(collections),
                inputs=[question, chatbot, history, transcript, source, category, since, until],
                outputs=[chatbot, history, question, transcript],
                api_visibility="private",
            ).then(None, js=SHOW_NEWEST, api_visibility="private").then(
                _exports,
                inputs=transcript,
                outputs=[export_md, export_json],
                api_visibility="private",
            )
        clear.click(
            lambda: ([], [], "", [], *_exports([])),
            outputs=[chatbot, history, question, transcript, export_md, export_json],
            api_visibility="private",
        )
        demo.load(_stats_for(collections), outputs=stats, api_visibility="private")
        for refresh in (demo.load, stats.change):  # at start, and after an upload or removal
            # first, and without a spinner: the examples below wait for a few asks, and
            # a spinner over the filters would block them that long (30 s on a busy box)
            refresh(
                _filter_choices(collections),
                outputs=[source, category],
                api_visibility="private",
                show_progress="hidden",
            )
        for refresh in (demo.load, stats.change):  # after an upload or removal, too
            refresh(
                _first_screen(collections),
                outputs=chatbot,
                api_visibility="private",
                show_progress="hidden",  # the pane stays usable while examples are found
            )
        demo.load(list_articles, outputs=listed, api_visibility="private")
        gr.api(
            _api_ask(collections),
            api_name="ask",
            api_description="Answer a question with citations, as JSON.",
        )
        gr.api(
            _api_ask_stream(collections),
            api_name="ask_stream",
            api_description="The same, streamed: partial text while a model writes, "
            "then the answer JSON.",
        )
    return demo


def starter_questions(assistant: Assistant) -> StarterQuestions:
    """The example questions of ``assistant``'s collection, checked by asking them."""
    return StarterQuestions(
        ask=assistant.ask,
        articles=lambda count: _newest_articles(assistant, count),
        revision=assistant.store.revision,
    )


def _first_screen(collections: _Collections) -> Callable[..., Iterator[Any]]:
    """The empty chat's heading and examples: the heading at once, the examples
    when worked out (the first page load after a change to the index waits for
    a few asks; the others find them ready). A collection the caller may not
    read gets that said in the pane, and nothing of it."""
    counted: dict[str, tuple[int, IndexStats]] = {}  # sizes, counted once per revision

    def first_screen(request: gr.Request) -> Iterator[Any]:
        try:
            assistant = collections.reader(request)
        except QAError as exc:
            yield gr.update(placeholder=f"⚠️ {escape(str(exc))}", examples=None)
            return
        revision = assistant.store.revision()
        name = assistant.collection
        if name not in counted or counted[name][0] != revision:
            counted[name] = (revision, assistant.stats())
        stats = counted[name][1]
        starters = collections.starters(assistant)
        examples = starters.ready() if stats.articles else []
        yield _chat_start(name, stats, examples)
        if examples is None:
            yield _chat_start(name, stats, starters.questions())

    return first_screen


def _chat_start(name: str, stats: IndexStats, examples: list[str] | None) -> Any:
    return gr.update(
        placeholder=placeholder(name, stats, examples),
        examples=[{"text": q} for q in examples] if examples else None,
    )


def _picked_example(example: gr.SelectData) -> str:
    return str(example.value["text"])


def _newest_articles(assistant: Assistant, count: int) -> list[tuple[ArticleInfo, str]]:
    """The newest ``count`` articles with their text (one removed meanwhile is skipped)."""
    found = []
    for info in assistant.articles(0, count).articles:
        try:
            found.append(assistant.article_text(info.id))
        except QAError:
            continue
    return found


def _exports(turns: list[dict[str, Any]]) -> tuple[Any, Any]:
    """The conversation written as Markdown and as JSON, for the two download buttons."""
    if not turns:
        return (gr.update(value=None, interactive=False), gr.update(value=None, interactive=False))
    folder = Path(tempfile.mkdtemp(prefix="qa-export-"))
    markdown, data = folder / "conversation.md", folder / "conversation.json"
    markdown.write_text(transcript_markdown(turns), encoding="utf-8")
    data.write_text(transcript_json(turns), encoding="utf-8")
    return (
        gr.update(value=str(markdown), interactive=True),
        gr.update(value=str(data), interactive=True),
    )


def _respond(collections: _Collections):
    def respond(
        message: str,
        chat: list[dict],
        history: list[dict],
        transcript: list[dict] | None = None,
        source: str | None = None,
        category: str | None = None,
        since: str | None = None,
        until: str | None = None,
        request: gr.Request = None,  # type: ignore[assignment]  # Gradio passes it
    ) -> Iterator[tuple]:
        filters = {
            "source": source or "",
            "category": category or "",
            "since": (since or "").strip(),
            "until": (until or "").strip(),
        }
        turns = list(transcript or [])
        question = (message or "").strip()
        if not question:
            yield chat, history, message, turns
            return
        shown = chat + [
            {"role": "user", "content": escape(question)},
            {"role": "assistant", "content": "…"},
        ]
        yield shown, history, "", turns
        try:
            assistant = collections.reader(request)
            answer: Answer | None = None
            written = ""
            settled: list[str] = []
            for event in assistant.ask_stream(question, history=history, filters=filters):
                if event["event"] == "answer":
                    answer = event["answer"]
                    continue
                if event["event"] == "token":  # a model writing: citations settle at the end
                    written += event["text"]
                elif event["event"] == "sentence":  # verified: kept, or struck out
                    text = escape(event["text"])
                    settled.append(text if event["kept"] else f"<del>{text}</del>")
                tail = " ".join(written_sentences(written)[len(settled) :])
                shown[-1] = {
                    "role": "assistant",
                    "content": " ".join([*settled, escape(tail)]) + " …",
                }
                yield shown, history, "", turns
        except QAError as exc:  # the question goes back in the box, to be fixed
            shown[-1] = {"role": "assistant", "content": f"⚠️ {escape(str(exc))}"}
            yield shown, history, message, turns
            return
        if answer is None:  # the stream always ends with the answer; this is not reached
            raise RuntimeError("the answer stream ended without an answer")
        if not written:  # extractive: reveal the quoted answer a few words at a time
            words = escape(answer.text).split(" ")
            for end in range(STREAM_STEP_WORDS, len(words), STREAM_STEP_WORDS):
                shown[-1] = {"role": "assistant", "content": " ".join(words[:end]) + " …"}
                yield shown, history, "", turns
        shown[-1] = {"role": "assistant", "content": answer_html(answer)}
        history = history + [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]
        turns = turns + [{"question": question, "filters": filters, "answer": answer.to_dict()}]
        yield shown, history, "", turns

    return respond


def _api_ask(collections: _Collections):
    def ask(
        question: str,
        history: list[dict] | None = None,
        k: int = 4,
        request: gr.Request = None,  # type: ignore[assignment]  # Gradio passes it
    ) -> dict[str, Any]:
        """Answer ``question``; ``history`` is a list of {"role", "content"} messages."""
        try:
            view = collections.reader(request)
            return view.ask(question, history=history or [], k=_whole(k)).to_dict()
        except QAError as exc:
            raise gr.Error(str(exc)) from None

    return ask


def _api_ask_stream(collections: _Collections):
    def ask_stream(
        question: str,
        history: list[dict] | None = None,
        k: int = 4,
        request: gr.Request = None,  # type: ignore[assignment]  # Gradio passes it
    ) -> Iterator[dict[str, Any]]:
        """Stream the answer: {"text": written so far} while a model writes, then the
        answer as JSON (it has "citations")."""
        try:
            written = ""
            view = collections.reader(request)
            for event in view.ask_stream(question, history=history or [], k=_whole(k)):
                if event["event"] == "token":
                    written += event["text"]
                    yield {"text": written}
                elif event["event"] == "answer":
                    yield event["answer"].to_dict()
        except QAError as exc:
            raise gr.Error(str(exc)) from None

    return ask_stream


def _whole(k: Any) -> Any:
    return int(k) if isinstance(k, (int, float)) and float(k).is_integer() else k


LISTED = 50  # articles the index panel shows for a search


def _articles_panel(
    collections: _Collections, jobs: JobQueue, stats: gr.Markdown
) -> tuple[Any, list]:
    """The indexed articles, newest first, with a search box; with uploads enabled,
    one can be removed (after a confirmation)."""
    search = gr.Textbox(
        placeholder="Find an article by title…",
        show_label=False,
        elem_id="qa-article-search",
        max_lines=1,
    )
    caption = gr.Markdown(elem_id="qa-article-count")
    table = gr.HTML(elem_id="qa-articles")

    assistant = collections.assistant

    def listing(query: str, request: gr.Request) -> tuple[str, str, Any]:
        try:
            page = collections.reader(request).articles(0, LISTED, (query or "")[:200])
        except QAError as exc:
            return "", f"⚠️ {escape(str(exc))}", gr.update(choices=[], value=None)
        rows = articles_html(page.articles)
        listed = len(page.articles)
        shown = f"{listed} of {page.total:,}" if page.total > listed else f"{page.total:,}"
        caption = f"{shown} article{'s' if page.total != 1 else ''}" + (
            f" matching “{escape(query.strip())}”" if (query or "").strip() else ""
        )
        choices = [(f"{a.title} ({a.id})", a.id) for a in page.articles]
        return rows, caption, gr.update(choices=choices, value=None)

    if not assistant.settings.allow_uploads:
        choice = gr.Dropdown(visible=False)
    else:
        choice = gr.Dropdown(label="Remove an article", choices=[], elem_id="qa-remove-choice")
        remove = gr.Button("Remove…", variant="stop", size="sm", elem_id="qa-remove")
        with gr.Row(visible=False) as confirm_row:
            confirm = gr.Button("Yes, remove it", variant="stop", size="sm", elem_id="qa-confirm")
            cancel = gr.Button("Cancel", size="sm")
        removed = gr.Markdown(elem_id="qa-remove-status")

        def ask_first(article_id: str | None) -> tuple[Any, str]:
            if not article_id:
                return gr.update(visible=False), "Choose an article first."
            return gr.update(visible=True), f"Remove {escape(article_id)} from the index?"

        def delete(article_id: str | None, query: str, request: gr.Request) -> tuple:
            try:
                view = collections.writer(request)
            except QAError as exc:
                refused = f"⚠️ {escape(str(exc))}"
                return (gr.update(visible=False), refused, *listing(query, request), "")
            message = _delete_now(view, jobs, article_id)
            return (
                gr.update(visible=False),
                message,
                *listing(query, request),
                _stats_markdown(view),
            )

        remove.click(
            ask_first, inputs=choice, outputs=[confirm_row, removed], api_visibility="private"
        )
        cancel.click(
            lambda: (gr.update(visible=False), ""),
            outputs=[confirm_row, removed],
            api_visibility="private",
        )
        confirm.click(
            delete,
            inputs=[choice, search],
            outputs=[confirm_row, removed, table, caption, choice, stats],
            api_visibility="private",
        )
    search.change(
        listing, inputs=search, outputs=[table, caption, choice], api_visibility="private"
    )
    search.submit(
        listing, inputs=search, outputs=[table, caption, choice], api_visibility="private"
    )
    stats.change(
        listing, inputs=search, outputs=[table, caption, choice], api_visibility="private"
    )  # after an upload

    def first_listing(request: gr.Request) -> tuple[str, str, Any]:
        return listing("", request)

    return first_listing, [table, caption, choice]


def _filter_choices(collections: _Collections) -> Callable[..., tuple[Any, Any]]:
    """The filter row's choices: the collection's own sources and categories ("" = any)."""

    def filter_choices(request: gr.Request) -> tuple[Any, Any]:
        try:
            found = collections.reader(request).facets()
        except QAError:
            found = {"source": [], "category": []}

        def choices(name: str) -> Any:
            return gr.update(choices=[("any", "")] + [(v, v) for v in found[name]], value="")

        return choices("source"), choices("category")

    return filter_choices


def _stats_for(collections: _Collections) -> Callable[..., str]:
    def stats(request: gr.Request) -> str:
        try:
            return _stats_markdown(collections.reader(request))
        except QAError as exc:
            return f"⚠️ {escape(str(exc))}"

    return stats


def articles_html(articles: list[Any]) -> str:
    """The listing as an escaped HTML table (title, source, date, chunks)."""
    rows = "".join(
        f"<tr><td>{escape(a.title)}</td><td>{escape(a.source)}</td>"
        f"<td>{escape(a.published[:10])}</td><td>{a.chunks}</td></tr>"
        for a in articles
    )
    return (
        '<div class="qa-article-list"><table><thead><tr><th scope="col">Title</th>'
        '<th scope="col">Source</th><th scope="col">Date</th><th scope="col">Chunks</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _delete_now(assistant: Assistant, jobs: JobQueue, article_id: str | None) -> str:
    """Remove one article through the write queue; the outcome as one line."""
    if not article_id:
        return "Choose an article first."
    try:
        job = jobs.submit(
            f"delete {article_id[:80]} from the chat",
            lambda progress: assistant.delete([article_id]),
            assistant.collection,
        )
    except QAError as exc:
        return f"⚠️ {escape(str(exc))}"
    while not job.finished:
        jobs.wait_briefly(job, 0.25)
    if job.status == "failed":
        return f"⚠️ {escape(job.error or 'the removal failed')}"
    return f"Removed {escape(article_id)}."


def _upload_panel(collections: _Collections, jobs: JobQueue, stats: gr.Markdown) -> None:
    files = gr.File(label="Add articles", file_count="multiple", file_types=UPLOAD_TYPES)
    add = gr.Button("Add to index")
    status = gr.Markdown()

    def add_files(
        paths: list[str] | None,
        request: gr.Request,
        progress=gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> tuple[str, str, None]:
        try:
            assistant = collections.writer(request)
        except QAError as exc:
            for path in paths or ():
                Path(path).unlink(missing_ok=True)
            return f"⚠️ {escape(str(exc))}", "", None
        if not paths:
            return "Choose one or more files first.", _stats_markdown(assistant), None
        uploads = [(Path(p).name, Path(p).read_bytes()) for p in paths]
        for path in paths:  # read: Gradio's copy is no longer needed
            Path(path).unlink(missing_ok=True)
        try:
            job = jobs.submit(
                f"{len(uploads)} upload(s) from the chat",
                lambda progress: assistant.add_documents(uploads, progress),
                assistant.collection,
            )
        except QAError as exc:
            return f"⚠️ {escape(str(exc))}", _stats_markdown(assistant), None
        progress(0, desc="Waiting for earlier writes")
        while not job.finished:
            if job.total:
                progress(job.done / job.total, desc=f"Embedding {job.current[:40]}")
            jobs.wait_briefly(job, 0.25)
        if job.status == "failed" or job.report is None:
            return f"⚠️ {escape(job.error or 'the upload failed')}", _stats_markdown(assistant), None
        return _report_markdown(job.report), _stats_markdown(assistant), None

    add.click(add_files, inputs=files, outputs=[status, stats, files], api_visibility="private")


def _report_markdown(report: dict[str, Any]) -> str:
    lines = [
        escape(
            f"{len(report['added'])} added, {len(report['updated'])} updated, "
            f"{len(report['unchanged'])} unchanged, {len(report['failed'])} failed "
            f"in {report['seconds']:.1f} s"
        )
    ]
    lines += [
        f"- skipped {escape(Path(f['name']).name)}: {escape(f['reason'])}" for f in report["failed"]
    ]
    return "\n".join(lines)


def _stats_markdown(assistant: Assistant) -> str:
    s = assistant.stats()
    model = s.embedding_model.rsplit("/", 1)[-1]
    text = f"**{s.articles:,}** articles · **{s.chunks:,}** passages  \nModel: `{escape(model)}`"
    if s.llm:
        state = "answers" if s.llm_answers else "not answering: quotes shown instead"
        text += f"  \nAnswers written by `{escape(s.llm)}` ({state})"
    return text
