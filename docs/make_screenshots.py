"""Screenshots of the chat for the README, at desktop and phone widths.

    python docs/make_screenshots.py

Starts `python app.py` on a free port with a temporary index of seeds/, asks
the France question in headless Chromium (Debian's), opens the first source
and saves docs/chat-desktop.png and docs/chat-phone.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server_helpers import running_app  # noqa: E402
from tests.test_browser import ARGS, CHROMIUM, ask_and_open_a_source  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as tmp,
        running_app(Path(tmp) / "index") as url,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, viewport in (
            ("desktop", {"width": 1280, "height": 1000}),
            ("phone", {"width": 390, "height": 1100}),
        ):
            page = browser.new_page(viewport=viewport, device_scale_factor=1)
            page.goto(url)
            ask_and_open_a_source(page)
            page.wait_for_timeout(800)
            path = ROOT / "docs" / f"chat-{name}.png"
            page.screenshot(path=str(path))
            print(f"wrote {path}")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
