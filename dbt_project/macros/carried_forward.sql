{#- The materialization of int_sales_lines and int_events (config `feed`, `key`: the raw feed
    and its transaction or event id): the build's slot gets a view of one version of a table
    kept outside the slots, so a night writes only the rows it changes, and a published build
    still never changes (docs/decisions.md, "Scale"). Below, "lines" and "transactions" read
    as "events" for int_events, which has no products.

    The kept table (segflow_daily.<model>__v<digest of the definition>) holds every version of
    every line since the oldest build a slot still reads: the columns of the model plus
    `_from_build` and `_to_build`, the build numbers between which a row is current. The view
    of build B reads the rows with `_from_build <= B` and `_to_build` missing or after B. Beside
    the kept table (<kept>__<part>) is what its newest build was built from:

    - files:    the file log's transactions rows it had seen;
    - products: the article master's attributes;
    - known:    the known customers;
    - state:    the definition (a hash of the SQL a whole build runs) and the build's number.

    A build B re-reads from raw only the transactions a difference touches (`fresh_keys`):
    those in a file whose log row is new or gone (every version of a line of a re-delivered
    file, since raw holds only the newest version of each file and the table names the file
    each line came from), those of a product whose attributes changed, and those of a customer
    who became known. It closes their current rows and those of customers no longer known
    (erased) at B, and inserts what it read with `_from_build = B`. Table, parts and view change
    in one transaction, so a failed build changes nothing. A first build, or one with another
    definition, builds a new kept table whole; --full-refresh closes every row and inserts
    every line again. Then what no slot's view reads any more goes: kept tables of other
    definitions and rows closed before the oldest build read (`<model>__readers` names each
    view's table and build). Spark builds the model with dbt's `table` materialization (the
    model's config), whole on every build. -#}

{% macro segflow_carried_definition() -%}
    {#- The SQL a whole build runs, less the slot's name (the same in either slot): the quoted
        schema only, since a database's name may hold a slot's (`segflow_bench` holds
        `segflow_b`). -#}
    {%- if config.require('feed') == 'transactions' -%}
        {%- set whole = sales_lines() ~ sales_lines_with_products('lines', is_known_customer('lines')) -%}
    {%- else -%}
        {%- set whole = loyalty_events() ~ events_of('events', is_known_customer('events')) -%}
    {%- endif -%}
    {{ return('carried-forward-2 ' ~ local_md5(whole | replace('"' ~ this.schema ~ '"', '"slot"'))) }}
{%- endmacro %}

{# The kept table of this definition, outside the slots. #}
{% macro segflow_carried_kept() -%}
    {%- set digest = local_md5(segflow_carried_definition())[:12] -%}
    {{ return(this.incorporate(path={'schema': 'segflow_daily', 'identifier': this.identifier ~ '__v' ~ digest})) }}
{%- endmacro %}

{# Whether this build re-reads only what changed (else it reads every line). #}
{% macro segflow_carried_is_incremental() -%}
    {%- if not execute or target.type == 'spark' or flags.FULL_REFRESH -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set kept = segflow_carried_kept() -%}
    {%- set parts = ['', '__files', '__known', '__state'] + (['__products'] if config.require('feed') == 'transactions' else []) -%}
    {%- for name in parts -%}
        {%- if adapter.get_relation(kept.database, kept.schema, kept.identifier ~ name) is none -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}

{# In the model: the transactions this build re-reads from raw. #}
{% macro segflow_carried_keys() -%}
    {{ return(segflow_daily_part(segflow_carried_kept(), 'fresh_keys')) }}
{%- endmacro %}

{% materialization carried_forward, default %}
    {%- set feed, key = config.require('feed'), config.require('key') -%}
    {%- set with_products = feed == 'transactions' -%}
    {%- set incremental = segflow_carried_is_incremental() -%}
    {%- set kept = segflow_carried_kept() -%}
    {%- set exists = adapter.get_relation(kept.database, kept.schema, kept.identifier) is not none -%}
    {%- set part = {} -%}
    {%- for name in ('files', 'products', 'known', 'state', 'files_now', 'products_now', 'known_now', 'fresh_keys') -%}
        {%- do part.update({name: segflow_daily_part(kept, name)}) -%}
    {%- endfor -%}
    {%- set readers = kept.incorporate(path={'identifier': this.identifier ~ '__readers'}) -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {% do adapter.create_schema(kept) %}

    {# This build's number: one after the newest the kept table holds. #}
    {%- if incremental -%}
        {%- set build = run_query('select build from ' ~ part.state).rows[0][0] + 1 -%}
    {%- elif exists -%}
        {%- set build = run_query('select coalesce(max(coalesce(_to_build, _from_build)), 0) + 1 from ' ~ kept).rows[0][0] -%}
    {%- else -%}
        {%- set build = 1 -%}
    {%- endif -%}
    {%- set versioned = 'select lines.*, cast(' ~ build ~ ' as bigint) as _from_build, cast(null as bigint) as _to_build from (' -%}

    {# What this build knows, taken first (as the per-day aggregates do). #}
    {{ segflow_delivery_snapshot(part, feed, with_products) }}
    {{ segflow_daily_replace(part.known_now, 'select customer_id from ' ~ ref('int_customers_known')) }}

    {% if incremental %}
        {%- set changed_files = segflow_changed(segflow_delivery_columns('files'), part.files_now, part.files, 'file') -%}
        {%- set changed_products = segflow_changed(segflow_delivery_columns('products'), part.products_now, part.products, 'product_id') -%}
        {%- set newly_known = "select customer_id from " ~ part.known_now ~ " except select customer_id from " ~ part.known -%}
        {%- set no_longer_known = "select customer_id from " ~ part.known ~ " except select customer_id from " ~ part.known_now -%}
        {#- One semi-join per reason, never `a in (…) or b in (…)`: DuckDB runs such an `or` as
            mark joins over every line (2–3 s at 20M lines against 0.4 s for the union). -#}
        {%- set current = " from " ~ kept ~ " where _to_build is null and " -%}
        {%- set fresh = [
            "select " ~ key ~ " as key from " ~ source('raw', feed) ~ " where _file in (" ~ changed_files ~ ")",
            "select " ~ key ~ " as key from " ~ source('raw', feed) ~ " where customer_id in (" ~ newly_known ~ ")",
            "select " ~ key ~ " as key" ~ current ~ "source_file in (" ~ changed_files ~ ")",
        ] + (["select " ~ key ~ " as key" ~ current ~ "product_id in (" ~ changed_products ~ ")"] if with_products else []) -%}
        {{ segflow_daily_replace(part.fresh_keys, fresh | join(' union ')) }}
        {% do run_query('update ' ~ kept ~ ' set _to_build = ' ~ build ~ ' where _to_build is null and ' ~ key
            ~ ' in (select key from ' ~ part.fresh_keys ~ ')') %}
        {% do run_query('update ' ~ kept ~ ' set _to_build = ' ~ build ~ ' where _to_build is null and customer_id in ('
            ~ no_longer_known ~ ')') %}
    {% elif exists %}
        {# --full-refresh, or parts missing: every line again, beside what a slot still reads. #}
        {% do run_query('update ' ~ kept ~ ' set _to_build = ' ~ build ~ ' where _to_build is null') %}
    {% endif %}
    {% if exists %}
        {% call statement('main') -%}
            insert into {{ kept }} {{ versioned }}
                {{ sql }}
            ) as lines
        {%- endcall %}
    {% else %}
        {% call statement('main') -%}
            create table {{ kept }} as {{ versioned }}
                {{ sql }}
            ) as lines
        {%- endcall %}
    {% endif %}

    {# The parts become what this build was built from. #}
    {{ segflow_delivery_keep(part, ['files', 'known'] + (['products'] if with_products else [])) }}
    {{ segflow_daily_replace(part.state, "select cast('" ~ segflow_carried_definition() ~ "' as varchar) as definition, cast("
        ~ build ~ " as bigint) as build, cast('" ~ ('carried forward' if incremental else 'built whole') ~ "' as varchar) as built") }}
    {% do run_query('drop table if exists ' ~ part.fresh_keys) %}

    {# The slot's view: this build's version of every line. #}
    {%- set columns = adapter.get_columns_in_relation(kept) | map(attribute='name') | reject('in', ['_from_build', '_to_build']) | join(', ') -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {% if existing is not none %}
        {% do adapter.drop_relation(existing) %}
    {% endif %}
    {% do run_query('create view ' ~ this ~ ' as select ' ~ columns ~ ' from ' ~ kept ~ ' where _from_build <= ' ~ build
        ~ ' and (_to_build is null or _to_build > ' ~ build ~ ')') %}

    {{ segflow_carried_forget(kept, readers, build) }}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [this]}) }}
{% endmaterialization %}

{# Note this view as a reader of `kept` at `build`, then drop what no slot's view reads: the
   readers whose view is gone (a slot emptied or dropped), kept tables of other definitions
   that no reader reads, and rows of `kept` that no reader's build sees. #}
{% macro segflow_carried_forget(kept, readers, build) %}
    {% do run_query('create table if not exists ' ~ readers ~ ' (reader varchar(256), kept varchar(256), build bigint)') %}
    {% do run_query("delete from " ~ readers ~ " where reader = '" ~ this.schema ~ "'") %}
    {% do run_query("insert into " ~ readers ~ " values ('" ~ this.schema ~ "', '" ~ kept.identifier ~ "', " ~ build ~ ")") %}
    {% do run_query("delete from " ~ readers ~ " where reader not in (select table_schema from information_schema.tables"
        ~ " where table_name = '" ~ this.identifier ~ "')") %}
    {%- set read = run_query('select distinct kept from ' ~ readers).columns[0].values() -%}
    {%- set prefix = this.identifier ~ '__v' -%}
    {%- set tables = run_query("select table_name from information_schema.tables where table_schema = '" ~ kept.schema
        ~ "' and table_name like '" ~ prefix ~ "%'").columns[0].values() -%}
    {% for table in tables if table.startswith(prefix) %}  {#- `like` takes `_` for any character #}
        {%- set name = table[prefix | length:].split('__')[0] -%}
        {% if (prefix ~ name) not in read %}
            {% do run_query('drop table if exists ' ~ kept.incorporate(path={'identifier': table})) %}
        {% endif %}
    {% endfor %}
    {% do run_query('delete from ' ~ kept ~ ' where _to_build is not null and not exists (select 1 from ' ~ readers
        ~ " as readers where readers.kept = '" ~ kept.identifier ~ "' and " ~ kept ~ '._from_build <= readers.build and '
        ~ kept ~ '._to_build > readers.build)') %}
{% endmacro %}
