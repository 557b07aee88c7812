"""Writers under attack or carelessness: a watcher fed links and half-written files,
a file that grows past the limit, and a slow page fetched while others want to write.

Real Assistants over temp indexes (the real model and Chroma), the real ``Watcher``
on a thread, a raw loopback server for the slow page; every wait has an end.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from qa.index.locking import index_write_lock_if_free
from qa.watching import QUIET_S, Watcher
from tests.test_fetch_hostile import PAGE, raw_server
from tests.test_watch import _until

pytestmark = pytest.mark.slow  # the real model, Chroma and a watcher thread


def _titles(assistant) -> list[str]:
    return sorted(a.title for a in assistant.articles(limit=500).articles)


def _story(path: Path, title: str, text: str) -> None:
    path.write_text(f"---\ntitle: {title}\n---\n\n{text}\n")


class _Running:
    """A Watcher on a thread, stopped (and joined) on exit; its log kept."""

    def __init__(self, assistant, folder: Path) -> None:
        self.lines: list[str] = []
        self.watcher = Watcher(assistant, [folder], log=self.lines.append, errors=self.lines.append)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watcher.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> "_Running":
        self.thread.start()
        _until(lambda: self.watcher.batches >= 1, 120, "the watcher's first pass")
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(30)


def test_the_watcher_never_reads_through_a_link_out_of_its_folder(tmp_path, fresh):
    private = tmp_path / "private"
    private.mkdir()
    _story(private / "payroll.md", "Payroll secrets", "Every salary in the company is listed.")
    _story(private / "later.md", "Board minutes", "The board met in secret on Monday.")
    folder = tmp_path / "inbox"
    folder.mkdir()
    _story(folder / "tram.md", "Tram line approved", "The tram line was approved on Friday.")
    (folder / "payroll.md").symlink_to(private / "payroll.md")
    with _Running(fresh, folder) as running:
        assert _titles(fresh) == ["Tram line approved"]
        assert any("payroll.md: skipped, a link to" in line for line in running.lines)
        (folder / "minutes.md").symlink_to(private / "later.md")  # added while watching
        _story(folder / "bus.md", "Bus fares frozen", "Bus fares were frozen until June.")
        _until(lambda: "Bus fares frozen" in _titles(fresh), 60, "the new real file")
        time.sleep(QUIET_S + 1)  # the link's events were seen in the same batches
    assert _titles(fresh) == ["Bus fares frozen", "Tram line approved"]
    assert any("minutes.md: a link to" in line for line in running.lines)


def test_a_file_written_in_two_steps_is_indexed_whole_never_as_its_prefix(tmp_path, fresh):
    folder = tmp_path / "inbox"
    folder.mkdir()
    _story(folder / "tram.md", "Tram line approved", "The tram line was approved on Friday.")
    growing = folder / "harbour.md"
    with _Running(fresh, folder):
        with growing.open("w") as out:
            out.write("---\ntitle: Harbour plan\n---\n\nThe harbour plan was published today.")
            out.flush()
            time.sleep(1.5)  # past the watcher's debounce, inside the quiet period
            # nothing read yet: a prefix indexed now would be quoted as the whole file
            assert "Harbour plan" not in _titles(fresh)
            out.write(" Its cost is 48 million euros, the council said.\n")
        _until(lambda: "Harbour plan" in _titles(fresh), 60, "the finished file")
    article = next(a for a in fresh.articles(limit=10).articles if a.title == "Harbour plan")
    assert "48 million euros" in fresh.article_text(article.id)[1]


def test_a_file_that_grows_past_the_limit_loses_its_stale_article(tmp_path):
    from qa import Assistant

    assistant = Assistant(index_dir=tmp_path / "index", max_file_bytes=2_000)
    folder = tmp_path / "inbox"
    folder.mkdir()
    story = folder / "harbour.md"
    _story(story, "Harbour plan", "The harbour plan was published today.")
    assert assistant.ingest([folder]).added
    with story.open("a") as out:
        out.write("More of the plan. " * 300)  # past 2,000 bytes
    report = assistant.ingest([folder])
    assert [f.reason[:9] for f in report.failed] == ["too large"]
    assert report.removed and "grew past the size limit" in " ".join(report.notes)
    assert _titles(assistant) == []


def test_a_slow_page_is_fetched_without_holding_the_write_lock(tmp_path):
    from qa import Assistant

    def slow(conn, request) -> None:
        time.sleep(3)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
            + f"Content-Length: {len(PAGE)}\r\n\r\n".encode()
            + PAGE
        )

    index = tmp_path / "index"
    assistant = Assistant(
        index_dir=index, fetch_hosts=("127.0.0.1",), fetch_private_hosts=("127.0.0.1:*",)
    )
    with raw_server(slow) as (base, requests):
        done: list = []
        writer = threading.Thread(target=lambda: done.append(assistant.ingest([base + "/p"])))
        writer.start()
        _until(lambda: requests, 10, "the fetch to start")
        time.sleep(0.5)
        with index_write_lock_if_free(index) as free:
            assert free, "the write lock was held while the page was being fetched"
        writer.join(60)
    assert done and done[0].added and not done[0].failed


def test_a_file_saved_between_the_first_pass_and_the_watch_is_indexed(tmp_path, fresh):
    """The folder is watched only after the first pass; a file saved in that gap (seconds
    on a busy machine) raised no event and was never indexed. Here the gap is made
    certain: the file is written the moment the first pass has been written."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    _story(folder / "tram.md", "Tram line approved", "The tram line was approved on Friday.")
    _story(folder / "quay.md", "Quay works begin", "Work on the north quay began on Monday.")

    class Gap(Watcher):
        def _write(self, what, work):
            super()._write(what, work)
            if what == "start":  # before run() starts watching the folder
                _story(folder / "bridge.md", "Bridge reopens", "The bridge reopened at 6am.")
                _story(folder / "tram.md", "Tram line delayed", "The tram line waits a year.")
                (folder / "quay.md").unlink()

    watcher = Gap(fresh, [folder], prune=True, log=lambda line: None)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        expected = ["Bridge reopens", "Tram line delayed"]
        _until(lambda: _titles(fresh) == expected, 60, "the files changed in the gap")
    finally:
        stop.set()
        thread.join(30)
