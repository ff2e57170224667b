-- Orders, incrementally: each run picks the rows the merge step changed since the last build.
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        on_schema_change='append_new_columns',
    )
}}

select
    order_id,
    customer_id,
    status,
    amount,
    upper(currency) as currency,
    ordered_at,
    updated_at,
    _deleted_at is not null as is_deleted
from {{ source('staging', 'orders') }}
{% if is_incremental() %}
where updated_at > (select coalesce(max(updated_at), '1900-01-01'::timestamp_ntz) from {{ this }})
{% endif %}
