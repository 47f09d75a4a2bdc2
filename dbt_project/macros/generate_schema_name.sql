{# Layers get plain schema names (staging, intermediate); marts land in the target schema,
   where dashboards and syncs find the public tables. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
