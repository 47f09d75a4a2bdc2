-- Sales and return lines of every customer not erased (known or not yet), with the current
-- article master's attributes: what the per-day aggregates (int_daily_sales) reduce, from the
-- same macro (macros/lines.sql). A view over raw, as the staging views are, and published
-- beside them.
{{ config(materialized='view', schema='staging') }}

{{ retained_sales_lines() }}
