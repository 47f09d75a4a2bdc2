{#- The materialization of the per-day aggregates (int_daily_sales, int_daily_events; see
    segflow/segments/daily.py and docs/decisions.md, "Per-day aggregates").

    The table lives in its own schema, segflow_daily, which no build empties: a night reads
    only what changed since the last build and re-does those local days, no more. What
    changed is found from small state tables beside it (<table>__<part>):

    - files:    the file log's rows of the feed seen at the last build; a file whose row is new
                (a delivery, a re-delivery) is a changed file;
    - key_days: every raw row's (file, key, local day), key being the transaction or event id:
                the days a changed file's earlier version held, and the other versions of its
                keys (the newest delivery wins per line, so a line can move between files);
    - products: the article master's attributes at the last build (sales only): the lines of
                a product whose attributes changed are re-done;
    - erased:   the erased customers at the last build: the rows of those erased since are
                deleted (re-done days never hold an erased customer's rows);
    - state:    what the table was built with (the generated SQL's hash, which includes the
                project's macros, and the time zone), the build run that last changed it, and
                how many of its rows were inserted after it was last written in customer order.
                Anything else (a new `where` filter, a new time zone, changed macros, a first
                build, --full-refresh) builds the whole table again, once.

    The table is kept in customer order: the features group its rows by customer, and a
    million groups' states are read from memory in the rows' order (grouping the rows in
    customer order took two thirds of the time at 1M customers). A night appends its days at
    the end; once a tenth of the rows came after the last ordering, the table is written in
    order again (in the same transaction).

    The days to re-do are deleted and inserted again in one transaction with the state, so
    a failed build leaves table and state as they were, and the next build re-does them.
    On Spark (plain Parquet tables, no delete) the table is built whole every time. -#}

{% macro segflow_daily_part(relation, part) -%}
    {{ return(relation.incorporate(path={"identifier": relation.identifier ~ "__" ~ part})) }}
{%- endmacro %}

{% macro segflow_daily_definition() -%}
    {{ return(config.get('definition_hash') ~ ' ' ~ segflow_timezone()) }}
{%- endmacro %}

{# Whether this build re-does some days (else it builds the whole table). #}
{% macro segflow_daily_is_incremental() -%}
    {%- if not execute or target.type == 'spark' or flags.FULL_REFRESH -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- set state = adapter.get_relation(this.database, this.schema, this.identifier ~ '__state') -%}
    {%- if existing is none or state is none -%}
        {{ return(false) }}
    {%- endif -%}
    {#- Every part a night reads, or the whole table again (a part dropped by hand, or one an
        older version of the materialization did not keep). -#}
    {%- set parts = ['files', 'key_days', 'erased'] + (['products'] if config.require('feed') == 'transactions' else []) -%}
    {%- for name in parts -%}
        {%- if adapter.get_relation(this.database, this.schema, this.identifier ~ '__' ~ name) is none -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set stored = run_query('select definition from ' ~ state) -%}
    {{ return(stored.rows | length == 1 and stored.rows[0][0] == segflow_daily_definition()) }}
{%- endmacro %}

{# In the model: the keys whose rows this build reads (macros/lines.sql reads only those
   before the newest-delivery window, which partitions by them), or none: every row. #}
{% macro segflow_daily_keys() -%}
    {{ return(segflow_daily_part(this, 'read_keys') if segflow_daily_is_incremental() else none) }}
{%- endmacro %}

{# In the model: the days this build re-does, a condition on the date `column`. #}
{% macro segflow_daily_days(column) -%}
    {%- if segflow_daily_is_incremental() -%}
        {{ column }} in (select day from {{ segflow_daily_part(this, 'days') }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{% macro segflow_daily_replace(relation, select) -%}
    {% do run_query('drop table if exists ' ~ relation) %}
    {% do run_query('create table ' ~ relation ~ ' as ' ~ select) %}
{%- endmacro %}

{# The file log's and the article master's columns a build compares with the last build's. #}
{% macro segflow_delivery_columns(name) -%}
    {{ return({'files': 'file, checksum, ingested_at',
               'products': 'product_id, brand, collection, department, category, target_group, color, season'}[name]) }}
{%- endmacro %}

{# What a build knows of the deliveries (part.files_now, and part.products_now for sales),
   taken first: a file logged while it runs (PostgreSQL reads each statement's own snapshot)
   is new to the next build. #}
{% macro segflow_delivery_snapshot(part, feed, with_products) -%}
    {{ segflow_daily_replace(part.files_now, 'select ' ~ segflow_delivery_columns('files') ~ " from raw.file_log where feed = '" ~ feed ~ "'") }}
    {% if with_products %}
        {{ segflow_daily_replace(part.products_now, 'select ' ~ segflow_delivery_columns('products') ~ ' from ' ~ ref('stg_products')) }}
    {% endif %}
{%- endmacro %}

{# The snapshots become what this build was built from: part[name ~ '_now'] replaces part[name]. #}
{% macro segflow_delivery_keep(part, names) -%}
    {% for name in names %}
        {% do run_query('drop table if exists ' ~ part[name]) %}
        {% do run_query('alter table ' ~ part[name ~ '_now'] ~ ' rename to ' ~ part[name].identifier) %}
    {% endfor %}
{%- endmacro %}

{# The distinct `key` of the rows of snapshot `columns` in `now` and not in `before` (new or
   changed), and with `both_ways` also in `before` and not in `now` (gone). #}
{% macro segflow_changed(columns, now, before, key, both_ways=true) -%}
    {%- set added = '(select ' ~ columns ~ ' from ' ~ now ~ ' except select ' ~ columns ~ ' from ' ~ before ~ ')' -%}
    {%- set gone = ' union all (select ' ~ columns ~ ' from ' ~ before ~ ' except select ' ~ columns ~ ' from ' ~ now ~ ')' -%}
    {{ return('select distinct ' ~ key ~ ' from (' ~ added ~ (gone if both_ways else '') ~ ') as changed') }}
{%- endmacro %}

{# The rows inserted after the table was last written in customer order, once this build's
   days are in: none after a whole build; past a tenth of the table, the table is written in
   order again and none are. #}
{% macro segflow_daily_unordered(part, incremental) -%}
    {%- if not incremental -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set before = run_query('select unordered from ' ~ part.state).rows[0][0] -%}
    {#- One scan counts both: the re-done days' rows and the whole table. #}
    {%- set counts = run_query('select count(d.day), count(*) from ' ~ this ~ ' as t left join ' ~ part.days ~ ' as d on d.day = t.occurred_on').rows[0] -%}
    {%- set added = counts[0] -%}
    {%- set total = counts[1] -%}
    {%- if (before + added) * 10 <= total -%}
        {{ return(before + added) }}
    {%- endif -%}
    {%- set ordered = segflow_daily_part(this, 'ordered') -%}
    {{ segflow_daily_replace(ordered, 'select * from ' ~ this ~ ' order by customer_id') }}
    {% do run_query('drop table ' ~ this) %}
    {% do run_query('alter table ' ~ ordered ~ ' rename to ' ~ this.identifier) %}
    {{ return(0) }}
{%- endmacro %}

{% materialization daily_aggregate, default %}
    {%- set incremental = segflow_daily_is_incremental() -%}
    {%- set feed = config.require('feed') -%}
    {%- set key = config.require('key') -%}
    {%- set raw_rows = 'raw.' ~ feed -%}
    {%- set local_day = local_date('occurred_at') -%}
    {%- set part = {} -%}
    {%- for name in ('files', 'files_now', 'changed', 'key_days', 'changed_keys', 'products', 'products_now', 'changed_products', 'days', 'read_keys', 'erased', 'erased_now', 'state') -%}
        {%- do part.update({name: segflow_daily_part(this, name)}) -%}
    {%- endfor -%}
    {%- set is_sales = feed == 'transactions' -%}  {#- sales: products and spans too #}
    {%- set raw_key_days = 'select distinct _file as file, ' ~ key ~ ' as key, ' ~ local_day ~ ' as day from ' ~ raw_rows -%}
    {%- set build_run = env_var('SEGFLOW_BUILD_RUN', '') | replace("'", "''") -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {{ segflow_delivery_snapshot(part, feed, is_sales) }}
    {{ segflow_daily_replace(part.erased_now, 'select customer_id from ' ~ ref('int_customers_erased')) }}

    {% if incremental %}
        {# Files with a new log row since the last build, and the keys and days they touch. #}
        {{ segflow_daily_replace(part.changed,
            segflow_changed(segflow_delivery_columns('files'), part.files_now, part.files, 'file', both_ways=false)) }}
        {{ segflow_daily_replace(part.changed_keys,
            "select " ~ key ~ " as key from " ~ raw_rows ~ " where _file in (select file from " ~ part.changed ~ ")"
            ~ " union select key from " ~ part.key_days ~ " where file in (select file from " ~ part.changed ~ ")") }}
        {%- set product_days = '' -%}
        {% if is_sales %}
            {{ segflow_daily_replace(part.changed_products,
                segflow_changed(segflow_delivery_columns('products'), part.products_now, part.products, 'product_id')) }}
            {%- set product_days = ' union select ' ~ local_day ~ ' as day from ' ~ raw_rows
                ~ ' where product_id in (select product_id from ' ~ part.changed_products ~ ')' -%}
        {% endif %}
        {# The days: the earlier versions' (before key_days is brought up to date), every
           version's of a touched key, and those of lines of a changed product. #}
        {{ segflow_daily_replace(part.days,
            "select distinct day from (select day from " ~ part.key_days ~ " where key in (select key from " ~ part.changed_keys ~ ")"
            ~ " union select " ~ local_day ~ " as day from " ~ raw_rows ~ " where " ~ key ~ " in (select key from " ~ part.changed_keys ~ ")"
            ~ product_days ~ ") as touched where day is not null") }}
        {% do run_query('delete from ' ~ part.key_days ~ ' where file in (select file from ' ~ part.changed ~ ')') %}
        {% do run_query('insert into ' ~ part.key_days ~ ' ' ~ raw_key_days ~ ' where _file in (select file from ' ~ part.changed ~ ')') %}
        {# Every key with a version on a re-done day: the model reads only their rows. #}
        {{ segflow_daily_replace(part.read_keys, "select distinct key from " ~ part.key_days ~ " where day in (select day from " ~ part.days ~ ")") }}
        {% do run_query('delete from ' ~ this ~ ' where occurred_on in (select day from ' ~ part.days ~ ')') %}
        {% call statement('main') -%}
            insert into {{ this }} select * from (
                {{ sql }}
            ) as redone
        {%- endcall %}
        {% if is_sales %}
            {# A transaction on a re-done day and on another day spans both. #}
            {% do run_query(
                'update ' ~ this ~ ' set spans = spanning.days > 1 from ('
                ~ 'select customer_id, transaction_id, count(*) as days from ' ~ this
                ~ ' where transaction_id in (select key from ' ~ part.read_keys ~ ') group by customer_id, transaction_id'
                ~ ') as spanning where ' ~ this ~ '.customer_id = spanning.customer_id'
                ~ ' and ' ~ this ~ '.transaction_id = spanning.transaction_id'
                ~ ' and ' ~ this ~ '.spans <> (spanning.days > 1)') %}
        {% endif %}
        {# Customers erased since the last build: most nights none, and no scan of the table. #}
        {%- set newly_erased = 'select customer_id from ' ~ part.erased_now ~ ' except select customer_id from ' ~ part.erased -%}
        {% if run_query('select count(*) from (' ~ newly_erased ~ ') as newly').rows[0][0] > 0 %}
            {% do run_query('delete from ' ~ this ~ ' where customer_id in (' ~ newly_erased ~ ')') %}
        {% endif %}
    {% else %}
        {% do run_query('drop table if exists ' ~ this) %}
        {% call statement('main') -%}
            create table {{ this }} as
            select * from (
                {{ sql }}
            ) as whole
            order by customer_id
        {%- endcall %}
        {{ segflow_daily_replace(part.key_days, raw_key_days) }}
    {% endif %}
    {%- set unordered = segflow_daily_unordered(part, incremental) -%}
    {# The state: what the table was built with, and the build (run) that last changed it,
       which direct queries compare with the build they read (segflow/evaluation/relations.py). #}
    {{ segflow_daily_replace(part.state, "select cast('" ~ segflow_daily_definition() ~ "' as varchar) as definition, cast('"
        ~ build_run ~ "' as varchar) as build_run, cast(" ~ unordered ~ " as bigint) as unordered") }}
    {{ segflow_delivery_keep(part, ['files', 'erased'] + (['products'] if is_sales else [])) }}
    {# This build's scratch tables. #}
    {% for name in ('changed', 'changed_keys', 'changed_products', 'days', 'read_keys') %}
        {% do run_query('drop table if exists ' ~ part[name]) %}
    {% endfor %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [this]}) }}
{% endmaterialization %}

{# Spark's Parquet tables take no delete: the table is built whole on every build. #}
{% materialization daily_aggregate, adapter='spark' %}
    {{ run_hooks(pre_hooks) }}
    {% do run_query('drop table if exists ' ~ this) %}
    {% call statement('main') -%}
        {{ create_table_as(False, this, sql) }}
    {%- endcall %}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [this]}) }}
{% endmaterialization %}
