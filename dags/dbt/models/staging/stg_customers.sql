-- One row per live customer: soft-deleted rows (_deleted_at set by the merge step) are dropped.
select
    customer_id,
    lower(trim(email)) as email,
    name,
    upper(country) as country,
    status,
    created_at,
    updated_at
from {{ source('staging', 'customers') }}
where _deleted_at is null
