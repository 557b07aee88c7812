"""Keeping up: `qa watch` on a folder and a feed, and the server's background watcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server_helpers import running_app
from tests.test_feeds import entries, page, rss, serving

pytestmark = pytest.mark.slow  # a watcher process or the server, with the real model


def _until(check, seconds: float = 60.0, what: str = ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds:g} s: {what}")


def _story(path: Path, title: str, text: str) -> None:
    path.write_text(f"---\ntitle: {title}\nsource: Test Desk\n---\n\n{text}\n")


def test_qa_watch_follows_a_folder_and_a_feed_until_stopped(tmp_path):
    from qa import Assistant

    folder = tmp_path / "news"
    folder.mkdir()
    _story(folder / "quay.md", "Quay works begin", "Work on the north quay began on Monday.")
    index = tmp_path / "index"
    routes: dict = {}
    with serving(routes) as (base, _):
        routes["/feed.rss"] = page(rss(entries(base), True), "application/rss+xml")
        env = {
            **os.environ,
            "QA_FETCH_HOSTS": "127.0.0.1",
            "QA_FETCH_PRIVATE_HOSTS": "127.0.0.1:*",
        }
        command = [sys.executable, "-m", "qa.cli", "--index", str(index), "watch"]
        watcher = subprocess.Popen(
            [*command, str(folder), base + "/feed.rss", "--prune", "--interval", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            reader = Assistant(index_dir=index, reader="fast")

            def titles() -> set[str]:
                return {a.title for a in reader.articles(limit=500).articles}

            _until(lambda: "Quay works begin" in titles(), 120, "the first pass")
            assert "Lifeboat crew rescues two fishermen off Hook Head" in titles()

            _story(folder / "bridge.md", "Bridge reopens", "The bridge reopened at 6am.")
            _until(lambda: "Bridge reopens" in titles(), 30, "a new file")

            _story(folder / "bridge.md", "Bridge reopens", "The bridge reopened at 7am instead.")

            def edited() -> bool:
                (info,) = [a for a in reader.articles().articles if a.title == "Bridge reopens"]
                return "7am" in reader.article_text(info.id)[1]

            _until(edited, 30, "an edited file")

            (folder / "quay.md").unlink()
            _until(lambda: "Quay works begin" not in titles(), 30, "a deleted file (--prune)")

            routes["/feed.rss"] = page(rss(entries(base, edited=True), True), "application/rss+xml")

            def feed_updated() -> bool:
                lifeboat = [a for a in reader.articles().articles if "Lifeboat" in a.title]
                return bool(lifeboat) and "hypothermia" in reader.article_text(lifeboat[0].id)[1]

            _until(feed_updated, 30, "the feed's edited entry")
        finally:
            watcher.send_signal(signal.SIGTERM)
            out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err[-2000:]
    assert "watch: start:" in out and "stopped watching" in out
    assert "1 updated" in out  # the edited file or feed entry, one at a time


def test_the_server_keeps_a_watched_folder_current(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    with running_app(tmp_path / "index", QA_WATCH=str(folder)) as url:

        def listed() -> list[str]:
            articles = httpx.get(f"{url}/api/articles", params={"limit": 500}).json()
            return [a["title"] for a in articles["articles"]]

        _story(folder / "tram.md", "Tram line approved", "The tram line was approved on Friday.")
        _until(lambda: "Tram line approved" in listed(), 60, "a file dropped in the inbox")
        answer = httpx.post(
            f"{url}/api/ask", json={"question": "When was the tram line approved?"}, timeout=60
        ).json()
        assert "Friday" in answer["text"]
