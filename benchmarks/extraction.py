"""Main-text extraction from saved news pages: trafilatura against the hand-written reader.

    python benchmarks/extraction.py

The pages are ``tests/saved_pages.py`` (15 stories in three layouts written
in the shape of real news sites: a newspaper, a local blog, a wire service).
For each reader: the share of the story's words it kept (recall), and the
share of the words it returned that are not the story's (boilerplate: menus,
share bars, related stories, comments, footers), per layout and overall, and
the time per page. Prints a table and writes benchmarks/results/extraction.json.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.index.formats.html import read_page, readable  # noqa: E402
from tests.saved_pages import pages, scores  # noqa: E402

READERS = {
    "trafilatura (shipped)": lambda page: read_page(page).text,
    "hand-written HTMLParser": lambda page: readable(page)[1],
}


def main() -> None:
    rows = []
    for reader, read in READERS.items():
        read(next(pages())[1])  # imports and caches out of the timing
        by_layout: dict[str, list[tuple[float, float, float]]] = {}
        for name, page, story in pages():
            started = time.perf_counter()
            text = read(page)
            ms = 1000 * (time.perf_counter() - started)
            recall, boilerplate = scores(text, story)
            by_layout.setdefault(name.split("-")[0], []).append((recall, boilerplate, ms))
        for layout, got in [
            *by_layout.items(),
            ("all", [g for v in by_layout.values() for g in v]),
        ]:
            rows.append(
                {
                    "reader": reader,
                    "layout": layout,
                    "pages": len(got),
                    "recall": statistics.mean(g[0] for g in got),
                    "min_recall": min(g[0] for g in got),
                    "boilerplate": statistics.mean(g[1] for g in got),
                    "max_boilerplate": max(g[1] for g in got),
                    "ms_per_page": statistics.mean(g[2] for g in got),
                }
            )
    print("| reader | layout | pages | recall (min) | boilerplate (max) | ms/page |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['reader']} | {r['layout']} | {r['pages']} | {r['recall']:.3f} "
            f"({r['min_recall']:.3f}) | {r['boilerplate']:.3f} ({r['max_boilerplate']:.3f}) "
            f"| {r['ms_per_page']:.1f} |"
        )
    out = ROOT / "benchmarks" / "results" / "extraction.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
