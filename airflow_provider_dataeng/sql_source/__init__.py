"""Reading a SQL database for ``SqlExtractOperator``: pure statement builders, the type table and the COPY
stream's framing (no I/O; the hook runs what these build).

PostgreSQL writes each row's JSON itself (``row_to_json`` over per-type expressions, :mod:`.types`), and
``COPY ... TO STDOUT`` streams those texts as JSON lines, with no per-value work in Python
(:mod:`.copy_stream`); :mod:`.query` builds the statements, :mod:`.names` checks and quotes identifiers.
"""

from __future__ import annotations

from airflow_provider_dataeng.sql_source.names import parse_column, parse_table, quote_ident
from airflow_provider_dataeng.sql_source.types import Column, SourceType, TypeMapping, mapping_for

__all__ = ["Column", "SourceType", "TypeMapping", "mapping_for", "parse_column", "parse_table", "quote_ident"]
