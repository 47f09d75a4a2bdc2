-- Sales and return lines: one row per (transaction_id, line_id), the newest delivery wins.
with newest_delivery as (

    {{ newest_delivery(source('raw', 'transactions'), 'transaction_id, line_id') }}

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
