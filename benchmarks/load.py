"""Concurrent asks against the real server, quiet and while articles are posted.

    python benchmarks/load.py [--index DIR] [--clients 16] [--seconds 60] [--posts 200]

The server (``python app.py``) runs on a copy of ``--index`` (the posts must
not change the original). Phase 1: ``--clients`` threads ask for ``--seconds``.
Phase 2: the same clients ask while one more client posts ``--posts`` articles
(SQuAD paragraphs, new to the index) ``--batch`` per request, through the write queue;
the phase lasts until the last post is written. Questions are BBC headlines
turned into questions, all distinct, so the query-vector cache never helps.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BBC, DATA, RESULTS, ROOT, print_table, write_json  # noqa: E402
from ask import questions_from  # noqa: E402

TOKEN = "load-benchmark"


def squad_articles(path: Path, count: int) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs = [
        (topic["title"].replace("_", " "), p["context"])
        for topic in data
        for p in topic["paragraphs"]
    ]
    return [
        {"id": f"load-squad-{n}", "title": f"{title} ({n})", "text": text}
        for n, (title, text) in enumerate(paragraphs[:count])
    ]


class Clients:
    """``count`` threads asking in a loop until stopped; latencies kept per phase."""

    def __init__(self, url: str, questions: list[str], count: int) -> None:
        self.url, self.questions, self.count = url, questions, count
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._next = 0
        self._lock = threading.Lock()

    def run_until(self, done: threading.Event | float) -> tuple[list[float], list[str], float]:
        self.latencies, self.errors = [], []
        self._stop.clear()
        threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.count)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        if isinstance(done, threading.Event):
            done.wait()
        else:
            time.sleep(done)
        self._stop.set()
        for thread in threads:
            thread.join()
        return self.latencies, self.errors, time.perf_counter() - started

    def _question(self) -> str:
        with self._lock:
            self._next += 1
            return self.questions[self._next % len(self.questions)]

    def _client(self) -> None:
        with httpx.Client(timeout=300) as client:
            while not self._stop.is_set():
                question = self._question()
                started = time.perf_counter()
                try:
                    reply = client.post(f"{self.url}/api/ask", json={"question": question})
                    if reply.status_code != 200:
                        self.errors.append(f"{reply.status_code}: {reply.text[:200]}")
                        continue
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                    continue
                self.latencies.append((time.perf_counter() - started) * 1000)


def post_all(
    url: str, articles: list[dict], batch: int, errors: list[str], finished: threading.Event
) -> None:
    with httpx.Client(timeout=600, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for start in range(0, len(articles), batch):
            part = articles[start : start + batch]
            try:
                reply = client.post(f"{url}/api/articles", json={"articles": part})
                if reply.status_code != 200 or len(reply.json()["added"]) != len(part):
                    errors.append(f"post {start}: {reply.status_code} {reply.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"post {start}: {exc!r}")
    finished.set()


def summary(
    name: str, latencies: list[float], errors: list[str], seconds: float, rss_mb: float
) -> dict:
    ordered = sorted(latencies) or [float("nan")]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "phase": name,
        "seconds": seconds,
        "asks": len(latencies),
        "asks_per_s": len(latencies) / seconds,
        "p50_ms": statistics.median(ordered),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "errors": len(errors),
        "error_samples": errors[:5],
        "server_rss_mb": rss_mb,
    }


def start_server(index: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "QA_INDEX_DIR": str(index),
        "QA_PORT": str(port),
        "QA_API_TOKEN": TOKEN,
        "QA_HOST": "127.0.0.1",
    }
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=RESULTS / "bbc-index-ours")
    parser.add_argument("--data", type=Path, default=BBC, help="headlines for the questions")
    parser.add_argument(
        "--squad",
        type=Path,
        default=DATA / "squad" / "dev-v2.0.json",
        help="paragraphs to post as new articles",
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10, help="articles per POST")
    parser.add_argument("--port", type=int, default=7899)
    args = parser.parse_args()
    if not args.index.exists():
        raise SystemExit(f"no index at {args.index}: run benchmarks/ingest.py or pass --index")

    questions = questions_from(args.data, 5_000, seed=3)
    articles = squad_articles(args.squad, args.posts)
    with tempfile.TemporaryDirectory(prefix="qa-load-") as scratch:
        index = Path(scratch) / "index"
        shutil.copytree(args.index, index)
        server = start_server(index, args.port)
        process = psutil.Process(server.pid)
        url = f"http://127.0.0.1:{args.port}"
        try:
            rss_start = process.memory_info().rss / 2**20
            clients = Clients(url, questions, args.clients)
            clients.run_until(5.0)  # warm-up, not reported
            quiet = summary(
                "asking only", *clients.run_until(args.seconds), process.memory_info().rss / 2**20
            )
            post_errors: list[str] = []
            posted = threading.Event()
            threading.Thread(
                target=post_all, args=(url, articles, args.batch, post_errors, posted), daemon=True
            ).start()
            latencies, errors, seconds = clients.run_until(posted)
            busy = summary(
                f"asking while {len(articles)} articles are posted ({args.batch} per request)",
                latencies,
                errors + post_errors,
                seconds,
                process.memory_info().rss / 2**20,
            )
            stats = httpx.get(f"{url}/api/stats").json()
        finally:
            server.terminate()
            server.wait(timeout=60)

    rows = [
        [
            r["phase"],
            r["seconds"],
            r["asks"],
            r["asks_per_s"],
            r["p50_ms"],
            r["p95_ms"],
            r["p99_ms"],
            r["errors"],
            r["server_rss_mb"],
        ]
        for r in (quiet, busy)
    ]
    table = print_table(
        f"{args.clients} clients over {stats['articles'] - len(articles):,} articles "
        f"(server RSS at start {rss_start:,.0f} MB; {psutil.cpu_count()} cores)",
        [
            "phase",
            "seconds",
            "asks",
            "asks/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "server RSS MB after",
        ],
        rows,
    )
    ratio = busy["p99_ms"] / quiet["p99_ms"]
    print(
        f"\np99 while posting / p99 quiet: {ratio:.2f} (target ≤ 3); "
        f"errors: {quiet['errors'] + busy['errors']} (target 0)"
    )
    write_json(
        "load.json",
        {
            "quiet": quiet,
            "posting": busy,
            "p99_ratio": ratio,
            "rss_start_mb": rss_start,
            "table": table,
        },
    )


if __name__ == "__main__":
    main()
