"""When record number ``i`` comes into existence: a steady arrival rate, as closed-form arithmetic.

``initial`` records are spread evenly over ``history`` seconds before the epoch; after the epoch,
``per_run`` records arrive per run. Both directions (id -> time, time -> count) are O(1), so any
simulated time can be served without replaying history.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arrivals:
    epoch: int
    run_seconds: int
    initial: int
    per_run: int
    history: int

    def created_at(self, i: int) -> int:
        """Unix seconds at which record ``i`` (1-based) is created; non-decreasing in ``i``."""
        if i <= self.initial:
            return self.epoch - self.history + ((i - 1) * self.history) // self.initial
        return self.epoch + ((i - self.initial) * self.run_seconds) // self.per_run

    def count(self, t: int) -> int:
        """How many records exist at time ``t`` (the largest ``i`` with ``created_at(i) <= t``)."""
        if t >= self.epoch:
            return self.initial + ((t - self.epoch + 1) * self.per_run - 1) // self.run_seconds
        since_start = t - (self.epoch - self.history)
        if since_start < 0 or self.initial == 0:
            return 0
        return min(self.initial, ((since_start + 1) * self.initial - 1) // self.history + 1)

    def first_at_or_after(self, t: int) -> int:
        """The smallest ``i`` created at or after ``t``."""
        return self.count(t - 1) + 1
