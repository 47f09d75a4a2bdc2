{# Where the engines' SQL differs. The default is the dialect DuckDB and PostgreSQL share;
   `spark__` is Apache Spark's (dbt-spark). segflow/segments/sql.py emits these in the
   generated models (`Context.days_between`, `text_type`, `regex_match`). #}

{# Whole days from the date `earlier` to the date `later`, an integer (in Spark, subtracting
   dates gives an interval). #}
{% macro days_between(later, earlier) -%}
    {{ return(adapter.dispatch('days_between', 'segflow')(later, earlier)) }}
{%- endmacro %}

{% macro default__days_between(later, earlier) -%}
    {{ later }} - {{ earlier }}
{%- endmacro %}

{% macro spark__days_between(later, earlier) -%}
    datediff({{ later }}, {{ earlier }})
{%- endmacro %}

{# The type of text in a cast: Spark has no `varchar` without a length. #}
{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type', 'segflow')()) }}
{%- endmacro %}

{% macro default__text_type() -%}
    varchar
{%- endmacro %}

{% macro spark__text_type() -%}
    string
{%- endmacro %}

{# The infix operator of a regular-expression match: `text {{ regex_match() }} 'pattern'`. #}
{% macro regex_match() -%}
    {{ return(adapter.dispatch('regex_match', 'segflow')()) }}
{%- endmacro %}

{% macro default__regex_match() -%}
    ~
{%- endmacro %}

{% macro spark__regex_match() -%}
    rlike
{%- endmacro %}
