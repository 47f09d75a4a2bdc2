-- Sales and return lines: one row per (transaction_id, line_id), the newest delivery wins.
with source as (

    select * from {{ source('raw', 'transactions') }}

),

newest_delivery as (

    select
        *,
        row_number() over (
            partition by transaction_id, line_id order by {{ newest_delivery_first() }}
        ) as delivery_rank
    from source

)

select
    transaction_id,
    line_id,
    customer_id,
    occurred_at,
    {{ local_date('occurred_at') }} as occurred_on,
    {{ clean_text('store_id') }} as store_id,
    {{ clean_code('channel') }} as channel,
    product_id,
    quantity,
    amount,
    upper({{ clean_text('currency') }}) as currency,
    {{ clean_text('campaign_code') }} as campaign_code,
    _file as source_file
from newest_delivery
where delivery_rank = 1
