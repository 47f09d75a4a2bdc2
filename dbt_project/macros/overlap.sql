{# Ordered pairs of segments (a segment with itself included): segment, other_segment, the
   segment's members and how many of them the other segment has (members_in_both); a pair
   that shares no member may be left out.
   `flags`: the build's flags (one row per customer of the population, `m_<segment>` true for
   a member). `membership`: (segment, customer_id) rows; a segment carried over by
   `build --select` (var `carried_segments`, set by the run that refreshes these tables after
   the carry-over) is read from there, as its published rows, not from the flags.
   Quadratic in segments either way. The join of members on customer makes a row per pair of
   a customer's segments (26 s at 100 segments and 1M customers on DuckDB, over 9 minutes at
   100k on PostgreSQL): Spark's way. DuckDB and PostgreSQL set one bit per member in a bit
   string per segment and count the bits two segments share, reading the flags once (not once
   per segment through the membership view). #}
{% macro segment_pairs(flags, membership) -%}
    {{ return(adapter.dispatch('segment_pairs', 'segflow')(flags, membership)) }}
{%- endmacro %}

{# Every segment the flags hold (an `m_<segment>` column each). #}
{% macro segflow_flag_segments(flags) -%}
    {%- set segments = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(flags) -%}
            {%- set name = column.name | lower -%}
            {%- if name.startswith('m_') -%}
                {%- do segments.append(name[2:]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(segments) }}
{%- endmacro %}

{# The flags, one row per customer, with `carried`: the carried segments the customer is a
   published member of (`list_of`: the engine's list aggregate), or null. #}
{% macro segflow_flags_with_carried(flags, membership, list_of) -%}
    {%- set carried = var('carried_segments', []) -%}
    {%- if carried -%}
        (select f.*, c.carried
        from {{ flags }} as f
        left join (
            select customer_id, {{ list_of }}(segment) as carried
            from {{ membership }}
            where segment in ({% for name in carried %}'{{ name }}'{{ ', ' if not loop.last }}{% endfor %})
            group by customer_id
        ) as c on c.customer_id = f.customer_id)
    {%- else -%}
        (select f.*, null as carried from {{ flags }} as f)
    {%- endif -%}
{%- endmacro %}

{# Whether the row's customer is a member of `name`: its flag, or for a carried segment its
   published row (`contains`: the engine's test that `carried` holds '%s'). #}
{% macro segflow_member_of(name, contains) -%}
    {%- if name in var('carried_segments', []) -%}
        coalesce({{ contains | format(name) }}, false)
    {%- else -%}
        m_{{ name }}
    {%- endif -%}
{%- endmacro %}

{% macro default__segment_pairs(flags, membership) -%}
    with members as (
        select distinct segment, customer_id from {{ membership }}
    ),

    sizes as (
        select segment, count(*) as members from members group by segment
    ),

    shared as (
        select a.segment, b.segment as other_segment, count(*) as members_in_both
        from members as a
        inner join members as b on a.customer_id = b.customer_id
        group by a.segment, b.segment
    )

    select s.segment, s.other_segment, z.members, s.members_in_both
    from shared as s
    inner join sizes as z on s.segment = z.segment
{%- endmacro %}

{% macro duckdb__segment_pairs(flags, membership) -%}
    {#- bitstring_agg wants its range as constants: the customers counted first. The flags
        unpivoted and grouped by segment: a hundred filtered bitstring_agg over every row
        were 4x slower. `_customer_no`: a name no segment can have. -#}
    {%- set customers = 0 -%}
    {%- if execute -%}
        {%- set customers = run_query('select count(*) from ' ~ flags).columns[0].values()[0] -%}
    {%- endif -%}
    {%- set segments = segflow_flag_segments(flags) -%}
    {% if segments -%}
    with numbered as (
        select
            {% for name in segments -%}
            {{ segflow_member_of(name, "list_contains(carried, '%s')") }} as "{{ name }}",
            {% endfor -%}
            row_number() over () - 1 as _customer_no
        from {{ segflow_flags_with_carried(flags, membership, 'list') }} as flags
    ),

    bits as (
        select segment, bitstring_agg(_customer_no, 0, {{ [customers - 1, 0] | max }}) as members
        from (unpivot numbered on columns(* exclude (_customer_no)) into name segment value member) as flag
        where member
        group by segment
    )
    {%- else -%}
    with bits as (
        select cast(null as varchar) as segment, cast(null as bitstring) as members where false
    )
    {%- endif %},

    {{ segflow_pairs_of_bits() }}
{%- endmacro %}

{% macro postgres__segment_pairs(flags, membership) -%}
    {#- A segment's bit string: a '1' or '0' per customer. Every aggregate of one aggregation
        reads the rows in the same order, whichever it is, so a customer has the same place
        in every string, with no sort (string_agg's own order by sorted 100 times: 7x
        slower). -#}
    {%- set segments = segflow_flag_segments(flags) -%}
    with strings as (
        select
            {% for name in segments -%}
            cast(string_agg(case when {{ segflow_member_of(name, "'%s' = any(carried)") }} then '1' else '0' end, '') as bit varying) as "{{ name }}"{{ ',' if not loop.last }}
            {% endfor -%}
            {%- if not segments %}null as none{% endif %}
        from {{ segflow_flags_with_carried(flags, membership, 'array_agg') }} as flags
    ),

    bits as (
        {% if segments -%}
        select bit.segment, bit.members
        from strings
        cross join lateral (values
            {% for name in segments -%}
            ('{{ name }}', strings."{{ name }}"){{ ',' if not loop.last }}
            {% endfor -%}
        ) as bit (segment, members)
        where bit_count(bit.members) > 0
        {%- else -%}
        select cast(null as text) as segment, cast(null as bit varying) as members where false
        {%- endif %}
    ),

    {{ segflow_pairs_of_bits() }}
{%- endmacro %}

{# After a CTE `bits` (segment, members: a bit string): every ordered pair's members and
   shared members. A pair is counted once and mirrored (a & b is b & a): half the bit
   counts, which at 1M customers are most of the model. #}
{% macro segflow_pairs_of_bits() -%}
    sizes as (
        select segment, cast(bit_count(members) as bigint) as members from bits
    ),

    shared as materialized (
        select
            a.segment,
            b.segment as other_segment,
            cast(bit_count(a.members & b.members) as bigint) as members_in_both
        from bits as a
        inner join bits as b on a.segment <= b.segment
    )

    select s.segment, s.other_segment, z.members, s.members_in_both
    from shared as s
    inner join sizes as z on z.segment = s.segment
    union all
    select s.other_segment, s.segment, z.members, s.members_in_both
    from shared as s
    inner join sizes as z on z.segment = s.other_segment
    where s.segment <> s.other_segment
{%- endmacro %}
