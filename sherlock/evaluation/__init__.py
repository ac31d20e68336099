"""Evaluation: metrics, statistics, query sets, fusion tuning, offline and online A/B experiments."""
