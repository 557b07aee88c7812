"""Loading files into articles: formats, metadata, encodings and bad input."""

from __future__ import annotations

import json

import pytest

from qa.index.articles import decode
from qa.index.formats import find_files, load_file

LIMIT = 1_000_000


def test_latin1_file_keeps_its_pound_signs(tmp_path):
    path = tmp_path / "mutu.txt"
    path.write_bytes(
        "Chelsea sack Mutu\n\nMutu was a £15.8m signing from Parma.\n".encode("latin-1")
    )
    result = load_file(path, LIMIT)
    assert not result.failures
    article = result.articles[0]
    assert article.title == "Chelsea sack Mutu"
    assert "£15.8m" in article.text
    assert result.encodings == {str(path): "cp1252"}


def test_utf8_with_bom_and_windows_newlines():
    text, codec = decode("\ufeffTitle\r\n\r\nBody – with a dash.\r\n".encode("utf-8"))
    assert codec == "utf-8"
    assert text == "Title\n\nBody – with a dash.\n"


def test_markdown_front_matter(tmp_path):
    path = tmp_path / "story.md"
    path.write_text(
        "---\ntitle: A story\nsource: The Paper\nurl: https://example.org/a\n"
        "published: 2025-07-10\n---\nFirst line of the body.\n\nSecond paragraph.\n"
    )
    article = load_file(path, LIMIT).articles[0]
    assert (article.title, article.source, article.url, article.published) == (
        "A story",
        "The Paper",
        "https://example.org/a",
        "2025-07-10",
    )
    assert article.text.startswith("First line of the body.")


def test_text_without_a_headline_takes_the_file_name(tmp_path):
    path = tmp_path / "border-talks.txt"
    path.write_text("The talks went on late into the night, sources said.\n")
    article = load_file(path, LIMIT).articles[0]
    assert article.title == "Border talks"
    assert article.text == "The talks went on late into the night, sources said."


def test_html_readable_text_and_title(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Port deal signed</title><script>var x=1;</script>"
        "<style>p{color:red}</style></head><body><nav>Home | News</nav>"
        "<h1>Port deal signed</h1><p>The deal was signed on Monday &amp; "
        "praised.</p><p>Workers welcomed it.</p><footer>(c) site</footer></body></html>"
    )
    article = load_file(path, LIMIT).articles[0]
    assert article.title == "Port deal signed"
    assert article.text == "The deal was signed on Monday & praised.\n\nWorkers welcomed it."


def test_jsonl_records_load_and_bad_lines_are_reported(tmp_path):
    path = tmp_path / "news.jsonl"
    lines = [
        json.dumps(
            {
                "id": "bbc-business-001",
                "category": "business",
                "title": "Ad sales boost profit",
                "text": "Profits jumped.",
            }
        ),
        "{not json",
        json.dumps({"id": "x2", "title": "No text"}),
        json.dumps({"id": "x3", "text": "Headline here\n\nBody text follows."}),
    ]
    path.write_text("\n".join(lines) + "\n")
    result = load_file(path, LIMIT)
    assert [a.id for a in result.articles] == ["bbc-business-001", "x3"]
    assert result.articles[1].title == "Headline here"
    reasons = {f.name.split()[-1]: f.reason for f in result.failures}
    assert reasons["2"].startswith("invalid JSON")
    assert reasons["3"] == "missing or empty 'text'"


def test_json_list_of_records(tmp_path):
    path = tmp_path / "news.json"
    path.write_text(
        json.dumps([{"title": "One", "text": "First."}, {"title": "Two", "text": "Second."}])
    )
    result = load_file(path, LIMIT)
    assert [a.title for a in result.articles] == ["One", "Two"]
    assert len({a.id for a in result.articles}) == 2


def test_bad_files_are_reported_with_reasons(tmp_path):
    (tmp_path / "empty.txt").write_text("   \n")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (tmp_path / "big.txt").write_text("word " * 1000)
    (tmp_path / "bad.md").write_text("---\ntitle: [unclosed\n---\nBody.\n")
    (tmp_path / "folder.txt").mkdir()
    reasons = {p.name: load_file(p, 2000).failures[0].reason for p in sorted(tmp_path.iterdir())}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"].startswith("binary file")
    assert reasons["big.txt"].startswith("too large (5,000 bytes")
    assert reasons["bad.md"].startswith("invalid YAML front matter")
    assert reasons["folder.txt"].startswith("unreadable")


def test_find_files_walks_folders_and_reports_missing_paths(tmp_path):
    (tmp_path / "a.txt").write_text("A.")
    (tmp_path / "notes.xlsx").write_bytes(b"PK")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "b.txt").write_text("B.")
    files, failures, _ = find_files([tmp_path, tmp_path / "missing.txt"])
    assert [f.name for f in files] == ["a.txt"]
    assert failures[0].reason == "no such file or directory"


def _records(tmp_path, records, name="posted.json"):
    from qa.index.formats import load_bytes

    return load_bytes(name, json.dumps(records).encode(), origin=str(tmp_path / name))


def test_records_without_an_id_never_share_one(tmp_path):
    """Two id-less records are two articles; the same one posted twice is one."""
    first = _records(tmp_path, [{"title": "Ferry strike ends", "text": "The strike ended."}])
    second = _records(tmp_path, [{"title": "Rail strike begins", "text": "The strike began."}])
    again = _records(tmp_path, [{"title": "Ferry strike ends", "text": "The strike ended."}])
    ids = [r.articles[0].id for r in (first, second, again)]
    assert ids[0] != ids[1]
    assert ids[0] == ids[2]
    assert ids[0].startswith("ferry-strike-ends-")


def test_a_users_own_id_is_kept_exactly_as_given(tmp_path):
    result = _records(
        tmp_path,
        [
            {"id": "Doc 1", "text": "One."},
            {"id": "doc-1", "text": "Two."},
            {"id": 42, "text": "Three."},
        ],
    )
    assert [a.id for a in result.articles] == ["Doc 1", "doc-1", "42"]


def test_bad_ids_are_reported_and_the_other_records_kept(tmp_path):
    result = _records(
        tmp_path,
        [
            {"id": "x" * 201, "text": "Too long."},
            {"id": ["a"], "text": "Not text."},
            {"id": "tab\there", "text": "Control character."},
            {"id": "fine", "text": "Kept."},
        ],
    )
    assert [a.id for a in result.articles] == ["fine"]
    reasons = " | ".join(f.reason for f in result.failures)
    assert "too long" in reasons and "text or a whole number" in reasons and "control" in reasons


def test_rst_files_load_with_their_underlined_title(tmp_path):
    """The format added as a module of qa/index/formats/ alone: the loader, folders and
    the upload widget's list all know it."""
    from qa.index.formats import SUPPORTED_SUFFIXES

    path = tmp_path / "notes" / "ferry.rst"
    path.parent.mkdir()
    path.write_text("Ferry strike ends\n=================\n\nThe strike ended on Tuesday.\n")
    files, _, _ = find_files([tmp_path / "notes"])
    assert files == [path] and ".rst" in SUPPORTED_SUFFIXES
    (article,) = load_file(path, 10_000).articles
    assert article.title == "Ferry strike ends"
    assert article.text == "The strike ended on Tuesday."


def _pdf(pages: list[str], title: str = "", password: str = "") -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    if password:
        pdf.set_encryption(owner_password=password, user_password=password)
    return bytes(pdf.output())


def test_a_pdf_keeps_where_each_page_starts():
    from qa.index.formats import load_bytes

    data = _pdf(
        ["Ferry strike ends", "The strike ended on Tuesday after a pay rise."],
        title="Ferry strike ends",
    )
    (article,) = load_bytes("ferry.pdf", data, origin="upload:ferry.pdf").articles
    assert article.title == "Ferry strike ends"
    assert len(article.pages) == 2 and article.pages[0] == 0
    assert article.text[article.pages[1] :].startswith("The strike ended on Tuesday")


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: _pdf(["Secret minutes of the meeting."], password="pw"), "encrypted PDF"),
        (lambda: _pdf(["", ""]), "no text layer"),
        (lambda: _pdf(["A page of text that will be cut."])[:300], "unreadable PDF"),
        (lambda: b"%PDF-1.7 not really", "unreadable PDF"),
    ],
)
def test_bad_pdfs_are_reported_by_name_and_skipped(make, reason):
    from qa.index.formats import load_bytes

    result = load_bytes("bad.pdf", make(), origin="upload:bad.pdf")
    assert not result.articles
    assert result.failures[0].name == "bad.pdf" and reason in result.failures[0].reason


def test_a_word_document_loads_its_title_paragraphs_and_tables(tmp_path):
    import docx

    from qa.index.formats import load_bytes

    document = docx.Document()
    document.add_heading("Harbour reopens", level=1)
    document.add_paragraph("Dover harbour reopened on Monday after repairs.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Cost", "£2m"
    document.save(tmp_path / "harbour.docx")
    data = (tmp_path / "harbour.docx").read_bytes()
    (article,) = load_bytes("harbour.docx", data, origin="x").articles
    assert article.title == "Harbour reopens"
    assert article.text == "Dover harbour reopened on Monday after repairs.\n\nCost | £2m"
    broken = load_bytes("broken.docx", data[:200], origin="x")
    assert "unreadable Word document" in broken.failures[0].reason
