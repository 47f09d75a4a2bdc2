{# The project's time zone, validated so that it can be quoted into SQL safely. #}
{% macro segflow_timezone() -%}
    {%- set zone = env_var('SEGFLOW_TIMEZONE', 'UTC') -%}
    {%- if zone not in modules.pytz.all_timezones -%}
        {{ exceptions.raise_compiler_error("SEGFLOW_TIMEZONE '" ~ zone ~ "' is not a time zone name") }}
    {%- endif -%}
    {{ return(zone) }}
{%- endmacro %}

{# The evaluation date D as text: the `as_of` var, else SEGFLOW_AS_OF (what a segflow build
   sets), else today in the project's time zone. Both set and different is an error: a var in
   dbt_project.yml would otherwise override every build's date.
   SEGFLOW_AS_OF is read only when a model runs, never while dbt parses it: dbt's partial
   parsing keeps the variables files read while parsing and re-parses those files (and what
   refs them) when one changes, as it re-parses everything when `--vars` change; a variable
   read at run time is not in the state dbt saved. So a night's new date re-parses nothing
   (docs/stack.md). At parse time D is a placeholder: no SQL runs then. #}
{% macro as_of_text() -%}
    {%- set value = var('as_of', '') | string -%}
    {%- set value = '' if value in ('None', 'none') else value -%}
    {%- set from_env = env_var('SEGFLOW_AS_OF', '') if execute else '' -%}
    {%- if value and from_env and value != from_env -%}
        {{ exceptions.raise_compiler_error("var as_of '" ~ value ~ "' and SEGFLOW_AS_OF '" ~ from_env ~ "' differ: set one of them") }}
    {%- endif -%}
    {%- set value = value or from_env -%}
    {%- if not value -%}
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
