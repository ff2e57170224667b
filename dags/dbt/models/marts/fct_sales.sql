-- One row per live order of a live customer, at order grain.
select
    o.order_id,
    o.customer_id,
    o.status,
    o.amount,
    o.currency,
    o.ordered_at,
    cast(o.ordered_at as date) as order_date,
    o.status = 'cancelled' as is_cancelled
from {{ ref('stg_orders') }} as o
inner join {{ ref('dim_customer') }} as c on c.customer_id = o.customer_id
where not o.is_deleted
