-- The current article master: one row per product_id, the newest delivery wins.
with newest_delivery as (

    {{ newest_delivery(source('raw', 'products'), 'product_id') }}

)

select
    product_id,
    {{ clean_text('name') }} as product_name,
    {{ clean_text('brand') }} as brand,
    {{ clean_text('collection') }} as collection,
    {{ clean_text('department') }} as department,
    {{ clean_text('category') }} as category,
    {{ clean_text('target_group') }} as target_group,
    {{ clean_text('color') }} as color,
    {{ clean_text('season') }} as season,
    updated_at
from newest_delivery
