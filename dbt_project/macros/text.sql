{# Trimmed text, empty as missing. #}
{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{# Trimmed lower-case text, empty as missing: for codes compared case-insensitively. #}
{% macro clean_code(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{# Newest delivery first: by delivery date, then file name, then the row within the file. #}
{% macro newest_delivery_first() -%}
    _delivery_date desc, _file desc, _row_number desc
{%- endmacro %}
