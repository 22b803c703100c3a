"""Pictures of a report, drawn from its JSON (so an old report can be drawn again): recall@k and hit@k curves per
retrieval mode, the main checks per tag, and the latency of each stage."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402

_BY_TAG = ("hit@5", "citation_recall", "fact_coverage", "abstention_accuracy")
_STAGES = ("tools_ms", "retrieval_ms", "generation_ms", "validation_ms", "total_ms")


def draw(report: Mapping[str, Any], out: Path) -> list[Path]:
    """The plots of the report, as PNG files in ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    drawn = [_curves(report, out / "recall_at_k.png"), _by_tag(report, out / "by_tag.png"), _latency(report, out)]
    return [p for p in drawn if p is not None]


def _curves(report: Mapping[str, Any], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for mode, data in report["modes"].items():
        curves = data["curves"]
        axes[0].plot(curves["k"], curves["recall"], marker="o", label=mode)
        axes[1].plot(curves["k"], curves["hit"], marker="o", label=mode)
    for ax, name in zip(axes, ("recall@k", "hit@k"), strict=True):
        ax.set_title(name)
        ax.set_xlabel("k (sources)")
        ax.set_xticks(range(1, 11))
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend(title="retrieval")
    return _save(fig, path)


def _by_tag(report: Mapping[str, Any], path: Path) -> Path:
    mode = next(iter(report["modes"]))
    summary = report["modes"][mode]["summary"]
    tags = list(summary)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(tags)), 4))
    width = 0.8 / len(_BY_TAG)
    for i, metric in enumerate(_BY_TAG):
        values = [summary[t]["means"].get(metric, 0.0) for t in tags]
        ax.bar([x + i * width for x in range(len(tags))], values, width, label=metric)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(tags))], tags, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"checks per tag ({mode})")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _latency(report: Mapping[str, Any], out: Path) -> Path | None:
    mode = next(iter(report["modes"]))
    cases = report["modes"][mode]["cases"]
    stages = [s for s in _STAGES if any(s in c["timings"] for c in cases)]
    if not stages:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.boxplot(
        [[c["timings"][s] for c in cases if s in c["timings"]] for s in stages],
        tick_labels=[s.removesuffix("_ms") for s in stages],
        showfliers=True,
    )
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.set_title(f"latency per stage ({mode}, {len(cases)} answers)")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, out / "latency.png")


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
