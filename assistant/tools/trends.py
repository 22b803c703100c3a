"""What a range query says, in a few numbers an answer can cite instead of raw points: the current value, min and
max, the rate of change (least squares, per hour), when a threshold was crossed, and how far the window sits from a
baseline window (the same hours a day or a week earlier)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

Point = tuple[float, float]  # (unix seconds, value)


def slope_per_hour(points: Sequence[Point]) -> float:
    """The least squares slope of the values, per hour (0 for fewer than two points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mt) * (v - mv) for t, v in points) / var * 3600


def crossing(points: Sequence[Point], threshold: float, above: bool = True) -> float | None:
    """The time of the last move from the good side of ``threshold`` to the bad side, if the series ends bad."""
    bad = [(v > threshold) if above else (v < threshold) for _, v in points]
    if not bad or not bad[-1]:
        return None
    for i in range(len(bad) - 1, 0, -1):
        if not bad[i - 1]:
            return points[i][0]
    return points[0][0]  # bad for the whole window


def summarize(
    metric: str,
    labels: dict[str, str],
    points: Sequence[Point],
    baseline: Sequence[Point] = (),
    threshold: float | None = None,
    above: bool = True,
) -> dict[str, Any]:
    """The summary of one series, with a sentence that says it."""
    points = [(t, v) for t, v in points if math.isfinite(v)]  # a NaN (0/0) would make the slope NaN
    values = [v for _, v in points]
    if not values:
        return {"labels": labels, "points": 0, "sentence": f"{_name(metric, labels)} has no data in the window"}
    unit = unit_of(metric)
    out: dict[str, Any] = {
        "labels": labels,
        "points": len(values),
        "current": values[-1],
        "min": min(values),
        "max": max(values),
        "mean": sum(values) / len(values),
        "change_per_hour": slope_per_hour(points),
        "start": _iso(points[0][0]),
        "end": _iso(points[-1][0]),
    }
    if threshold is not None:
        out["threshold"] = threshold
        crossed = crossing(points, threshold, above)
        out["crossed_at"] = _iso(crossed) if crossed is not None else None
    base = [v for _, v in baseline if math.isfinite(v)]
    if base:
        out["baseline_mean"] = sum(base) / len(base)
        out["deviation_pct"] = _pct(out["mean"], out["baseline_mean"])
    out["sentence"] = _sentence(_name(metric, labels), out, unit, above)
    return out


def unit_of(metric: str) -> str:
    """bytes, seconds, ratio or '' from the metric's name or shape."""
    if metric.endswith("_bytes") or "bytes" in metric:
        return "bytes"
    if metric.endswith("_seconds") or "_seconds_" in metric or "duration" in metric or "latency" in metric:
        return "seconds"
    if "ratio" in metric or "/" in metric or "percent" in metric:
        return "ratio"
    return ""


def fmt(value: float, unit: str) -> str:
    """A value as a person reads it: 1.42Gi, 350ms, 8.1%."""
    if unit == "bytes":
        for size, suffix in ((2**40, "Ti"), (2**30, "Gi"), (2**20, "Mi"), (2**10, "Ki")):
            if abs(value) >= size:
                return f"{value / size:.2f}{suffix}".replace(".00", "")
        return f"{value:.0f}B"
    if unit == "seconds":
        return f"{value * 1000:.0f}ms" if abs(value) < 1 else f"{value:.2f}s"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    return f"{value:.4g}"


def _sentence(name: str, s: dict[str, Any], unit: str, above: bool) -> str:
    hours = (datetime.fromisoformat(s["end"]) - datetime.fromisoformat(s["start"])).total_seconds() / 3600
    change = s["change_per_hour"]
    trend = (
        "flat"
        if abs(change) * max(hours, 1) < 0.05 * max(abs(s["mean"]), 1e-12)
        else (f"rising {fmt(change, unit)}/h" if change > 0 else f"falling {fmt(-change, unit)}/h")
    )
    text = (
        f"{name} is {fmt(s['current'], unit)} now (min {fmt(s['min'], unit)}, max {fmt(s['max'], unit)} over "
        f"{hours:.0f}h), {trend}"
    )
    if s.get("threshold") is not None:
        side = "above" if above else "below"
        when = f"since {s['crossed_at']}" if s.get("crossed_at") else "not now"
        text += f"; {side} {fmt(s['threshold'], unit)} {when}"
    if s.get("deviation_pct") is not None:
        text += f"; {s['deviation_pct']:+.0f}% against the baseline window"
    return text + "."


def _name(metric: str, labels: dict[str, str]) -> str:
    keys = [k for k in ("namespace", "pod", "container", "service", "instance_name") if k in labels]
    inner = ",".join(f"{k}={labels[k]}" for k in keys)
    return f"{metric}{{{inner}}}" if inner else metric


def _pct(value: float, base: float) -> float | None:
    return None if base == 0 else (value - base) / abs(base) * 100


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
