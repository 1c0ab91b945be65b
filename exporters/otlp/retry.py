"""Exponential backoff with jitter."""

from __future__ import annotations

import random

from exporters.otlp.config import RetrySettings


class Backoff:
    def __init__(self, settings: RetrySettings) -> None:
        self.settings = settings
        self._interval = settings.initial_interval

    def next_delay(self, server_asked: float | None = None) -> float:
        """The next wait: the current interval ± jitter, at least what the server asked for."""
        s = self.settings
        jitter = s.randomization_factor * self._interval
        delay = random.uniform(self._interval - jitter, self._interval + jitter)
        self._interval = min(self._interval * s.multiplier, s.max_interval)
        if server_asked is not None:
            delay = max(delay, server_asked)
        return min(delay, max(s.max_interval, server_asked or 0.0))
