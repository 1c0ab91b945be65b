"""Series slots for one metric: attribute tuple -> slot index into the aggregator's
arrays, a hard limit with one overflow series, and expiry of idle series."""

from __future__ import annotations

from typing import Any

import numpy as np

from collector.model import AttrValue

Array = np.ndarray[Any, Any]
OVERFLOW_KEY = "otel.metric.overflow"
OVERFLOW_ATTRS: dict[str, AttrValue] = {OVERFLOW_KEY: "true"}
OVERFLOW_GROUP: tuple[AttrValue, ...] = ("\0overflow",)  # never an attribute tuple of real data


class SeriesTable:
    def __init__(self, names: list[str], max_series: int) -> None:
        self.names = names
        self.max_series = max_series
        self.slots: dict[tuple[AttrValue, ...], int] = {}
        self.attrs: list[dict[str, AttrValue]] = []
        self.start_ns: list[int] = []
        self.last_seen: list[float] = []
        self.free: list[int] = []
        # Groups refused a slot: they keep going to overflow until idle for expire_after.
        self.limited: dict[tuple[AttrValue, ...], float] = {}
        self.live = 0

    @property
    def capacity(self) -> int:
        return len(self.attrs)

    @property
    def overflow_slot(self) -> int | None:
        return self.slots.get(OVERFLOW_GROUP)

    def regular_series(self) -> int:
        return self.live - (1 if OVERFLOW_GROUP in self.slots else 0)

    def assign(self, groups: list[tuple[AttrValue, ...]], now_ns: int, now: float) -> tuple[Array, list[int]]:
        """Slot of each group; also the new slots (to be cleared by the aggregator)."""
        out = np.empty(len(groups), dtype=np.int64)
        new: list[int] = []
        for i, group in enumerate(groups):
            slot = self.slots.get(group)
            if slot is None:
                if group in self.limited or self.regular_series() >= self.max_series:
                    self.limited[group] = now
                    group = OVERFLOW_GROUP
                    slot = self.slots.get(group)
                if slot is None:
                    attrs = OVERFLOW_ATTRS if group is OVERFLOW_GROUP else dict(zip(self.names, group, strict=True))
                    slot = self._allocate(group, dict(attrs), now_ns)
                    new.append(slot)
            self.last_seen[slot] = now
            out[i] = slot
        return out, new

    def _allocate(self, group: tuple[AttrValue, ...], attrs: dict[str, AttrValue], now_ns: int) -> int:
        if self.free:
            slot = self.free.pop()
            self.attrs[slot], self.start_ns[slot] = attrs, now_ns
        else:
            slot = len(self.attrs)
            self.attrs.append(attrs)
            self.start_ns.append(now_ns)
            self.last_seen.append(0.0)
        self.slots[group] = slot
        self.live += 1
        return slot

    def expire(self, cutoff: float) -> list[int]:
        """Forget series idle since before `cutoff`; returns the freed slots."""
        freed = [slot for slot in self.slots.values() if self.last_seen[slot] < cutoff]
        if freed:
            gone = set(freed)
            self.slots = {g: s for g, s in self.slots.items() if s not in gone}
            self.free.extend(freed)
            self.live -= len(freed)
            for slot in freed:
                self.attrs[slot] = {}
        self.limited = {g: t for g, t in self.limited.items() if t >= cutoff}
        return freed

    def live_slots(self) -> list[int]:
        return sorted(self.slots.values())
