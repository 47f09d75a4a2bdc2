-- Loyalty and app events of every customer not erased (known or not yet): what the per-day
-- aggregates (int_daily_events) reduce. A view: a build reads the few days it re-does.
{{ config(materialized='view') }}

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
where events.customer_id is not null
    and not exists (
        select 1
        from {{ ref('stg_customers') }} as customers
        where customers.customer_id = events.customer_id
            and customers.is_erased
    )
