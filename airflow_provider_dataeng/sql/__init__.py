"""Pure SQL builders (no I/O, no Airflow imports): identifiers, COPY, streams, MERGE, checks."""
