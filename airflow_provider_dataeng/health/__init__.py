"""The data-health view: what the quality gates recorded, shaped for pages (pure; no I/O, no Airflow).

:mod:`.shape` turns rows of the gates' results table and the asset events of the same runs into an
overview (one line per gated table) and a table's history (check timeline, row-count series with the
anomaly band, freshness lag, the last failure's sample rows); :mod:`.svg` draws the charts server-side;
:mod:`.pages` writes the HTML. The plugin (``airflow_provider_dataeng.plugins.data_health``) serves them in
the Airflow UI, and ``dataeng-report`` writes the same pages as static files.
"""

from __future__ import annotations
