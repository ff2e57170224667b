"""Keep NULL timestamps NULL in the server's Arrow results.

fakesnow 0.12.1 (``fakesnow.arrow.timestamp_to_sf_struct``) turns TIMESTAMP_NTZ/LTZ/TZ columns into
Snowflake's ``{epoch, fraction[, timezone]}`` structs without a validity bitmap, so a NULL timestamp
reaches ``snowflake.connector`` as epoch 0 (1970-01-01) although ``IS NULL`` is true in SQL. We wrap the
conversion: the struct gets the timestamp column's nulls, and its children get zeros in those slots
(the connector reads the struct's validity first, as it does for Snowflake's own results).
"""

from __future__ import annotations

from typing import Any

_INSTALLED = "_dataeng_keeps_nulls"


def install() -> None:
    """Patch ``fakesnow.arrow`` once per process (``to_sf`` looks the converter up at call time)."""
    import fakesnow.arrow as fs_arrow

    if getattr(fs_arrow.timestamp_to_sf_struct, _INSTALLED, False):
        return
    original = fs_arrow.timestamp_to_sf_struct

    def timestamp_to_sf_struct(ts: Any) -> Any:
        return with_nulls(ts, original(ts))

    setattr(timestamp_to_sf_struct, _INSTALLED, True)
    fs_arrow.timestamp_to_sf_struct = timestamp_to_sf_struct


def with_nulls(ts: Any, struct: Any) -> Any:
    """``struct`` (fakesnow's conversion of ``ts``) with ``ts``'s NULLs as struct-level NULLs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(ts, pa.ChunkedArray):
        ts = ts.combine_chunks()
    if ts.null_count == 0:
        return struct
    fields = [struct.type.field(i) for i in range(struct.type.num_fields)]
    children = [pc.fill_null(struct.field(i), 0).cast(f.type) for i, f in enumerate(fields)]
    return pa.StructArray.from_arrays(children, fields=fields, mask=pc.is_null(ts))
