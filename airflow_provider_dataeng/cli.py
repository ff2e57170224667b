"""``dataeng-dbt``: deploy-time commands for dbt projects run by this provider.

``dataeng-dbt manifest PROJECT_DIR`` runs ``dbt parse`` with the profile :class:`~.hooks.dbt.DbtHook`
generates from an Airflow Snowflake connection (taken from the environment, ``AIRFLOW_CONN_<ID>``, or any
secrets backend Airflow is configured with, like any Airflow command) and writes ``manifest.json``: the
file a DAG rendering one task per dbt node reads at parse time, so the DAG processor never runs dbt.
``dbt parse`` does not connect to the warehouse; the connection only has to describe it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

PROG = "dataeng-dbt"
DEFAULT_CONN_ID = "snowflake_default"


def _parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser(prog=PROG, description="Deploy-time commands for dbt projects.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    manifest = commands.add_parser(
        "manifest",
        help="run dbt parse with the profile generated from an Airflow connection; write manifest.json",
        description=(
            "Run `dbt parse` on PROJECT_DIR with the dbt profile generated from an Airflow Snowflake "
            "connection and write its manifest.json (PROJECT_DIR/target/manifest.json unless --out)."
        ),
    )
    manifest.add_argument(
        "project_dir", metavar="PROJECT_DIR", help="the dbt project (holds dbt_project.yml)"
    )
    manifest.add_argument(
        "--conn-id",
        default=None,
        help=f"Airflow Snowflake connection the profile is generated from (default {DEFAULT_CONN_ID})",
    )
    manifest.add_argument(
        "--profiles-dir",
        default=None,
        help="a directory with your own profiles.yml instead of a generated profile (not with --conn-id)",
    )
    manifest.add_argument("--target", default=None, help="dbt target name (generated profile: 'airflow')")
    manifest.add_argument("--vars", default=None, help="dbt vars as a JSON object, as the DAG passes them")
    manifest.add_argument("--out", default=None, help="where to write manifest.json")
    return parser, manifest


def main(argv: Sequence[str] | None = None) -> int:
    main_parser, parser = _parsers()
    args = main_parser.parse_args(argv)
    project_dir = Path(args.project_dir).resolve()
    if not (project_dir / "dbt_project.yml").is_file():
        parser.error(f"PROJECT_DIR {args.project_dir!r} has no dbt_project.yml")
    if args.conn_id is not None and args.profiles_dir is not None:
        parser.error("give --conn-id or --profiles-dir, not both")
    dbt_vars = None
    if args.vars is not None:
        try:
            dbt_vars = json.loads(args.vars)
        except ValueError as error:
            parser.error(
                f'--vars is not valid JSON ({error}); pass an object, e.g. \'{{"day": "2026-01-01"}}\''
            )
        if not isinstance(dbt_vars, dict):
            parser.error(f"--vars must be a JSON object, got {type(dbt_vars).__name__}")
    out = Path(args.out) if args.out else project_dir / "target" / "manifest.json"
    from airflow.sdk.exceptions import AirflowNotFoundException

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        with contextlib.redirect_stdout(
            sys.stderr
        ):  # logs (Airflow's and dbt's) to stderr, the result to stdout
            written = write_manifest(
                project_dir,
                out,
                conn_id=args.conn_id if args.profiles_dir is None else None,
                profiles_dir=args.profiles_dir,
                target=args.target,
                dbt_vars=dbt_vars,
            )
    except (RuntimeError, FileNotFoundError, ValueError) as error:
        print(f"{PROG} manifest: {error}", file=sys.stderr)
        return 1
    except AirflowNotFoundException:
        conn_id = args.conn_id or DEFAULT_CONN_ID
        print(
            f"{PROG} manifest: Airflow connection {conn_id!r} is not defined: set "
            f"AIRFLOW_CONN_{conn_id.upper()} (or pass --conn-id); dbt parse does not connect, but the "
            "profile is generated from it.",
            file=sys.stderr,
        )
        return 1
    print(_summary(written))
    return 0


def write_manifest(
    project_dir: Path,
    out: Path,
    *,
    conn_id: str | None = DEFAULT_CONN_ID,
    profiles_dir: str | os.PathLike[str] | None = None,
    target: str | None = None,
    dbt_vars: dict | None = None,
) -> Path:
    """``dbt parse`` of ``project_dir``; its manifest replaces ``out`` atomically (never half-written)."""
    from airflow_provider_dataeng.hooks.dbt import DbtHook

    hook = (
        DbtHook(profiles_dir=profiles_dir)
        if profiles_dir is not None
        else DbtHook(snowflake_conn_id=conn_id or DEFAULT_CONN_ID)
    )
    args = ["parse", *(["--target", target] if target else [])]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    run_dir = Path(tempfile.mkdtemp(prefix="dataeng-dbt-parse-"))
    try:
        with hook.profiles(project_dir, target) as (profiles, env):
            hook.run_deps_if_needed(project_dir, profiles_dir=profiles, env=env, run_dir=run_dir)
            with hook.partial_parse_cache(project_dir, run_dir / "target"):
                outcome = hook.run_dbt(project_dir, args, profiles_dir=profiles, env=env, run_dir=run_dir)
        produced = outcome.target_path / "manifest.json"
        if not outcome.success or not produced.is_file():
            raise RuntimeError(f"dbt parse of {project_dir} failed: {outcome.error or 'see the log above'}")
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        shutil.copyfile(produced, staging)
        os.replace(staging, out)
        return out
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _summary(path: Path) -> str:
    from airflow_provider_dataeng.dbt.manifest import Manifest

    manifest = Manifest.load(path)
    counts: dict[str, int] = {}
    for node in manifest.nodes():
        counts[node.resource_type] = counts.get(node.resource_type, 0) + 1
    what = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
    return f"wrote {path} (project {manifest.project_name}, dbt {manifest.dbt_version}: {what})"


if __name__ == "__main__":
    sys.exit(main())
