{# Calendar helpers that read the same on every engine (make_date, extract and mod exist on
   DuckDB, PostgreSQL and Spark). #}
{% macro is_leap_year(year_expr) -%}
    (mod({{ year_expr }}, 4) = 0 and (mod({{ year_expr }}, 100) <> 0 or mod({{ year_expr }}, 400) = 0))
{%- endmacro %}

{% macro date_part_int(part, date_expr) -%}
    cast(extract({{ part }} from {{ date_expr }}) as integer)
{%- endmacro %}

{# The birthday in a given year; 29 February falls on 28 February in other years. #}
{% macro birthday_in_year(birth_date, year_expr) -%}
    make_date(
        {{ year_expr }},
        {{ date_part_int('month', birth_date) }},
        case
            when {{ date_part_int('month', birth_date) }} = 2
                and {{ date_part_int('day', birth_date) }} = 29
                and not {{ is_leap_year(year_expr) }}
            then 28
            else {{ date_part_int('day', birth_date) }}
        end
    )
{%- endmacro %}
