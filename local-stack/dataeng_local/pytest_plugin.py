"""pytest plugin: a ``local_stack`` fixture, one stack per test session.

Installing dataeng-local registers it (``pytest11`` entry point ``dataeng_local.pytest_plugin``, so an explicit
``-p dataeng_local.pytest_plugin`` or ``pytest_plugins = [...]`` is harmless); ``-p no:dataeng_local.pytest_plugin``
turns it off.
The fixture starts the services on free ports in a temporary directory, sets the ``AIRFLOW_CONN_*``
variables for the whole session (restored at the end), and stops every process when the session
ends. Choose services with the ini option ``dataeng_local_services`` or ``$DATAENG_LOCAL_SERVICES``
(comma-separated; default all three).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from dataeng_local.stack import SERVICES, LocalStack

SERVICES_ENV = "DATAENG_LOCAL_SERVICES"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "dataeng_local_services",
        "services the local_stack fixture starts (comma-separated)",
        default=",".join(SERVICES),
    )


def _services(config: pytest.Config) -> list[str]:
    text = os.environ.get(SERVICES_ENV) or str(config.getini("dataeng_local_services"))
    return [s.strip() for s in text.split(",") if s.strip()]


_RUNNING: list[LocalStack] = []


@pytest.fixture(scope="session")
def local_stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """The running local stack; ``AIRFLOW_CONN_*`` point at it while the session lasts."""
    if _RUNNING:
        # A test module that imports this fixture gets its own session-scoped copy: a second stack whose
        # AIRFLOW_CONN_* would silently redirect every later test's operators away from the first one.
        raise pytest.UsageError(
            f"local_stack started twice in one session (again for {request.node.nodeid or 'the session'}): "
            "register the plugin once (pytest_plugins in the root conftest.py or -p) and do not import "
            "local_stack into test modules"
        )
    with LocalStack(services=_services(request.config)) as stack:
        _RUNNING.append(stack)
        patch = pytest.MonkeyPatch()
        try:
            for key, value in stack.env.items():
                patch.setenv(key, value)
            yield stack
        finally:
            patch.undo()
            _RUNNING.remove(stack)
