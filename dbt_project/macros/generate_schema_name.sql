{# A segflow build puts every model into its private build schema (SEGFLOW_BUILD_SCHEMA, see
   segflow/publication/publish.py), published afterwards as views under the names below. Otherwise layers
   get plain schema names (staging, intermediate) and marts land in the target schema, where
   dashboards and syncs find the public tables. The per-day aggregates are kept across builds
   in segflow_daily (macros/daily_aggregate.sql): no build empties that schema. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set build_schema = env_var('SEGFLOW_BUILD_SCHEMA', '') -%}
    {%- if custom_schema_name is not none and custom_schema_name | trim == 'segflow_daily' -%}
        segflow_daily
    {%- elif build_schema -%}
        {{ build_schema }}
    {%- elif custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
