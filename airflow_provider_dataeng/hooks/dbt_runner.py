"""One dbt command, run in this process or as a child process's entry point, parsing with a steady profile.

The generated profile's query tag holds the run id and try number, and dbt starts parsing again from scratch
whenever the profile changes (partial parsing compares a hash of the connection settings). So the project is
parsed first (``dbt parse`` with the same options, the tag variable set to a value that never changes), and
the command runs on that manifest with the run's real tag (dbt's documented ``dbtRunner(manifest=...)``):
partial parsing works from one run to the next, and every query still carries the run's tag.

No Airflow import here: the subprocess mode runs ``python -m airflow_provider_dataeng.hooks.dbt_runner``.
dbt itself is imported inside the functions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_provider_dataeng.dbt.parse_args import parse_command

PARSE_QUERY_TAG = ""  # the tag while parsing: the same in every run, so the profile hash stays the same
_NO_MANIFEST = ("parse", "deps", "debug", "init", "clean")  # commands that parse nothing, or only parse


def parse_options() -> dict[str, bool]:
    """The options ``dbt parse`` accepts, each with whether it takes a value (from dbt's click command)."""
    from dbt.cli.main import cli

    options: dict[str, bool] = {}
    for param in cli.commands["parse"].params:  # type: ignore[attr-defined]
        for name in param.opts:
            options[name] = not getattr(param, "is_flag", False)
        for name in param.secondary_opts:
            options[name] = False
    return options


def invoke(
    args: Sequence[str],
    *,
    tag_env: str | None = None,
    callbacks: Sequence[Callable[[Any], None]] = (),
    parse_callbacks: Sequence[Callable[[Any], None]] = (),
) -> tuple[bool, BaseException | None]:
    """Run ``dbt <args>``; with ``tag_env`` (the variable the profile's query tag is read from), parse first.

    Returns (success, dbt's exception if dbt itself failed). ``callbacks`` get the command's events,
    ``parse_callbacks`` the parse's.
    """
    from dbt.cli.main import dbtRunner

    manifest: Any = None
    if tag_env is not None and args and args[0] not in _NO_MANIFEST:
        with environ({tag_env: PARSE_QUERY_TAG}):
            parsed = dbtRunner(callbacks=list(parse_callbacks)).invoke(parse_command(args, parse_options()))
        if not parsed.success:
            return False, parsed.exception or RuntimeError("dbt parse failed: see its messages above")
        manifest = parsed.result  # dbt parse's result is the Manifest
    result = dbtRunner(manifest=manifest, callbacks=list(callbacks)).invoke(list(args))
    return bool(result.success), result.exception


@contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block (dbt's env_var() reads os.environ) and restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def main(argv: Sequence[str]) -> int:
    """``python -m airflow_provider_dataeng.hooks.dbt_runner TAG_ENV|- ARGS...``: exit codes as dbt's own
    (0 success, 1 nodes failed, 2 dbt itself failed)."""
    tag_env = None if argv[0] == "-" else argv[0]
    success, exception = invoke(argv[1:], tag_env=tag_env)
    if exception is not None:
        print(f"dbt failed: {type(exception).__name__}: {exception}", file=sys.stderr)
        return 2
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
