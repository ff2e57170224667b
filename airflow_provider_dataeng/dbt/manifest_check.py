"""Is a dbt ``manifest.json`` still the project's? Checks cheap enough for every DAG parse.

A DAG that renders one task per dbt node reads a manifest written at deploy time (``dataeng-dbt manifest``);
when the project changed since, the tasks it shows are not what ``dbt build`` will run. ``check_manifest``
compares the manifest with the project on disk, without importing dbt:

- the project name (``dbt_project.yml`` against the manifest's ``metadata.project_name``);
- the dbt version that wrote the manifest against the installed one (given by the caller), by minor version;
- every file of the project's own nodes, with dbt's own checksum: sha256 of the file's UTF-8 text stripped of
  leading and trailing whitespace (``dbt.parser.read_files``); seeds over 1 MiB carry their path instead
  (dbt does not hash them), so only a big seed becoming small again is seen;
- files added (SQL, Python and CSV files under the project's model, seed, snapshot, test and analysis paths
  that no node came from) and removed (files the manifest names that are gone);
- YAML property files: dbt keeps no checksum of them in ``manifest.json`` (generic tests and sources show
  ``"none"``), so a YAML file the manifest names counts as changed when it was modified after the manifest
  was written (``metadata.generated_at``), and a YAML file it does not name counts as added when it was
  created after that.

Files of installed packages (``dbt_packages/``), macros and ``dbt_project.yml`` itself are not compared. Each
problem carries the command that writes a fresh manifest (:func:`regenerate_command`).

Cost: about 25 ms for a 500-model project (one directory walk, one read and sha256 per node file), half of
it reading files; ``trust_mtimes=True`` hashes only files dated after the manifest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

COMMAND = "dataeng-dbt"
PROBLEM_KINDS = ("project_name", "dbt_version", "changed", "added", "removed")
MAXIMUM_SEED_SIZE = 1024 * 1024  # dbt.constants.MAXIMUM_SEED_SIZE: bigger seeds are checksummed by path
_PATH_KEYS = {  # dbt_project.yml key -> (default, the extensions dbt reads there as nodes)
    "model-paths": (["models"], (".sql", ".py")),
    "seed-paths": (["seeds"], (".csv",)),
    "snapshot-paths": (["snapshots"], (".sql",)),
    "test-paths": (["tests"], (".sql",)),
    "analysis-paths": (["analyses"], (".sql",)),
}
_YAML = (".yml", ".yaml")
# manifest sections whose entries come from the project's files (their original_file_path)
_SECTIONS = ("nodes", "sources", "exposures", "metrics", "semantic_models", "saved_queries", "unit_tests")


@dataclass(frozen=True)
class ManifestProblem:
    """One way the manifest no longer describes the project: ``kind`` is one of ``PROBLEM_KINDS``."""

    kind: str
    message: str
    command: str
    path: str | None = None  # the project file concerned, relative to the project (posix)

    def __str__(self) -> str:
        return f"{self.message} Regenerate the manifest: {self.command}"


def regenerate_command(
    project_dir: str | os.PathLike[str], manifest_path: str | os.PathLike[str] | None = None
) -> str:
    """The command that writes the project's manifest (``--out`` when it is not ``target/manifest.json``)."""
    command = f"{COMMAND} manifest {project_dir}"
    if manifest_path is not None and Path(manifest_path) != Path(project_dir) / "target" / "manifest.json":
        command += f" --out {manifest_path}"
    return command


def missing_manifest_message(
    project_dir: str | os.PathLike[str], manifest_path: str | os.PathLike[str] | None = None
) -> str:
    """What a DAG shows when the manifest it renders from does not exist."""
    path = manifest_path if manifest_path is not None else Path(project_dir) / "target" / "manifest.json"
    return (
        f"dbt manifest {path} not found: the dbt tasks of {project_dir} cannot be rendered without it. "
        f"Write it at deploy time with: {regenerate_command(project_dir, manifest_path)}"
    )


def check_manifest(
    project_dir: str | os.PathLike[str],
    manifest: Mapping[str, Any],
    *,
    manifest_path: str | os.PathLike[str] | None = None,
    dbt_version: str | None = None,
    trust_mtimes: bool = False,
) -> list[ManifestProblem]:
    """Every way ``manifest`` differs from the project in ``project_dir`` (empty when it is current).

    :param manifest: the parsed ``manifest.json``.
    :param manifest_path: where it was read from (named in the regenerate command when not the default).
    :param dbt_version: the installed dbt-core's version when known (the caller finds it, e.g. with
        ``importlib.metadata.version("dbt-core")``); None skips the version check.
    :param trust_mtimes: hash only the files modified after the manifest was written (about
        half the cost; misses a file replaced by an older-dated one, e.g. copied with its times preserved).
    """
    root = Path(project_dir)
    metadata: Mapping[str, Any] = manifest.get("metadata") or {}
    command = regenerate_command(project_dir, manifest_path)
    config = _project_config(root)
    problems: list[ManifestProblem] = []

    def report(kind: str, message: str, path: str | None = None) -> None:
        problems.append(ManifestProblem(kind, message, command, path))

    project_name = config.get("name")
    if metadata.get("project_name") and project_name and metadata["project_name"] != project_name:
        report(
            "project_name",
            f"The manifest is of dbt project {metadata['project_name']!r}, but {project_dir} holds "
            f"project {project_name!r}.",
        )
        return problems  # every file would differ too: one problem says it all
    written_by = metadata.get("dbt_version")
    if dbt_version and written_by and _minor(written_by) != _minor(dbt_version):
        report(
            "dbt_version",
            f"The manifest was written by dbt {written_by}, but dbt {dbt_version} is installed.",
        )

    own = str(project_name or metadata.get("project_name") or "")
    # generated_at, not invocation_started_at: a partial parse keeps the saved manifest's invocation times
    parsed_at = _timestamp(metadata.get("generated_at"))
    checksums: dict[str, Mapping[str, Any]] = {}
    named: set[str] = set()
    for entry in _own_entries(manifest, own):
        for path in _entry_paths(entry, own):
            named.add(path)
        checksum = entry.get("checksum") or {}
        if checksum.get("name") in ("sha256", "path") and entry.get("original_file_path"):
            checksums.setdefault(str(entry["original_file_path"]), checksum)

    on_disk = _project_files(str(root), config)  # path -> (size, mtime)
    for path in sorted(named):
        found = on_disk.get(path) or _stat(os.path.join(root, path))
        if found is None:
            report("removed", f"{path} is in the manifest but no longer in the project.", path)
            continue
        size, mtime = found
        checksum = checksums.get(path)
        if checksum is not None and trust_mtimes and parsed_at is not None and mtime <= parsed_at:
            continue
        if checksum is not None and not _same_content(os.path.join(root, path), size, path, checksum):
            report("changed", f"{path} changed since the manifest was generated.", path)
        elif checksum is None and path.endswith(_YAML) and parsed_at is not None and mtime > parsed_at:
            report("changed", f"{path} was modified after the manifest was generated.", path)

    for path, (_, mtime) in on_disk.items():
        if path in named:
            continue
        if not path.endswith(_YAML):
            report("added", f"{path} is not in the manifest (added since it was generated).", path)
        elif parsed_at is not None and mtime > parsed_at:
            report("added", f"{path} was created after the manifest was generated.", path)
    return problems


def format_problems(problems: list[ManifestProblem], limit: int = 10) -> str:
    """The problems as one message (a DAG warning): the first ``limit``, a count of the rest, the command."""
    if not problems:
        return ""
    lines = [p.message for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more.")
    lines.append(f"Regenerate the manifest: {problems[0].command}")
    return "\n".join(lines)


def _project_config(root: Path) -> Mapping[str, Any]:
    import yaml

    project_file = root / "dbt_project.yml"
    if not project_file.is_file():
        raise FileNotFoundError(f"project_dir {str(root)!r} has no dbt_project.yml")
    loader = getattr(
        yaml, "CSafeLoader", yaml.SafeLoader
    )  # libyaml's parser: a tenth of the pure-Python one's time
    return yaml.load(project_file.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506 (a safe loader)


def _own_entries(data: Mapping[str, Any], project: str) -> Iterator[Mapping[str, Any]]:
    """The manifest's entries from the project's own files (enabled and disabled), not from packages."""
    for section in _SECTIONS:
        for entry in (data.get(section) or {}).values():
            if entry.get("package_name") in (project, None):
                yield entry
    for versions in (data.get("disabled") or {}).values():
        for entry in versions:
            if entry.get("package_name") in (project, None):
                yield entry


def _entry_paths(entry: Mapping[str, Any], project: str) -> Iterable[str]:
    if entry.get("original_file_path"):
        yield str(entry["original_file_path"])
    patch = entry.get("patch_path")  # "<project>://models/x.yml"
    if patch and str(patch).startswith(f"{project}://"):
        yield str(patch)[len(project) + 3 :]


def _same_content(full: str, size: int, path: str, checksum: Mapping[str, Any]) -> bool:
    """dbt's comparison: sha256 of the stripped UTF-8 text; big seeds by path (still big: unchanged)."""
    if checksum.get("name") == "path":
        return size > MAXIMUM_SEED_SIZE and checksum.get("checksum") == path
    if path.endswith(".csv") and size > MAXIMUM_SEED_SIZE:
        return False  # small before, big now: dbt would checksum it by path
    try:
        with open(full, "rb") as handle:
            text = handle.read().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return hashlib.sha256(text.encode("utf-8")).hexdigest() == checksum.get("checksum")


def _stat(full: str) -> tuple[int, float] | None:
    try:
        info = os.stat(full)
    except OSError:
        return None
    return info.st_size, info.st_mtime


def _project_files(root: str, config: Mapping[str, Any]) -> dict[str, tuple[int, float]]:
    """``path -> (size, mtime)`` of the files dbt reads as nodes or properties (paths relative, posix, sorted)."""
    ignored = _dbtignore(root)
    found: dict[str, tuple[int, float]] = {}
    for key, (default, extensions) in _PATH_KEYS.items():
        skip_top = (
            ("generic", "fixtures") if key == "test-paths" else ()
        )  # test macros and fixtures, not nodes
        for base in config.get(key) or default:
            base = str(base).strip("/")
            pending = [(os.path.join(root, base), base)]
            while pending:
                folder, relative = pending.pop()
                try:
                    entries = list(os.scandir(folder))
                except OSError:
                    continue
                for entry in entries:
                    path = f"{relative}/{entry.name}"
                    if entry.is_dir():
                        if not (relative == base and entry.name in skip_top):
                            pending.append((entry.path, path))
                        continue
                    if not entry.name.endswith((*extensions, *_YAML)) or path in found:
                        continue
                    if ignored is not None and ignored(path):
                        continue
                    try:
                        info = entry.stat()
                    except OSError:
                        continue
                    found[path] = (info.st_size, info.st_mtime)
    return dict(sorted(found.items()))


def _dbtignore(root: str) -> Any:
    """A matcher for the paths ``.dbtignore`` excludes (needs pathspec, which dbt installs), else None."""
    ignore_file = Path(root) / ".dbtignore"
    if not ignore_file.is_file():
        return None
    try:
        import pathspec
    except ImportError:
        return None
    spec = pathspec.PathSpec.from_lines("gitwildmatch", ignore_file.read_text(encoding="utf-8").splitlines())
    return spec.match_file


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _timestamp(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
