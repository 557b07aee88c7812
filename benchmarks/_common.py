"""Helpers shared by the benchmark scripts: data paths, subprocess workers, tables."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
BBC = DATA / "bbc-news" / "bbc-news.jsonl"
RESULTS = ROOT / "benchmarks" / "results"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User plus system CPU time of this process: unlike wall time, it does not
    grow when the machine is busy with something else."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_worker(script: Path, *args: str) -> dict:
    """Run one pipeline in its own process, so its peak memory is its own."""
    done = subprocess.run(
        [sys.executable, str(script), "--worker", *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"worker {args} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(title: str, columns: list[str], rows: list[list]) -> str:
    widths = [max(len(str(c)), *(len(_fmt(r[i])) for r in rows)) for i, c in enumerate(columns)]
    lines = [
        title,
        "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(_fmt(v).ljust(w) for v, w in zip(r, widths)) + " |" for r in rows]
    text = "\n".join(lines)
    print(text)
    return text


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def write_json(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(data, indent=2))
    print(f"\nwrote {path}")
    return path


def fit_listwise(sets: list[tuple[str, Any, Any]], features: int) -> Any:
    """Weights maximising the answering sentences' softmax share, per question.

    ``sets``: (dataset, X, y) per question, X a sentence per row, y which answer.
    Listwise, because choosing is a comparison within one question. Each dataset
    weighs the same in total; L2 keeps the weights small.
    """
    import numpy as np
    from scipy.optimize import minimize

    counts = {d: sum(1 for ds, _, _ in sets if ds == d) for d, _, _ in sets}
    weight = {d: len(sets) / (len(counts) * n) for d, n in counts.items()}

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.01 * float(w @ w), 0.02 * w
        for dataset, X, y in sets:
            z = X @ w
            z = z - z.max()
            p = np.exp(z) / np.exp(z).sum()
            pos = p[y].sum()
            total -= weight[dataset] * np.log(pos)
            grad -= weight[dataset] * (X[y].T @ (p[y] / pos) - X.T @ p)
        return total / len(sets), grad / len(sets)

    return minimize(loss, np.zeros(features), jac=True, method="L-BFGS-B").x
