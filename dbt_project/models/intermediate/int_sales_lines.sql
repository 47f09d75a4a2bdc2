-- Sales and return lines of known customers, with the current article master's attributes
-- (macros/lines.sql). An unknown product_id keeps its line; its product attributes are missing.
-- Versioned outside the slots (macros/carried_forward.sql): a build reads again only the
-- transactions a delivery, a product or a newly known customer touched, and its slot gets a
-- view of its version of every line.
{{ config(materialized='table' if target.type == 'spark' else 'carried_forward', feed='transactions', key='transaction_id') }}
{% if execute and segflow_carried_is_incremental() -%}
{{ sales_lines_with_products('(' ~ sales_lines(segflow_carried_keys()) ~ ')', is_known_customer('lines')) }}
{%- else -%}
{{ sales_lines_with_products(ref('stg_transactions'), is_known_customer('lines')) }}
{%- endif %}
