{# Trimmed text, empty as missing. #}
{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{# Trimmed lower-case text, empty as missing: for codes compared case-insensitively. #}
{% macro clean_code(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{# The rows of `relation` where the newest delivery wins for each `partition_by` key:
   deliveries are ordered by date, then file name, and within a file the later row wins. #}
{% macro newest_delivery(relation, partition_by) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ partition_by }}
                order by _delivery_date desc, _file desc, _row_number desc
            ) as delivery_rank
        from {{ relation }}
    ) as ranked
    where delivery_rank = 1
{%- endmacro %}
