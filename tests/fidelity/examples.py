"""How many generated examples the fidelity suite runs, and with which seed.

``make test`` (CI) runs a fixed derandomized sample: ``FIDELITY_EXAMPLES`` unset means 300 examples per
property and 300 generated records per pipeline run, the same ones on every run. ``make fuzz`` sets
``FIDELITY_EXAMPLES=5000`` and a random ``FIDELITY_SEED`` (printed, and named in every failure message);
``make fuzz FIDELITY_SEED=<n>`` reproduces a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.strategies import SearchStrategy

EXAMPLES = int(os.environ.get("FIDELITY_EXAMPLES") or 300)
SEED = os.environ.get("FIDELITY_SEED") or None
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def reproduce_hint() -> str:
    """Appended to failure messages: how to get the same examples again."""
    if SEED is None:
        return "(derandomized CI sample: the same examples on every run)"
    return f"(reproduce with: make fuzz FIDELITY_SEED={SEED} FIDELITY_EXAMPLES={EXAMPLES})"


def property_settings(max_examples: int = EXAMPLES) -> Callable[[F], F]:
    """Per-example properties: many cheap examples, shrunk to a minimal failing one."""
    return _settings(max_examples=max_examples, phases=list(Phase))


def generate(strategy: SearchStrategy[T], count: int = EXAMPLES) -> list[T]:
    """``count`` examples of ``strategy`` (fewer if it has fewer distinct ones), drawn by hypothesis's own
    generation phase, for a batch that goes through one pipeline run: each value is one example, and a failure
    lists the values that differ instead of shrinking (each shrink step would be a whole pipeline run)."""
    drawn: list[T] = []

    @_settings(max_examples=count, phases=[Phase.generate])
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn


def _settings(**kwargs: Any) -> Callable[[F], F]:
    configured = settings(
        derandomize=SEED is None,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        **kwargs,
    )

    def apply(test: F) -> F:
        test = configured(test)
        return seed(int(SEED))(test) if SEED is not None else test

    return apply
