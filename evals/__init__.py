"""Offline answer-quality evaluation (golden sets, metrics, runner, reports)."""
