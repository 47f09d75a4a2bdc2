{# The sales lines and events as staging reads them (the newest delivery wins per line or
   event), and the retained ones the per-day aggregates reduce. `keys`: SQL of a relation with
   a column `key`: only those transactions (events) are read, before the newest-delivery window
   that partitions by them, so a build that re-does a few days ranks only their rows
   (macros/daily_aggregate.sql). #}

{% macro raw_rows(feed, key, keys=none) -%}
    {%- if keys is none -%}
        {{ source('raw', feed) }}
    {%- else -%}
        (select * from {{ source('raw', feed) }} where {{ key }} in (select key from {{ keys }})) as keyed
    {%- endif -%}
{%- endmacro %}

{# stg_transactions: one row per (transaction_id, line_id), the newest delivery wins. #}
{% macro sales_lines(keys=none) %}
with newest_delivery as (

    {{ newest_delivery(raw_rows('transactions', 'transaction_id', keys), 'transaction_id, line_id') }}

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
{% endmacro %}

{# stg_events: one row per event_id, the newest delivery wins. #}
{% macro loyalty_events(keys=none) %}
with newest_delivery as (

    {{ newest_delivery(raw_rows('events', 'event_id', keys), 'event_id') }}

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
{% endmacro %}

{# Whether a customer is erased (any version), for `customer_id` of the row `alias`. #}
{% macro is_erased_customer(alias) -%}
    exists (
        select 1
        from {{ ref('int_customers_erased') }} as erased
        where erased.customer_id = {{ alias }}.customer_id
    )
{%- endmacro %}

{# Sales lines (the relation `lines`) with the current article master's attributes, of the
   customers `customers` (a condition on `lines`) keeps: int_sales_lines (known customers) and
   int_sales_lines_retained (every customer not erased). An unknown product_id keeps its
   line; its product attributes are missing. #}
{% macro sales_lines_with_products(lines, customers) %}
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
    products.product_id is null as is_unknown_product,
    lines.source_file
from {{ lines }} as lines
left join {{ ref('stg_products') }} as products
    on lines.product_id = products.product_id
where {{ customers }}
{% endmacro %}

{# Loyalty and app events (the relation `events`) of the customers `customers` keeps:
   int_events (known customers) and int_events_retained (every customer not erased). #}
{% macro events_of(events, customers) %}
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
    events.channel,
    events.source_file
from {{ events }} as events
where {{ customers }}
{% endmacro %}

{# A customer that segments may use, for `customer_id` of the row `alias`: in the customers
   feed and not erased. #}
{% macro is_known_customer(alias) -%}
    {{ alias }}.customer_id in (select customer_id from {{ ref('int_customers_known') }})
{%- endmacro %}

{# A customer not erased, known or not yet. #}
{% macro is_retained_customer(alias) -%}
    {{ alias }}.customer_id is not null and not {{ is_erased_customer(alias) }}
{%- endmacro %}

{# int_sales_lines_retained: what the per-day aggregates reduce (`keys`: see above). #}
{% macro retained_sales_lines(keys=none) %}
{{ sales_lines_with_products('(' ~ sales_lines(keys) ~ ')', is_retained_customer('lines')) }}
{% endmacro %}

{# int_events_retained: what the per-day aggregates reduce (`keys`: see above). #}
{% macro retained_events(keys=none) %}
{{ events_of('(' ~ loyalty_events(keys) ~ ')', is_retained_customer('events')) }}
{% endmacro %}
