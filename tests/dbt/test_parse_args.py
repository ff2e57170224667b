"""The `dbt parse` command the hook runs before a command, so runs keep dbt's partial parsing."""

from __future__ import annotations

import pytest

from airflow_provider_dataeng.dbt.parse_args import parse_command

# a part of what `dbt parse` accepts (the hook reads the whole set from dbt's command line definition)
ACCEPTED = {
    "--vars": True,
    "--target": True,
    "-t": True,
    "--profile": True,
    "--project-dir": True,
    "--profiles-dir": True,
    "--target-path": True,
    "--log-path": True,
    "--log-level": True,
    "--threads": True,
    "--partial-parse": False,
    "--no-partial-parse": False,
    "--no-use-colors": False,
}


def test_keeps_what_parse_accepts_and_drops_the_rest_with_all_their_values() -> None:
    command = [
        "build", "--select", "fqn:a", "tag:b", "--exclude", "c", "--vars", '{"x": 1}', "--full-refresh",
        "--target", "local", "--project-dir", "/p", "--no-use-colors", "--indirect-selection", "empty",
    ]
    assert parse_command(command, ACCEPTED) == [
        "parse", "--vars", '{"x": 1}', "--target", "local", "--project-dir", "/p", "--no-use-colors",
    ]


def test_a_two_word_command_and_inline_values() -> None:
    command = ["source", "freshness", "--select=source:raw", "--vars={a: 1}", "-t", "prod", "--no-partial-parse"]
    assert parse_command(command, ACCEPTED) == ["parse", "--vars={a: 1}", "-t", "prod", "--no-partial-parse"]


@pytest.mark.parametrize("command", [["run"], ["build", "--select", "a", "b", "c"]])
def test_nothing_to_keep(command: list[str]) -> None:
    assert parse_command(command, ACCEPTED) == ["parse"]


def test_the_hook_reads_the_options_from_dbt_itself() -> None:
    from airflow_provider_dataeng.hooks.dbt_runner import parse_options

    options = parse_options()
    assert {k: options[k] for k in ACCEPTED} == ACCEPTED
    assert "--select" not in options and "--full-refresh" not in options
