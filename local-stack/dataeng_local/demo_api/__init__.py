"""A demo source API for the local stack: realistic, changing, deterministic data over HTTP.

Customers, orders and events as pure functions of (seed, simulated time), served with every common
pagination style, four auth variants and switchable faults. See ``README.md`` in this folder.
``create_app`` is imported lazily so reading the configuration does not load the web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataeng_local.demo_api.config import Credentials, DataShape, DemoApiConfig

if TYPE_CHECKING:
    from dataeng_local.demo_api.app import create_app

__all__ = ["Credentials", "DataShape", "DemoApiConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from dataeng_local.demo_api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
