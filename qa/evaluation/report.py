"""What an evaluation leaves behind: a table for the terminal, and JSON and a PNG
chart in the results folder, both named after the dataset."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from qa.evaluation.dataset import Dataset
from qa.evaluation.scoring import MAX_FALSE_REFUSALS, RECALL_KS, Report


def system_name(reader: str) -> str:
    """The row of a reader mode in the table, the JSON and the chart."""
    return f"Article QA ({reader})"


def table(reports: list[Report], title: str) -> str:
    header = [
        "system",
        "questions",
        "R@1",
        "R@5",
        "R@10",
        "MRR",
        "answer hit",
        "citation hit",
        "refusal recall",
        "false refusals",
        "p50 ms",
        "p95 ms",
        "short EM",
        "short F1",
    ]
    rows = [
        [
            r.system,
            f"{r.answerable}+{r.unanswerable}",
            *(f"{r.recall[k]:.3f}" for k in RECALL_KS),
            f"{r.mrr:.3f}",
            f"{r.answer_hit_rate:.3f}",
            f"{r.citation_hit_rate:.3f}",
            f"{r.refusal_recall:.3f}",
            f"{r.false_refusal_rate:.3f}",
            f"{r.p50_ms:.1f}",
            f"{r.p95_ms:.1f}",
            f"{r.short_exact:.3f}" if r.short_given else "-",
            f"{r.short_f1:.3f}" if r.short_given else "-",
        ]
        for r in reports
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = [
        title,
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    for r in reports:
        if r.calibrated:
            c = r.calibrated
            lines.append(
                f"{r.system}: at threshold {c['threshold']:.2f} refusal recall "
                f"{c['refusal_recall']:.3f} with {c['false_refusal_rate']:.3f} false refusals "
                f"(the best within {MAX_FALSE_REFUSALS:.0%})"
            )
    return "\n".join(lines)


def result_paths(dataset: Dataset, out: Path) -> tuple[Path, Path]:
    """Where ``write_results`` puts the JSON and the chart."""
    stem = dataset.path.stem
    return out / f"{stem}.json", out / f"{stem}.png"


def write_results(
    dataset: Dataset,
    out: Path,
    reports: list[Report],
    text: str,
    limit: int | None,
    seed: int,
    thresholds: dict[str, float],
) -> None:
    """The reports and the table as JSON, and the chart (kinds' rows left out of it);
    ``thresholds`` holds each reader mode's refusal threshold, by mode."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = result_paths(dataset, out)
    json_path.write_text(
        json.dumps(
            {
                "dataset": str(dataset.path),
                "limit": limit,
                "seed": seed,
                "thresholds": thresholds,
                "reports": [asdict(r) for r in reports],
                "table": text,
            },
            indent=2,
        )
    )
    try:
        import matplotlib  # noqa: F401  (the bench extra's; the chart is optional)
    except ImportError:
        print(f"no chart ({png_path.name}): `pip install -e '.[bench]'` draws one", flush=True)
        return
    chart(
        [r for r in reports if not r.system.startswith(" ")],
        png_path,
        {system_name(reader): value for reader, value in thresholds.items()},
    )


def chart(reports: list[Report], path: Path, thresholds: dict[str, float]) -> None:
    """Recall@k curves, and each refusing system's trade-off with a dot at its threshold
    (``thresholds`` by system name)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in reports:
        left.plot(list(r.recall_curve), list(r.recall_curve.values()), marker="o", label=r.system)
    left.set(title="Retrieval recall@k", xlabel="k", ylabel="recall", ylim=(0, 1.02))
    left.grid(alpha=0.3)
    left.legend()
    for r in reports:
        if r.tradeoff:
            (line,) = right.plot(
                [p[2] for p in r.tradeoff], [p[1] for p in r.tradeoff], label=r.system
            )
            threshold = thresholds.get(r.system)
            if threshold is None:
                continue
            at = min(r.tradeoff, key=lambda p: abs(p[0] - threshold))
            right.scatter(
                [at[2]],
                [at[1]],
                color=line.get_color(),
                edgecolor="black",
                zorder=3,
                label=f"its threshold, {threshold:.2f}",
            )
    right.axvline(MAX_FALSE_REFUSALS, color="grey", linestyle="--", linewidth=1)
    right.set(
        title="Refusals: unanswerable refused vs answerable refused",
        xlabel="false-refusal rate (answerable)",
        ylabel="refusal recall (unanswerable)",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    right.grid(alpha=0.3)
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
