-- Loyalty and app events of known, non-erased customers (macros/lines.sql), with the file each
-- came from. Versioned outside the slots like int_sales_lines (macros/carried_forward.sql): a
-- build reads again only the events a delivery or a newly known customer touched, and its
-- slot gets a view of its version of every event.
{{ config(materialized='table' if target.type == 'spark' else 'carried_forward', feed='events', key='event_id') }}
{% if execute and segflow_carried_is_incremental() -%}
{{ events_of('(' ~ loyalty_events(segflow_carried_keys()) ~ ')', is_known_customer('events')) }}
{%- else -%}
{{ events_of(ref('stg_events'), is_known_customer('events')) }}
{%- endif %}
