"""The ``dbt parse`` command that parses a project exactly as a given dbt command would.

Why: the hook parses first and hands the parsed manifest to the command (dbt's documented
``dbtRunner(manifest=...)``), so that what differs between runs but not between parses (the JSON query tag
holds the run id and try number) does not cost a full re-parse on every run. dbt's partial parsing starts
again from scratch whenever the profile changes, and the query tag is part of the profile.

Pure: the options ``dbt parse`` accepts are given (the hook reads them from dbt's command line definition),
so this module imports no dbt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def parse_command(command: Sequence[str], accepted: Mapping[str, bool]) -> list[str]:
    """``["parse", ...]`` with the options of ``command`` that ``dbt parse`` accepts, in their order.

    ``command`` is a dbt command line without the ``dbt`` (``["build", "--select", "a", "b", "--vars",
    "{...}"]``); its leading words (``build``; ``source freshness``) are the subcommand. ``accepted`` maps
    each option ``dbt parse`` accepts to whether it takes a value (``{"--vars": True, "--no-partial-parse":
    False, ...}``). Other options are left out with all of their values (``--select a b``), so the parse
    sees the same project, profile, target, vars, paths and parser flags as the command, and nothing else.
    """
    args = list(command)
    start = 0
    while start < len(args) and not args[start].startswith("-"):
        start += 1
    parse = ["parse"]
    position = start
    while position < len(args):
        token = args[position]
        position += 1
        if not token.startswith("-"):
            continue  # a value of an option that was left out
        name, has_inline_value, _ = token.partition("=")
        takes_value = accepted.get(name)
        if takes_value is None:
            while position < len(args) and not args[position].startswith("-"):
                position += 1  # every value of an option parse does not take (--select a b)
            continue
        parse.append(token)
        if takes_value and not has_inline_value and position < len(args):
            parse.append(args[position])
            position += 1
    return parse
