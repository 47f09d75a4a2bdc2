{# The project's time zone, validated so that it can be quoted into SQL safely. #}
{% macro segflow_timezone() -%}
    {%- set zone = env_var('SEGFLOW_TIMEZONE', 'UTC') -%}
    {%- if zone not in modules.pytz.all_timezones -%}
        {{ exceptions.raise_compiler_error("SEGFLOW_TIMEZONE '" ~ zone ~ "' is not a time zone name") }}
    {%- endif -%}
    {{ return(zone) }}
{%- endmacro %}

{# The evaluation date D as text: the `as_of` var, else SEGFLOW_AS_OF (what a segflow build
   sets), else today in the project's time zone.
   SEGFLOW_AS_OF is read only when a model runs, never while dbt parses it: dbt's partial
   parsing notes the variables it sees at parse time and re-parses what read them when they
   change, as it re-parses everything when `--vars` change. So a night's new date re-parses
   nothing (docs/stack.md). At parse time D is a placeholder: no SQL runs then. #}
{% macro as_of_text() -%}
    {%- set value = var('as_of', '') | string -%}
    {%- if value in ('', 'None', 'none') and execute -%}
        {%- set value = env_var('SEGFLOW_AS_OF', '') -%}
    {%- endif -%}
    {%- if value in ('', 'None', 'none') -%}
        {%- set value = run_started_at.astimezone(modules.pytz.timezone(segflow_timezone())).strftime('%Y-%m-%d') -%}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error("as_of (var or SEGFLOW_AS_OF) must be a date YYYY-MM-DD, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro as_of_date() -%}
    cast('{{ as_of_text() }}' as date)
{%- endmacro %}
