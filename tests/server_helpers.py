"""Starting the real server (python app.py) and a static file server for tests."""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(index_dir: Path, prelude: str = "", **env: str) -> Iterator[str]:
    """`python app.py` on a free port; yields its base URL once /healthz answers.

    ``prelude``: Python run in the server's process before the app (a test's patch).
    """
    port = free_port()
    environment = {
        **os.environ,
        "QA_INDEX_DIR": str(index_dir),
        "QA_PORT": str(port),
        "QA_HOST": "127.0.0.1",
        **env,
    }
    log = index_dir.parent / f"server-{port}.log"
    with open(log, "w") as out:
        app = str(ROOT / "app.py")
        command = [sys.executable, app]
        if prelude:
            run_app = f"import runpy; runpy.run_path({app!r}, run_name='__main__')"
            command = [sys.executable, "-c", f"{prelude}\n{run_app}"]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """A plain static file server, standing in for an intranet web server."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass
