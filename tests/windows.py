"""How many of some moments fall in one sliding window: how the tests and the benchmarks
(benchmarks/alert_window.py) measure an alert source's 120-in-any-60-seconds limit."""

from __future__ import annotations


def most_in_window(times: list[float], seconds: float = 60.0) -> int:
    """The largest number of `times` in any half-open window [t, t + seconds)."""
    ordered = sorted(times)
    most = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most
