"""dbt hook: a dbt-snowflake profile from an Airflow connection, and dbt runs in-process or as a subprocess.

The profile is written to a private temporary directory (0700, file 0600) that is removed after the run;
secrets reach dbt as ``DBT_ENV_SECRET_*`` environment variables (never in the file, and dbt scrubs them from
its logs) and are registered with Airflow's secrets masker. dbt itself is imported only inside ``run_dbt``,
through :mod:`.dbt_runner` (which parses with a steady query tag first, so partial parsing carries over).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook

from airflow_provider_dataeng.dbt.profiles import (
    DbtProfile,
    SnowflakeConnectionFields,
    build_snowflake_profile,
    needs_access_token,
)

EXECUTION_MODES = ("in_process", "subprocess")
QUERY_TAG_ENV = "DATAENG_DBT_QUERY_TAG"  # the task's JSON query tag, read by the generated profile
_PARTIAL_PARSE_FILE = "partial_parse.msgpack"
_EVENT_LEVELS = {"info": 20, "warn": 30, "error": 40}


@dataclass(frozen=True)
class DbtInvocation:
    """Outcome of one dbt command: success flag, dbt's own error (if any) and where it wrote artifacts."""

    success: bool
    error: str | None
    target_path: Path
    log_path: Path


class DbtHook(BaseHook):
    """Runs dbt against Snowflake with a profile generated from an Airflow Snowflake connection.

    :param snowflake_conn_id: connection the profile is generated from (mutually exclusive with profiles_dir).
    :param profiles_dir: a directory holding the user's own profiles.yml.
    :param execution: ``in_process`` (``dbtRunner``, default, fastest) or ``subprocess`` (isolation).
    :param threads: dbt threads (profile default 4, or extra ``dbt_threads``).
    """

    conn_name_attr = "snowflake_conn_id"
    default_conn_name = "snowflake_default"
    conn_type = "snowflake"
    hook_name = "dbt (Snowflake)"

    def __init__(
        self,
        snowflake_conn_id: str | None = None,
        *,
        profiles_dir: str | os.PathLike[str] | None = None,
        execution: str = "in_process",
        threads: int | None = None,
        warehouse: str | None = None,
        role: str | None = None,
        query_tag: str | None = None,
    ) -> None:
        super().__init__()
        if (snowflake_conn_id is None) == (profiles_dir is None):
            raise ValueError(
                "Give exactly one of snowflake_conn_id (profile generated from the Airflow connection) "
                "or profiles_dir (a directory with your own profiles.yml)"
            )
        if execution not in EXECUTION_MODES:
            raise ValueError(f"execution must be one of {EXECUTION_MODES}, got {execution!r}")
        self.snowflake_conn_id = snowflake_conn_id
        self.profiles_dir = Path(profiles_dir) if profiles_dir is not None else None
        self.execution = execution
        self.threads = threads
        # the task's session settings for a generated profile (names already quoted, the tag as JSON text)
        self.warehouse = warehouse
        self.role = role
        self.query_tag = query_tag

    # -- profile -----------------------------------------------------------------------------------------

    def build_profile(self, profile_name: str, target_name: str) -> DbtProfile:
        """The dbt profile for the connection; secrets are masked in Airflow logs from here on."""
        if self.snowflake_conn_id is None:
            raise ValueError("build_profile needs snowflake_conn_id (this hook uses profiles_dir)")
        conn = self.get_connection(self.snowflake_conn_id)
        fields = SnowflakeConnectionFields(
            conn_id=self.snowflake_conn_id,
            login=conn.login,
            password=conn.password,
            schema=conn.schema,
            extra=conn.extra_dejson,
        )
        access_token = self._fetch_access_token() if needs_access_token(fields) else None
        profile = build_snowflake_profile(
            fields,
            profile_name=profile_name,
            target_name=target_name,
            threads=self.threads,
            access_token=access_token,
        )
        _mask(profile.secrets.values())
        for field_name, value in (("warehouse", self.warehouse), ("role", self.role)):
            if value is not None:
                profile.output[field_name] = value
        if self.query_tag is not None:
            # Through an env var and as_text: dbt renders profile values natively, which would turn
            # the JSON text into a dict.
            profile.output["query_tag"] = "{{ env_var('" + QUERY_TAG_ENV + "') | as_text }}"
        self.log.info(
            "dbt profile %r target %r from connection %r (auth: %s, account %s)",
            profile_name,
            target_name,
            self.snowflake_conn_id,
            profile.auth,
            profile.output["account"],
        )
        for extra, reason in sorted(profile.ignored.items()):
            self.log.warning("Connection extra %r is not passed to dbt: %s", extra, reason)
        return profile

    def _fetch_access_token(self) -> str:
        """OAuth flavours dbt cannot run itself: the Snowflake hook fetches the access token."""
        from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

        token = SnowflakeHook(snowflake_conn_id=self.snowflake_conn_id)._get_conn_params().get("token")
        if not token:
            raise ValueError(f"Snowflake connection {self.snowflake_conn_id!r}: OAuth gave no access token")
        _mask([str(token)])
        return str(token)

    @contextmanager
    def profiles(self, project_dir: Path, target: str | None) -> Iterator[tuple[Path, dict[str, str]]]:
        """Yield (profiles dir, env vars for dbt). A generated profile lives only inside the block."""
        if self.profiles_dir is not None:
            if not (self.profiles_dir / "profiles.yml").is_file():
                raise FileNotFoundError(f"profiles_dir {str(self.profiles_dir)!r} has no profiles.yml")
            yield self.profiles_dir, {}
            return
        import yaml

        profile = self.build_profile(read_profile_name(project_dir), target or "airflow")
        directory = Path(tempfile.mkdtemp(prefix="dataeng-dbt-profile-"))  # mode 0700
        try:
            fd = os.open(directory / "profiles.yml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                yaml.safe_dump(profile.as_profiles_yml(), handle, sort_keys=False)
            env = dict(profile.secrets)
            if self.query_tag is not None:
                env[QUERY_TAG_ENV] = self.query_tag
            yield directory, env
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    # -- running dbt -------------------------------------------------------------------------------------

    def run_dbt(
        self,
        project_dir: Path,
        args: Sequence[str],
        *,
        profiles_dir: Path,
        env: dict[str, str],
        run_dir: Path,
        callbacks: Sequence[Callable[[Any], None]] = (),
    ) -> DbtInvocation:
        """Run one dbt command with artifacts and logs in ``run_dir`` (not in the project).

        ``callbacks`` receive dbt's structured events as they happen (in-process only: a subprocess run
        reports its results through ``run_results.json`` at the end).
        """
        target_path, log_path = run_dir / "target", run_dir / "logs"
        full_args = [
            *args,
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(profiles_dir),
            *(["--target-path", str(target_path)] if args[0] != "deps" else []),  # deps writes no artifacts
            "--log-path",
            str(log_path),
            "--log-format",
            "text",
            "--no-use-colors",
        ]
        self.log.info("dbt %s (%s)", " ".join(args), self.execution)
        if self.execution == "in_process":
            success, error = self._run_in_process(full_args, env, callbacks)
        else:
            success, error = self._run_subprocess(full_args, env, cwd=project_dir)
        return DbtInvocation(success, error, target_path, log_path)

    def _run_in_process(
        self, args: list[str], env: dict[str, str], callbacks: Sequence[Callable[[Any], None]] = ()
    ) -> tuple[bool, str | None]:
        from airflow_provider_dataeng.hooks.dbt_runner import environ, invoke

        def forward(event: Any) -> None:
            level = _EVENT_LEVELS.get(event.info.level)
            if level is not None and event.info.msg:
                self.log.log(level, "%s", event.info.msg)

        # dbt prints nothing itself (its events come through `forward`, i.e. Airflow's masked task log);
        # its debug log file still goes to the run's log path.
        with environ(env):
            success, exception = invoke(
                [*args, "--log-level", "none", "--log-level-file", "debug"],
                tag_env=QUERY_TAG_ENV if QUERY_TAG_ENV in env else None,
                callbacks=[forward, *callbacks],
                parse_callbacks=[forward],
            )
        error = None if exception is None else f"{type(exception).__name__}: {exception}"
        return success, error

    def _run_subprocess(self, args: list[str], env: dict[str, str], cwd: Path) -> tuple[bool, str | None]:
        # dbt's own entry point in a child process with this interpreter (parsing first, as in-process)
        tag_env = QUERY_TAG_ENV if QUERY_TAG_ENV in env else "-"
        command = [sys.executable, "-m", "airflow_provider_dataeng.hooks.dbt_runner", tag_env, *args]
        with subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                if line.strip():
                    self.log.info("%s", line.rstrip())
            returncode = process.wait()
        # dbt exits 1 when nodes failed and 2 when dbt itself failed (bad project, profile, connection).
        return returncode == 0, (None if returncode in (0, 1) else f"dbt exited with code {returncode}")

    def run_deps_if_needed(
        self, project_dir: Path, *, profiles_dir: Path, env: dict[str, str], run_dir: Path
    ) -> bool:
        """``dbt deps`` when the project declares packages that are not installed; True if it ran."""
        if not packages_missing(project_dir):
            return False
        self.log.info("dbt packages of %s are not installed: running dbt deps", project_dir)
        outcome = self.run_dbt(project_dir, ["deps"], profiles_dir=profiles_dir, env=env, run_dir=run_dir)
        if not outcome.success:
            raise RuntimeError(f"dbt deps failed for {project_dir}: {outcome.error or 'see the log above'}")
        return True

    @contextmanager
    def partial_parse_cache(self, project_dir: Path, target_path: Path) -> Iterator[None]:
        """Reuse dbt's partial-parse file across runs (each run has a fresh target dir); dbt validates it.

        The cache lives in a directory of this user only (0700, checked): a parse file planted by someone
        else could change the SQL dbt runs.
        """
        root = Path(tempfile.gettempdir()) / f"dataeng-dbt-cache-{os.getuid()}"
        cache = root / _project_key(project_dir)
        target_path.mkdir(parents=True, exist_ok=True)
        usable = _private_dir(root) and _private_dir(cache)
        if usable and (cache / _PARTIAL_PARSE_FILE).is_file():
            shutil.copyfile(cache / _PARTIAL_PARSE_FILE, target_path / _PARTIAL_PARSE_FILE)
        elif not usable:
            self.log.warning("dbt partial-parse cache %s is not private to this user: not used", cache)
        yield
        produced = target_path / _PARTIAL_PARSE_FILE
        if usable and produced.is_file():
            staging = cache / f".{os.getpid()}.{_PARTIAL_PARSE_FILE}"
            shutil.copyfile(produced, staging)
            os.replace(staging, cache / _PARTIAL_PARSE_FILE)


def read_profile_name(project_dir: Path) -> str:
    """The ``profile:`` a dbt project asks for (the generated profile must carry that name)."""
    import yaml

    project_file = project_dir / "dbt_project.yml"
    if not project_file.is_file():
        raise FileNotFoundError(f"project_dir {str(project_dir)!r} has no dbt_project.yml")
    config = yaml.safe_load(project_file.read_text()) or {}
    name = config.get("profile")
    if not name:
        raise ValueError(
            f"{project_file} sets no 'profile:'; add one (any name) so a profile can be generated"
        )
    return str(name)


def packages_missing(project_dir: Path) -> bool:
    """True when packages.yml/dependencies.yml lists packages and the install dir lacks some of them."""
    import yaml

    declared: list[Any] = []
    for name in ("packages.yml", "dependencies.yml"):
        path = project_dir / name
        if path.is_file():
            declared += (yaml.safe_load(path.read_text()) or {}).get("packages") or []
    if not declared:
        return False
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
    install_dir = project_dir / str(config.get("packages-install-path", "dbt_packages"))
    if not install_dir.is_dir():
        return True
    installed = {p.name for p in install_dir.iterdir() if (p / "dbt_project.yml").is_file()}
    lock = project_dir / "package-lock.yml"
    if lock.is_file():
        locked = [p.get("name") for p in (yaml.safe_load(lock.read_text()) or {}).get("packages") or []]
        if locked and all(locked):
            return not set(locked) <= installed
    return len(installed) < len(declared)


def _private_dir(path: Path) -> bool:
    """Create ``path`` (0700) if needed; True when it is a real directory owned by us and closed to others."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def _project_key(project_dir: Path) -> str:
    return hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:16]


def _mask(values: Any) -> None:
    from airflow.sdk.log import mask_secret

    for value in values:
        if value:
            mask_secret(value)
