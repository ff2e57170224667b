"""Argument checks the operators share: is a value still a Jinja template, and the simple type checks.

An operator checks every argument it can when it is built (at DAG parse time) and a templated one after
rendering, before any I/O. Whether an argument is templated is decided here, for every operator alike:
``{{ ... }}``, ``{% ... %}`` and ``{# ... #}`` all make it a template, looked for inside lists, tuples and
mappings (keys too) as Airflow renders them. The checks raise ``ValueError`` naming the parameter, what it
takes and the value given, in one wording whichever operator raises it. Pure: no Airflow import.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# Jinja's default delimiters (expression, statement, comment), which Airflow renders templates with.
TEMPLATE_MARKERS = ("{{", "{%", "{#")


def template_start(text: str) -> int:
    """Index of the first template marker in ``text``, or -1 when it holds none."""
    found = [i for i in (text.find(marker) for marker in TEMPLATE_MARKERS) if i != -1]
    return min(found, default=-1)


def is_templated(value: Any) -> bool:
    """True when ``value`` (a string, or a list/tuple/set/mapping holding one) still holds a Jinja template."""
    if isinstance(value, str):
        return template_start(value) != -1
    if isinstance(value, Mapping):
        return any(is_templated(k) or is_templated(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(is_templated(item) for item in value)
    return False


def flag(name: str, value: Any) -> bool:
    """``value`` must be a bool (``1``, ``"yes"`` or ``None`` are refused, not coerced)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(name: str, value: Any, *, optional: bool = False) -> Any:
    """``value`` must be an integer >= 1 (or ``None`` when ``optional``)."""
    if optional and value is None:
        return None
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer{' or None' if optional else ''}, got {value!r}")
    return value


def non_negative_int(name: str, value: Any, *, unit: str = "") -> int:
    """``value`` must be an integer >= 0; ``unit`` (e.g. ``"pages"``) is said in the error."""
    if not _is_int(value) or value < 0:
        raise ValueError(
            f"{name} must be a non-negative integer{f' ({unit})' if unit else ''}, got {value!r}"
        )
    return int(value)


def choice(name: str, value: T, allowed: Collection[Any]) -> T:
    """``value`` must be one of ``allowed`` (compared with ``==``, so ``1`` and ``True`` are told apart)."""
    try:
        known = value in allowed and not (
            isinstance(value, bool) and not any(isinstance(a, bool) for a in allowed)
        )
    except TypeError:  # an unhashable value against a set or mapping of choices
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {', '.join(str(a) for a in allowed)}, got {value!r}")
    return value
