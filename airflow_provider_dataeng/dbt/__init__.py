"""Pure dbt logic (no Airflow, no dbt import, no I/O beyond reading a JSON file on request).

* :mod:`.profiles`: an Airflow Snowflake connection mapped to a dbt-snowflake profile target, one small
  declarative mapping per auth method in :mod:`.snowflake_auth`;
* :mod:`.results`: dbt's ``run_results.json`` / ``sources.json`` read into the operator's summary;
* :mod:`.manifest`: dbt's ``manifest.json`` read into typed nodes (relations, dependencies), used by
  lineage and assets and by anything that selects nodes from a manifest;
* :mod:`.selection` (with :mod:`.selection_spec`): dbt's node selection (``select``, ``exclude``, YAML
  selectors, graph operators) evaluated on a manifest, as ``dbt ls`` answers it; :mod:`.plan`: the selected
  nodes as tasks and edges;
* :mod:`.parse_args`: the ``dbt parse`` command that parses a project as a given command would (the hook
  parses first so that partial parsing survives the per-run query tag);
* :mod:`.manifest_check`: whether a manifest still describes the project on disk (reads the project's files
  and checksums them as dbt does), with the command that regenerates it (``dataeng-dbt manifest``).

The hook (:mod:`airflow_provider_dataeng.hooks.dbt`) does the I/O: it reads the connection, writes the
profile and runs dbt.
"""
