-- Sales and return lines of known customers, with the current article master's attributes.
-- An unknown product_id keeps its line; its product attributes are missing.
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
inner join {{ ref('int_customers_known') }} as customers
    on lines.customer_id = customers.customer_id
left join {{ ref('stg_products') }} as products
    on lines.product_id = products.product_id
