-- The current article master: one row per product_id, the newest delivery wins.
with source as (

    select * from {{ source('raw', 'products') }}

),

newest_delivery as (

    select
        *,
        row_number() over (
            partition by product_id order by {{ newest_delivery_first() }}
        ) as delivery_rank
    from source

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
where delivery_rank = 1
