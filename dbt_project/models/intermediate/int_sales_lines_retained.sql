-- Sales and return lines of every customer not erased (known or not yet), with the current
-- article master's attributes: what the per-day aggregates (int_daily_sales) reduce. A view:
-- a build reads the few days it re-does through it.
{{ config(materialized='view') }}

select
    lines.transaction_id,
    lines.line_id,
    lines.customer_id,
    lines.occurred_at,
    lines.occurred_on,
    lines.store_id,
    lines.channel,
    lines.product_id,
    lines.quantity,
    lines.amount,
    lines.currency,
    lines.campaign_code,
    products.brand,
    products.collection,
    products.department,
    products.category,
    products.target_group,
    products.color,
    products.season,
    products.product_id is null as is_unknown_product
from {{ ref('stg_transactions') }} as lines
left join {{ ref('stg_products') }} as products
    on lines.product_id = products.product_id
where lines.customer_id is not null
    and not exists (
        select 1
        from {{ ref('stg_customers') }} as customers
        where customers.customer_id = lines.customer_id
            and customers.is_erased
    )
