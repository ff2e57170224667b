"""Deterministic hashing: the only source of "randomness" in the demo data.

Every generated value is ``mix(seed, ...)`` of integers, so data for a simulated time is a pure
function of (seed, time) and identical across processes and Python versions (no ``hash()``, no RNG
state).
"""

from __future__ import annotations

_MASK = (1 << 64) - 1


def mix(seed: int, *parts: int) -> int:
    """A 64-bit hash of ``seed`` and integer ``parts`` (splitmix64 finaliser over a running state)."""
    x = (seed * 0x9E3779B97F4A7C15) & _MASK
    for part in parts:
        x = (x ^ (part & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        x ^= x >> 31
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK
    return x ^ (x >> 31)
