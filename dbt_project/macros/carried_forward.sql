{#- The materialization of int_sales_lines: a table in the build's slot like every model (so a
    published build never changes), carried forward from the previous build's table in the
    other slot instead of ranking every raw line again (docs/decisions.md, "Scale").

    The previous build kept beside its table (<table>__<part>) what it was built from:

    - files:    the file log's transactions rows it had seen;
    - products: the article master's attributes;
    - known:    the known customers;
    - state:    the definition (a hash of the SQL a whole build runs) and how it was built.

    This build re-reads from raw only the transactions a difference touches (`fresh_keys`):
    those in a file whose log row is new or gone (every version of a line of a re-delivered
    file, since raw holds only the newest version of each file and the table names the file
    each line came from), those of a product whose attributes changed, and those of a customer
    who became known. Every other line is copied from the previous table, less the customers
    no longer known (erased). Anything else (no previous table in the other slot, another
    definition, --full-refresh) builds the table whole. Spark builds it with dbt's `table`
    materialization (the model's config), whole on every build. -#}

{% macro segflow_carried_definition() -%}
    {#- The SQL a whole build runs, less the slot's name (the same in either slot). -#}
    {%- set whole = sales_lines() ~ sales_lines_with_products('lines', is_known_customer('lines')) -%}
    {{ return('carried-forward-1 ' ~ local_md5(whole | replace(this.schema, 'slot'))) }}
{%- endmacro %}

{# The previous build's table in the other slot, if it was built with this definition and
   kept its parts; none: build whole. Call only when `execute`. #}
{% macro segflow_carried_previous() -%}
    {%- set other_slot = {'segflow_a': 'segflow_b', 'segflow_b': 'segflow_a'} -%}
    {%- if target.type == 'spark' or flags.FULL_REFRESH or this.schema not in other_slot -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set previous = adapter.get_relation(this.database, other_slot[this.schema], this.identifier) -%}
    {%- if previous is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for name in ('files', 'products', 'known', 'state') -%}
        {%- if adapter.get_relation(this.database, previous.schema, previous.identifier ~ '__' ~ name) is none -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set stored = run_query('select definition from ' ~ segflow_daily_part(previous, 'state')) -%}
    {%- if stored.rows | length != 1 or stored.rows[0][0] != segflow_carried_definition() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(previous) }}
{%- endmacro %}

{# In the model: the transactions this build re-reads from raw. #}
{% macro segflow_carried_keys() -%}
    {{ return(segflow_daily_part(this, 'fresh_keys')) }}
{%- endmacro %}

{% materialization carried_forward, default %}
    {%- set previous = segflow_carried_previous() -%}
    {%- set part, before = {}, {} -%}
    {%- for name in ('files', 'products', 'known', 'state', 'fresh_keys') -%}
        {%- do part.update({name: segflow_daily_part(this, name)}) -%}
        {%- if previous is not none -%}
            {%- do before.update({name: segflow_daily_part(previous, name)}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set product_columns = 'product_id, brand, collection, department, category, target_group, color, season' -%}
    {%- set log_columns = 'file, checksum, ingested_at' -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {# What this build knows, taken first: a file logged while it runs (PostgreSQL reads each
       statement's own snapshot) is new to the next build. #}
    {{ segflow_daily_replace(part.files, "select " ~ log_columns ~ " from raw.file_log where feed = 'transactions'") }}
    {{ segflow_daily_replace(part.products, 'select ' ~ product_columns ~ ' from ' ~ ref('stg_products')) }}
    {{ segflow_daily_replace(part.known, 'select customer_id from ' ~ ref('int_customers_known')) }}

    {% if previous is not none %}
        {%- set changed_files = "select file from ((select " ~ log_columns ~ " from " ~ part.files ~ " except select "
            ~ log_columns ~ " from " ~ before.files ~ ") union all (select " ~ log_columns ~ " from " ~ before.files
            ~ " except select " ~ log_columns ~ " from " ~ part.files ~ ")) as changed_files" -%}
        {%- set changed_products = "select product_id from ((select " ~ product_columns ~ " from " ~ part.products
            ~ " except select " ~ product_columns ~ " from " ~ before.products ~ ") union all (select " ~ product_columns
            ~ " from " ~ before.products ~ " except select " ~ product_columns ~ " from " ~ part.products ~ ")) as changed_products" -%}
        {%- set newly_known = "select customer_id from " ~ part.known ~ " except select customer_id from " ~ before.known -%}
        {{ segflow_daily_replace(part.fresh_keys,
            "select transaction_id as key from " ~ source('raw', 'transactions') ~ " where _file in (" ~ changed_files ~ ")"
            ~ " or customer_id in (" ~ newly_known ~ ")"
            ~ " union select transaction_id as key from " ~ previous ~ " where source_file in (" ~ changed_files ~ ")"
            ~ " or product_id in (" ~ changed_products ~ ")") }}
    {% endif %}

    {% do run_query('drop table if exists ' ~ this) %}
    {% call statement('main') -%}
        create table {{ this }} as
        {{ sql }}
    {%- endcall %}
    {{ segflow_daily_replace(part.state, "select cast('" ~ segflow_carried_definition() ~ "' as varchar) as definition, cast('"
        ~ ('carried forward' if previous is not none else 'built whole') ~ "' as varchar) as built") }}
    {% do run_query('drop table if exists ' ~ part.fresh_keys) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [this]}) }}
{% endmaterialization %}
