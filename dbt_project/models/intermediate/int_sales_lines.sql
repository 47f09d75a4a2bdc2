-- Sales and return lines of known customers, with the current article master's attributes
-- (macros/lines.sql). An unknown product_id keeps its line; its product attributes are missing.
-- Carried forward from the previous build where it can be (macros/carried_forward.sql): only
-- the transactions a delivery, a product or a newly known customer touched are read again.
{{ config(materialized='table' if target.type == 'spark' else 'carried_forward') }}
{%- set previous = segflow_carried_previous() if execute else none %}
{% if previous is none -%}
{{ sales_lines_with_products(ref('stg_transactions'), is_known_customer('lines')) }}
{%- else -%}
select * from {{ previous }} as lines
where lines.transaction_id not in (select key from {{ segflow_carried_keys() }})
    and {{ is_known_customer('lines') }}

union all

{{ sales_lines_with_products('(' ~ sales_lines(segflow_carried_keys()) ~ ')', is_known_customer('lines')) }}
{%- endif %}
