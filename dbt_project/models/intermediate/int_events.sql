-- Loyalty and app events of known, non-erased customers.
select
    events.event_id,
    events.customer_id,
    events.occurred_at,
    events.occurred_on,
    events.event_type,
    events.points,
    events.reward,
    events.challenge,
    events.account,
    events.channel
from {{ ref('stg_events') }} as events
inner join {{ ref('int_customers_known') }} as customers
    on events.customer_id = customers.customer_id
