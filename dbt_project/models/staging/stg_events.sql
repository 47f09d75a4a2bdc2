-- Loyalty and app events: one row per event_id, the newest delivery wins.
with newest_delivery as (

    {{ newest_delivery(source('raw', 'events'), 'event_id') }}

)

select
    event_id,
    customer_id,
    occurred_at,
    {{ local_date('occurred_at') }} as occurred_on,
    {{ clean_code('event_type') }} as event_type,
    points,
    {{ clean_text('reward') }} as reward,
    {{ clean_text('challenge') }} as challenge,
    {{ clean_code('account') }} as account,
    {{ clean_code('channel') }} as channel,
    _file as source_file
from newest_delivery
