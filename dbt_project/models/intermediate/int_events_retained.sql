-- Loyalty and app events of every customer not erased (known or not yet): what the per-day
-- aggregates (int_daily_events) reduce, from the same macro (macros/lines.sql). A view over
-- raw, as the staging views are, and published beside them.
{{ config(materialized='view', schema='staging') }}

{{ retained_events() }}
