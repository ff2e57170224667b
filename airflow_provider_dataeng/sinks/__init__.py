"""Streaming sinks: records -> compressed part files in object storage, plus the manifest."""

from __future__ import annotations

from airflow_provider_dataeng.sinks.destination import MANIFEST_NAME, PartFileSink
from airflow_provider_dataeng.sinks.formats import FORMATS, part_suffix, validate_format
from airflow_provider_dataeng.sinks.storage import check_destination_url, open_filesystem, s3_storage_options

__all__ = [
    "FORMATS",
    "MANIFEST_NAME",
    "PartFileSink",
    "check_destination_url",
    "open_filesystem",
    "part_suffix",
    "s3_storage_options",
    "validate_format",
]
