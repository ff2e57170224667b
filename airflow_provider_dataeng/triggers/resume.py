"""A trigger that waits until a moment and hands the deferred task's saved state back to it.

Why not the standard ``DateTimeTrigger``: its event carries only the time, so the task's progress would
ride only in the deferral's method kwargs, and not every runner keeps those (``dag.test()`` replaces them by
the event). Carrying the state in the event works on every path.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class ResumeAtTrigger(BaseTrigger):
    """Fires at ``moment`` (ISO-8601 with offset) with the payload ``{"resume_at": moment, "state": state}``.

    :param moment: when the task may go on, e.g. when the API's ``Retry-After`` ends.
    :param state: JSON-able progress the task resumes from (cursor, files written so far).
    """

    def __init__(self, moment: str, state: dict[str, Any]) -> None:
        super().__init__()
        when = datetime.fromisoformat(moment)
        if when.tzinfo is None:
            raise ValueError(f"moment must carry a UTC offset, got {moment!r}")
        self.moment = when.isoformat()
        self.state = state

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"moment": self.moment, "state": self.state},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        when = datetime.fromisoformat(self.moment)
        # Sleep in bounded steps: a wall-clock change cannot make the trigger oversleep by more than a minute.
        while (remaining := (when - datetime.now(timezone.utc)).total_seconds()) > 0:
            await asyncio.sleep(min(remaining, 60.0))
        yield TriggerEvent({"resume_at": self.moment, "state": self.state})
