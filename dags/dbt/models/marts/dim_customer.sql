-- Customer dimension with lifetime order figures (cancelled and deleted orders excluded).
with orders as (
    select
        customer_id,
        count(*) as order_count,
        sum(amount) as lifetime_amount,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at
    from {{ ref('stg_orders') }}
    where not is_deleted and status <> 'cancelled'
    group by customer_id
)

select
    c.customer_id,
    c.email,
    c.name,
    c.country,
    c.status,
    c.created_at,
    c.updated_at,
    coalesce(o.order_count, 0) as order_count,
    cast(coalesce(o.lifetime_amount, 0) as number(38, 2)) as lifetime_amount,
    o.first_ordered_at,
    o.last_ordered_at
from {{ ref('stg_customers') }} as c
left join orders as o on o.customer_id = c.customer_id
