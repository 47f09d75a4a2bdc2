{# The local calendar date of a timestamp with time zone in SEGFLOW_TIMEZONE. #}
{% macro local_date(column) -%}
    {{ return(adapter.dispatch('local_date', 'segflow')(column)) }}
{%- endmacro %}

{% macro default__local_date(column) -%}
    cast(({{ column }} at time zone '{{ segflow_timezone() }}') as date)
{%- endmacro %}

{% macro spark__local_date(column) -%}
    to_date(from_utc_timestamp({{ column }}, '{{ segflow_timezone() }}'))
{%- endmacro %}
